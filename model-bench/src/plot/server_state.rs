//! An LLM server's state over one load point, beside the point's own timeline (the same time
//! axis, from the start of the measurement window): requests running and waiting at each scrape
//! of its metrics, and its KV-cache usage.

use plotters::prelude::*;

use super::axes::{color, draw_legend, line_key, max_of, short_number};
use super::canvas::{draw, Chart, Series, Spec};
use crate::error::Result;
use crate::results::{Report, StateSample};

pub(super) fn charts(report: &Report) -> Vec<Result<Chart>> {
    report
        .benches
        .iter()
        .flat_map(|bench| &bench.points)
        .filter_map(|point| {
            let state = point.load.as_ref()?.server_state.as_ref()?;
            (state.timeline.len() >= 2).then(|| chart(&point.id, &state.server, &state.timeline))
        })
        .collect()
}

fn chart(id: &str, server: &str, timeline: &[StateSample]) -> Result<Chart> {
    let mut spec = Spec::new(
        "server",
        id,
        format!("{id}: the server's state over time"),
        format!(
            "Requests running and waiting (left axis) and KV-cache usage in % (right axis) at each \
             scrape of the {server} server's metrics, from the start of the measurement window \
             (the point's timeline chart has the same time axis)."
        ),
    );
    let series = |name: &str, value: fn(&StateSample) -> Option<f64>| Series {
        name: name.into(),
        points: timeline
            .iter()
            .filter_map(|s| Some((s.t_s, value(s)?)))
            .collect(),
    };
    spec.series = vec![
        series("running", |s| s.running),
        series("waiting", |s| s.waiting),
        series("KV cache %", |s| s.kv_cache_usage.map(|kv| kv * 100.0)),
    ];
    let title = id.to_owned();
    draw(spec, |root, series| {
        let x_min = timeline
            .iter()
            .map(|s| s.t_s)
            .fold(f64::INFINITY, f64::min)
            .min(0.0);
        let x_max = max_of(timeline.iter().map(|s| s.t_s), 1.0);
        let y_max = max_of(
            series[..2]
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1)),
            1.0,
        ) * 1.2;
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{title}: server state"), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .right_y_label_area_size(60)
            .build_cartesian_2d(x_min..x_max, 0.0..y_max)?
            .set_secondary_coord(x_min..x_max, 0.0..105.0);
        chart
            .configure_mesh()
            .x_desc("seconds from the window's start")
            .y_desc("requests")
            .x_label_formatter(&|x| short_number(*x))
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc("KV cache (%)")
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        for (index, requests) in series[..2].iter().enumerate() {
            let style = color(index);
            chart
                .draw_series(LineSeries::new(
                    requests.points.clone(),
                    style.stroke_width(2),
                ))?
                .label(requests.name.as_str())
                .legend(line_key(style));
        }
        let style = color(2);
        chart
            .draw_secondary_series(LineSeries::new(
                series[2].points.clone(),
                style.stroke_width(2),
            ))?
            .label(series[2].name.as_str())
            .legend(line_key(style));
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}
