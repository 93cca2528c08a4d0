//! A server's Prometheus metrics during a load point: the metrics URL scraped from the start of
//! the measurement window every interval until the run ends, the text exposition format parsed
//! with `prometheus-parse`, and each gauge and counter series summarised (min, mean, max; a
//! counter's rate). The buckets of the histograms the caller asks for are kept, reading by
//! reading, beside the samples (`server_state/` reads an LLM server's from them). A URL that does
//! not answer, or answers with something else, is a note, never a failed point.

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

/// One histogram series' cumulative buckets in one scrape: (upper bound, count), ascending, the
/// last `+Inf`.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub buckets: Vec<(f64, f64)>,
}

/// What one scrape read: its gauge and counter samples, and the buckets of the histograms kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    pub samples: Vec<Sampled>,
    pub histograms: Vec<Buckets>,
}

/// Which histograms' buckets to keep, by metric name (every other histogram keeps only its
/// `_count` and `_sum`).
pub type KeepHistogram = fn(&str) -> bool;

/// The gauge and counter samples of a text exposition, and the buckets of the histograms `keep`
/// names. Other histograms' and summaries' buckets are left out (their `_count` and `_sum` are
/// kept as counters), as are OpenMetrics' `_created` timestamps. A sample with no `# TYPE`
/// (prometheus-parse types a counter declared as `x` and written as `x_total` this way) counts
/// as a counter by the usual suffixes, else as a gauge; an untyped `_bucket` with an `le` label
/// is a histogram's bucket all the same.
pub fn parse(text: &str, keep: KeepHistogram) -> Result<Exposition, String> {
    // prometheus-parse reads a metric name as `\w+`, which leaves out the colons the format
    // allows and vLLM's, SGLang's and llama.cpp's names carry (`vllm:num_requests_running`):
    // each colon goes in as a letter `\w` matches and comes back out of every name and label.
    let lines = text
        .lines()
        .map(|line| Ok(line.replace(':', COLON_STAND_IN)));
    let scrape = Scrape::parse(lines).map_err(|e| format!("unreadable metrics text: {e}"))?;
    let restore = |text: &str| text.replace(COLON_STAND_IN, ":");
    let mut exposition = Exposition::default();
    let mut untyped_buckets: BTreeMap<SeriesKey, Vec<(f64, f64)>> = BTreeMap::new();
    for mut sample in scrape.samples {
        // OpenMetrics' creation timestamps (Python's client types them as gauges).
        if sample.metric.ends_with("_created") {
            continue;
        }
        sample.metric = restore(&sample.metric);
        let labels: BTreeMap<String, String> = sample
            .labels
            .iter()
            .map(|(k, v)| (restore(k), restore(v)))
            .collect();
        let (kind, value) = match sample.value {
            Value::Counter(value) => (Kind::Counter, value),
            Value::Gauge(value) => (Kind::Gauge, value),
            Value::Untyped(value) => {
                if let (Some(base), Some(bound)) =
                    (sample.metric.strip_suffix("_bucket"), labels.get("le"))
                {
                    if let Some(bound) = parse_bound(bound).filter(|_| value.is_finite()) {
                        if keep(base) {
                            let mut labels = labels.clone();
                            labels.remove("le");
                            untyped_buckets
                                .entry((base.to_owned(), labels))
                                .or_default()
                                .push((bound, value));
                        }
                    }
                    continue;
                }
                let counter = ["_total", "_count", "_sum"]
                    .iter()
                    .any(|suffix| sample.metric.ends_with(suffix));
                let kind = if counter { Kind::Counter } else { Kind::Gauge };
                (kind, value)
            }
            Value::Histogram(buckets) => {
                if keep(&sample.metric) {
                    let buckets: Vec<(f64, f64)> = buckets
                        .iter()
                        .map(|b| (b.less_than, b.count))
                        .filter(|(_, count)| count.is_finite())
                        .collect();
                    exposition.histograms.push(Buckets {
                        name: sample.metric,
                        labels,
                        buckets,
                    });
                }
                continue;
            }
            Value::Summary(_) => continue,
        };
        if value.is_finite() {
            exposition.samples.push(Sampled {
                name: sample.metric,
                labels,
                kind,
                value,
            });
        }
    }
    for ((name, labels), buckets) in untyped_buckets {
        exposition.histograms.push(Buckets {
            name,
            labels,
            buckets,
        });
    }
    // Ascending by bound, typed or not (a server may list them in any order).
    for histogram in &mut exposition.histograms {
        histogram.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    if exposition.samples.is_empty() && exposition.histograms.is_empty() {
        return Err(
            "the answer holds no Prometheus samples (not the text exposition format?)".into(),
        );
    }
    Ok(exposition)
}

/// What a colon is while prometheus-parse reads the text: U+02D0, a modifier letter (so `\w`)
/// no metric name or label of a server's uses.
const COLON_STAND_IN: &str = "\u{2d0}";

/// An `le` label's value: a number or `+Inf`.
fn parse_bound(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        _ => text.parse().ok(),
    }
}

