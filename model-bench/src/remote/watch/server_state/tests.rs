//! The catalogue against real exposition text from each server (`fixtures/README.md` says where
//! each came from), and the window's arithmetic on readings made for the test.

use super::*;
use crate::remote::watch::prometheus::{parse, Exposition};

fn reading(at_s: f64, text: &str) -> Reading {
    Reading {
        at_s,
        exposition: parse(text, names::is_catalogued_histogram).unwrap(),
    }
}

/// One fixture read twice (no change between): which server, and which figures it gives.
fn read_twice(text: &str) -> ServerState {
    read(&[reading(0.0, text), reading(1.0, text)], 0.0).expect("a known server")
}

#[test]
fn every_servers_exposition_is_read_by_its_own_names() {
    let cases: [(&str, &str, &[&str]); 7] = [
        (
            include_str!("fixtures/vllm-0.34.0.txt"),
            "vLLM",
            &[
                "running",
                "waiting",
                "kv_cache_usage",
                "preemptions",
                "prefix_cache_queries",
                "prefix_cache_hits",
                "spec_decode_drafted",
                "spec_decode_accepted",
                "prompt_tokens",
                "generation_tokens",
                "requests",
            ],
        ),
        (
            include_str!("fixtures/vllm-0.7.3.txt"),
            "vLLM",
            &[
                "running",
                "waiting",
                "kv_cache_usage",
                "preemptions",
                "prefix_cache_hit_rate",
                "prompt_tokens",
                "generation_tokens",
                "requests",
            ],
        ),
        (
            include_str!("fixtures/sglang-docs.txt"),
            "SGLang",
            &[
                "running",
                "waiting",
                "kv_cache_usage",
                "prefix_cache_hit_rate",
                "prompt_tokens",
                "generation_tokens",
            ],
        ),
        (
            include_str!("fixtures/sglang-0.5.23.txt"),
            "SGLang",
            &[
                "running",
                "waiting",
                "kv_cache_usage",
                "prefix_cache_hit_rate",
                "prompt_tokens",
                "generation_tokens",
                "requests",
            ],
        ),
        (
            include_str!("fixtures/tgi-3.3.7.txt"),
            "TGI",
            &[
                "running",
                "waiting",
                "prompt_tokens",
                "generation_tokens",
                "requests",
            ],
        ),
        (
            include_str!("fixtures/llamacpp-b10605.txt"),
            "llama.cpp",
            &[
                "running",
                "waiting",
                "prefix_cache_hits",
                "prefix_cache_misses",
                "spec_decode_drafted",
                "spec_decode_accepted",
                "prompt_tokens",
                "generation_tokens",
            ],
        ),
        (
            include_str!("fixtures/dynamo-frontend.txt"),
            "Dynamo",
            &["waiting", "prompt_tokens", "generation_tokens", "requests"],
        ),
    ];
    for (text, server, figures) in cases {
        let state = read_twice(text);
        assert_eq!(state.server, server);
        for figure in figures {
            assert!(
                state.sources.contains_key(*figure),
                "{server}: no {figure} in {:?}",
                state.sources
            );
        }
        for (figure, metric) in &state.sources {
            let name = names::NAMES
                .iter()
                .find(|n| n.metric == metric)
                .unwrap_or_else(|| panic!("{server}: {figure} from {metric}, not catalogued"));
            assert_eq!(name.server.name(), server, "{metric}");
        }
        // No time passed between the two readings: no counter rose, no histogram counted.
        assert!(state.times.is_empty(), "{server}: {:?}", state.times);
        assert_eq!(state.requests.unwrap_or(0.0), 0.0, "{server}");
        assert!(state.notes.is_empty(), "{server}: {:?}", state.notes);
    }
    // The gauges at the scrape, as the servers wrote them.
    let vllm = read_twice(include_str!("fixtures/vllm-0.34.0.txt"));
    assert_eq!(vllm.running.unwrap().max, 12.0);
    assert_eq!(vllm.waiting.unwrap().max, 3.0);
    assert_eq!(vllm.kv_cache_usage.unwrap().mean, 0.3742);
    let v0 = read_twice(include_str!("fixtures/vllm-0.7.3.txt"));
    assert_eq!(v0.sources["kv_cache_usage"], "vllm:gpu_cache_usage_perc");
    assert_eq!(v0.prefix_cache_hit_rate, Some(0.4127));
    let sglang = read_twice(include_str!("fixtures/sglang-docs.txt"));
    assert_eq!(sglang.running.unwrap().max, 162.0);
    assert_eq!(sglang.kv_cache_usage.unwrap().max, 0.28);
}

#[test]
fn histograms_of_every_server_with_time_histograms_keep_their_buckets() {
    for (text, histogram) in [
        (
            include_str!("fixtures/vllm-0.34.0.txt"),
            "vllm:request_queue_time_seconds",
        ),
        (
            include_str!("fixtures/sglang-0.5.23.txt"),
            "sglang:queue_time_seconds",
        ),
        (
            include_str!("fixtures/tgi-3.3.7.txt"),
            "tgi_request_queue_duration",
        ),
        (
            include_str!("fixtures/dynamo-frontend.txt"),
            "dynamo_frontend_time_to_first_token_seconds",
        ),
    ] {
        let exposition: Exposition = parse(text, names::is_catalogued_histogram).unwrap();
        let kept = exposition
            .histograms
            .iter()
            .find(|h| h.name == histogram)
            .unwrap_or_else(|| panic!("{histogram} not kept"));
        assert!(kept.buckets.len() > 5, "{kept:?}");
        assert_eq!(kept.buckets.last().unwrap().0, f64::INFINITY);
        // Histograms the catalogue does not read are not kept.
        assert!(exposition
            .histograms
            .iter()
            .all(|h| names::is_catalogued_histogram(&h.name)));
    }
}

