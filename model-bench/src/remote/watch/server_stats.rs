//! Where the server spends its time: Triton's statistics extension (`GET
//! /v2/models/{model}/stats`, or gRPC `ModelStatistics`) read before and after a load point, the cumulative counters
//! diffed into time per request queued, taking inputs, inferring and producing outputs. A
//! server without the extension, or with an answer that does not parse, is a note, never a
//! failed point.

use std::time::Duration;

use serde::Deserialize;

use crate::results::ServerBreakdown;

/// A count of events and their total time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
pub struct Counted {
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub ns: u64,
}

/// One model's cumulative counters, as the server reported them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Snapshot {
    #[serde(default)]
    pub success: Counted,
    #[serde(default)]
    pub fail: Counted,
    #[serde(default)]
    pub queue: Counted,
    #[serde(default)]
    pub compute_input: Counted,
    #[serde(default)]
    pub compute_infer: Counted,
    #[serde(default)]
    pub compute_output: Counted,
}

#[derive(Deserialize)]
struct Response {
    model_stats: Vec<ModelStats>,
}

#[derive(Deserialize)]
struct ModelStats {
    name: String,
    inference_stats: Snapshot,
}

/// Parses a statistics answer and picks `model`'s counters.
pub fn parse(body: &[u8], model: &str) -> Result<Snapshot, String> {
    let response: Response = serde_json::from_slice(body)
        .map_err(|e| format!("the statistics answer is not Triton's statistics format: {e}"))?;
    response
        .model_stats
        .into_iter()
        .find(|m| m.name == model)
        .map(|m| m.inference_stats)
        .ok_or_else(|| format!("the statistics answer has no model `{model}`"))
}

/// Picks `model`'s counters from a gRPC `ModelStatistics` answer.
pub fn from_grpc(
    response: crate::remote::oip::proto::ModelStatisticsResponse,
    model: &str,
) -> Result<Snapshot, String> {
    let counted = |d: Option<crate::remote::oip::proto::StatisticDuration>| {
        d.map(|d| Counted {
            count: d.count,
            ns: d.ns,
        })
        .unwrap_or_default()
    };
    let stats = response
        .model_stats
        .into_iter()
        .find(|m| m.name == model)
        .ok_or_else(|| format!("the ModelStatistics answer has no model `{model}`"))?
        .inference_stats
        .unwrap_or_default();
    Ok(Snapshot {
        success: counted(stats.success),
        fail: counted(stats.fail),
        queue: counted(stats.queue),
        compute_input: counted(stats.compute_input),
        compute_infer: counted(stats.compute_infer),
        compute_output: counted(stats.compute_output),
    })
}

/// The statistics URL of `model` under a server's REST base URL.
pub fn url(base: &str, model: &str) -> String {
    format!("{}/v2/models/{model}/stats", base.trim_end_matches('/'))
}

/// Reads `model`'s counters from `url`.
pub async fn fetch(url: &str, model: &str) -> Result<Snapshot, String> {
    let client = crate::remote::crypto::http_client_builder()
        .build()
        .map_err(|e| format!("no HTTP client for the statistics: {e}"))?;
    fetch_with(&client, url, model).await
}

/// [`fetch`] with a client the caller keeps (a bench reads before and after every point).
pub async fn fetch_with(
    client: &reqwest::Client,
    url: &str,
    model: &str,
) -> Result<Snapshot, String> {
    let response = client
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "GET {url}: HTTP {status} (the server does not offer Triton's statistics extension?)"
        ));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    parse(&body, model).map_err(|e| format!("GET {url}: {e}"))
}

