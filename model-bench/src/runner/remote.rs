//! A remote endpoint bench in a run: its endpoint resolved (URL from the environment, a default,
//! or an in-process reference server), checked for health once, then each load level run by the
//! load generator and handed to criterion as one benchmark whose samples are the mean latencies
//! of the run's equal time slices — so baselines and change detection work as for stages.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};

use super::bench_result::{failed, unmeasured};
use super::cli::{CriterionArgs, Mode};
use super::config::Config;
use super::criterion_files::{CriterionPlace, Measured};
use super::replay::{replay_latency, replay_ttft, REPLAY_WARM_UP};
use super::worker::WorkerMode;
use super::{criterion_files, panic};
use crate::registry::{BenchDescriptor, LoadLevel, RemoteBench, ScenarioSpec};
use crate::remote::endpoint::{AnyEndpoint, Reference};
use crate::remote::llm::TokenScript;
use crate::remote::load::{cores, load_threads};
use crate::remote::load::{Arrival, LoadMode, LoadPlan, PointTally};
use crate::remote::watch::{Watch, WatchedRun};
use crate::remote::{Client, ReferenceConfig};
use crate::results::Protocol;
use crate::results::Validity;
use crate::results::{
    BenchResult, BenchStatus, LoadPoint, LoadStats, PointResult, RemoteInfo, ServerKind,
};
use crate::server::{LlmServer, ReferenceServer};
use crate::stats::stability::{self, Rule};

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
                server: ServerKind::External,
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
                    // vLLM's names, with values that follow from the script.
                    metrics: Some(format!("{url}/metrics")),
                    url,
                    server: ServerKind::Reference,
                    stats_base: None,
                })
            }
            Reference::V2(config) => {
                let server = self.server(config)?;
                let url = server.url_for(endpoint.protocol());
                Ok(Resolved {
                    display: url.clone(),
                    url,
                    server: ServerKind::Reference,
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

/// What a remote bench runs under: the run's criterion and settings, and this process's part in
/// a scale-out run.
pub struct Harness<'a> {
    pub criterion: &'a mut Criterion<WallTime>,
    pub config: &'a Config,
    pub args: &'a CriterionArgs,
    pub criterion_dir: &'a Path,
    pub worker: &'a WorkerMode,
}

/// Runs one remote bench: its endpoint made ready, then (when measuring) its scenario or each
/// of its load levels as a point; `on_point` sees the result after each point.
pub fn run(
    context: &mut RemoteContext,
    harness: &mut Harness<'_>,
    bench: &'static BenchDescriptor,
    remote: &RemoteBench,
    on_point: &mut dyn FnMut(&BenchResult),
) -> BenchResult {
    let mut result = unmeasured(bench, "remote");
    let ready = match prepare(context, harness.args, bench, remote, &mut result) {
        Ok(ready) => ready,
        Err(message) => return failed(result, message),
    };
    if harness.args.mode == Mode::Test {
        // `cargo test --benches`: one checked request proves the bench works.
        return match ready.runtime.block_on(ready.client.send()) {
            Ok(()) => {
                println!("Testing {} ... Success", bench.key());
                result
            }
            Err(error) => failed(
                result,
                format!("a request to {} failed: {error}", ready.url),
            ),
        };
    }
    // A scale-out worker starts its first load at the shared start, or not at all.
    if let Err(message) = harness.worker.wait_for_start() {
        return failed(result, format!("{}: {message}", bench.key()));
    }
    match remote.scenario {
        Some(spec) => run_scenario(&ready, harness, bench, spec, result),
        None => {
            run_levels(&ready, harness, bench, remote, &mut result, on_point);
            result
        }
    }
}

/// A remote bench ready to load: its client, the runtime that drives it, what is watched
/// beside each point, and the URL reports show.
struct Ready<'r> {
    client: Arc<Client>,
    runtime: &'r tokio::runtime::Runtime,
    watch: Watch,
    url: String,
}

/// The bench's endpoint (its function called, panics caught), connected, its server healthy,
/// its metadata recorded as facts and its processes found; `result` gets the endpoint's
/// description (and, on the in-process reference server, the memory from here on).
fn prepare<'r>(
    context: &'r mut RemoteContext,
    args: &CriterionArgs,
    bench: &'static BenchDescriptor,
    remote: &RemoteBench,
    result: &mut BenchResult,
) -> Result<Ready<'r>, String> {
    let endpoint = match panic::catch(remote.endpoint) {
        Ok(Ok(endpoint)) => endpoint,
        Ok(Err(message)) | Err(message) => return Err(message),
    };
    let connected = connect(context, &endpoint)?;
    let info = RemoteInfo {
        compare: remote.compare.map(str::to_string),
        ..connected.info
    };
    result.remote = Some(info.clone());
    let runtime = context.runtime(load_threads(&endpoint))?;
    let client = connected.client;
    if let Err(error) = runtime.block_on(client.health()) {
        return Err(format!("endpoint {} is not usable: {error}", info.url));
    }
    if info.server == ServerKind::Reference && args.mode == Mode::Benchmark {
        // The in-process reference server has started and loaded its model by now: the bench's
        // memory is counted from here, so that load is not taken for the client's growth.
        result.memory = crate::resources::process_rss().map(|bytes| crate::results::MemoryUse {
            rss_before_bytes: bytes,
            rss_after_bytes: bytes,
        });
    }
    if client.schedule().is_some() && !remote.trace {
        return Err(format!(
            "{}: the endpoint replays a trace: mark the bench `trace` \
             (`#[model_bench(remote, trace)]`), which runs it at the trace's own pace",
            bench.key()
        ));
    }
    record_server_facts(runtime, &client, &bench.key());
    let watch = Watch::new(
        &endpoint,
        connected.stats_base,
        connected.metrics_url,
        connected.local,
    )
    .map_err(|message| format!("{}: the server process to watch: {message}", bench.key()))?;
    Ok(Ready {
        client,
        runtime,
        watch,
        url: info.url,
    })
}

