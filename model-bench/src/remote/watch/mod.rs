//! What runs beside a load point, and the point it makes: the client's and the server's
//! processes sampled (`resources::process`), a local server's GPUs read (`resources::nvml`), the
//! server's Prometheus metrics scraped (`prometheus.rs`) — an LLM server's read by name into its
//! state, where TTFT went and the energy per token (`server_state/`) — and its statistics read
//! before and after (`server_stats.rs`). [`Watch::run`] runs one plan with all of them;
//! [`WatchedRun::point`] builds the [`LoadPoint`] once, from the run's statistics and these
//! readings.

pub mod prometheus;
pub mod server_state;
pub mod server_stats;

use std::sync::Arc;

use crate::remote::client::Client;
use crate::remote::endpoint::{AnyEndpoint, ServerProcess, V2Protocol};
use crate::remote::load::{self, LoadMode, LoadPlan, LoadRun};
use crate::resources::nvml::GpuSampler;
use crate::resources::process::{self, MemoryTrace, ProcessSampler, Watched};
use crate::results::{
    Energy, GpuInfo, GpuUsage, LoadPoint, LoadStats, LoopKind, ProcessUsage, ServerBreakdown,
    ServerMetrics, ServerState, Validity,
};

/// Everything watched beside a bench's load points: its processes and where its server's
/// statistics and metrics are read.
pub struct Watch {
    processes: Vec<Watched>,
    stats: ServerStats,
}

impl Watch {
    /// The watch for `endpoint`: this process and the endpoint's server process (a named one
    /// that does not exist is an error, before any load); the server's statistics from the
    /// endpoint's `stats_url`, its gRPC channel or `stats_base` (a REST URL); its metrics from
    /// `metrics_url`; its GPUs when it is `local` (runs on this machine).
    pub fn new(
        endpoint: &AnyEndpoint,
        stats_base: Option<String>,
        metrics_url: Option<String>,
        local: bool,
    ) -> Result<Watch, String> {
        Ok(Watch {
            processes: watched_processes(endpoint)?,
            stats: ServerStats::new(endpoint, stats_base, metrics_url, local),
        })
    }

    /// One load run with the watched processes sampled while it runs (their memory reading by
    /// reading too), the server's metrics scraped and a local server's GPUs read during it, and
    /// its statistics read before and after it.
    pub fn run(
        &self,
        runtime: &tokio::runtime::Runtime,
        client: &Arc<Client>,
        plan: &LoadPlan,
    ) -> WatchedRun {
        let stats = &self.stats;
        let before = runtime.block_on(stats.read(client));
        let sampler = ProcessSampler::start(self.processes.clone()).ok();
        let scraper = stats.metrics_url.as_deref().map(|url| {
            let http = stats.http.clone()?;
            Ok(runtime.block_on(prometheus::Scraper::start_with(
                http,
                url,
                (plan.warm_up, plan.series_step),
                server_state::names::is_catalogued_histogram,
            )))
        });
        let gpu_sampler = stats.local.then(GpuSampler::start);
        let run = runtime.block_on(load::run(Arc::clone(client), plan));
        let mut readings = Readings::default();
        let mut traces = Vec::new();
        if let Some(sampler) = sampler {
            (readings.processes, traces) = sampler.finish_with_traces();
        }
        match gpu_sampler {
            Some(Ok(sampler)) => readings.gpu = sampler.finish(),
            Some(Err(reason)) => readings.gpu_note = Some(reason),
            None => {}
        }
        if let Some(scraper) = scraper {
            match scraper.and_then(|scraper| runtime.block_on(scraper.finish())) {
                Ok(scraped) => {
                    let mut state = server_state::read(&scraped.readings, scraped.window_start_s);
                    if let Some(state) = &mut state {
                        server_state::breakdown::complete(state, &run.stats);
                    }
                    readings.server_state = state;
                    readings.metrics = Some(scraped.metrics);
                }
                Err(note) => readings.metrics_note = Some(note),
            }
        }
        let breakdown = before.and_then(|before| {
            let after = runtime.block_on(stats.read(client))?;
            let client_mean = run.stats.service.as_ref().map(|s| s.mean);
            server_stats::breakdown(&before, &after, &stats.source(client), client_mean)
        });
        match breakdown {
            Ok(breakdown) => readings.server = Some(breakdown),
            Err(note) => readings.server_note = Some(note),
        }
        readings.energy = server_state::energy::energy(
            &run.stats,
            &readings.gpu,
            &stats.gpu_names,
            readings.metrics.as_ref(),
        );
        WatchedRun {
            mode: plan.mode,
            run,
            readings,
            traces,
        }
    }
}

/// What was read beside one run.
#[derive(Default)]
struct Readings {
    processes: Vec<ProcessUsage>,
    server: Option<ServerBreakdown>,
    server_note: Option<String>,
    metrics: Option<ServerMetrics>,
    metrics_note: Option<String>,
    server_state: Option<ServerState>,
    energy: Option<Energy>,
    gpu: Vec<GpuUsage>,
    gpu_note: Option<String>,
}

/// One watched run: the load run, the watched processes' memory traces, and what was read beside
/// it, until [`point`](WatchedRun::point) makes them one `LoadPoint`.
pub struct WatchedRun {
    mode: LoadMode,
    pub run: LoadRun,
    pub traces: Vec<MemoryTrace>,
    readings: Readings,
}

