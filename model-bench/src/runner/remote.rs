//! A remote endpoint bench in a run: its endpoint resolved (URL from the environment, a default,
//! or an in-process reference server), checked for health once, then each load level run by the
//! load generator and handed to criterion as one benchmark whose samples are the mean latencies
//! of the run's equal time slices — so baselines and change detection work as for stages.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{Criterion, SamplingMode};

use super::bench_result::{failed, unmeasured};
use super::cli::{CriterionArgs, Mode};
use super::config::Config;
use super::criterion_files::CriterionPlace;
use super::replay::{replay_latency, replay_ttft, REPLAY_WARM_UP};
use super::worker::WorkerMode;
use super::{criterion_files, panic};
use crate::registry::{BenchDescriptor, LoadLevel, RemoteBench};
use crate::remote::endpoint::{AnyEndpoint, Reference};
use crate::remote::llm::TokenScript;
use crate::remote::load::{cores, load_threads};
use crate::remote::load::{Arrival, LoadMode, LoadPlan};
use crate::remote::watch::{Watch, WatchedRun};
use crate::remote::{Client, Protocol, ReferenceConfig};
use crate::results::{BenchResult, BenchStatus, PointResult, RemoteInfo};
use crate::server::{LlmServer, ReferenceServer};
use crate::stats::stability::{self, Rule, Validity};

/// Warm-up and measurement window of a load level when neither the bench nor the settings say.
pub const DEFAULT_WARM_UP: Duration = Duration::from_secs(1);
pub const DEFAULT_DURATION: Duration = Duration::from_secs(5);
pub const QUICK_WARM_UP: Duration = Duration::from_millis(200);
pub const QUICK_DURATION: Duration = Duration::from_secs(1);
/// Slices per load level (criterion samples) unless the bench sets `sample_size`.
pub const DEFAULT_SLICES: usize = 10;

/// What remote benches of one run share: the client runtimes (one per worker count a bench asked
/// for, [`load_threads`]) and the reference servers started so far (one per distinct
/// configuration, kept until the run ends).
pub struct RemoteContext {
    runtimes: Vec<(usize, tokio::runtime::Runtime)>,
    servers: Vec<(ReferenceConfig, ReferenceServer)>,
    llm_servers: Vec<(String, TokenScript, LlmServer)>,
}

impl RemoteContext {
    pub fn new() -> Self {
        RemoteContext {
            runtimes: Vec::new(),
            servers: Vec::new(),
            llm_servers: Vec::new(),
        }
    }

    /// The client runtime with `threads` workers (`None`: one per core), started on first use.
    fn runtime(&mut self, threads: usize) -> Result<&tokio::runtime::Runtime, String> {
        let index = match self.runtimes.iter().position(|(t, _)| *t == threads) {
            Some(index) => index,
            None => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads.clamp(1, cores()))
                    .thread_name("model-bench-load")
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the load generator's runtime: {e}"))?;
                self.runtimes.push((threads, runtime));
                self.runtimes.len() - 1
            }
        };
        Ok(&self.runtimes[index].1)
    }

    /// Where `endpoint`'s requests go: the URL from the environment or the code, else its
    /// reference server's, started on first use (one per distinct configuration).
    fn resolve(&mut self, endpoint: &AnyEndpoint) -> Result<Resolved, String> {
        if let Some(resolved) = endpoint.resolve_url(env).map_err(|e| e.to_string())? {
            // Triton's statistics extension is on a V2 REST server's own URL.
            let rest = matches!(
                endpoint.protocol(),
                Protocol::RestJson | Protocol::RestBinary
            );
            return Ok(Resolved {
                stats_base: rest.then(|| resolved.url.clone()),
                url: resolved.url,
                display: resolved.display,
                server: "external",
                metrics: None,
            });
        }
        match endpoint
            .reference_server()
            .ok_or("no URL and no reference server")?
        {
            Reference::Llm(script) => {
                let url = self.llm_server(endpoint.name(), script)?.url();
                Ok(Resolved {
                    display: url.clone(),
                    url,
                    server: "reference",
                    stats_base: None,
                    metrics: None,
                })
            }
            Reference::V2(config) => {
                let server = self.server(config)?;
                let url = server.url_for(endpoint.protocol());
                Ok(Resolved {
                    display: url.clone(),
                    url,
                    server: "reference",
                    stats_base: Some(server.rest_url()),
                    metrics: Some(format!("{}/metrics", server.rest_url())),
                })
            }
        }
    }

    /// The reference LLM server for `model` on `script`, started on first use.
    fn llm_server(&mut self, model: &str, script: &TokenScript) -> Result<&LlmServer, String> {
        let index = match self
            .llm_servers
            .iter()
            .position(|(m, s, _)| m == model && s == script)
        {
            Some(index) => index,
            None => {
                let server = LlmServer::start(model, script.clone()).map_err(|e| e.to_string())?;
                self.llm_servers
                    .push((model.to_owned(), script.clone(), server));
                self.llm_servers.len() - 1
            }
        };
        Ok(&self.llm_servers[index].2)
    }

    fn server(&mut self, config: &ReferenceConfig) -> Result<&ReferenceServer, String> {
        let index = match self.servers.iter().position(|(c, _)| c == config) {
            Some(index) => index,
            None => {
                let server = ReferenceServer::start(config).map_err(|e| e.to_string())?;
                self.servers.push((config.clone(), server));
                self.servers.len() - 1
            }
        };
        Ok(&self.servers[index].1)
    }
}