/// A bench's one-run scenario (ramp, spike, stress, soak), watched as a steady point is:
/// processes, the server's statistics and metrics, a local server's GPUs.
fn run_scenario(
    ready: &Ready<'_>,
    harness: &Harness<'_>,
    bench: &'static BenchDescriptor,
    spec: ScenarioSpec,
    result: BenchResult,
) -> BenchResult {
    let point_id = bench.point_ids().concat();
    if !harness.args.filter.matches(&point_id) {
        return result;
    }
    crate::progress::set_label(&point_id);
    let worker = harness.worker;
    let mut watch = |plan: &LoadPlan| {
        ready
            .watch
            .run(ready.runtime, &ready.client, &worker.plan(plan.clone()))
    };
    super::scenario::run(
        ready.runtime,
        &ready.client,
        &ready.url,
        &point_id,
        spec,
        &mut watch,
        worker.share,
        harness.config,
        result,
    )
}

/// Each load level the filter selects, in order, as one point: planned, run until stable (or
/// out of trials), judged, replayed to criterion and recorded. The first level where no request
/// succeeds ends the sweep (a ceiling when an earlier level ran).
fn run_levels(
    ready: &Ready<'_>,
    harness: &mut Harness<'_>,
    bench: &'static BenchDescriptor,
    remote: &RemoteBench,
    result: &mut BenchResult,
    on_point: &mut dyn FnMut(&BenchResult),
) {
    let (config, args, worker) = (harness.config, harness.args, harness.worker);
    let slices = bench.sample_size.unwrap_or(DEFAULT_SLICES).max(10);
    let mut replayer = Replayer {
        group: replay_group(harness.criterion, bench, slices),
        place: CriterionPlace {
            criterion_dir: harness.criterion_dir,
            group: bench.group_name(),
            function: bench.name,
            baseline: args.baseline.as_ref(),
        },
    };
    let mut ran_any = false;
    for level in remote.levels() {
        let point_id = bench.load_point_id(&level);
        if !args.filter.matches(&point_id) {
            continue;
        }
        let schedule = (level == LoadLevel::Trace)
            .then(|| ready.client.schedule())
            .flatten();
        let planned = check_baseline(&replayer.place, &level, args)
            .and_then(|()| plan(bench, remote, config, (&level, schedule), slices))
            .and_then(|plan| worker.point_plan(plan, &point_id));
        let plan = match planned {
            Ok(plan) => plan,
            Err(message) => {
                fail_point(result, &point_id, message);
                continue;
            }
        };
        let (run, validity) = measure(ready, config, worker, &point_id, &plan);
        if let Err(message) = worker.point_done(&point_id, &plan, &run.run.tally) {
            fail_point(result, &point_id, format!("the worker's record: {message}"));
        }
        match judge(run.stats(), &point_id, worker, ran_any) {
            Verdict::Measured => {}
            Verdict::Skip(None) => continue,
            Verdict::Skip(Some(message)) => {
                result.error.get_or_insert(message);
                continue;
            }
            Verdict::Stop(status, message) => {
                if result.status != BenchStatus::Failed {
                    result.status = status;
                }
                result.error.get_or_insert(message);
                break;
            }
        }
        ran_any = true;
        let rule = config.gate.rule_for(&point_id);
        let ttft = args.filter.matches(&format!("{point_id}/ttft"));
        let tally = &run.run.tally;
        let replayed = replayer.replay(&level, &point_id, tally, (rule, ttft), result);
        if args.no_fresh_estimates {
            continue;
        }
        result
            .points
            .push(replayed.into_point(point_id, run.point(Some(validity))));
        on_point(result);
    }
}