impl WatchedRun {
    pub fn stats(&self) -> &LoadStats {
        &self.run.stats
    }

    /// The run as the results record it, with its stability verdict.
    pub fn point(self, validity: Option<Validity>) -> LoadPoint {
        let (mode, concurrency, target_rate, arrival) = match self.mode {
            LoadMode::Closed { concurrency } => (LoopKind::Closed, Some(concurrency), None, None),
            LoadMode::Open { rate, arrival, .. } => {
                (LoopKind::Open, None, Some(rate), Some(arrival.label()))
            }
        };
        let Readings {
            processes,
            server,
            server_note,
            metrics,
            metrics_note,
            server_state,
            energy,
            gpu,
            gpu_note,
        } = self.readings;
        LoadPoint {
            mode,
            concurrency,
            target_rate,
            arrival,
            stats: self.run.stats,
            validity,
            processes,
            server,
            server_note,
            metrics,
            metrics_note,
            server_state,
            energy,
            gpu,
            gpu_note,
            mix: self.run.mix,
        }
    }
}

/// This process (the load generator) and the server's, when the endpoint names it and it is
/// another process; a named process that does not exist is an error, before any load.
fn watched_processes(endpoint: &AnyEndpoint) -> Result<Vec<Watched>, String> {
    let client = Watched {
        role: "client".into(),
        pid: std::process::id(),
    };
    let server = match &endpoint.common.server_process {
        None => None,
        Some(ServerProcess::Pid(pid)) => Some(process::resolve(Some(*pid), None)?),
        Some(ServerProcess::PidFromEnv(var)) => match std::env::var(var) {
            Err(_) => None,
            Ok(text) => {
                let pid = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("{var}={text} is not a process id"))?;
                Some(process::resolve(Some(pid), None).map_err(|e| format!("{var}: {e}"))?)
            }
        },
        Some(ServerProcess::Name(name)) => Some(process::resolve(None, Some(name))?),
    };
    Ok(std::iter::once(client)
        .chain(
            server
                .filter(|&pid| pid != std::process::id())
                .map(|pid| Watched {
                    role: "server".into(),
                    pid,
                }),
        )
        .collect())
}

/// Where a bench reads the server's statistics: the endpoint's `stats_url`, else a gRPC
/// endpoint's own channel (`ModelStatistics`), else a REST endpoint's own URL or the reference
/// server's REST URL; and its Prometheus metrics, when there is a URL for them.
struct ServerStats {
    /// One HTTP client for every statistics read and metrics scrape of the bench (or why
    /// there is none).
    http: Result<reqwest::Client, String>,
    model: String,
    route: Result<StatsRoute, String>,
    metrics_url: Option<String>,
    /// The server runs here: this machine's GPUs are its GPUs.
    local: bool,
    /// This machine's GPUs' names, for a server here (read once).
    gpu_names: Vec<GpuInfo>,
}

enum StatsRoute {
    Rest(String),
    Grpc,
}

impl ServerStats {
    fn new(
        endpoint: &AnyEndpoint,
        base: Option<String>,
        metrics_url: Option<String>,
        local: bool,
    ) -> Self {
        let model = endpoint.name();
        let rest = |base: &str| StatsRoute::Rest(server_stats::url(base, model));
        let route = match endpoint.v2_request() {
            None => Err(format!(
                "Triton's statistics extension is a V2 server's; this is an {} endpoint",
                endpoint.protocol()
            )),
            Some(v2) => match (&v2.stats_url, v2.protocol, base) {
                (Some(url), _, _) => Ok(rest(url)),
                (None, V2Protocol::Grpc, _) => Ok(StatsRoute::Grpc),
                (None, _, Some(base)) => Ok(rest(&base)),
                (None, _, None) => Err("no REST URL to read Triton's statistics from (set \
                     `.stats_url(\"http://host:8000\")`)"
                    .to_string()),
            },
        };
        ServerStats {
            http: crate::remote::crypto::http_client_builder()
                .build()
                .map_err(|e| format!("no HTTP client for the server's statistics: {e}")),
            model: model.to_owned(),
            route,
            metrics_url,
            local,
            gpu_names: if local {
                crate::resources::gpu::describe()
                    .map(|environment| environment.gpus)
                    .unwrap_or_default()
            } else {
                Vec::new()
            },
        }
    }

    /// What the statistics were read from, for the results.
    fn source(&self, client: &Client) -> String {
        match &self.route {
            Ok(StatsRoute::Rest(url)) => url.clone(),
            Ok(StatsRoute::Grpc) => format!("{} (gRPC ModelStatistics)", client.base_url()),
            Err(_) => String::new(),
        }
    }

    async fn read(&self, client: &Client) -> Result<server_stats::Snapshot, String> {
        match self.route.as_ref().map_err(Clone::clone)? {
            StatsRoute::Rest(url) => {
                let http = self.http.as_ref().map_err(Clone::clone)?;
                server_stats::fetch_with(http, url, &self.model).await
            }
            StatsRoute::Grpc => match client.model_statistics().await {
                Some(Ok(response)) => server_stats::from_grpc(response, &self.model),
                Some(Err(error)) => Err(format!(
                    "gRPC ModelStatistics at {}: {error} (the server does not offer Triton's \
                     statistics extension?)",
                    client.base_url()
                )),
                None => Err("not a gRPC endpoint".into()),
            },
        }
    }
}
