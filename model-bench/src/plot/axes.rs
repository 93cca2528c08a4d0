//! What every chart's axes and legend share: time units, tick labels, category axes, the colour
//! palette and the legend keys.

use plotters::prelude::*;

use super::canvas::DrawResult;

/// A legend key for a line series: a short stroke in its colour.
pub(super) fn line_key(style: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x, y), (x + 16, y)], style)
}

/// A legend key for a bar series: a small filled box in its colour.
pub(super) fn box_key(style: ShapeStyle) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], style)
}

/// Draws the series' legend at `position` on a white, framed box (every chart's legend).
pub(super) fn draw_legend<'a, DB, CT>(
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
pub(super) fn color(index: usize) -> RGBColor {
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
pub(super) fn time_unit(max_ns: f64) -> (f64, &'static str) {
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
pub(super) fn max_of(values: impl IntoIterator<Item = f64>, fallback: f64) -> f64 {
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
pub(super) fn short_number(value: f64) -> String {
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
pub(super) fn category_label(labels: &[String], x: f64) -> String {
    let index = x.round();
    if (x - index).abs() > 1e-6 || index < 0.0 {
        return String::new();
    }
    labels.get(index as usize).cloned().unwrap_or_default()
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
        assert_eq!(category_label(&["a".into(), "b".into()], 1.0), "b");
        assert_eq!(category_label(&["a".into(), "b".into()], 0.5), "");
    }
}
