//! Charts over time and by level: a one-run scenario (ramp, spike, soak) and every steady load
//! point over time (responses per second and p50 / p99 per time-series step, a scenario's phase
//! boundaries drawn and named), and a stress run's levels (responses per second and p99 against
//! the offered rate, with the SLO the run broke).

use plotters::chart::DualCoordChartContext;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::axes::{color, draw_legend, line_key, max_of, short_number, time_unit};
use super::canvas::{draw, Chart, Series, Spec};
use crate::error::Result;
use crate::results::{BenchResult, Report, ScenarioResult, SeriesPoint};

pub(super) fn charts(report: &Report) -> Vec<Result<Chart>> {
    report
        .benches
        .iter()
        .filter_map(|bench| {
            let scenario = bench.scenario.as_ref()?;
            match scenario.kind.as_str() {
                "stress" => (scenario.phases.len() >= 2).then(|| levels(bench, scenario)),
                _ => {
                    let series = &scenario.load.as_ref()?.stats.time_series;
                    (series.len() >= 2).then(|| over_time(bench, scenario))
                }
            }
        })
        .collect()
}

fn over_time(bench: &BenchResult, scenario: &ScenarioResult) -> Result<Chart> {
    let steps = scenario
        .load
        .as_ref()
        .map(|l| l.stats.time_series.as_slice())
        .unwrap_or_default();
    let phases: Vec<(String, f64)> = scenario
        .phases
        .iter()
        .map(|p| (p.name.clone(), p.start_s))
        .collect();
    timeline(
        "scenario",
        &bench.id,
        &format!("{} ({})", bench.id, scenario.kind),
        steps,
        &phases,
    )
}

/// Every steady load point's time series: a point that drifts, stalls or stops shows it here.
pub(super) fn steady_charts(report: &Report) -> Vec<Result<Chart>> {
    report
        .benches
        .iter()
        .filter(|bench| bench.scenario.is_none())
        .flat_map(|bench| &bench.points)
        .filter_map(|point| {
            let steps = &point.load.as_ref()?.stats.time_series;
            (steps.len() >= 2).then(|| timeline("timeline", &point.id, &point.id, steps, &[]))
        })
        .collect()
}