/// vLLM's text for one scrape, with the values a test sets.
fn vllm(running: f64, waiting: f64, prompt: f64, queue: (f64, f64, [f64; 3])) -> String {
    let (count, sum, [b1, b2, b3]) = queue;
    format!(
        "vllm:num_requests_running{{engine=\"0\"}} {running}\n\
         vllm:num_requests_waiting{{engine=\"0\"}} {waiting}\n\
         vllm:kv_cache_usage_perc{{engine=\"0\"}} 0.5\n\
         # TYPE vllm:prompt_tokens_total counter\n\
         vllm:prompt_tokens_total{{engine=\"0\"}} {prompt}\n\
         # TYPE vllm:request_queue_time_seconds histogram\n\
         vllm:request_queue_time_seconds_bucket{{engine=\"0\",le=\"0.1\"}} {b1}\n\
         vllm:request_queue_time_seconds_bucket{{engine=\"0\",le=\"1.0\"}} {b2}\n\
         vllm:request_queue_time_seconds_bucket{{engine=\"0\",le=\"+Inf\"}} {b3}\n\
         vllm:request_queue_time_seconds_count{{engine=\"0\"}} {count}\n\
         vllm:request_queue_time_seconds_sum{{engine=\"0\"}} {sum}\n"
    )
}

#[test]
fn gauges_average_counters_and_histograms_diff_over_the_window() {
    let readings = [
        reading(1.0, &vllm(2.0, 0.0, 100.0, (10.0, 1.0, [10.0, 10.0, 10.0]))),
        reading(2.0, &vllm(4.0, 6.0, 300.0, (14.0, 1.2, [12.0, 14.0, 14.0]))),
        reading(3.0, &vllm(6.0, 0.0, 500.0, (20.0, 3.0, [12.0, 20.0, 20.0]))),
    ];
    let state = read(&readings, 1.0).unwrap();
    let running = state.running.unwrap();
    assert_eq!((running.mean, running.max), (4.0, 6.0));
    assert_eq!(state.waiting.unwrap().mean, 2.0);
    // 400 prompt tokens over the two seconds between the first and the last scrape.
    assert_eq!(state.prompt_tokens_per_s, Some(200.0));
    // Ten requests queued 2 s in all; two of them under 100 ms, eight between 0.1 and 1 s.
    let queue = &state.times[0];
    assert_eq!((queue.part.as_str(), queue.count), ("queue", 10.0));
    assert!((queue.mean_ns - 0.2e9).abs() < 1.0, "{queue:?}");
    // The 9th of 10 is the 7th of the eight in (0.1, 1]: 0.1 + 0.9 × 7/8.
    let p90 = queue.p90_ns.unwrap();
    assert!((p90 - (0.1 + 0.9 * 7.0 / 8.0) * 1e9).abs() < 1.0, "{p90}");
    // The timeline starts at the window's start.
    let times: Vec<f64> = state.timeline.iter().map(|s| s.t_s).collect();
    assert_eq!(times, [0.0, 1.0, 2.0]);
}

#[test]
fn a_counter_that_goes_backwards_is_a_note_and_its_figure_is_left_out() {
    // The server restarted between the second and the third scrape.
    let readings = [
        reading(0.0, &vllm(1.0, 0.0, 100.0, (10.0, 1.0, [10.0, 10.0, 10.0]))),
        reading(1.0, &vllm(1.0, 0.0, 200.0, (12.0, 1.2, [12.0, 12.0, 12.0]))),
        reading(2.0, &vllm(1.0, 0.0, 30.0, (1.0, 0.1, [1.0, 1.0, 1.0]))),
    ];
    let state = read(&readings, 0.0).unwrap();
    assert_eq!(state.prompt_tokens_per_s, None);
    assert!(state.times.is_empty(), "{:?}", state.times);
    assert!(!state.sources.contains_key("prompt_tokens"));
    assert_eq!(state.notes.len(), 2, "{:?}", state.notes);
    assert!(
        state.notes[0].contains("vllm:prompt_tokens_total went backwards"),
        "{:?}",
        state.notes
    );
    // The gauges are still read.
    assert_eq!(state.running.unwrap().mean, 1.0);
}

#[test]
fn an_exposition_without_a_known_servers_names_has_no_state() {
    let triton = "nv_inference_request_success{model=\"m\"} 3\n";
    assert!(read(&[reading(0.0, triton), reading(1.0, triton)], 0.0).is_none());
}

#[test]
fn quantiles_interpolate_inside_their_bucket_and_not_in_the_first_or_past_the_last() {
    let buckets = [(1.0, 50.0), (2.0, 100.0), (f64::INFINITY, 100.0)];
    let p60 = quantile(&buckets, 0.6).unwrap();
    assert!((p60 - 1.2).abs() < 1e-12, "{p60}");
    assert_eq!(quantile(&buckets, 0.75), Some(1.5));
    // In the first bucket: only that it is under 1.
    assert_eq!(quantile(&buckets, 0.25), None);
    let tail = [(1.0, 50.0), (f64::INFINITY, 100.0)];
    assert_eq!(quantile(&tail, 0.9), None);
    assert_eq!(quantile(&[(1.0, 0.0)], 0.5), None);
}
