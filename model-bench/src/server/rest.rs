//! The reference server's Open Inference Protocol REST routes (hyper): health, metadata, and
//! infer with JSON or binary tensors.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::json;

use super::models::{InferError, Models};
use crate::remote::oip::v2;

pub(crate) const SERVER_NAME: &str = "model-bench-reference";

/// The largest request body accepted (a batch of images is tens of MB).
const MAX_BODY: usize = 512 * 1024 * 1024;

pub(crate) async fn handle(
    models: Arc<Models>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(route(&models, request)
        .await
        .unwrap_or_else(|(status, message)| error(status, &message)))
}

type Routed = Result<Response<Full<Bytes>>, (StatusCode, String)>;

async fn route(models: &Models, request: Request<Incoming>) -> Routed {
    let path = request.uri().path().trim_end_matches('/').to_string();
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let method = request.method().clone();
    match (method, parts.as_slice()) {
        // Before the model routes: `stats` here is not a model's name.
        (Method::GET, ["v2", "models", "stats"]) => Ok(json_response(
            StatusCode::OK,
            json!({"model_stats": models.all().map(model_stats).collect::<Vec<_>>()}),
        )),
        (Method::GET, ["metrics"]) => Ok(Response::builder()
            .status(StatusCode::OK)
            .header(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")
            .body(Full::new(Bytes::from(prometheus_text(models))))
            .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "response"))),
        (Method::GET, ["v2", "health", "live"]) => {
            Ok(json_response(StatusCode::OK, json!({"live": true})))
        }
        (Method::GET, ["v2", "health", "ready"]) => {
            Ok(json_response(StatusCode::OK, json!({"ready": true})))
        }
        (Method::GET, ["v2"]) => Ok(json_response(
            StatusCode::OK,
            json!({"name": SERVER_NAME, "version": env!("CARGO_PKG_VERSION"), "extensions": ["binary_tensor_data"]}),
        )),
        (Method::GET, ["v2", "models", name])
        | (Method::GET, ["v2", "models", name, "versions", _]) => {
            let model = find(models, name)?;
            let tensors = |specs: &[super::models::TensorSpec]| {
                specs
                    .iter()
                    .map(|t| json!({"name": t.name, "datatype": t.datatype.as_str(), "shape": t.shape}))
                    .collect::<Vec<_>>()
            };
            Ok(json_response(
                StatusCode::OK,
                json!({
                    "name": model.name,
                    "versions": ["1"],
                    "platform": model.platform,
                    "inputs": tensors(&model.inputs),
                    "outputs": tensors(&model.outputs),
                }),
            ))
        }
        (Method::GET, ["v2", "models", name, "ready"])
        | (Method::GET, ["v2", "models", name, "versions", _, "ready"]) => {
            find(models, name)?;
            Ok(json_response(
                StatusCode::OK,
                json!({"name": name, "ready": true}),
            ))
        }
        (Method::POST, ["v2", "models", name, "infer"])
        | (Method::POST, ["v2", "models", name, "versions", _, "infer"]) => {
            let name = name.to_string();
            let model = find(models, &name)?;
            let _inside = model.stats.enter();
            let started = std::time::Instant::now();
            let response = infer(models, model, request).await;
            match &response {
                Ok(_) => model.stats.success.add(started.elapsed()),
                Err(_) => model.stats.fail.add(started.elapsed()),
            }
            response
        }
        (Method::GET, ["v2", "models", name, "stats"])
        | (Method::GET, ["v2", "models", name, "versions", _, "stats"]) => {
            let model = find(models, name)?;
            Ok(json_response(
                StatusCode::OK,
                json!({"model_stats": [model_stats(model)]}),
            ))
        }
        (_, ["v2", ..]) => Err((StatusCode::NOT_FOUND, format!("no route for {path}"))),
        _ => Err((
            StatusCode::NOT_FOUND,
            format!("no route for {path}; the API is under /v2"),
        )),
    }
}

fn find<'a>(
    models: &'a Models,
    name: &str,
) -> Result<&'a super::models::ServedModel, (StatusCode, String)> {
    models.get(name).ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            format!("model `{name}` is not served here"),
        )
    })
}