impl Default for RemoteContext {
    fn default() -> Self {
        RemoteContext::new()
    }
}

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    context: &mut RemoteContext,
    worker: &WorkerMode,
    criterion: &mut Criterion<WallTime>,
    bench: &'static BenchDescriptor,
    remote: &RemoteBench,
    config: &Config,
    args: &CriterionArgs,
    criterion_dir: &Path,
    on_point: &mut dyn FnMut(&BenchResult),
) -> BenchResult {
    let mut result = unmeasured(bench, "remote");

    let endpoint = match panic::catch(remote.endpoint) {
        Ok(Ok(endpoint)) => endpoint,
        Ok(Err(message)) | Err(message) => return failed(result, message),
    };
    let Connected {
        client,
        info,
        stats_base,
        metrics_url,
        local,
    } = match connect(context, &endpoint) {
        Ok(connected) => connected,
        Err(message) => return failed(result, message),
    };
    let info = RemoteInfo {
        compare: remote.compare.map(str::to_string),
        ..info
    };
    result.remote = Some(info.clone());
    let runtime = match context.runtime(load_threads(&endpoint)) {
        Ok(runtime) => runtime,
        Err(message) => return failed(result, message),
    };
    if let Err(error) = runtime.block_on(client.health()) {
        return failed(
            result,
            format!("endpoint {} is not usable: {error}", info.url),
        );
    }
    if info.server == "reference" && args.mode == Mode::Benchmark {
        // The in-process reference server has started and loaded its model by now: the bench's
        // memory is counted from here, so that load is not taken for the client's growth.
        result.memory = crate::resources::process_rss().map(|bytes| crate::results::MemoryUse {
            rss_before_bytes: bytes,
            rss_after_bytes: bytes,
        });
    }
    record_server_facts(runtime, &client, &bench.key());
    let watch = match Watch::new(&endpoint, stats_base, metrics_url, local) {
        Ok(watch) => watch,
        Err(message) => {
            return failed(
                result,
                format!("{}: the server process to watch: {message}", bench.key()),
            )
        }
    };
    if args.mode == Mode::Test {
        // `cargo test --benches`: one checked request proves the bench works.
        return match runtime.block_on(client.send()) {
            Ok(()) => {
                println!("Testing {} ... Success", bench.key());
                result
            }
            Err(error) => failed(result, format!("a request to {} failed: {error}", info.url)),
        };
    }

    // A scale-out worker starts its first load at the shared start, or not at all.
    if let Err(message) = worker.wait_for_start() {
        return failed(result, format!("{}: {message}", bench.key()));
    }

    if let Some(spec) = remote.scenario {
        let point_id = bench.point_ids().concat();
        if !args.filter.matches(&point_id) {
            return result;
        }
        crate::progress::set_label(&point_id);
        // A one-run scenario is watched as a steady point is: processes, the server's
        // statistics and metrics, and a local server's GPUs.
        let mut watch = |plan: &LoadPlan| watch.run(runtime, &client, &worker.plan(plan.clone()));
        return super::scenario::run(
            runtime,
            &client,
            &info.url,
            &point_id,
            spec,
            &mut watch,
            worker.share,
            config,
            result,
        );
    }

    let mut group = criterion.benchmark_group(bench.group_name());
    let slices = bench.sample_size.unwrap_or(DEFAULT_SLICES).max(10);
    group.sample_size(slices);
    group.sampling_mode(SamplingMode::Flat);
    // criterion only replays the measured slices (the load run had its own warm-up). Its
    // warm-up and planning use the wall time of the replay, which is next to nothing: a 1 ns
    // warm-up ends after one call, and 1 ms of "measurement" asks for thousands of iterations
    // per sample, each worth exactly the slice's mean latency.
    group.warm_up_time(REPLAY_WARM_UP);
    let place = CriterionPlace {
        criterion_dir,
        group: bench.group_name(),
        function: bench.name,
        baseline: args.baseline.as_ref(),
    };
    let mut ran_any = false;
    for level in remote.levels() {
        let point_id = bench.load_point_id(&level);
        if !args.filter.matches(&point_id) {
            continue;
        }
        let dir = place.dir(Some(&level.label()));
        let missing = (args.mode == Mode::Benchmark)
            .then(|| criterion_files::missing_baseline(&dir, args.baseline.as_ref()))
            .flatten();
        if let Some(message) = missing {
            eprintln!("\nmodel-bench: {point_id} failed: {message}");
            result.status = BenchStatus::Failed;
            result.error = Some(message);
            continue;
        }
        let plan = match worker.point_plan(plan(bench, remote, config, &level, slices), &point_id) {
            Ok(plan) => plan,
            Err(message) => {
                eprintln!("\nmodel-bench: {point_id} failed: {message}");
                result.status = BenchStatus::Failed;
                result.error = Some(message);
                continue;
            }
        };
        crate::progress::set_label(&point_id);
        eprintln!(
            "model-bench: {point_id}: {} against {} for {:?} (after {:?} warm-up)",
            describe(&plan),
            info.url,
            plan.duration,
            plan.warm_up
        );
        let rule = &config.stability;
        let mut trials = 1;
        let mut run = watch.run(runtime, &client, &plan);
        let mut validity = assess(rule, &run, trials);
        // A scale-out worker runs each point once: the others do not know it retried.
        let retries = if worker.share.is_some() {
            1
        } else {
            rule.max_trials
        };
        while !validity.is_valid() && trials < retries && run.stats().ok > 0 {
            eprintln!(
                "model-bench: {point_id}: unstable ({}); trial {} of {}",
                validity.reasons.join("; "),
                trials + 1,
                rule.max_trials
            );
            trials += 1;
            run = watch.run(runtime, &client, &plan);
            validity = assess(rule, &run, trials);
        }
        if !validity.is_valid() {
            eprintln!(
                "model-bench: {point_id}: UNSTABLE: {}",
                validity.reasons.join("; ")
            );
        }
        let stats = run.stats();
        if let Err(message) = worker.point_done(&point_id, &plan, &run.run.tally) {
            eprintln!("\nmodel-bench: {point_id}: the worker's record: {message}");
            result.status = BenchStatus::Failed;
            result.error.get_or_insert(message);
        }
        if worker.share.is_some() && stats.requests == 0 && stats.errors == 0 {
            // Fewer requests in flight than workers: this one keeps none of this point.
            eprintln!("model-bench: {point_id}: this worker's share of the load is empty");
            continue;
        }
        if stats.ok == 0 {
            let first = stats
                .first_errors
                .iter()
                .next()
                .map(|(class, message)| format!("{class}: {message}"))
                .unwrap_or_else(|| "no request was sent".into());
            let message = format!(
                "{point_id}: no request succeeded ({} failed); first error: {first}",
                stats.errors
            );
            eprintln!("\nmodel-bench: {message}");
            if worker.share.is_some() {
                // One worker's share is not the run: it goes on to every level, as the others
                // do, and the merge judges the levels over all of them.
                result.error.get_or_insert(message);
                continue;
            }
            if result.status != BenchStatus::Failed {
                result.status = if ran_any {
                    BenchStatus::Ceiling
                } else {
                    BenchStatus::Failed
                };
            }
            result.error.get_or_insert(message);
            break;
        }
        if stats.errors > 0 {
            eprintln!(
                "model-bench: {point_id}: {} of {} requests failed: {:?}",
                stats.errors, stats.requests, stats.errors_by_class
            );
        }
        ran_any = true;
        // Slices without a successful request (the server was down then) have no mean; criterion
        // gets the others when at least its minimum of ten remain.
        let rule = config.gate.rule_for(&point_id);
        let measured = replay_latency(
            &mut group,
            &place,
            &level.label(),
            &point_id,
            &run.run.tally.slice_means(),
            rule,
            &mut result,
        );
        // Token streams: time to first token as `<point>/ttft`, unless a filter leaves it out.
        let ttft_change = if args.filter.matches(&format!("{point_id}/ttft")) {
            replay_ttft(
                &mut group,
                &place,
                &level.label(),
                &point_id,
                &run.run.tally.slice_ttft_means(),
                rule,
                &mut result,
            )
        } else {
            None
        };
        if args.no_fresh_estimates {
            continue;
        }
        let point = run.point(Some(validity));
        let (estimates, sample, change) = match measured {
            Some(measured) => (measured.estimates, measured.sample, measured.change),
            None => (
                crate::results::Estimates::from_latency(&point.stats),
                crate::results::SampleInfo::none(),
                None,
            ),
        };
        result.points.push(PointResult {
            id: point_id,
            batch: 1,
            unit: "ns".into(),
            estimates,
            sample,
            items_per_sec: Some(point.stats.throughput_rps),
            change,
            ttft_change,
            load: Some(point),
            device_timing: None,
            gpu_memory: None,
        });
        on_point(&result);
    }
    result
}