/// Time per request spent in each part, over the requests between two readings;
/// `client_service_mean_ns` is the client's own mean from send to response.
pub fn breakdown(
    before: &Snapshot,
    after: &Snapshot,
    source: &str,
    client_service_mean_ns: Option<f64>,
) -> Result<ServerBreakdown, String> {
    let delta = |a: Counted, b: Counted| {
        let count = b.count.checked_sub(a.count)?;
        let ns = b.ns.checked_sub(a.ns)?;
        Some((count, ns))
    };
    let per = |a: Counted, b: Counted| {
        delta(a, b).and_then(|(count, ns)| (count > 0).then(|| ns as f64 / count as f64))
    };
    let (requests, success_ns) = delta(before.success, after.success)
        .ok_or("the server's counters went down between the readings (was it restarted?)")?;
    if requests == 0 {
        return Err("the server counted no successful request during the point".into());
    }
    let server_total_ns = success_ns as f64 / requests as f64;
    Ok(ServerBreakdown {
        source: source.to_string(),
        requests,
        failed: delta(before.fail, after.fail).map_or(0, |(count, _)| count),
        queue_ns: per(before.queue, after.queue),
        compute_input_ns: per(before.compute_input, after.compute_input),
        compute_infer_ns: per(before.compute_infer, after.compute_infer),
        compute_output_ns: per(before.compute_output, after.compute_output),
        server_total_ns,
        client_service_mean_ns,
        outside_server_ns: client_service_mean_ns.map(|client| client - server_total_ns),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRITON: &str = r#"{"model_stats":[{"name":"other","version":"1","inference_stats":{}},
        {"name":"resnet","version":"1","last_inference":1,"inference_count":30,"execution_count":30,
         "inference_stats":{"success":{"count":30,"ns":3000000},"fail":{"count":1,"ns":10},
         "queue":{"count":30,"ns":600000},"compute_input":{"count":30,"ns":30000},
         "compute_infer":{"count":30,"ns":2100000},"compute_output":{"count":30,"ns":60000},
         "cache_hit":{"count":0,"ns":0}},"batch_stats":[]}]}"#;

    #[test]
    fn triton_counters_become_time_per_request() {
        let after = parse(TRITON.as_bytes(), "resnet").unwrap();
        let before = Snapshot {
            success: Counted {
                count: 10,
                ns: 1_000_000,
            },
            queue: Counted {
                count: 10,
                ns: 200_000,
            },
            compute_infer: Counted {
                count: 10,
                ns: 700_000,
            },
            ..Snapshot::default()
        };
        let b = breakdown(
            &before,
            &after,
            "http://x/v2/models/resnet/stats",
            Some(150_000.0),
        )
        .unwrap();
        assert_eq!((b.requests, b.failed), (20, 1));
        assert_eq!(b.server_total_ns, 100_000.0);
        assert_eq!(b.queue_ns, Some(20_000.0));
        assert_eq!(b.compute_infer_ns, Some(70_000.0));
        // No earlier reading of the input and output counters: all of theirs are in the diff.
        assert_eq!(b.compute_input_ns, Some(1_000.0));
        assert_eq!(b.outside_server_ns, Some(50_000.0));
    }

    #[test]
    fn grpc_model_statistics_give_the_same_counters() {
        use crate::remote::oip::proto;
        let duration = |count, ns| Some(proto::StatisticDuration { count, ns });
        let response = proto::ModelStatisticsResponse {
            model_stats: vec![proto::ModelStatistics {
                name: "resnet".into(),
                version: "1".into(),
                inference_stats: Some(proto::InferStatistics {
                    success: duration(30, 3_000_000),
                    queue: duration(30, 600_000),
                    ..Default::default()
                }),
                ..Default::default()
            }],
        };
        let snapshot = from_grpc(response.clone(), "resnet").unwrap();
        assert_eq!(
            snapshot.success,
            Counted {
                count: 30,
                ns: 3_000_000
            }
        );
        assert_eq!(snapshot.queue.ns, 600_000);
        assert_eq!(snapshot.compute_infer, Counted::default());
        let error = from_grpc(response, "bert").unwrap_err();
        assert!(error.contains("no model `bert`"), "{error}");
    }

    #[test]
    fn garbage_or_a_missing_model_is_an_error_that_says_so() {
        let error = parse(b"<html>404</html>", "resnet").unwrap_err();
        assert!(error.contains("not Triton's statistics format"), "{error}");
        let error = parse(TRITON.as_bytes(), "bert").unwrap_err();
        assert!(error.contains("no model `bert`"), "{error}");
        let after = parse(TRITON.as_bytes(), "resnet").unwrap();
        let restarted = breakdown(&after, &Snapshot::default(), "u", None).unwrap_err();
        assert!(restarted.contains("restarted"), "{restarted}");
        assert!(breakdown(&after, &after, "u", None).is_err());
    }
}
