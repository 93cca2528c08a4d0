//! The serving engineer's chart (vLLM's Pareto plot): across a token-stream sweep's levels, the
//! output tokens per second one user sees against the output tokens per second of all of them,
//! each level marked with its load, its server's peak KV-cache usage and its goodput.

use plotters::prelude::*;

use super::axes::{color, draw_legend, line_key, max_of, short_number};
use super::canvas::{draw, Chart, Series, Spec};
use crate::error::Result;
use crate::results::{BenchResult, LoadPoint, Report};

pub(super) fn charts(report: &Report) -> Vec<Result<Chart>> {
    report
        .benches
        .iter()
        .filter_map(|bench| {
            let points: Vec<&LoadPoint> = bench
                .points
                .iter()
                .filter_map(|p| p.load.as_ref())
                .filter(|l| {
                    l.stats
                        .stream
                        .as_ref()
                        .is_some_and(|s| s.output_tokens_per_s > 0.0)
                })
                .collect();
            (points.len() >= 2).then(|| pareto(bench, &points))
        })
        .collect()
}

/// A level's mark: its load, peak KV-cache usage and goodput, where known.
fn mark(load: &LoadPoint) -> String {
    let mut parts = vec![match (load.concurrency, load.target_rate) {
        (Some(concurrency), _) => format!("c={concurrency}"),
        (None, Some(rate)) => format!("{}/s", short_number(rate)),
        _ => load.mode.as_str().to_owned(),
    }];
    if let Some(kv) = load.server_state.as_ref().and_then(|s| s.kv_cache_usage) {
        parts.push(format!("KV {:.0}%", kv.max * 100.0));
    }
    if let Some(goodput) = load.stats.stream.as_ref().and_then(|s| s.goodput.as_ref()) {
        parts.push(format!("good {:.0}%", goodput.share * 100.0));
    }
    parts.join(" · ")
}

fn pareto(bench: &BenchResult, points: &[&LoadPoint]) -> Result<Chart> {
    let mut spec = Spec::new(
        "pareto",
        &bench.id,
        format!("{}: tokens/s per user against tokens/s in all", bench.id),
        "Each load level: output tokens per second of all streams (x) and of one stream on \
         average (y, what one user sees), marked with the level, the server's peak KV-cache \
         usage and the goodput where known. Up and to the right is better; the curve is the \
         trade-off the server offers.",
    );
    let marks: Vec<String> = points.iter().map(|l| mark(l)).collect();
    spec.series = vec![Series {
        name: "tokens/s per user".into(),
        points: points
            .iter()
            .filter_map(|l| {
                let stream = l.stats.stream.as_ref()?;
                Some((
                    stream.output_tokens_per_s,
                    stream.output_tokens_per_s_per_stream,
                ))
            })
            .collect(),
    }];
    let title = bench.id.clone();
    draw(spec, |root, series| {
        let line = &series[0].points;
        let x_max = max_of(line.iter().map(|p| p.0), 1.0) * 1.2;
        let y_max = max_of(line.iter().map(|p| p.1), 1.0) * 1.2;
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{title}: per user vs in all"), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_desc("output tokens/s, all streams")
            .y_desc("output tokens/s per user")
            .x_label_formatter(&|x| short_number(*x))
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        let blue = color(0);
        chart
            .draw_series(LineSeries::new(line.clone(), blue.stroke_width(2)))?
            .label(series[0].name.as_str())
            .legend(line_key(blue));
        chart.draw_series(line.iter().map(|p| Circle::new(*p, 4, blue.filled())))?;
        chart.draw_series(line.iter().zip(&marks).map(|(p, text)| {
            Text::new(
                text.clone(),
                (p.0 + x_max * 0.01, p.1 + y_max * 0.02),
                ("sans-serif", 13).into_font(),
            )
        }))?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}