/// A bench's client and where its server's statistics and metrics are read.
struct Connected {
    client: Arc<Client>,
    info: RemoteInfo,
    stats_base: Option<String>,
    metrics_url: Option<String>,
    /// The server runs on this machine (so on its GPUs, if any).
    local: bool,
}

/// Resolves the URL (starting a reference server when that is the source) and builds the client.
fn connect(context: &mut RemoteContext, endpoint: &AnyEndpoint) -> Result<Connected, String> {
    endpoint.validate_any(env).map_err(|e| e.to_string())?;
    let resolved = context.resolve(endpoint)?;
    let threads = load_threads(endpoint);
    let mut members = Vec::with_capacity(endpoint.mix_members().len());
    for member in endpoint.mix_members() {
        let url = context
            .resolve(&member.endpoint)
            .map_err(|e| format!("mix member `{}`: {e}", member.name))?
            .url;
        let runtime = context.runtime(threads)?;
        let client = runtime
            .block_on(Client::connect(&member.endpoint, &url, env))
            .map_err(|e| format!("mix member `{}`: {e}", member.name))?;
        members.push((member.name.clone(), member.weight, client));
    }
    let runtime = context.runtime(threads)?;
    let mut client = runtime
        .block_on(Client::connect(endpoint, &resolved.url, env))
        .map_err(|e| e.to_string())?;
    if !members.is_empty() {
        client = client.with_mix(
            (endpoint.name().to_string(), endpoint.common.weight),
            members,
        );
    }
    let prompts = client.prompts().cloned();
    let reference = resolved.server == "reference";
    Ok(Connected {
        client: Arc::new(client),
        info: RemoteInfo {
            protocol: endpoint.protocol().to_string(),
            url: resolved.display,
            model: endpoint.name().to_owned(),
            server: resolved.server.into(),
            compare: None,
            prompts,
        },
        local: reference || is_loopback(&resolved.url),
        stats_base: resolved.stats_base,
        metrics_url: endpoint.common.metrics_url.clone().or(resolved.metrics),
    })
}

