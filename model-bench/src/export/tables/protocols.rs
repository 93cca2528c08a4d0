//! REST vs gRPC: the benches of one model over both protocols, side by side per load level.

use super::cells::{latency_cell, load_label};
use super::table::Table;
use crate::export::format::rate;
use crate::results::Report;

/// REST and gRPC benches of the same model in one group, side by side per load level.
pub(super) fn rest_vs_grpc(report: &Report) -> Vec<Table> {
    crate::results::groups::rest_vs_grpc(report)
        .into_iter()
        .map(|group| {
            let mut table = Table::new(
                format!("REST vs gRPC: {} ({})", group.model, group.group),
                &["load", "bench", "protocol", "ok/s", "p50", "p99", "errors"],
            );
            for level in &group.levels {
                for peer in &group.peers {
                    let Some(load) = group.point(peer, level).and_then(|p| p.load.as_ref()) else {
                        continue;
                    };
                    let s = &load.stats;
                    let latency = |pick| latency_cell(s, pick);
                    table.rows.push(vec![
                        load_label(load),
                        peer.name.clone(),
                        peer.remote
                            .as_ref()
                            .map(|r| r.protocol.to_string())
                            .unwrap_or_default(),
                        rate(s.throughput_rps),
                        latency(|l| l.p50),
                        latency(|l| l.p99),
                        s.errors.to_string(),
                    ]);
                }
            }
            table
        })
        .collect()
}
