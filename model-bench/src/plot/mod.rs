//! Charts of a report, one module per kind: batch sweeps, load curves, a token-stream sweep's
//! tokens/s per user against in all (`pareto`), latency spectra and histograms, stage box
//! plots, pipeline breakdowns, REST vs gRPC, cold vs warm, scenarios, every load point over time
//! and an LLM server's state beside it. Each is drawn with plotters as SVG and rasterised to PNG
//! from that same SVG.
//!
//! This file only lists the kinds. What they share lies in leaf modules that import none of
//! them: `canvas` (the chart, its series and the SVG it is drawn on), `axes` (units, tick labels,
//! colours, legends) and `bars` (grouped bars).

mod axes;
mod bars;
mod breakdown;
mod canvas;
mod cold;
mod latency;
mod load;
mod pareto;
#[cfg(feature = "png")]
mod png;
mod protocols;
mod scenario;
mod server_state;
mod stages;
mod sweep;

use crate::error::Result;
use crate::results::Report;

pub(crate) use canvas::xml_escape;
pub use canvas::{file_stem, Chart, Series, HEIGHT, WIDTH};
#[cfg(feature = "png")]
pub use png::{to_png, PngFonts};

/// Every chart the report's results allow, in reading order. A chart that cannot be drawn is an
/// error of its own; the others are still returned.
pub fn charts(report: &Report) -> Vec<Result<Chart>> {
    let mut charts: Vec<Result<Chart>> = [
        sweep::charts(report),
        load::charts(report),
        pareto::charts(report),
        latency::charts(report),
        protocols::charts(report),
        stages::charts(report),
        breakdown::charts(report),
        cold::charts(report),
        scenario::charts(report),
        scenario::steady_charts(report),
        server_state::charts(report),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Ids that differ only in characters a file name cannot keep (`a/b`, `a.b`) must not share
    // a file: later ones get a numbered suffix.
    let mut taken: Vec<String> = Vec::new();
    for chart in charts.iter_mut().flatten() {
        let mut name = chart.name.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{}-{n}", chart.name);
            n += 1;
        }
        chart.name = name.clone();
        taken.push(name);
    }
    charts
}
