//! What a chart is and the canvas it is drawn on: the [`Chart`] and its [`Series`], the [`Spec`] a
//! chart module fills in, and [`draw`], which paints it on a white SVG and embeds the series.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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

/// What a chart module hands to [`draw`]: everything but the picture.
pub(super) struct Spec {
    pub(super) name: String,
    pub(super) title: String,
    pub(super) caption: String,
    pub(super) series: Vec<Series>,
}

impl Spec {
    pub(super) fn new(
        kind: &str,
        id: &str,
        title: impl Into<String>,
        caption: impl Into<String>,
    ) -> Self {
        Spec {
            name: format!("{kind}-{}", file_stem(id)),
            title: title.into(),
            caption: caption.into(),
            series: Vec::new(),
        }
    }
}

pub(super) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Draws `spec` with `paint` on a white SVG canvas and embeds the plotted series.
pub(super) fn draw(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_keep_letters_digits_and_dashes() {
        assert_eq!(file_stem("mobilenet/forward/4"), "mobilenet_forward_4");
    }
}
