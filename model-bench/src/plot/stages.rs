//! Box plots of per-iteration times: a pipeline's stages side by side at its breakdown batch, and
//! the benches outside any pipeline at their smallest batch.

use plotters::prelude::*;

use super::axes::{category_label, color, max_of, short_number, time_unit};
use super::canvas::{draw, Chart, Series, Spec};
use crate::error::Result;
use crate::results::{BenchResult, PointResult, Report};

/// One box: whiskers at min and max, the box from p25 to p75, a line at the median.
struct BoxStats {
    label: String,
    min: f64,
    p25: f64,
    median: f64,
    p75: f64,
    max: f64,
}

fn box_of(label: String, point: &PointResult) -> Option<BoxStats> {
    let s = &point.sample;
    (s.samples > 0).then_some(())?;
    Some(BoxStats {
        label,
        min: s.min,
        p25: s.p25?,
        median: point.estimates.median.point,
        p75: s.p75?,
        max: s.max,
    })
}

pub(super) fn charts(report: &Report) -> Vec<Result<Chart>> {
    let local = |b: &&BenchResult| b.remote.is_none() && !b.points.is_empty();
    let mut charts = Vec::new();
    for pipeline in &report.pipelines {
        let boxes: Vec<BoxStats> = report
            .benches
            .iter()
            .filter(local)
            .filter(|b| b.pipeline.as_deref() == Some(pipeline.pipeline.as_str()))
            .filter(|b| b.stage != "load")
            .filter_map(|b| box_of(b.name.clone(), b.point(pipeline.batch)?))
            .collect();
        if !boxes.is_empty() {
            charts.push(chart(
                &pipeline.pipeline,
                format!("{}: stages at batch {}", pipeline.pipeline, pipeline.batch),
                boxes,
            ));
        }
    }
    let loose: Vec<BoxStats> = report
        .benches
        .iter()
        .filter(local)
        .filter(|b| b.pipeline.is_none())
        .filter_map(|b| {
            let point = b.points.iter().min_by_key(|p| p.batch)?;
            box_of(format!("{} @{}", b.id, point.batch), point)
        })
        .collect();
    if !loose.is_empty() {
        charts.push(chart("benches", "Benches outside a pipeline".into(), loose));
    }
    charts
}

fn chart(id: &str, title: String, boxes: Vec<BoxStats>) -> Result<Chart> {
    let (divisor, unit) = time_unit(max_of(boxes.iter().map(|b| b.median), 1.0));
    let scaled: Vec<[f64; 5]> = boxes
        .iter()
        .map(|b| [b.min, b.p25, b.median, b.p75, b.max].map(|v| v / divisor))
        .collect();
    let low = scaled
        .iter()
        .map(|b| b[0])
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let high = max_of(scaled.iter().map(|b| b[4]), 1.0);
    let log_y = low.is_finite() && high / low > 20.0;
    let mut spec = Spec::new(
        "stages",
        id,
        title.clone(),
        format!(
            "Per-iteration time in {unit}{} of each criterion sample: whiskers at min and max, the \
             box from p25 to p75, the line at the median.",
            if log_y { " (logarithmic axis)" } else { "" }
        ),
    );
    spec.series = ["min", "p25", "median", "p75", "max"]
        .iter()
        .enumerate()
        .map(|(k, name)| Series {
            name: name.to_string(),
            points: scaled
                .iter()
                .enumerate()
                .map(|(i, b)| (i as f64, b[k]))
                .collect(),
        })
        .collect();
    let labels: Vec<String> = boxes.into_iter().map(|b| b.label).collect();
    draw(spec, |root, _| {
        let n = labels.len();
        let x_range = -0.5..(n as f64 - 0.5);
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(&title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70);
        let formatter = |x: &f64| category_label(&labels, *x);
        macro_rules! paint {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels(n + 2)
                    .x_label_formatter(&formatter)
                    .y_label_formatter(&|y| short_number(*y))
                    .y_desc(format!("time per iteration ({unit})"))
                    .draw()?;
                for (i, b) in scaled.iter().enumerate() {
                    let x = i as f64;
                    let style = color(i);
                    let [min, p25, median, p75, max] = *b;
                    chart.draw_series([
                        PathElement::new([(x, min), (x, p25)], BLACK),
                        PathElement::new([(x, p75), (x, max)], BLACK),
                        PathElement::new([(x - 0.1, min), (x + 0.1, min)], BLACK),
                        PathElement::new([(x - 0.1, max), (x + 0.1, max)], BLACK),
                    ])?;
                    chart.draw_series([
                        Rectangle::new(
                            [(x - 0.25, p25), (x + 0.25, p75)],
                            style.mix(0.35).filled(),
                        ),
                        Rectangle::new([(x - 0.25, p25), (x + 0.25, p75)], style.stroke_width(2)),
                    ])?;
                    chart.draw_series([PathElement::new(
                        [(x - 0.25, median), (x + 0.25, median)],
                        BLACK.stroke_width(3),
                    )])?;
                }
            }};
        }
        if log_y {
            paint!(builder.build_cartesian_2d(x_range, (low / 1.5..high * 1.5).log_scale())?);
        } else {
            paint!(builder.build_cartesian_2d(x_range, 0.0..high * 1.1)?);
        }
        Ok(())
    })
}
