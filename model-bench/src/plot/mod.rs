//! Charts of a report, one module per kind: batch sweeps, load curves, latency spectra and
//! histograms, stage box plots, pipeline breakdowns, REST vs gRPC, cold vs warm, scenarios and
//! every load point over time. Each
//! is drawn with plotters as SVG and rasterised to PNG from that same SVG.

mod breakdown;
mod cold;
mod latency;
mod load;
mod png;
mod protocols;
mod scenario;
mod stages;
mod sweep;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::results::Report;

pub use png::{to_png, PngFonts};

/// Pixel size of every chart.
pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 500;

/// One drawn chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File stem: the chart kind and the bench it shows, e.g. `sweep-mobilenet_forward`.
    pub name: String,
    pub title: String,
    /// One line under the chart saying how to read it.
    pub caption: String,
    /// The data drawn, in the units of the axes (also embedded in the SVG's `<metadata>`).
    pub series: Vec<Series>,
    pub svg: String,
}

/// A named series of `(x, y)` points as plotted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Every chart the report's results allow, in reading order. A chart that cannot be drawn is an
/// error of its own; the others are still returned.
pub fn charts(report: &Report) -> Vec<Result<Chart>> {
    let mut charts: Vec<Result<Chart>> = [
        sweep::charts(report),
        load::charts(report),
        latency::charts(report),
        protocols::charts(report),
        stages::charts(report),
        breakdown::charts(report),
        cold::charts(report),
        scenario::charts(report),
        scenario::steady_charts(report),
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

/// What a chart module hands to [`draw`]: everything but the picture.
struct Spec {
    name: String,
    title: String,
    caption: String,
    series: Vec<Series>,
}

impl Spec {
    fn new(kind: &str, id: &str, title: impl Into<String>, caption: impl Into<String>) -> Self {
        Spec {
            name: format!("{kind}-{}", file_stem(id)),
            title: title.into(),
            caption: caption.into(),
            series: Vec::new(),
        }
    }
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Draws `spec` with `paint` on a white SVG canvas and embeds the plotted series.
fn draw(
    spec: Spec,
    paint: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>, &[Series]) -> DrawResult,
) -> Result<Chart> {
    let mut svg = String::new();
    let painted = {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| paint(&root, &spec.series).map_err(|e| e.to_string()))
            .and_then(|()| root.present().map_err(|e| e.to_string()))
    };
    painted.map_err(|message| Error::Plot {
        chart: spec.name.clone(),
        message,
    })?;
    let metadata = serde_json::to_string(&spec.series).map_err(|e| Error::Plot {
        chart: spec.name.clone(),
        message: e.to_string(),
    })?;
    let svg = match svg.rfind("</svg>") {
        Some(end) => format!(
            "{}<metadata id=\"model-bench-series\">{}</metadata>\n{}",
            &svg[..end],
            xml_escape(&metadata),
            &svg[end..]
        ),
        None => svg,
    };
    Ok(Chart {
        name: spec.name,
        title: spec.title,
        caption: spec.caption,
        series: spec.series,
        svg,
    })
}

/// A file name fragment from a bench id: `mobilenet/forward` → `mobilenet_forward`.
pub fn file_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub(crate) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A legend key for a line series: a short stroke in its colour.
fn line_key(style: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x, y), (x + 16, y)], style)
}

/// A legend key for a bar series: a small filled box in its colour.
fn box_key(style: ShapeStyle) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], style)
}

/// Draws the series' legend at `position` on a white, framed box (every chart's legend).
fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Distinct colours, cycled.
fn color(index: usize) -> RGBColor {
    const PALETTE: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    PALETTE[index % PALETTE.len()]
}

/// A time unit fit for values up to `max_ns`: the divisor from nanoseconds and its name.
fn time_unit(max_ns: f64) -> (f64, &'static str) {
    if max_ns >= 1e9 {
        (1e9, "s")
    } else if max_ns >= 1e6 {
        (1e6, "ms")
    } else if max_ns >= 1e3 {
        (1e3, "µs")
    } else {
        (1.0, "ns")
    }
}

/// The largest finite value, or `fallback` when there is none above zero.
fn max_of(values: impl IntoIterator<Item = f64>, fallback: f64) -> f64 {
    let max = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    if max > 0.0 {
        max
    } else {
        fallback
    }
}

/// A compact tick label: `1500` → `1.5k`.
fn short_number(value: f64) -> String {
    let abs = value.abs();
    let (scaled, suffix) = if abs >= 1e9 {
        (value / 1e9, "G")
    } else if abs >= 1e6 {
        (value / 1e6, "M")
    } else if abs >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled.abs() >= 100.0 || scaled.fract() == 0.0 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 10.0 {
        format!("{scaled:.1}")
    } else if scaled.abs() >= 1.0 {
        format!("{scaled:.2}")
    } else {
        // Two significant digits below 1: 0.25, 0.0021.
        let decimals = (1.0 - scaled.abs().log10().floor()).clamp(2.0, 12.0) as usize;
        format!("{scaled:.decimals$}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{suffix}")
}

/// Category labels on an axis running from -0.5 to n-0.5: the label of the category at an
/// integer tick, nothing between.
fn category_label(labels: &[String], x: f64) -> String {
    let index = x.round();
    if (x - index).abs() > 1e-6 || index < 0.0 {
        return String::new();
    }
    labels.get(index as usize).cloned().unwrap_or_default()
}

/// Whether bars of `values` go on a log axis: only where they span more than a factor of 20, as
/// a log axis hides small differences.
fn bars_use_log(values: &[Vec<Option<f64>>]) -> bool {
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
fn grouped_bars<DB: DrawingBackend>(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_units_read_well() {
        assert_eq!(short_number(1500.0), "1.5k");
        assert_eq!(short_number(250.0), "250");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(0.002), "0.002");
        assert_eq!(short_number(0.00021), "0.00021");
        assert_eq!(short_number(2_000_000.0), "2M");
        assert_eq!(time_unit(2.5e6), (1e6, "ms"));
        assert_eq!(time_unit(900.0), (1.0, "ns"));
        assert_eq!(file_stem("mobilenet/forward/4"), "mobilenet_forward_4");
        assert_eq!(category_label(&["a".into(), "b".into()], 1.0), "b");
        assert_eq!(category_label(&["a".into(), "b".into()], 0.5), "");
    }
}
