//! Where a load point's time went: the client's mean TTFT (and end-to-end time) cut into its
//! send lateness (a client stamp), the server's queue, prefill and decode (its histograms), what
//! the server's own total leaves of those, and what is outside the server (the client's figure
//! from its send less the server's total: connection, request write, network, framing, the
//! client's parse). Parts a server does not export stay inside a wider part, and are named. Then
//! the server's request count and TTFT beside the client's, with the tolerance they must agree
//! within.

use crate::results::{Agreement, LoadStats, Percentiles, ServerState, TimeBreakdown, TimePart};

/// Requests may differ by this share of the client's count, plus the requests in flight at the
/// window's edges (the server's most running and waiting).
pub const REQUESTS_TOLERANCE: f64 = 0.05;
/// The server's TTFT may differ from the client's (from its send) by this much, ns…
pub const TTFT_TOLERANCE_NS: f64 = 2e6;
/// …plus this share of the client's.
pub const TTFT_TOLERANCE_SHARE: f64 = 0.10;

const OUTSIDE: &str = "outside the server: connection, request write, network, framing, parse";

/// Adds the TTFT and end-to-end breakdowns and the agreement checks to `state`.
pub fn complete(state: &mut ServerState, stats: &LoadStats) {
    let open_loop = stats.lateness.is_some();
    let time = |part: &str| state.times.iter().find(|t| t.part == part);
    let ttft = stats.stream.as_ref().map(|s| (s.ttft, s.ttft_service));
    if let Some((Some(intended), Some(service))) = ttft {
        state.ttft_breakdown = Some(cut(
            Client::new(intended, service, open_loop, "client: TTFT"),
            time("ttft"),
            &[("queue", time("queue")), ("prefill", time("prefill"))],
        ));
    }
    if let (Some(intended), Some(service)) = (stats.latency, stats.service) {
        state.e2e_breakdown = Some(cut(
            Client::new(intended, service, open_loop, "client: latency"),
            time("e2e"),
            &[
                ("queue", time("queue")),
                ("prefill", time("prefill")),
                ("decode", time("decode")),
            ],
        ));
    }
    state.agreement = agree(state, stats);
}

/// The client's side of a breakdown.
struct Client {
    /// From the intended send (open loop) or the send.
    mean: f64,
    p90: f64,
    /// From the actual send.
    from_send: f64,
    source: &'static str,
}

impl Client {
    /// A figure measured from the intended send and from the send: an open loop's whole is the
    /// former, a closed loop's the latter (its `latency` adds the coordinated-omission
    /// correction's values, which no server part matches).
    fn new(
        intended: Percentiles,
        service: Percentiles,
        open_loop: bool,
        source: &'static str,
    ) -> Self {
        let whole = if open_loop { intended } else { service };
        Client {
            mean: whole.mean,
            p90: whole.p90,
            from_send: service.mean,
            source,
        }
    }
}

fn measured(name: &str, mean: f64, p90: Option<f64>, source: &str) -> TimePart {
    TimePart {
        name: name.into(),
        mean_ns: mean,
        p90_ns: p90,
        kind: "measured".into(),
        source: source.into(),
    }
}

fn remainder(name: &str, mean: f64, source: &str) -> TimePart {
    TimePart {
        name: name.into(),
        // A difference of equal figures is 0, not the float error of subtracting them.
        mean_ns: if mean.abs() < 1.0 { 0.0 } else { mean },
        p90_ns: None,
        kind: "remainder".into(),
        source: source.into(),
    }
}

