//! Grouped vertical bars, one colour per series in each category, on a linear or log axis: the
//! drawing the cold-vs-warm and REST-vs-gRPC charts share.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axes::{box_key, category_label, color, draw_legend, max_of, short_number};
use super::canvas::DrawResult;

/// Whether bars of `values` go on a log axis: only where they span more than a factor of 20, as
/// a log axis hides small differences.
pub(super) fn bars_use_log(values: &[Vec<Option<f64>>]) -> bool {
    let finite = || {
        values
            .iter()
            .flatten()
            .flatten()
            .copied()
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    let min = finite().fold(f64::INFINITY, f64::min);
    let max = finite().fold(0.0, f64::max);
    min.is_finite() && max / min > 20.0
}

/// Draws vertical bars: `groups[i][j]` is series `j`'s value in category `i` (`None`: no bar).
pub(super) fn grouped_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    categories: &[String],
    series_names: &[String],
    values: &[Vec<Option<f64>>],
    y_desc: &str,
    log_y: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let max = max_of(values.iter().flatten().flatten().copied(), 1.0);
    let min_positive = values
        .iter()
        .flatten()
        .flatten()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let n = categories.len().max(1);
    let x_range = -0.5..(n as f64 - 0.5);
    let width = 0.8 / series_names.len().max(1) as f64;
    let bar_left = |category: usize, member: usize| category as f64 - 0.4 + member as f64 * width;
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70);
    let categories_owned = categories.to_vec();
    let x_formatter = move |x: &f64| category_label(&categories_owned, *x);
    macro_rules! finish {
        ($chart:expr, $floor:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n + 2)
                .x_label_formatter(&x_formatter)
                .y_label_formatter(&|y| short_number(*y))
                .y_desc(y_desc)
                .draw()?;
            for (member, name) in series_names.iter().enumerate() {
                let style = color(member).filled();
                let bars: Vec<Rectangle<(f64, f64)>> = values
                    .iter()
                    .enumerate()
                    .filter_map(|(category, row)| {
                        let value = (*row.get(member)?)?;
                        let left = bar_left(category, member);
                        Some(Rectangle::new(
                            [(left, $floor), (left + width * 0.92, value.max($floor))],
                            style,
                        ))
                    })
                    .collect();
                chart
                    .draw_series(bars)?
                    .label(name.as_str())
                    .legend(box_key(style));
            }
            if series_names.len() > 1 {
                draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }
        }};
    }
    if log_y && bars_use_log(values) {
        let floor = min_positive / 2.0;
        finish!(
            builder.build_cartesian_2d(x_range, (floor..max * 2.0).log_scale())?,
            floor
        );
    } else {
        finish!(builder.build_cartesian_2d(x_range, 0.0..max * 1.15)?, 0.0);
    }
    Ok(())
}