/// The bench's criterion group, set to replay a point's measured slices: criterion's warm-up
/// and planning use the wall time of the replay, which is next to nothing — a 1 ns warm-up ends
/// after one call, and 1 ms of "measurement" asks for thousands of iterations per sample, each
/// worth exactly the slice's mean latency (the load run had its own warm-up).
fn replay_group<'c>(
    criterion: &'c mut Criterion<WallTime>,
    bench: &BenchDescriptor,
    slices: usize,
) -> BenchmarkGroup<'c, WallTime> {
    let mut group = criterion.benchmark_group(bench.group_name());
    group.sample_size(slices);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(REPLAY_WARM_UP);
    group
}

/// When comparing with a baseline, a level without one fails before any load.
fn check_baseline(
    place: &CriterionPlace<'_>,
    level: &LoadLevel,
    args: &CriterionArgs,
) -> Result<(), String> {
    if args.mode != Mode::Benchmark {
        return Ok(());
    }
    let dir = place.dir(Some(&level.label()));
    match criterion_files::missing_baseline(&dir, args.baseline.as_ref()) {
        Some(message) => Err(message),
        None => Ok(()),
    }
}

/// A point that could not be measured: the bench fails with its message, the other points
/// still run.
fn fail_point(result: &mut BenchResult, point_id: &str, message: String) {
    eprintln!("\nmodel-bench: {point_id} failed: {message}");
    result.status = BenchStatus::Failed;
    result.error.get_or_insert(message);
}

/// One point's load run, watched, retried while it is unstable (up to the rule's trials; a
/// scale-out worker runs it once, since the others do not know it retried).
fn measure(
    ready: &Ready<'_>,
    config: &Config,
    worker: &WorkerMode,
    point_id: &str,
    plan: &LoadPlan,
) -> (WatchedRun, Validity) {
    crate::progress::set_label(point_id);
    eprintln!(
        "model-bench: {point_id}: {} against {} for {:?} (after {:?} warm-up)",
        describe(plan),
        ready.url,
        plan.duration,
        plan.warm_up
    );
    let rule = &config.stability;
    let trials = if worker.share.is_some() {
        1
    } else {
        rule.max_trials
    };
    let mut trial = 1;
    let mut run = ready.watch.run(ready.runtime, &ready.client, plan);
    let mut validity = assess(rule, &run, trial);
    while !validity.is_valid() && trial < trials && run.stats().ok > 0 {
        eprintln!(
            "model-bench: {point_id}: unstable ({}); trial {} of {}",
            validity.reasons.join("; "),
            trial + 1,
            rule.max_trials
        );
        trial += 1;
        run = ready.watch.run(ready.runtime, &ready.client, plan);
        validity = assess(rule, &run, trial);
    }
    if !validity.is_valid() {
        eprintln!(
            "model-bench: {point_id}: UNSTABLE: {}",
            validity.reasons.join("; ")
        );
    }
    (run, validity)
}

/// What a measured point means for the sweep.
enum Verdict {
    /// Some requests succeeded: replay and record it.
    Measured,
    /// Nothing of it is kept, and the sweep goes on (a scale-out worker's empty or failed
    /// share; the merge judges the level over every worker), with the error to note.
    Skip(Option<String>),
    /// No request succeeded: the sweep ends, with this status and error.
    Stop(BenchStatus, String),
}

fn judge(stats: &LoadStats, point_id: &str, worker: &WorkerMode, ran_any: bool) -> Verdict {
    let is_worker = worker.share.is_some();
    if is_worker && stats.requests == 0 && stats.errors_by_class.is_empty() {
        // Fewer requests in flight than workers: this one keeps none of this point.
        eprintln!("model-bench: {point_id}: this worker's share of the load is empty");
        return Verdict::Skip(None);
    }
    if stats.ok == 0 {
        let first = stats
            .first_error()
            .unwrap_or_else(|| "no request was sent".into());
        let message = format!(
            "{point_id}: no request succeeded ({} failed); first error: {first}",
            stats.errors
        );
        eprintln!("\nmodel-bench: {message}");
        return match (is_worker, ran_any) {
            (true, _) => Verdict::Skip(Some(message)),
            (false, true) => Verdict::Stop(BenchStatus::Ceiling, message),
            (false, false) => Verdict::Stop(BenchStatus::Failed, message),
        };
    }
    if stats.errors > 0 {
        eprintln!(
            "model-bench: {point_id}: {} of {} requests failed: {:?}",
            stats.errors, stats.requests, stats.errors_by_class
        );
    }
    Verdict::Measured
}

/// What criterion made of a point's replayed slices: its estimates and changes (none when too
/// few slices had a success for criterion's minimum of ten).
struct Replayed {
    measured: Option<Measured>,
    ttft_change: Option<crate::results::Change>,
}

