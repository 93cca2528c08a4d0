//! REST vs gRPC: successful responses per second and p99 latency of the same model over each
//! protocol, bars per load level.

use super::axes::{max_of, time_unit};
use super::bars::grouped_bars;
use super::canvas::{draw, Chart, Series, Spec, WIDTH};
use crate::error::Result;
use crate::results::{groups, LoadStats, Report};

pub(super) fn charts(report: &Report) -> Vec<Result<Chart>> {
    groups::rest_vs_grpc(report)
        .into_iter()
        .map(|group| {
            let names: Vec<String> = group
                .peers
                .iter()
                .map(|peer| {
                    let protocol = peer
                        .remote
                        .as_ref()
                        .map(|r| r.protocol.as_str())
                        .unwrap_or("");
                    format!("{} ({protocol})", peer.name)
                })
                .collect();
            let stat = |peer, level: &str| {
                group
                    .point(peer, level)
                    .and_then(|p| p.load.as_ref())
                    .map(|l| &l.stats)
            };
            // One row per load level, one value per bench.
            let matrix = |figure: fn(&LoadStats) -> Option<f64>| -> Vec<Vec<Option<f64>>> {
                group
                    .levels
                    .iter()
                    .map(|level| {
                        group
                            .peers
                            .iter()
                            .map(|peer| stat(peer, level).and_then(figure))
                            .collect()
                    })
                    .collect()
            };
            let throughput = matrix(|s| Some(s.throughput_rps));
            let p99_ns = matrix(|s| s.latency.map(|l| l.p99));
            let (divisor, unit) =
                time_unit(max_of(p99_ns.iter().flatten().flatten().copied(), 1.0));
            let p99: Vec<Vec<Option<f64>>> = p99_ns
                .iter()
                .map(|row| row.iter().map(|v| v.map(|ns| ns / divisor)).collect())
                .collect();
            let id = format!("{}/{}", group.group, group.model);
            let mut spec = Spec::new(
                "protocols",
                &id,
                format!("REST vs gRPC: {} ({})", group.model, group.group),
                format!(
                    "Successful responses per second (left) and p99 latency in {unit} (right) of \
                     each bench at each load level."
                ),
            );
            // One series per bench and figure: x is the load level's index.
            for (figure, values) in [("ok/s", &throughput), ("p99", &p99)] {
                for (member, name) in names.iter().enumerate() {
                    spec.series.push(Series {
                        name: format!("{name} {figure}"),
                        points: values
                            .iter()
                            .enumerate()
                            .filter_map(|(i, row)| Some((i as f64, (*row.get(member)?)?)))
                            .collect(),
                    });
                }
            }
            let levels = group.levels.clone();
            draw(spec, |root, _| {
                let (left, right) = root.split_horizontally(WIDTH / 2);
                grouped_bars(&left, "ok/s", &levels, &names, &throughput, "ok/s", false)?;
                grouped_bars(
                    &right,
                    &format!("p99 latency ({unit})"),
                    &levels,
                    &names,
                    &p99,
                    &format!("p99 ({unit})"),
                    false,
                )
            })
        })
        .collect()
}
