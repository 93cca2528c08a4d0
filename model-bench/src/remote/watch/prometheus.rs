//! A server's Prometheus metrics during a load point: the metrics URL scraped from the start of
//! the measurement window every interval until the run ends, the text exposition format parsed
//! with `prometheus-parse`, and each gauge and counter series summarised (min, mean, max; a
//! counter's rate). A URL that does not answer, or answers with something else, is a note, never
//! a failed point.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use prometheus_parse::{Scrape, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::results::{MetricSeries, ServerMetrics};
use crate::stats::rng::SplitMix64;

/// Series kept per point; a server with more (a big Triton has thousands) is cut here, in the
/// order it lists them.
pub const MAX_SERIES: usize = 512;
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a series only goes up (its rate matters) or is a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// One series' value in one scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampled {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub kind: Kind,
    pub value: f64,
}

/// The gauge and counter samples of a text exposition. Histogram and summary buckets are left
/// out (their `_count` and `_sum` are kept as counters), as are OpenMetrics' `_created`
/// timestamps. A sample with no `# TYPE` (prometheus-parse types a counter declared as `x` and
/// written as `x_total` this way) counts as a counter by the usual suffixes, else as a gauge.
pub fn parse(text: &str) -> Result<Vec<Sampled>, String> {
    let lines = text.lines().map(|line| Ok(line.to_string()));
    let scrape = Scrape::parse(lines).map_err(|e| format!("unreadable metrics text: {e}"))?;
    let sampled: Vec<Sampled> = scrape
        .samples
        .into_iter()
        .filter_map(|sample| {
            let (kind, value) = match sample.value {
                Value::Counter(value) => (Kind::Counter, value),
                Value::Gauge(value) => (Kind::Gauge, value),
                Value::Untyped(value) => {
                    if sample.metric.ends_with("_created") {
                        return None;
                    }
                    let counter = ["_total", "_count", "_sum"]
                        .iter()
                        .any(|suffix| sample.metric.ends_with(suffix));
                    let kind = if counter { Kind::Counter } else { Kind::Gauge };
                    (kind, value)
                }
                Value::Histogram(_) | Value::Summary(_) => return None,
            };
            value.is_finite().then(|| Sampled {
                name: sample.metric,
                labels: sample
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                kind,
                value,
            })
        })
        .collect();
    if sampled.is_empty() {
        return Err(
            "the answer holds no Prometheus samples (not the text exposition format?)".into(),
        );
    }
    Ok(sampled)
}

/// One reading of the metrics at `url`.
pub async fn scrape_once(url: &str) -> Result<Vec<Sampled>, String> {
    scrape(&crate::remote::crypto::http_client()?, url).await
}

/// One GET of the metrics URL, parsed.
async fn scrape(client: &reqwest::Client, url: &str) -> Result<Vec<Sampled>, String> {
    let response = client
        .get(url)
        .timeout(SCRAPE_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {status}"));
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if content_type.contains("json") || content_type.contains("html") {
        return Err(format!(
            "GET {url}: answered {content_type}, not Prometheus's text format"
        ));
    }
    let body = response
        .text()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    parse(&body).map_err(|e| format!("GET {url}: {e}"))
}

/// Scrapes taken so far: seconds since the first, and what each read.
#[derive(Debug, Default)]
struct Scrapes {
    readings: Vec<(f64, Vec<Sampled>)>,
    failed: usize,
    first_error: Option<String>,
}

impl Scrapes {
    fn record(&mut self, origin: Instant, result: Result<Vec<Sampled>, String>) {
        match result {
            Ok(sampled) => self
                .readings
                .push((origin.elapsed().as_secs_f64(), sampled)),
            Err(error) => {
                self.failed += 1;
                self.first_error.get_or_insert(error);
            }
        }
    }
}

/// A scraper running beside a load run.
pub struct Scraper {
    url: String,
    interval: Duration,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Scrapes>,
}

impl Scraper {
    /// Starts scraping `url` after `delay` (the warm-up), then every `interval`. Without a
    /// delay the first scrape is taken before this returns, so it precedes the first request.
    /// An error only when no HTTP client can be built.
    pub async fn start(url: &str, delay: Duration, interval: Duration) -> Result<Scraper, String> {
        let client = crate::remote::crypto::http_client()?;
        Ok(Scraper::start_with(client, url, delay, interval).await)
    }

    /// [`Scraper::start`] with a client the caller keeps (a bench scrapes during every point).
    pub async fn start_with(
        client: reqwest::Client,
        url: &str,
        delay: Duration,
        interval: Duration,
    ) -> Scraper {
        let interval = interval.max(Duration::from_millis(10));
        let origin = Instant::now();
        let mut scrapes = Scrapes::default();
        if delay.is_zero() {
            scrapes.record(origin, scrape(&client, url).await);
        }
        let (stop, mut stopped) = oneshot::channel::<()>();
        let target = url.to_string();
        let task = tokio::spawn(async move {
            let mut next = tokio::time::Instant::now() + delay;
            if !delay.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {
                        scrapes.record(origin, scrape(&client, &target).await);
                    }
                    _ = &mut stopped => return scrapes,
                }
            }
            // Each wait is 0.75–1.25 intervals: a fixed period would beat with a server whose
            // work runs on the same millisecond timer ticks (a scrape landing each time just
            // as a request is answered) and read the same phase of it every time.
            let mut jitter = SplitMix64(origin.elapsed().as_nanos() as u64 ^ 0x6d65_7472);
            loop {
                next += interval.mul_f64(0.75 + 0.5 * jitter.next_open01());
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {
                        scrapes.record(origin, scrape(&client, &target).await);
                    }
                    _ = &mut stopped => break,
                }
            }
            // The last reading: after the run's last response.
            scrapes.record(origin, scrape(&client, &target).await);
            scrapes
        });
        Scraper {
            url: url.to_string(),
            interval,
            stop,
            task,
        }
    }

    /// Stops after one last scrape and summarises the series; an error when no scrape
    /// answered with metrics.
    pub async fn finish(self) -> Result<ServerMetrics, String> {
        let _ = self.stop.send(());
        let scrapes = self
            .task
            .await
            .map_err(|e| format!("the metrics scraper of {} failed: {e}", self.url))?;
        summarise(&self.url, self.interval, scrapes)
    }
}

