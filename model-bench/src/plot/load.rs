//! Load curves: throughput and p50/p99 latency against concurrency or offered rate, SLO line
//! drawn; for token streams, output tokens per second and p50/p99 time to first token, with
//! the TTFT objective.

use plotters::prelude::*;

use super::axes::{color, draw_legend, line_key, max_of, short_number, time_unit};
use super::canvas::{draw, Chart, Series, Spec};
use crate::error::Result;
use crate::results::{BenchResult, LoadPoint, LoopKind, Percentiles, Report};

/// What a load curve draws: a rate on the left axis, a distribution's p50 and p99 on the right.
struct CurveOf {
    /// The chart's file name starts with this.
    file: &'static str,
    /// The left axis's rate, its name and how it is described.
    rate: &'static str,
    rate_about: &'static str,
    rate_of: fn(&LoadPoint) -> Option<f64>,
    /// The right axis's distribution, its name.
    what: &'static str,
    percentiles: fn(&LoadPoint) -> Option<Percentiles>,
    /// The dashed line's name.
    line: &'static str,
}

const REQUESTS: CurveOf = CurveOf {
    file: "load",
    rate: "ok/s",
    rate_about: "Successful responses per second",
    rate_of: |load| Some(load.stats.throughput_rps),
    what: "latency",
    percentiles: |load| load.stats.latency,
    line: "p99 SLO",
};

const TOKENS: CurveOf = CurveOf {
    file: "tokens",
    rate: "tokens/s",
    rate_about: "Output tokens per second",
    rate_of: |load| load.stats.stream.as_ref().map(|s| s.output_tokens_per_s),
    what: "TTFT",
    percentiles: |load| load.stats.stream.as_ref().and_then(|s| s.ttft),
    line: "TTFT SLO",
};

pub(super) fn charts(report: &Report) -> Vec<Result<Chart>> {
    let slo_ns = report.run.settings.as_ref().and_then(|s| s.slo_p99_ns);
    let mut charts = Vec::new();
    for bench in report.benches.iter().filter(|b| b.remote.is_some()) {
        for mode in [LoopKind::Closed, LoopKind::Open] {
            // A point without a usable load level (a hand-edited file) cannot be placed.
            let points: Vec<&LoadPoint> = bench
                .points
                .iter()
                .filter_map(|p| p.load.as_ref())
                .filter(|l| l.mode == mode)
                .filter(|l| load_level(l).is_some_and(|x| x.is_finite() && x > 0.0))
                .collect();
            if points.len() >= 2 {
                charts.push(curve(bench, mode, &points, &REQUESTS, slo_ns));
                if points.iter().all(|l| l.stats.stream.is_some()) {
                    let ttft_slo = points.iter().find_map(|l| {
                        let goodput = l.stats.stream.as_ref()?.goodput.as_ref()?;
                        Some(goodput.slo.ttft_ns? as f64)
                    });
                    charts.push(curve(bench, mode, &points, &TOKENS, ttft_slo));
                }
            }
        }
    }
    charts
}

fn load_level(load: &LoadPoint) -> Option<f64> {
    match load.mode.as_str() {
        "closed" => load.concurrency.map(|c| c as f64),
        _ => load.target_rate,
    }
}

fn curve(
    bench: &BenchResult,
    mode: LoopKind,
    points: &[&LoadPoint],
    of: &CurveOf,
    slo_ns: Option<f64>,
) -> Result<Chart> {
    let x_desc = if mode == LoopKind::Closed {
        "concurrency (requests in flight)"
    } else {
        "offered rate (requests/s)"
    };
    let latency_max_ns = max_of(
        points
            .iter()
            .filter_map(|l| (of.percentiles)(l).map(|p| p.p99))
            .chain(slo_ns),
        1.0,
    );
    let (divisor, unit) = time_unit(latency_max_ns);
    let series_of = |name: String, value: &dyn Fn(&LoadPoint) -> Option<f64>| Series {
        name,
        points: points
            .iter()
            .filter_map(|l| Some((load_level(l)?, value(l)?)))
            .collect(),
    };
    let what = of.what;
    let mut spec = Spec::new(
        &format!("{}-{mode}", of.file),
        &bench.id,
        format!("{}: {} loop ({})", bench.id, mode.as_str(), of.rate),
        format!(
            "{} (left axis) and p50 / p99 {what} in {unit} (right axis) at each {}{}.",
            of.rate_about,
            if mode == LoopKind::Closed {
                "concurrency"
            } else {
                "offered rate"
            },
            slo_ns
                .map(|slo| format!(
                    "; the dashed line is the {} ({} {unit})",
                    of.line,
                    short_number(slo / divisor)
                ))
                .unwrap_or_default()
        ),
    );
    spec.series = vec![
        series_of(of.rate.into(), &of.rate_of),
        series_of(format!("{what} p50 ({unit})"), &|l| {
            (of.percentiles)(l).map(|p| p.p50 / divisor)
        }),
        series_of(format!("{what} p99 ({unit})"), &|l| {
            (of.percentiles)(l).map(|p| p.p99 / divisor)
        }),
    ];
    let slo = slo_ns.map(|ns| ns / divisor);
    let title = bench.id.clone();
    draw(spec, |root, series| {
        let levels: Vec<f64> = series[0].points.iter().map(|p| p.0).collect();
        let x_min = levels.iter().copied().fold(f64::INFINITY, f64::min);
        let x_max = max_of(levels.iter().copied(), 1.0);
        let y_max = max_of(series[0].points.iter().map(|p| p.1), 1.0) * 1.15;
        let latency_max = max_of(
            series[1..]
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .chain(slo),
            1.0,
        ) * 1.15;
        let x_range = (x_min.max(1e-3) / 1.25..x_max * 1.25).log_scale().base(2.0);
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{title} ({mode} loop)"), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .right_y_label_area_size(70)
            .build_cartesian_2d(x_range.clone(), 0.0..y_max)?
            .set_secondary_coord(x_range, 0.0..latency_max);
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(of.rate)
            .x_label_formatter(&|x| short_number(*x))
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc(format!("{what} ({unit})"))
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        let blue = color(0);
        chart
            .draw_series(LineSeries::new(
                series[0].points.clone(),
                blue.stroke_width(2),
            ))?
            .label(series[0].name.as_str())
            .legend(line_key(blue));
        chart.draw_series(
            series[0]
                .points
                .iter()
                .map(|p| Circle::new(*p, 4, blue.filled())),
        )?;
        for (offset, latency) in series[1..].iter().enumerate() {
            let style = color(offset + 1);
            chart
                .draw_secondary_series(LineSeries::new(
                    latency.points.clone(),
                    style.stroke_width(2),
                ))?
                .label(latency.name.as_str())
                .legend(line_key(style));
            chart.draw_secondary_series(
                latency
                    .points
                    .iter()
                    .map(|p| TriangleMarker::new(*p, 5, style.filled())),
            )?;
        }
        if let Some(slo) = slo {
            let red = color(3);
            chart
                .draw_secondary_series(DashedLineSeries::new(
                    [(x_min.max(1e-3) / 1.25, slo), (x_max * 1.25, slo)],
                    8,
                    5,
                    red.stroke_width(2),
                ))?
                .label(of.line)
                .legend(line_key(red));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}
