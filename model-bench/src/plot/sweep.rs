//! Batch sweep: items per second and the latency of one call against batch size, best batch marked.

use plotters::prelude::*;

use super::axes::{color, draw_legend, line_key, max_of, short_number, time_unit};
use super::canvas::{draw, Chart, Series, Spec};
use crate::error::Result;
use crate::results::Report;

pub(super) fn charts(report: &Report) -> Vec<Result<Chart>> {
    report
        .benches
        .iter()
        .filter_map(|bench| {
            let sweep = bench.sweep.as_ref().filter(|s| s.points.len() >= 2)?;
            let (divisor, unit) = time_unit(max_of(sweep.points.iter().map(|p| p.latency_ns), 1.0));
            let mut spec = Spec::new(
                "sweep",
                &bench.id,
                format!("{}: batch sweep", bench.id),
                format!(
                    "Items per second (left axis) and the median time of one call in {unit} (right \
                     axis) at each batch size{}.",
                    sweep
                        .best_batch
                        .map(|b| format!("; the best batch, {b}, is marked"))
                        .unwrap_or_default()
                ),
            );
            spec.series = vec![
                Series {
                    name: "items/s".into(),
                    points: sweep
                        .points
                        .iter()
                        .map(|p| (p.batch as f64, p.items_per_sec))
                        .collect(),
                },
                Series {
                    name: format!("latency ({unit})"),
                    points: sweep
                        .points
                        .iter()
                        .map(|p| (p.batch as f64, p.latency_ns / divisor))
                        .collect(),
                },
            ];
            let best = sweep.best_batch;
            Some(draw(spec, |root, series| {
                let (throughput, latency) = (&series[0], &series[1]);
                let x_max = max_of(throughput.points.iter().map(|p| p.0), 1.0);
                let y_max = max_of(throughput.points.iter().map(|p| p.1), 1.0) * 1.15;
                let latency_max = max_of(latency.points.iter().map(|p| p.1), 1.0) * 1.15;
                let x_range = (0.8..x_max * 1.25).log_scale().base(2.0);
                let mut chart = ChartBuilder::on(root)
                    .caption(&bench.id, ("sans-serif", 20))
                    .margin(12)
                    .x_label_area_size(45)
                    .y_label_area_size(70)
                    .right_y_label_area_size(70)
                    .build_cartesian_2d(x_range.clone(), 0.0..y_max)?
                    .set_secondary_coord(x_range, 0.0..latency_max);
                chart
                    .configure_mesh()
                    .x_desc("batch size")
                    .y_desc("items/s")
                    .x_label_formatter(&|x| short_number(*x))
                    .y_label_formatter(&|y| short_number(*y))
                    .draw()?;
                chart
                    .configure_secondary_axes()
                    .y_desc(latency.name.as_str())
                    .y_label_formatter(&|y| short_number(*y))
                    .draw()?;
                if let Some(best) = best {
                    let best = best as f64;
                    chart.draw_series(DashedLineSeries::new(
                        [(best, 0.0), (best, y_max)],
                        6,
                        4,
                        color(2).stroke_width(2),
                    ))?;
                    chart.draw_series(std::iter::once(Text::new(
                        format!("best batch {}", short_number(best)),
                        (best * 1.04, y_max * 0.5),
                        ("sans-serif", 14).into_font().color(&color(2)),
                    )))?;
                }
                let blue = color(0);
                chart
                    .draw_series(LineSeries::new(
                        throughput.points.clone(),
                        blue.stroke_width(2),
                    ))?
                    .label(throughput.name.as_str())
                    .legend(line_key(blue));
                chart.draw_series(
                    throughput
                        .points
                        .iter()
                        .map(|p| Circle::new(*p, 4, blue.filled())),
                )?;
                let orange = color(1);
                chart
                    .draw_secondary_series(LineSeries::new(
                        latency.points.clone(),
                        orange.stroke_width(2),
                    ))?
                    .label(latency.name.as_str())
                    .legend(line_key(orange));
                chart.draw_secondary_series(
                    latency
                        .points
                        .iter()
                        .map(|p| TriangleMarker::new(*p, 5, orange.filled())),
                )?;
                draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
                Ok(())
            }))
        })
        .collect()
}