/// One reading of the metrics at `url` (no histogram's buckets kept).
pub async fn scrape_once(url: &str) -> Result<Vec<Sampled>, String> {
    let exposition = scrape(&crate::remote::crypto::http_client()?, url, |_| false).await?;
    Ok(exposition.samples)
}

/// One GET of the metrics URL, parsed.
async fn scrape(
    client: &reqwest::Client,
    url: &str,
    keep: KeepHistogram,
) -> Result<Exposition, String> {
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
    parse(&body, keep).map_err(|e| format!("GET {url}: {e}"))
}

/// One successful scrape: seconds since the scraper started, and what it read.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub at_s: f64,
    pub exposition: Exposition,
}

/// Scrapes taken so far.
#[derive(Debug, Default)]
struct Scrapes {
    readings: Vec<Reading>,
    failed: usize,
    first_error: Option<String>,
}

impl Scrapes {
    fn record(&mut self, origin: Instant, result: Result<Exposition, String>) {
        match result {
            Ok(exposition) => self.readings.push(Reading {
                at_s: origin.elapsed().as_secs_f64(),
                exposition,
            }),
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
    delay: Duration,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Scrapes>,
}

/// What a scraper read over a run: every series summarised, and the readings themselves (from
/// the measurement window's start, `window_start_s` after the scraper's).
#[derive(Debug)]
pub struct Scraped {
    pub metrics: ServerMetrics,
    pub readings: Vec<Reading>,
    pub window_start_s: f64,
}

impl Scraper {
    /// Starts scraping `url` after `delay` (the warm-up), then every `interval`. Without a
    /// delay the first scrape is taken before this returns, so it precedes the first request.
    /// An error only when no HTTP client can be built.
    pub async fn start(url: &str, delay: Duration, interval: Duration) -> Result<Scraper, String> {
        let client = crate::remote::crypto::http_client()?;
        Ok(Scraper::start_with(client, url, (delay, interval), |_| false).await)
    }

    /// [`Scraper::start`] with a client the caller keeps (a bench scrapes during every point),
    /// keeping the buckets of the histograms `keep` names.
    pub async fn start_with(
        client: reqwest::Client,
        url: &str,
        (delay, interval): (Duration, Duration),
        keep: KeepHistogram,
    ) -> Scraper {
        let interval = interval.max(Duration::from_millis(10));
        let origin = Instant::now();
        let mut scrapes = Scrapes::default();
        if delay.is_zero() {
            scrapes.record(origin, scrape(&client, url, keep).await);
        }
        let (stop, mut stopped) = oneshot::channel::<()>();
        let target = url.to_string();
        let task = tokio::spawn(async move {
            let mut next = tokio::time::Instant::now() + delay;
            if !delay.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {
                        scrapes.record(origin, scrape(&client, &target, keep).await);
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
                        scrapes.record(origin, scrape(&client, &target, keep).await);
                    }
                    _ = &mut stopped => break,
                }
            }
            // The last reading: after the run's last response.
            scrapes.record(origin, scrape(&client, &target, keep).await);
            scrapes
        });
        Scraper {
            url: url.to_string(),
            interval,
            delay,
            stop,
            task,
        }
    }

    /// Stops after one last scrape and summarises the series; an error when no scrape
    /// answered with metrics.
    pub async fn finish(self) -> Result<Scraped, String> {
        let _ = self.stop.send(());
        let scrapes = self
            .task
            .await
            .map_err(|e| format!("the metrics scraper of {} failed: {e}", self.url))?;
        let metrics = summarise(&self.url, self.interval, &scrapes)?;
        Ok(Scraped {
            metrics,
            readings: scrapes.readings,
            window_start_s: self.delay.as_secs_f64(),
        })
    }
}

/// A series: its metric name and labels.
type SeriesKey = (String, BTreeMap<String, String>);

