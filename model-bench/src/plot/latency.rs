//! Latency distribution of a remote bench's load points (HDR): the percentile spectrum and the
//! histogram, one line per load level; for token streams, the same spectrum of time to first
//! token and of the gaps between chunks.

use plotters::prelude::*;

use super::axes::{color, draw_legend, line_key, max_of, short_number, time_unit};
use super::canvas::{draw, Chart, Series, Spec};
use crate::error::Result;
use crate::results::{BenchResult, LoadPoint, Report, SpectrumPoint};

/// More lines than this on one chart are unreadable; the first ones are drawn.
const MAX_LINES: usize = 8;

pub(super) fn charts(report: &Report) -> Vec<Result<Chart>> {
    let mut charts = Vec::new();
    for bench in report.benches.iter().filter(|b| b.remote.is_some()) {
        let all: Vec<(String, &LoadPoint)> = bench
            .points
            .iter()
            .filter_map(|p| Some((level_label(p.load.as_ref()?), p.load.as_ref()?)))
            .filter(|(_, l)| !l.stats.spectrum.is_empty())
            .collect();
        if all.is_empty() {
            continue;
        }
        let points = &all[..all.len().min(MAX_LINES)];
        let mut bases: Vec<String> = points
            .iter()
            .map(|(_, l)| l.stats.latency_basis.as_str().replace('_', " "))
            .collect();
        bases.dedup();
        let mut about = format!("latency basis: {}", bases.join(", "));
        if all.len() > points.len() {
            about.push_str(&format!(
                "; the first {} of {} load levels",
                points.len(),
                all.len()
            ));
        }
        charts.push(spectrum(bench, points, &about, &LATENCY));
        charts.push(histogram(bench, points, &about));
        for of in [&TTFT, &CHUNK_GAP] {
            if points.iter().any(|(_, load)| !(of.values)(load).is_empty()) {
                charts.push(spectrum(bench, points, &about, of));
            }
        }
    }
    charts
}

/// Which distribution a spectrum chart draws.
struct SpectrumOf {
    /// The chart's file name.
    file: &'static str,
    /// What its values are, in words.
    what: &'static str,
    values: fn(&LoadPoint) -> &[SpectrumPoint],
}

const LATENCY: SpectrumOf = SpectrumOf {
    file: "spectrum",
    what: "latency",
    values: |load| &load.stats.spectrum,
};

const TTFT: SpectrumOf = SpectrumOf {
    file: "ttft-spectrum",
    what: "time to first token",
    values: |load| {
        load.stats
            .stream
            .as_ref()
            .map_or(&[], |stream| &stream.ttft_spectrum)
    },
};

const CHUNK_GAP: SpectrumOf = SpectrumOf {
    file: "chunk-gap-spectrum",
    what: "gap between text chunks (ITL per chunk)",
    values: |load| {
        load.stats
            .stream
            .as_ref()
            .map_or(&[], |stream| &stream.chunk_gap_spectrum)
    },
};

fn level_label(load: &LoadPoint) -> String {
    match (load.concurrency, load.target_rate) {
        (Some(c), _) => format!("c={c}"),
        (_, Some(rate)) => format!(
            "{}/s{}",
            short_number(rate),
            load.arrival
                .as_deref()
                .map(|a| format!(" {a}"))
                .unwrap_or_default()
        ),
        _ => load.mode.as_str().to_owned(),
    }
}

/// Percentile → position on the spectrum's axis: 1 / (1 − q), so 90 %, 99 %, 99.9 % are evenly
/// spaced; 100 % is placed one decade past the finest measured step.
fn spectrum_x(percentile: f64, cap: f64) -> f64 {
    let rest = 1.0 - percentile / 100.0;
    if rest <= 0.0 {
        cap
    } else {
        (1.0 / rest).min(cap)
    }
}