/// Responses per second and the p50 / p99 of each time-series step, with the phases (if any)
/// marked where they begin.
fn timeline(
    kind: &str,
    id: &str,
    title: &str,
    steps: &[SeriesPoint],
    phases: &[(String, f64)],
) -> Result<Chart> {
    let (divisor, unit) = time_unit(max_of(steps.iter().filter_map(|s| s.p99_ns), 1.0));
    let step_s = steps.get(1).map_or(1.0, |s| s.start_s).max(1e-3);
    // Each step's figures are drawn at its middle.
    let at = |start_s: f64| start_s + step_s / 2.0;
    let marks = if phases.is_empty() {
        String::new()
    } else {
        format!(
            "; dashed lines mark where each phase ({}) begins",
            phases
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut spec = Spec::new(
        kind,
        id,
        format!("{title} over time"),
        format!(
            "Responses per second (left axis) and the p50 / p99 latency in {unit} of the requests \
             sent in each step (right axis), drawn at the middle of each step from the start of \
             the measurement window{marks}."
        ),
    );
    spec.series = vec![
        Series {
            name: "ok/s".into(),
            points: steps
                .iter()
                .map(|s| (at(s.start_s), s.throughput_rps))
                .collect(),
        },
        Series {
            name: format!("p50 ({unit})"),
            points: steps
                .iter()
                .filter_map(|s| Some((at(s.start_s), s.p50_ns? / divisor)))
                .collect(),
        },
        Series {
            name: format!("p99 ({unit})"),
            points: steps
                .iter()
                .filter_map(|s| Some((at(s.start_s), s.p99_ns? / divisor)))
                .collect(),
        },
    ];
    let phases = phases.to_vec();
    let x_max = steps.last().map_or(1.0, |s| s.start_s) + step_s;
    let title = title.to_string();
    draw(spec, |root, series| {
        let y_max = max_of(series[0].points.iter().map(|p| p.1), 1.0) * 1.2;
        let latency_max = max_of(
            series[1..]
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1)),
            1.0,
        ) * 1.2;
        let axes = Axes {
            title,
            x_desc: "time (s)",
            x_max,
            y_max,
            latency_desc: format!("latency ({unit})"),
            latency_max,
        };
        let mut chart = axes.build(root)?;
        let grey = RGBColor(120, 120, 120);
        for (name, start) in &phases {
            chart.draw_series(DashedLineSeries::new(
                [(*start, 0.0), (*start, y_max)],
                6,
                4,
                grey.stroke_width(1),
            ))?;
            chart.draw_series(std::iter::once(Text::new(
                name.clone(),
                (*start + step_s * 0.2, y_max * 0.97),
                ("sans-serif", 13).into_font().color(&grey),
            )))?;
        }
        let blue = color(0);
        chart
            .draw_series(LineSeries::new(
                series[0].points.clone(),
                blue.stroke_width(2),
            ))?
            .label(series[0].name.as_str())
            .legend(line_key(blue));
        for (offset, latency) in series[1..].iter().enumerate() {
            let style = color(offset + 1);
            chart
                .draw_secondary_series(LineSeries::new(
                    latency.points.clone(),
                    style.stroke_width(2),
                ))?
                .label(latency.name.as_str())
                .legend(line_key(style));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

fn levels(bench: &BenchResult, scenario: &ScenarioResult) -> Result<Chart> {
    let (divisor, unit) = time_unit(max_of(
        scenario
            .phases
            .iter()
            .filter_map(|p| p.p99_ns)
            .chain(scenario.slo_p99_ns),
        1.0,
    ));
    let slo = scenario.slo_p99_ns.map(|ns| ns / divisor);
    let broke = scenario.phases.iter().find(|p| p.broke.is_some());
    let mut spec = Spec::new(
        "scenario",
        &bench.id,
        format!("{}: stress", bench.id),
        format!(
            "Responses per second (left axis) and p99 latency in {unit} (right axis) at each \
             level of offered load; the dashed red line is the p99 SLO.{}",
            match (scenario.highest_held, broke) {
                (Some(held), Some(broke)) => format!(
                    " The highest level that held: {} req/s; {} req/s broke the limits ({}).",
                    short_number(held),
                    short_number(broke.rate),
                    broke.broke.as_deref().unwrap_or_default()
                ),
                _ => String::new(),
            }
        ),
    );
    spec.series = vec![
        Series {
            name: "ok/s".into(),
            points: scenario
                .phases
                .iter()
                .map(|p| (p.rate, p.throughput_rps))
                .collect(),
        },
        Series {
            name: format!("p99 ({unit})"),
            points: scenario
                .phases
                .iter()
                .filter_map(|p| Some((p.rate, p.p99_ns? / divisor)))
                .collect(),
        },
    ];
    let held = scenario.highest_held;
    let title = format!("{} (stress)", bench.id);
    draw(spec, |root, series| {
        let x_max = max_of(series[0].points.iter().map(|p| p.0), 1.0) * 1.1;
        let y_max = max_of(series[0].points.iter().map(|p| p.1).chain([x_max]), 1.0) * 1.1;
        let latency_max = max_of(series[1].points.iter().map(|p| p.1).chain(slo), 1.0) * 1.2;
        let axes = Axes {
            title,
            x_desc: "offered rate (requests/s)",
            x_max,
            y_max,
            latency_desc: format!("p99 ({unit})"),
            latency_max,
        };
        let mut chart = axes.build(root)?;
        let blue = color(0);
        chart
            .draw_series(LineSeries::new(
                series[0].points.clone(),
                blue.stroke_width(2),
            ))?
            .label("ok/s")
            .legend(line_key(blue));
        chart.draw_series(
            series[0]
                .points
                .iter()
                .map(|p| Circle::new(*p, 4, blue.filled())),
        )?;
        let orange = color(2);
        chart
            .draw_secondary_series(LineSeries::new(
                series[1].points.clone(),
                orange.stroke_width(2),
            ))?
            .label(series[1].name.as_str())
            .legend(line_key(orange));
        if let Some(slo) = slo {
            let red = color(3);
            chart
                .draw_secondary_series(DashedLineSeries::new(
                    [(0.0, slo), (x_max, slo)],
                    8,
                    5,
                    red.stroke_width(2),
                ))?
                .label("p99 SLO")
                .legend(line_key(red));
        }
        if let Some(held) = held {
            let grey = RGBColor(120, 120, 120);
            chart
                .draw_series(DashedLineSeries::new(
                    [(held, 0.0), (held, y_max)],
                    6,
                    4,
                    grey.stroke_width(1),
                ))?
                .label("highest level that held")
                .legend(line_key(grey));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

/// Both scenario charts: responses per second on the left axis, latency on the right, a linear
/// x axis from 0.
struct Axes {
    title: String,
    x_desc: &'static str,
    x_max: f64,
    y_max: f64,
    latency_desc: String,
    latency_max: f64,
}

type TwoAxes<'a, 'b> = DualCoordChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
>;

impl Axes {
    fn build<'a, 'b>(
        self,
        root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    ) -> Result<TwoAxes<'a, 'b>, Box<dyn std::error::Error>> {
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .right_y_label_area_size(70)
            .build_cartesian_2d(0.0..self.x_max, 0.0..self.y_max)?
            .set_secondary_coord(0.0..self.x_max, 0.0..self.latency_max);
        chart
            .configure_mesh()
            .x_desc(self.x_desc)
            .y_desc("ok/s")
            .x_label_formatter(&|x| short_number(*x))
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc(self.latency_desc)
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        Ok(chart)
    }
}