fn summarise(url: &str, interval: Duration, scrapes: &Scrapes) -> Result<ServerMetrics, String> {
    let readings = &scrapes.readings;
    let (Some(first), Some(last)) = (readings.first(), readings.last()) else {
        return Err(scrapes
            .first_error
            .clone()
            .unwrap_or_else(|| format!("{url} was not scraped (the run ended first)")));
    };
    let window_s = last.at_s - first.at_s;
    // Series in the order the server lists them, each with its values over the scrapes.
    let mut series: Vec<(SeriesKey, Kind, Vec<f64>)> = Vec::new();
    let mut index: BTreeMap<SeriesKey, usize> = BTreeMap::new();
    for (reading, Reading { exposition, .. }) in readings.iter().enumerate() {
        for sample in &exposition.samples {
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
        scrapes: readings.len(),
        failed_scrapes: scrapes.failed,
        first_error: scrapes.first_error.clone(),
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
        let triton = parse(TRITON, |_| false).unwrap().samples;
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

        let python = parse(PYTHON, |_| false).unwrap().samples;
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
            let error = parse(garbage, |_| false).unwrap_err();
            assert!(
                error.contains("no Prometheus samples"),
                "{garbage}: {error}"
            );
        }
    }

    #[test]
    fn scrapes_summarise_into_levels_and_rates() {
        let reading = |at_s: f64, success: f64, utilisation: f64| {
            let text = TRITON
                .replace("} 120", &format!("}} {success}"))
                .replace("0.75", &utilisation.to_string());
            Reading {
                at_s,
                exposition: parse(&text, |_| false).unwrap(),
            }
        };
        let scrapes = Scrapes {
            readings: vec![
                reading(0.0, 100.0, 0.5),
                reading(1.0, 150.0, 1.0),
                reading(2.0, 300.0, 0.0),
            ],
            failed: 1,
            first_error: Some("GET u: timed out".into()),
        };
        let metrics = summarise("u", Duration::from_secs(1), &scrapes).unwrap();
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
        let mut born = reading(0.5, 200.0, 0.5);
        born.exposition.samples.push(Sampled {
            name: "nv_inference_request_failure".into(),
            labels: BTreeMap::new(),
            kind: Kind::Counter,
            value: 3.0,
        });
        let scrapes = Scrapes {
            readings: vec![reading(0.0, 100.0, 0.5), born],
            ..Scrapes::default()
        };
        let metrics = summarise("u", Duration::from_secs(1), &scrapes).unwrap();
        let failures = &metrics.series[3];
        assert_eq!(failures.name, "nv_inference_request_failure");
        assert_eq!((failures.first, failures.last), (0.0, 3.0));
        assert_eq!(failures.per_sec, Some(6.0));

        let none = Scrapes {
            readings: Vec::new(),
            failed: 2,
            first_error: Some("GET u: HTTP 404 Not Found".into()),
        };
        let note = summarise("u", Duration::from_secs(1), &none).unwrap_err();
        assert!(note.contains("404"), "{note}");
    }

    #[test]
    fn kept_histograms_keep_their_buckets_typed_or_not() {
        let typed = "# TYPE lat_seconds histogram\n\
            lat_seconds_bucket{le=\"0.1\",model=\"m\"} 3\n\
            lat_seconds_bucket{le=\"1\",model=\"m\"} 5\n\
            lat_seconds_bucket{le=\"+Inf\",model=\"m\"} 6\n\
            lat_seconds_sum{model=\"m\"} 4.5\n\
            lat_seconds_count{model=\"m\"} 6\n\
            other_seconds_bucket{le=\"1\"} 1\n\
            other_seconds_bucket{le=\"+Inf\"} 1\n";
        for text in [
            typed.to_string(),
            typed.replace("# TYPE lat_seconds histogram\n", ""),
        ] {
            let exposition = parse(&text, |name| name == "lat_seconds").unwrap();
            assert_eq!(exposition.histograms.len(), 1, "{text}");
            let kept = &exposition.histograms[0];
            assert_eq!(kept.name, "lat_seconds");
            assert_eq!(kept.labels.get("model").map(String::as_str), Some("m"));
            assert!(!kept.labels.contains_key("le"));
            assert_eq!(kept.buckets, [(0.1, 3.0), (1.0, 5.0), (f64::INFINITY, 6.0)]);
            let names: Vec<&str> = exposition.samples.iter().map(|s| s.name.as_str()).collect();
            assert!(names.contains(&"lat_seconds_sum"), "{names:?}");
            assert!(!names.iter().any(|n| n.ends_with("_bucket")), "{names:?}");
        }
    }
}
