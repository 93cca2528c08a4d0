//! Pipeline breakdown: the stages' medians stacked into one bar, next to the measured end-to-end.

use plotters::prelude::*;

use super::axes::{box_key, category_label, color, draw_legend, short_number, time_unit};
use super::canvas::{draw, Chart, Series, Spec};
use crate::error::Result;
use crate::results::Report;

pub(super) fn charts(report: &Report) -> Vec<Result<Chart>> {
    report
        .pipelines
        .iter()
        .filter(|p| !p.stages.is_empty())
        .map(|pipeline| {
            let total_ns = pipeline.sum_ns.max(pipeline.end_to_end_ns.unwrap_or(0.0));
            let (divisor, unit) = time_unit(total_ns.max(1.0));
            let mut spec = Spec::new(
                "breakdown",
                &pipeline.pipeline,
                format!(
                    "{}: where the time goes (batch {})",
                    pipeline.pipeline, pipeline.batch
                ),
                format!(
                    "Median time of each stage in {unit}, stacked in pipeline order{}.",
                    if pipeline.end_to_end_ns.is_some() {
                        ", beside the measured end-to-end median"
                    } else {
                        ""
                    }
                ),
            );
            // Each stage is a series of one point: (its start, its end) on the time axis.
            let mut start = 0.0;
            for stage in &pipeline.stages {
                let end = start + stage.median_ns / divisor;
                spec.series.push(Series {
                    name: format!("{} ({:.1}%)", stage.bench, stage.share_pct),
                    points: vec![(start, end)],
                });
                start = end;
            }
            if let Some(e2e) = pipeline.end_to_end_ns {
                spec.series.push(Series {
                    name: "end-to-end".into(),
                    points: vec![(0.0, e2e / divisor)],
                });
            }
            let rows: Vec<String> = if pipeline.end_to_end_ns.is_some() {
                vec!["stages".into(), "end-to-end".into()]
            } else {
                vec!["stages".into()]
            };
            let title = spec.title.clone();
            draw(spec, |root, series| {
                let x_max = series
                    .iter()
                    .flat_map(|s| s.points.iter().map(|p| p.1))
                    .fold(0.0, f64::max)
                    .max(1e-9);
                let n = rows.len();
                let mut chart = ChartBuilder::on(root)
                    .caption(&title, ("sans-serif", 20))
                    .margin(12)
                    .x_label_area_size(45)
                    .y_label_area_size(90)
                    .build_cartesian_2d(0.0..x_max * 1.05, -0.5..(n as f64 - 0.5))?;
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .y_labels(n + 2)
                    .y_label_formatter(&|y| category_label(&rows, *y))
                    .x_label_formatter(&|x| short_number(*x))
                    .x_desc(format!("time ({unit})"))
                    .draw()?;
                for (index, stage) in series.iter().enumerate() {
                    let (from, to) = stage.points[0];
                    let row = if stage.name == "end-to-end" { 1.0 } else { 0.0 };
                    let style = if row > 0.0 { color(7) } else { color(index) };
                    chart
                        .draw_series([Rectangle::new(
                            [(from, row - 0.3), (to, row + 0.3)],
                            style.filled(),
                        )])?
                        .label(stage.name.as_str())
                        .legend(box_key(style.filled()));
                }
                draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
                Ok(())
            })
        })
        .collect()
}
