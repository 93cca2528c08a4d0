//! Views across benches that several outputs share: which remote benches compare REST with gRPC.

use super::{BenchResult, PointResult, Report};

/// Remote benches of one model and one id prefix, over REST and over gRPC.
pub struct ProtocolGroup<'a> {
    /// The model every peer drives (their `remote.model`).
    pub model: String,
    /// The bench ids' shared prefix (the part before the last `/`).
    pub group: String,
    /// The group's remote benches, REST and gRPC alike, in report order.
    pub peers: Vec<&'a BenchResult>,
    /// Load level names (the last segment of point ids, e.g. `c4`), in first-seen order.
    pub levels: Vec<String>,
}

impl ProtocolGroup<'_> {
    /// `peer`'s point at `level`, when it has one.
    pub fn point<'b>(&self, peer: &'b BenchResult, level: &str) -> Option<&'b PointResult> {
        peer.points
            .iter()
            .find(|p| p.id.rsplit('/').next() == Some(level))
    }
}

fn id_group(bench: &BenchResult) -> &str {
    bench
        .id
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or_default()
}

fn family(bench: &BenchResult) -> Option<&'static str> {
    bench.remote.as_ref().map(|r| r.protocol.family())
}

/// Every group with at least one REST and one gRPC bench, in the order benches first appear.
pub fn rest_vs_grpc(report: &Report) -> Vec<ProtocolGroup<'_>> {
    let mut groups: Vec<ProtocolGroup<'_>> = Vec::new();
    for bench in &report.benches {
        let Some(remote) = &bench.remote else {
            continue;
        };
        let group = id_group(bench);
        if groups
            .iter()
            .any(|g| g.group == group && g.model == remote.model)
        {
            continue;
        }
        let peers: Vec<&BenchResult> = report
            .benches
            .iter()
            .filter(|b| {
                b.remote.as_ref().is_some_and(|r| r.model == remote.model) && id_group(b) == group
            })
            .collect();
        let has = |f: &str| peers.iter().any(|b| family(b) == Some(f));
        if !(has("REST") && has("gRPC")) {
            continue;
        }
        let mut levels: Vec<String> = Vec::new();
        for point in peers.iter().flat_map(|p| &p.points) {
            let level = point.id.rsplit('/').next().unwrap_or("").to_string();
            if !levels.contains(&level) {
                levels.push(level);
            }
        }
        groups.push(ProtocolGroup {
            model: remote.model.clone(),
            group: group.to_string(),
            peers,
            levels,
        });
    }
    groups
}