/// A model's counters in the form of Triton's statistics extension.
fn model_stats(model: &super::models::ServedModel) -> serde_json::Value {
    let counter = |c: &super::models::Counter| {
        let (count, ns) = c.read();
        json!({"count": count, "ns": ns})
    };
    let stats = &model.stats;
    let (successes, _) = stats.success.read();
    json!({
        "name": model.name,
        "version": "1",
        "inference_count": successes,
        "execution_count": successes,
        "inference_stats": {
            "success": counter(&stats.success),
            "fail": counter(&stats.fail),
            "queue": counter(&stats.queue),
            "compute_input": counter(&stats.compute_input),
            "compute_infer": counter(&stats.compute_infer),
            "compute_output": counter(&stats.compute_output),
        },
    })
}

/// The models' counters in Prometheus's text exposition format, under Triton's metric names
/// (`nv_inference_*`), so a scraper reads the reference server as it reads Triton.
fn prometheus_text(models: &Models) -> String {
    use std::fmt::Write;
    type Read = fn(&super::models::ModelCounters) -> u64;
    let families: [(&str, &str, &str, Read); 9] = [
        (
            "nv_inference_request_success",
            "counter",
            "Number of successful inference requests",
            |s| s.success.read().0,
        ),
        (
            "nv_inference_request_failure",
            "counter",
            "Number of failed inference requests",
            |s| s.fail.read().0,
        ),
        (
            "nv_inference_count",
            "counter",
            "Number of inferences performed",
            |s| s.success.read().0,
        ),
        (
            "nv_inference_request_duration_us",
            "counter",
            "Cumulative inference request duration in microseconds",
            |s| micros(&s.success),
        ),
        (
            "nv_inference_queue_duration_us",
            "counter",
            "Cumulative inference queuing duration in microseconds",
            |s| micros(&s.queue),
        ),
        (
            "nv_inference_compute_input_duration_us",
            "counter",
            "Cumulative compute input duration in microseconds",
            |s| micros(&s.compute_input),
        ),
        (
            "nv_inference_compute_infer_duration_us",
            "counter",
            "Cumulative compute inference duration in microseconds",
            |s| micros(&s.compute_infer),
        ),
        (
            "nv_inference_compute_output_duration_us",
            "counter",
            "Cumulative inference compute output duration in microseconds",
            |s| micros(&s.compute_output),
        ),
        (
            "nv_inference_pending_request_count",
            "gauge",
            "Instantaneous number of requests inside the server",
            |s| s.in_flight.load(std::sync::atomic::Ordering::Relaxed),
        ),
    ];
    let mut text = String::new();
    for (name, kind, help, read) in families {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for model in models.all() {
            let _ = writeln!(
                text,
                "{name}{{model=\"{}\",version=\"1\"}} {}",
                model.name,
                read(&model.stats)
            );
        }
    }
    text
}

fn micros(counter: &super::models::Counter) -> u64 {
    counter.read().1 / 1_000
}

async fn infer(
    models: &Models,
    model: &super::models::ServedModel,
    request: Request<Incoming>,
) -> Routed {
    let taking_inputs = std::time::Instant::now();
    let header_len = match request.headers().get(v2::HEADER_LENGTH) {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or((
                    StatusCode::BAD_REQUEST,
                    "Inference-Header-Content-Length is not a number".to_string(),
                ))?,
        ),
        None => None,
    };
    let body = http_body_util::Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {e}"),
            )
        })?
        .to_bytes();
    let decoded =
        v2::decode_request(&body, header_len).map_err(|m| (StatusCode::BAD_REQUEST, m))?;
    model.stats.compute_input.add(taking_inputs.elapsed());
    let outputs = models
        .infer(model, decoded.inputs)
        .await
        .map_err(|e| match e {
            InferError::BadInput(m) => (StatusCode::BAD_REQUEST, m),
            InferError::Model(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
        })?;
    let outputs: Vec<_> = if decoded.outputs.is_empty() {
        outputs
    } else {
        outputs
            .into_iter()
            .filter(|t| decoded.outputs.iter().any(|n| n == t.name()))
            .collect()
    };
    let producing_outputs = std::time::Instant::now();
    let (body, header_len) = v2::encode_response(
        &model.name,
        decoded.id.as_deref(),
        &outputs,
        decoded.binary_outputs,
    )
    .map_err(|m| (StatusCode::INTERNAL_SERVER_ERROR, m))?;
    model.stats.compute_output.add(producing_outputs.elapsed());
    let mut response = Response::builder().status(StatusCode::OK);
    response = match header_len {
        Some(len) => response
            .header(http::header::CONTENT_TYPE, "application/octet-stream")
            .header(v2::HEADER_LENGTH, len),
        None => response.header(http::header::CONTENT_TYPE, "application/json"),
    };
    response
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

fn json_response(status: StatusCode, value: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json_response(status, json!({"error": message}))
}