/// Where an endpoint's requests go: its URL and how reports show it, whether it is a reference
/// server started here, and where that server's statistics and metrics are read.
struct Resolved {
    url: String,
    display: String,
    server: &'static str,
    stats_base: Option<String>,
    metrics: Option<String>,
}

/// The server's and the model's own metadata, once per bench, as facts (`server.name`,
/// `server.version`, `server.extensions`, `server.model.platform`, `server.model.versions`). The
/// V2 protocol requires both routes, but a server without them can still be measured: that is a
/// fact with the error's class (not its message, which names a port that changes between runs),
/// and a note on stderr.
fn record_server_facts(runtime: &tokio::runtime::Runtime, client: &Client, key: &str) {
    use crate::facts::record;
    // Neither a plain POST nor an OpenAI-compatible server has V2's metadata routes.
    if matches!(
        client.protocol(),
        Protocol::HttpPost | Protocol::OpenAiChat | Protocol::OpenAiCompletions
    ) {
        return;
    }
    let unavailable = |whose: &str, fact: &str, error: crate::remote::error::RequestError| {
        eprintln!("model-bench: {key}: the {whose}'s metadata is unavailable: {error}");
        record(fact, &format!("unavailable ({})", error.class.key()));
    };
    match runtime.block_on(client.server_metadata()) {
        Ok(server) => {
            record("server.name", &server.name);
            record("server.version", &server.version);
            if !server.extensions.is_empty() {
                record("server.extensions", &server.extensions.join(", "));
            }
        }
        Err(error) => unavailable("server", "server.metadata", error),
    }
    match runtime.block_on(client.metadata()) {
        Ok(model) => {
            if !model.platform.is_empty() {
                record("server.model.platform", &model.platform);
            }
            if !model.versions.is_empty() {
                record("server.model.versions", &model.versions.join(", "));
            }
        }
        Err(error) => unavailable("model", "server.model.metadata", error),
    }
}