fn spectrum(
    bench: &BenchResult,
    points: &[(String, &LoadPoint)],
    about: &str,
    of: &SpectrumOf,
) -> Result<Chart> {
    let max_ns = max_of(
        points
            .iter()
            .flat_map(|(_, l)| (of.values)(l).iter().map(|s| s.value_ns)),
        1.0,
    );
    let (divisor, unit) = time_unit(max_ns);
    let what = of.what;
    let mut spec = Spec::new(
        of.file,
        &bench.id,
        format!("{}: {what} percentile spectrum", bench.id),
        format!(
            "The {what} in {unit} at each percentile (x axis spaced as 1/(1−percentile), so each \
             decade is one more nine; the last step, at `max`, is the largest value), one line \
             per load level; {about}."
        ),
    );
    spec.series = points
        .iter()
        .map(|(label, load)| Series {
            name: label.clone(),
            points: (of.values)(load)
                .iter()
                .map(|s| (s.percentile, s.value_ns / divisor))
                .collect(),
        })
        .collect();
    let title = bench.id.clone();
    draw(spec, |root, series| {
        let finest = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| spectrum_x(p.0, f64::INFINITY)))
            .filter(|x| x.is_finite())
            .fold(10.0, f64::max);
        let cap = 10f64.powf(finest.log10().ceil() + 1.0);
        let y_max = max_of(
            series.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
            1.0,
        );
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{title}: {what} by percentile"), ("sans-serif", 20))
            .margin(12)
            .margin_right(40)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((1.0..cap).log_scale(), 0.0..y_max * 1.1)?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc(format!("{what} ({unit})"))
            .x_label_formatter(&|x| {
                if *x >= cap * 0.999 {
                    return "max".into();
                }
                let percentile = 100.0 * (1.0 - 1.0 / x);
                let text = format!("{percentile:.4}");
                let text = text.trim_end_matches('0').trim_end_matches('.');
                format!("{text}%")
            })
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        for (index, line) in series.iter().enumerate() {
            let style = color(index);
            chart
                .draw_series(LineSeries::new(
                    line.points.iter().map(|p| (spectrum_x(p.0, cap), p.1)),
                    style.stroke_width(2),
                ))?
                .label(line.name.as_str())
                .legend(line_key(style));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

fn histogram(bench: &BenchResult, points: &[(String, &LoadPoint)], about: &str) -> Result<Chart> {
    let max_ns = max_of(
        points
            .iter()
            .flat_map(|(_, l)| l.stats.histogram.iter().map(|b| b.high_ns)),
        1.0,
    );
    let (divisor, unit) = time_unit(max_ns);
    let mut spec = Spec::new(
        "histogram",
        &bench.id,
        format!("{}: latency histogram", bench.id),
        format!(
            "Share of the latency histogram's values (%) in each bucket (ten per decade, {unit}, \
             logarithmic axis), one line per load level; {about} (a closed loop's corrected \
             histogram includes the values its coordinated-omission correction back-filled)."
        ),
    );
    spec.series = points
        .iter()
        .map(|(label, load)| {
            let total = load
                .stats
                .histogram
                .iter()
                .map(|b| b.count)
                .sum::<u64>()
                .max(1) as f64;
            Series {
                name: label.clone(),
                points: load
                    .stats
                    .histogram
                    .iter()
                    .map(|b| {
                        let low = if b.low_ns > 0.0 {
                            b.low_ns
                        } else {
                            b.high_ns / 10f64.powf(0.1)
                        };
                        (
                            (low * b.high_ns).sqrt() / divisor,
                            100.0 * b.count as f64 / total,
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let title = bench.id.clone();
    draw(spec, |root, series| {
        let xs = || series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
        let x_min = xs().filter(|x| *x > 0.0).fold(f64::INFINITY, f64::min);
        let x_max = max_of(xs(), 1.0);
        let x_min = if x_min.is_finite() {
            x_min
        } else {
            x_max / 10.0
        };
        let y_max = max_of(
            series.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
            1.0,
        );
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{title}: latency histogram"), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((x_min / 1.3..x_max * 1.3).log_scale(), 0.0..y_max * 1.1)?;
        chart
            .configure_mesh()
            .x_desc(format!("latency ({unit})"))
            .y_desc("% of requests")
            .x_label_formatter(&|x| short_number(*x))
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        for (index, line) in series.iter().enumerate() {
            let style = color(index);
            chart
                .draw_series(LineSeries::new(line.points.clone(), style.stroke_width(2)))?
                .label(line.name.as_str())
                .legend(line_key(style));
            chart.draw_series(
                line.points
                    .iter()
                    .map(|p| Circle::new(*p, 3, style.filled())),
            )?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}
