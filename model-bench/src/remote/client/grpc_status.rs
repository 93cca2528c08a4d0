//! A gRPC status as an error class: what both gRPC transports (tonic's channel and the bare h2
//! driver) count a failed call as.

use crate::remote::error::{chain, ErrorClass, RequestError};

pub(crate) fn classify_status(status: &tonic::Status, base_url: &str) -> RequestError {
    use tonic::Code;
    let message = format!(
        "{base_url}: {}: {}",
        status.code().description(),
        status.message()
    );
    let class = match status.code() {
        Code::Unavailable if is_connect_failure(status) => ErrorClass::Connect,
        Code::Internal if status.message().contains("decode") => ErrorClass::Decode,
        code => code_class(code, &status_text(status)),
    };
    let source = std::error::Error::source(status).map(chain);
    match source {
        Some(source) if !message.contains(&source) => {
            RequestError::new(class, format!("{message}: {source}"))
        }
        _ => RequestError::new(class, message),
    }
}

/// Refused, unreachable, or a TLS handshake the client would not complete (an untrusted or
/// mismatched certificate).
fn is_connect_failure(status: &tonic::Status) -> bool {
    ["connect", "refused", "certificate", "handshake"]
        .iter()
        .any(|needle| mentions(status, needle))
}

/// Whether the status's message or any of its sources mentions `needle` (lowercase).
fn mentions(status: &tonic::Status, needle: &str) -> bool {
    status_text(status).to_ascii_lowercase().contains(needle)
}

/// The status's message and its sources, on one line.
fn status_text(status: &tonic::Status) -> String {
    let mut text = status.message().to_string();
    if let Some(source) = std::error::Error::source(status) {
        text.push_str(&chain(source));
    }
    text
}

/// The class of a gRPC status `code` whose message (and sources) read `text`: the end of a
/// deadline is a timeout, whether as DEADLINE_EXCEEDED (the spec) or as CANCELLED "Timeout
/// expired" (tonic, client and server); any other code counts by its name.
pub(crate) fn code_class(code: tonic::Code, text: &str) -> ErrorClass {
    match code {
        tonic::Code::DeadlineExceeded => ErrorClass::Timeout,
        tonic::Code::Cancelled if text.to_ascii_lowercase().contains("timeout expired") => {
            ErrorClass::Timeout
        }
        code => ErrorClass::GrpcCode(code_name(code).to_string()),
    }
}

pub(crate) fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}