/// Whether a URL's host is this machine.
fn is_loopback(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn plan(
    bench: &BenchDescriptor,
    remote: &RemoteBench,
    config: &Config,
    level: &LoadLevel,
    slices: usize,
) -> LoadPlan {
    let pick = |own: Option<Duration>,
                configured: Option<Duration>,
                default: Duration,
                quick: Duration| {
        let chosen = own.or(configured).unwrap_or(default);
        if config.quick {
            chosen.min(quick)
        } else {
            chosen
        }
    };
    let warm_up = pick(
        bench.warm_up_time,
        config.warm_up_time,
        DEFAULT_WARM_UP,
        QUICK_WARM_UP,
    );
    let duration = pick(
        bench.measurement_time,
        config.measurement_time,
        DEFAULT_DURATION,
        QUICK_DURATION,
    );
    let mut plan = match *level {
        LoadLevel::Concurrency(concurrency) => LoadPlan::closed(concurrency, duration),
        LoadLevel::Rate(rate) => {
            let arrival = match (remote.poisson, remote.gamma_shape) {
                (_, Some(shape)) => Arrival::Gamma { shape },
                (true, None) => Arrival::Poisson,
                (false, None) => Arrival::Constant,
            };
            let mut plan = LoadPlan::open(rate, arrival, duration);
            if let Some(seed) = remote.seed {
                plan = plan.seed(seed);
            }
            if let Some(max) = remote.max_in_flight {
                plan = plan.max_in_flight(max);
            }
            plan
        }
    };
    plan = plan
        .warm_up(warm_up)
        .slices(slices)
        .series_step(super::scenario::series_step(duration));
    if let Some(limit) = config.error_limit {
        plan = plan.error_limit(limit);
    }
    if let Some(responses) = config.stability.window_requests {
        plan = plan.count_windows(responses);
    }
    if let Some(requests) = remote.requests {
        plan = plan.max_requests(requests);
    }
    plan
}

/// The stability verdict on one run of a point.
fn assess(rule: &Rule, watched: &WatchedRun, trials: u32) -> Validity {
    let (stats, run) = (watched.stats(), &watched.run);
    let windows = match rule.window_requests {
        Some(_) => run.count_windows.clone(),
        None => run.tally.slice_figures(),
    };
    stability::assess(rule, &windows, stats.elapsed_s, stats.requests, trials)
}

fn describe(plan: &LoadPlan) -> String {
    match plan.mode {
        LoadMode::Closed { concurrency } => format!("closed loop, {concurrency} in flight,"),
        LoadMode::Open { rate, arrival, .. } => {
            format!("open loop, {rate} req/s {} arrivals,", arrival.label())
        }
    }
}

/// Estimates when criterion could not run: the HDR mean and median, with no interval
/// (`confidence_level` 0). `sample.samples == 0` marks such a point.
#[cfg(test)]
mod tests {
    #[test]
    fn loopback_hosts_are_this_machine() {
        for url in [
            "http://127.0.0.1:8000",
            "http://localhost:8001",
            "https://[::1]:8443",
        ] {
            assert!(super::is_loopback(url), "{url}");
        }
        for url in [
            "http://10.0.0.7:8000",
            "http://triton.internal:8001",
            "not a url",
        ] {
            assert!(!super::is_loopback(url), "{url}");
        }
    }
}
