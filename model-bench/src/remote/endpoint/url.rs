//! An endpoint's base URL: checked before any request (scheme, host, port), and what reports,
//! logs and errors may show of it (never its user info or query, which may hold credentials).

use super::EndpointError;

/// A checked base URL and what the report may show of it (no user info, no query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUrl {
    /// The URL as given, without a trailing slash.
    pub url: String,
    /// The URL without user info or query string, fit for reports and logs.
    pub display: String,
    /// Whether the scheme is `https`.
    pub tls: bool,
}

pub(crate) fn check_url(url: &str, origin: Option<String>) -> Result<ResolvedUrl, EndpointError> {
    let invalid = |message: &str| EndpointError::InvalidUrl {
        url: redact_url(url),
        origin: origin.clone(),
        message: message.to_string(),
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("expected scheme://host:port"))?;
    let tls = match scheme {
        "http" => false,
        "https" => true,
        other => {
            return Err(invalid(&format!(
                "unknown scheme `{other}`; expected http or https"
            )))
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    if host_port.is_empty() {
        return Err(invalid("no host"));
    }
    let port = match host_port.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((_, after)) => after.strip_prefix(':'),
            None => return Err(invalid("unclosed `[` in the host")),
        },
        None => host_port.rsplit_once(':').map(|(_, port)| port),
    };
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(invalid(&format!(
                "port `{port}` is not a number from 0 to 65535"
            )));
        }
    }
    Ok(ResolvedUrl {
        url: url.trim_end_matches('/').to_string(),
        display: redact_url(url),
        tls,
    })
}

/// The URL without user info or query string, which may hold credentials.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    format!("{scheme}{authority}{}", path.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_display_url() {
        assert_eq!(
            redact_url("https://user:pw@host:1/v2/models?token=abc"),
            "https://***@host:1/v2/models"
        );
        assert_eq!(redact_url("http://h:1/"), "http://h:1");
    }
}