/// The client's mean cut at the server's `total` and its `inner` parts.
fn cut(
    client: Client,
    total: Option<&crate::results::ServerTime>,
    inner: &[(&str, Option<&crate::results::ServerTime>)],
) -> TimeBreakdown {
    let mut parts = Vec::new();
    let lateness = client.mean - client.from_send;
    if lateness > 0.0 {
        parts.push(measured(
            "send lateness",
            lateness,
            None,
            &format!(
                "{} from the intended send less from the send",
                client.source
            ),
        ));
    }
    let not_exported: Vec<String> = inner
        .iter()
        .filter(|(_, time)| time.is_none())
        .map(|(name, _)| format!("server {name}"))
        .chain(total.is_none().then(|| "server total".to_string()))
        .collect();
    let mut inside = 0.0;
    for (name, time) in inner {
        if let Some(time) = time {
            parts.push(measured(
                &format!("server {name}"),
                time.mean_ns,
                time.p90_ns,
                &time.metric,
            ));
            inside += time.mean_ns;
        }
    }
    match total {
        Some(total) => {
            if inner.iter().any(|(_, time)| time.is_some()) {
                let named: Vec<&str> = inner
                    .iter()
                    .filter(|(_, t)| t.is_some())
                    .map(|(n, _)| *n)
                    .collect();
                parts.push(remainder(
                    "server, other (tokenizing, scheduling)",
                    total.mean_ns - inside,
                    &format!("{} less {}", total.metric, named.join(", ")),
                ));
            } else {
                parts.push(measured(
                    "server (its parts not exported)",
                    total.mean_ns,
                    total.p90_ns,
                    &total.metric,
                ));
            }
            parts.push(remainder(
                OUTSIDE,
                client.from_send - total.mean_ns,
                &format!("{} from the send less {}", client.source, total.metric),
            ));
        }
        None => parts.push(remainder(
            if inside > 0.0 {
                "the rest: the server's other time, and outside it"
            } else {
                "from the send (the server exports no part of it)"
            },
            client.from_send - inside,
            &format!("{} from the send less the measured parts", client.source),
        )),
    }
    TimeBreakdown {
        client_mean_ns: client.mean,
        client_p90_ns: Some(client.p90),
        parts,
        not_exported,
    }
}

/// The server's finished requests and mean TTFT beside the client's.
fn agree(state: &ServerState, stats: &LoadStats) -> Vec<Agreement> {
    let mut checks = Vec::new();
    let server_requests = state.requests.or_else(|| {
        state
            .times
            .iter()
            .find(|t| t.part == "e2e")
            .map(|t| t.count)
    });
    if let Some(server) = server_requests {
        let client = stats.ok as f64;
        let in_flight = state.running.map_or(0.0, |l| l.max) + state.waiting.map_or(0.0, |l| l.max);
        let tolerance = REQUESTS_TOLERANCE * client + in_flight.max(1.0);
        let agrees = (server - client).abs() <= tolerance;
        checks.push(Agreement {
            figure: "requests".into(),
            client,
            server,
            tolerance,
            agrees,
            note: (!agrees).then(|| {
                if server > client {
                    "the server finished more requests than this client had answered: another \
                     client loads it too"
                        .to_string()
                } else {
                    "the server counted fewer requests than this client had answered: a proxy \
                     or cache answered some, or the metrics are another replica's"
                        .to_string()
                }
            }),
        });
    }
    let server_ttft = state.times.iter().find(|t| t.part == "ttft");
    let client_ttft = stats.stream.as_ref().and_then(|s| s.ttft_service);
    if let (Some(server), Some(client)) = (server_ttft, client_ttft) {
        let tolerance = TTFT_TOLERANCE_NS + TTFT_TOLERANCE_SHARE * client.mean;
        let agrees = (server.mean_ns - client.mean).abs() <= tolerance;
        checks.push(Agreement {
            figure: "ttft_mean_ns".into(),
            client: client.mean,
            server: server.mean_ns,
            tolerance,
            agrees,
            note: (!agrees).then(|| {
                if server.mean_ns > client.mean {
                    "the server's TTFT is longer than the client's from its send: the clocks \
                     disagree, or these are not the same requests"
                        .to_string()
                } else {
                    "the client waited longer than the server counted: a proxy or the network \
                     between them, or the client's parse"
                        .to_string()
                }
            }),
        });
    }
    checks
}