/// Where a bench's points are replayed: its criterion group and its place in criterion's files.
struct Replayer<'g, 'p> {
    group: BenchmarkGroup<'g, WallTime>,
    place: CriterionPlace<'p>,
}

impl Replayer<'_, '_> {
    /// Replays a point's slice means to criterion: its latency, and with `ttft` (token streams,
    /// unless a filter leaves `<point>/ttft` out) its time to first token. Slices without a
    /// successful request (the server was down then) have no mean; criterion gets the others
    /// when at least its minimum of ten remain.
    fn replay(
        &mut self,
        level: &LoadLevel,
        point_id: &str,
        tally: &PointTally,
        (rule, ttft): (crate::stats::compare::Rule, bool),
        result: &mut BenchResult,
    ) -> Replayed {
        let (group, place, label) = (&mut self.group, &self.place, level.label());
        let means = tally.slice_means();
        let measured = replay_latency(group, place, &label, point_id, &means, rule, result);
        let ttft_change = ttft
            .then(|| {
                let means = tally.slice_ttft_means();
                replay_ttft(group, place, &label, point_id, &means, rule, result)
            })
            .flatten();
        Replayed {
            measured,
            ttft_change,
        }
    }
}

impl Replayed {
    /// The point's result: criterion's estimates, or without them the load's own exact mean
    /// and median.
    fn into_point(self, id: String, load: LoadPoint) -> PointResult {
        let (estimates, sample, change) = match self.measured {
            Some(measured) => (measured.estimates, measured.sample, measured.change),
            None => (
                crate::results::Estimates::from_latency(&load.stats),
                crate::results::SampleInfo::none(),
                None,
            ),
        };
        PointResult {
            id,
            batch: 1,
            unit: "ns".into(),
            estimates,
            sample,
            items_per_sec: Some(load.stats.throughput_rps),
            change,
            ttft_change: self.ttft_change,
            load: Some(load),
            device_timing: None,
            gpu_memory: None,
        }
    }
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
    let reference = resolved.server == ServerKind::Reference;
    Ok(Connected {
        client: Arc::new(client),
        info: RemoteInfo {
            protocol: endpoint.protocol(),
            url: resolved.display,
            model: endpoint.name().to_owned(),
            server: resolved.server,
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
    server: ServerKind,
    stats_base: Option<String>,
    metrics: Option<String>,
}

/// The server's and the model's own metadata, once per bench, as facts (`server.name`,
/// `server.version`, `server.extensions`, `server.model.platform` — an OpenAI-compatible
/// model's owner —, `server.model.versions`, `server.model.context_length`). The V2 protocol
/// requires both routes, but a server without them can still be measured: that is a fact with
/// the error's class (not its message, which names a port that changes between runs), and a
/// note on stderr.
fn record_server_facts(runtime: &tokio::runtime::Runtime, client: &Client, key: &str) {
    use crate::facts::record;
    // A plain POST has no metadata routes; an OpenAI-compatible server has its kind's
    // (`/version`, `/info`, `/props`) and `/v1/models`.
    if client.protocol() == Protocol::HttpPost {
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
            if let Some(length) = model.context_length {
                record("server.model.context_length", &length.to_string());
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
    (level, schedule): (&LoadLevel, Option<crate::remote::llm::ReplaySchedule>),
    slices: usize,
) -> Result<LoadPlan, String> {
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
        LoadLevel::Trace => {
            let Some(mut schedule) = schedule else {
                return Err(format!(
                    "{} is marked `trace` but its endpoint replays no trace: give it \
                     `.trace(Trace::…)`",
                    bench.key()
                ));
            };
            // A replay is measured from its start unless the bench says otherwise; a quick run
            // replays its first second.
            let warm_up = bench.warm_up_time.unwrap_or_default();
            if config.quick {
                schedule = schedule.before(warm_up + QUICK_DURATION);
            }
            let mut plan = LoadPlan::replay(schedule, warm_up);
            if let Some(max) = remote.max_in_flight {
                plan = plan.max_in_flight(max);
            }
            let step = super::scenario::series_step(plan.duration);
            plan.slices(slices).series_step(step)
        }
        LoadLevel::Concurrency(concurrency) => LoadPlan::closed(concurrency, duration)
            .warm_up(warm_up)
            .slices(slices)
            .series_step(super::scenario::series_step(duration)),
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
            plan.warm_up(warm_up)
                .slices(slices)
                .series_step(super::scenario::series_step(duration))
        }
    };
    if let Some(limit) = config.error_limit {
        plan = plan.error_limit(limit);
    }
    if let Some(responses) = config.stability.window_requests {
        plan = plan.count_windows(responses);
    }
    if let Some(requests) = remote.requests {
        plan = plan.max_requests(requests);
    }
    Ok(plan)
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