/// A series: its metric name and labels.
type SeriesKey = (String, BTreeMap<String, String>);

fn summarise(url: &str, interval: Duration, scrapes: Scrapes) -> Result<ServerMetrics, String> {
    let (Some(first), Some(last)) = (scrapes.readings.first(), scrapes.readings.last()) else {
        return Err(scrapes
            .first_error
            .unwrap_or_else(|| format!("{url} was not scraped (the run ended first)")));
    };
    let window_s = last.0 - first.0;
    // Series in the order the server lists them, each with its values over the scrapes.
    let mut series: Vec<(SeriesKey, Kind, Vec<f64>)> = Vec::new();
    let mut index: BTreeMap<SeriesKey, usize> = BTreeMap::new();
    for (reading, (_, sampled)) in scrapes.readings.iter().enumerate() {
        for sample in sampled {
            let key = (sample.name.clone(), sample.labels.clone());
            let at = *index.entry(key.clone()).or_insert_with(|| {
                // A counter that appears after the first reading was born during the window
                // (a label value seen for the first time), so it started from zero.
                let born = (sample.kind == Kind::Counter && reading > 0).then_some(0.0);
                series.push((key, sample.kind, born.into_iter().collect()));
                series.len() - 1
            });
            series[at].2.push(sample.value);
        }
    }
    let dropped_series = series.len().saturating_sub(MAX_SERIES);
    let series = series
        .into_iter()
        .take(MAX_SERIES)
        .map(|((name, labels), kind, values)| {
            // Every series has at least the reading that created it.
            let (first, last) = (values[0], values[values.len() - 1]);
            let per_sec = (kind == Kind::Counter && window_s > 0.0 && values.len() > 1)
                .then(|| (last - first) / window_s);
            MetricSeries {
                name,
                labels,
                kind: kind.as_str().into(),
                samples: values.len(),
                first,
                last,
                min: values.iter().copied().fold(f64::INFINITY, f64::min),
                max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                mean: values.iter().sum::<f64>() / values.len() as f64,
                per_sec,
            }
        })
        .collect();
    Ok(ServerMetrics {
        source: url.to_string(),
        interval_s: interval.as_secs_f64(),
        scrapes: scrapes.readings.len(),
        failed_scrapes: scrapes.failed,
        first_error: scrapes.first_error,
        window_s,
        series,
        dropped_series,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as Triton writes them (typed counters and gauges with labels).
    const TRITON: &str =
        "# HELP nv_inference_request_success Number of successful inference requests\n\
        # TYPE nv_inference_request_success counter\n\
        nv_inference_request_success{model=\"resnet\",version=\"1\"} 120\n\
        # HELP nv_gpu_utilization GPU utilization rate [0.0 - 1.0)\n\
        # TYPE nv_gpu_utilization gauge\n\
        nv_gpu_utilization{gpu_uuid=\"GPU-1\"} 0.75\n\
        nv_gpu_power_usage{gpu_uuid=\"GPU-1\"} 212.5\n";

    /// Lines as Python's prometheus_client writes them (MLServer): a counter declared as `x`
    /// and sampled as `x_total`, its `_created` timestamp, and a histogram.
    const PYTHON: &str = "# TYPE model_infer_request_success counter\n\
        model_infer_request_success_total{model=\"identity\",version=\"None\"} 7.0\n\
        model_infer_request_success_created{model=\"identity\",version=\"None\"} 1.79e+09\n\
        # TYPE rest_server_request_duration_seconds histogram\n\
        rest_server_request_duration_seconds_bucket{le=\"0.005\",method=\"POST\"} 3.0\n\
        rest_server_request_duration_seconds_bucket{le=\"+Inf\",method=\"POST\"} 7.0\n\
        rest_server_request_duration_seconds_count{method=\"POST\"} 7.0\n\
        rest_server_request_duration_seconds_sum{method=\"POST\"} 0.02\n\
        # TYPE process_resident_memory_bytes gauge\n\
        process_resident_memory_bytes 1.40279808e+08\n";

    #[test]
    fn triton_and_python_expositions_become_gauges_and_counters() {
        let triton = parse(TRITON).unwrap();
        let kinds: Vec<(&str, Kind, f64)> = triton
            .iter()
            .map(|s| (s.name.as_str(), s.kind, s.value))
            .collect();
        assert_eq!(
            kinds,
            [
                ("nv_inference_request_success", Kind::Counter, 120.0),
                ("nv_gpu_utilization", Kind::Gauge, 0.75),
                ("nv_gpu_power_usage", Kind::Gauge, 212.5),
            ]
        );
        assert_eq!(triton[0].labels["model"], "resnet");

        let python = parse(PYTHON).unwrap();
        let mut names: Vec<(&str, Kind)> =
            python.iter().map(|s| (s.name.as_str(), s.kind)).collect();
        names.sort_by_key(|(name, _)| *name);
        assert_eq!(
            names,
            [
                ("model_infer_request_success_total", Kind::Counter),
                ("process_resident_memory_bytes", Kind::Gauge),
                ("rest_server_request_duration_seconds_count", Kind::Counter),
                ("rest_server_request_duration_seconds_sum", Kind::Counter),
            ]
        );
    }

    #[test]
    fn garbage_is_an_error_that_says_so() {
        for garbage in ["", "<html><body>404</body></html>", "{\"ready\": true}"] {
            let error = parse(garbage).unwrap_err();
            assert!(
                error.contains("no Prometheus samples"),
                "{garbage}: {error}"
            );
        }
    }

    #[test]
    fn scrapes_summarise_into_levels_and_rates() {
        let reading = |success: f64, utilisation: f64| {
            let text = TRITON
                .replace("} 120", &format!("}} {success}"))
                .replace("0.75", &utilisation.to_string());
            parse(&text).unwrap()
        };
        let scrapes = Scrapes {
            readings: vec![
                (0.0, reading(100.0, 0.5)),
                (1.0, reading(150.0, 1.0)),
                (2.0, reading(300.0, 0.0)),
            ],
            failed: 1,
            first_error: Some("GET u: timed out".into()),
        };
        let metrics = summarise("u", Duration::from_secs(1), scrapes).unwrap();
        assert_eq!((metrics.scrapes, metrics.failed_scrapes), (3, 1));
        assert_eq!(metrics.window_s, 2.0);
        let success = &metrics.series[0];
        assert_eq!(success.kind, "counter");
        assert_eq!(success.per_sec, Some(100.0));
        let utilisation = &metrics.series[1];
        assert_eq!(
            (utilisation.min, utilisation.mean, utilisation.max),
            (0.0, 0.5, 1.0)
        );
        assert_eq!(utilisation.per_sec, None);

        // A label value seen for the first time mid-window is a counter born then, from zero.
        let mut born = reading(200.0, 0.5);
        born.push(Sampled {
            name: "nv_inference_request_failure".into(),
            labels: BTreeMap::new(),
            kind: Kind::Counter,
            value: 3.0,
        });
        let scrapes = Scrapes {
            readings: vec![(0.0, reading(100.0, 0.5)), (0.5, born)],
            ..Scrapes::default()
        };
        let metrics = summarise("u", Duration::from_secs(1), scrapes).unwrap();
        let failures = &metrics.series[3];
        assert_eq!(failures.name, "nv_inference_request_failure");
        assert_eq!((failures.first, failures.last), (0.0, 3.0));
        assert_eq!(failures.per_sec, Some(6.0));

        let none = Scrapes {
            readings: Vec::new(),
            failed: 2,
            first_error: Some("GET u: HTTP 404 Not Found".into()),
        };
        let note = summarise("u", Duration::from_secs(1), none).unwrap_err();
        assert!(note.contains("404"), "{note}");
    }
}
