//! `report/`: an `index.html` that ties the charts (SVG and PNG beside it) to the summary tables,
//! the environment and criterion's own HTML report.

use std::path::{Component, Path, PathBuf};

use super::file::write_atomic;
use super::{format::duration_ns, tables};
use crate::error::Error;
use crate::plot::{self, xml_escape, Chart};
use crate::results::{BaselineUse, Report};

/// What writing the report did.
#[derive(Debug, Default)]
pub struct Written {
    pub files: Vec<PathBuf>,
    pub errors: Vec<Error>,
    /// Things a reader should know (e.g. PNGs without text), also shown in the page.
    pub notes: Vec<String>,
}

/// Writes every chart as SVG and PNG into `dir` (none when `draw_charts` is false, as with
/// `--noplot`), then `dir/index.html`. `criterion_report` is criterion's `report/index.html`,
/// linked when it exists. A chart that fails is reported and left out; the rest is still written.
pub fn write_report(
    report: &Report,
    dir: &Path,
    criterion_report: Option<&Path>,
    draw_charts: bool,
) -> Written {
    let mut written = Written::default();
    if let Err(source) = std::fs::create_dir_all(dir) {
        written
            .errors
            .push(Error::io("create directory", dir, source));
        return written;
    }
    if !draw_charts {
        written
            .notes
            .push("charts were not drawn (--noplot); the tables are below".into());
    }
    #[cfg(feature = "png")]
    if draw_charts && plot::PngFonts::system().sans_serif.is_none() {
        written.notes.push(
            "no system font found: the PNG charts have no text (the SVGs do); install one (e.g. \
             fonts-dejavu-core) or set MODEL_BENCH_FONT to a .ttf file"
                .into(),
        );
    }
    let mut charts: Vec<(Chart, bool)> = Vec::new();
    let drawn = if draw_charts {
        plot::charts(report)
    } else {
        Vec::new()
    };
    for chart in drawn {
        let chart = match chart {
            Ok(chart) => chart,
            Err(error) => {
                written.errors.push(error);
                continue;
            }
        };
        let svg = dir.join(format!("{}.svg", chart.name));
        if let Err(error) = write_atomic(&svg, chart.svg.as_bytes()) {
            written.errors.push(error);
            continue;
        }
        written.files.push(svg);
        let has_png = write_png_copy(dir, &chart, &mut written);
        charts.push((chart, has_png));
    }
    let criterion_link = criterion_report
        .filter(|path| path.is_file())
        .map(|path| relative_link(dir, path));
    let index = dir.join("index.html");
    let page = render(report, &charts, criterion_link.as_deref(), &written.notes);
    match write_atomic(&index, page.as_bytes()) {
        Ok(()) => written.files.push(index),
        Err(error) => written.errors.push(error),
    }
    written
}

/// Writes `NAME.png` beside the chart's SVG (feature `png`); whether it was written.
#[cfg(feature = "png")]
fn write_png_copy(dir: &Path, chart: &Chart, written: &mut Written) -> bool {
    let png = plot::to_png(&chart.name, &chart.svg, plot::PngFonts::system()).and_then(|bytes| {
        let path = dir.join(format!("{}.png", chart.name));
        write_atomic(&path, &bytes).map(|()| path)
    });
    match png {
        Ok(path) => {
            written.files.push(path);
            true
        }
        Err(error) => {
            written.errors.push(error);
            false
        }
    }
}

/// Without feature `png` the charts are SVG only (resvg and its font stack are not built).
#[cfg(not(feature = "png"))]
fn write_png_copy(_dir: &Path, _chart: &Chart, _written: &mut Written) -> bool {
    false
}

/// The page itself.
pub fn render(
    report: &Report,
    charts: &[(Chart, bool)],
    criterion_link: Option<&str>,
    notes: &[String],
) -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>model-bench report</title>\n<style>\n",
    );
    page.push_str(STYLE);
    page.push_str("</style>\n</head>\n<body>\n<h1>model-bench report</h1>\n");
    page.push_str(&format!(
        "<p class=\"meta\">{}</p>\n",
        xml_escape(&run_line(report))
    ));
    if report.interrupted {
        page.push_str(
            "<p class=\"warn\">Interrupted: the run was stopped; these are the benches measured \
             before it.</p>\n",
        );
    }
    for note in notes {
        page.push_str(&format!("<p class=\"warn\">{}</p>\n", xml_escape(note)));
    }
    if let Some(verdicts) = verdict_line(report) {
        page.push_str(&verdicts);
    }
    page.push_str("<nav>");
    page.push_str("<a href=\"#charts\">Charts</a> · <a href=\"#tables\">Tables</a> · <a href=\"#environment\">Environment</a>");
    match criterion_link {
        Some(link) => page.push_str(&format!(
            " · <a href=\"{}\">criterion's report</a>",
            xml_escape(link)
        )),
        None => page.push_str(
            " · <span class=\"dim\">criterion's HTML report was not found (criterion writes it \
             when its <code>html_reports</code> feature is on)</span>",
        ),
    }
    page.push_str("</nav>\n");

    page.push_str("<h2 id=\"charts\">Charts</h2>\n");
    if charts.is_empty() {
        page.push_str("<p class=\"dim\">Nothing in these results is chartable.</p>\n");
    }
    for (chart, has_png) in charts {
        page.push_str(&format!(
            "<figure id=\"{name}\">\n<img src=\"{name}.svg\" alt=\"{title}\" width=\"{w}\" \
             height=\"{h}\">\n<figcaption><b>{title}</b>. {caption} <a href=\"{name}.svg\">SVG</a>{png}</figcaption>\n</figure>\n",
            name = xml_escape(&chart.name),
            title = xml_escape(&chart.title),
            caption = xml_escape(&chart.caption),
            w = plot::WIDTH,
            h = plot::HEIGHT,
            png = if *has_png {
                format!(" · <a href=\"{}.png\">PNG</a>", xml_escape(&chart.name))
            } else {
                String::new()
            },
        ));
    }

    page.push_str("<h2 id=\"tables\">Tables</h2>\n");
    for table in tables::build(report) {
        page.push_str(&table.to_html());
    }

    page.push_str("<h2 id=\"environment\">Environment</h2>\n<table>\n");
    for (key, value) in environment_rows(report) {
        page.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            xml_escape(&key),
            xml_escape(&value)
        ));
    }
    page.push_str("</table>\n</body>\n</html>\n");
    page
}

/// Against a baseline: how many points regressed, improved or stayed, the changed ones named.
fn verdict_line(report: &Report) -> Option<String> {
    use crate::results::Verdict;
    let verdicts: Vec<(&str, Verdict, f64)> = report
        .benches
        .iter()
        .flat_map(|b| &b.points)
        .filter_map(|p| {
            let change = p.change.as_ref()?;
            Some((p.id.as_str(), change.verdict?, change.mean.point))
        })
        .collect();
    if verdicts.is_empty() {
        return None;
    }
    let named = |wanted: Verdict| -> Vec<String> {
        verdicts
            .iter()
            .filter(|(_, v, _)| *v == wanted)
            .map(|(id, _, change)| format!("{id} ({:+.1} %)", change * 100.0))
            .collect()
    };
    let (regressed, improved) = (named(Verdict::Regressed), named(Verdict::Improved));
    let unchanged = verdicts.len() - regressed.len() - improved.len();
    let mut line = format!(
        "<p class=\"{}\">Against the baseline: <b>{} regressed</b>, {} improved, {} within noise \
         or unchanged.",
        if regressed.is_empty() { "meta" } else { "warn" },
        regressed.len(),
        improved.len(),
        unchanged
    );
    for (label, ids) in [("Regressed", regressed), ("Improved", improved)] {
        if !ids.is_empty() {
            line.push_str(&format!(" {label}: {}.", xml_escape(&ids.join(", "))));
        }
    }
    line.push_str("</p>\n");
    Some(line)
}

fn run_line(report: &Report) -> String {
    let mut parts = vec![format!("model-bench {}", report.model_bench_version)];
    if let Some(baseline) = &report.run.baseline {
        parts.push(match baseline {
            BaselineUse::Save(name) => format!("saved baseline `{name}`"),
            BaselineUse::Compare(name) | BaselineUse::CompareLenient(name) => {
                format!("compared with baseline `{name}`")
            }
        });
    }
    if let Some(filter) = &report.run.filter {
        parts.push(format!("filter `{filter}`"));
    }
    if report.run.quick {
        parts.push("quick mode".into());
    }
    parts.push(format!(
        "{} benches, {} failed",
        report.benches.len(),
        report.failed_benches().count()
    ));
    parts.push(format!(
        "finished {}",
        super::format::rfc3339_utc(report.created_unix_s)
    ));
    parts.join(" · ")
}

fn environment_rows(report: &Report) -> Vec<(String, String)> {
    let env = &report.environment;
    let or_unknown = |value: Option<String>| value.unwrap_or_else(|| "unknown".into());
    let mut rows = vec![
        ("OS".into(), or_unknown(env.os.clone())),
        ("kernel".into(), or_unknown(env.kernel.clone())),
        ("arch".into(), env.arch.clone()),
        ("CPU".into(), or_unknown(env.cpu_model.clone())),
        (
            "cores".into(),
            format!(
                "{} logical, {} physical",
                env.logical_cores,
                env.physical_cores
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into())
            ),
        ),
        (
            "memory".into(),
            env.memory_bytes
                .map(|b| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64))
                .unwrap_or_else(|| "unknown".into()),
        ),
        ("rustc".into(), env.rustc.clone()),
        ("model-bench".into(), env.model_bench_version.clone()),
        (
            "git".into(),
            env.git
                .as_ref()
                .map(|g| format!("{}{}", g.commit, if g.dirty { " (dirty)" } else { "" }))
                .unwrap_or_else(|| "not a git checkout".into()),
        ),
        (
            "GPU".into(),
            match (&env.gpu, &env.gpu_note) {
                (Some(gpu), _) if !gpu.gpus.is_empty() => format!(
                    "{} · driver {} · CUDA {}",
                    gpu.gpus
                        .iter()
                        .map(|g| format!("{}: {}", g.index, g.name))
                        .collect::<Vec<_>>()
                        .join(", "),
                    gpu.driver_version.as_deref().unwrap_or("?"),
                    gpu.cuda_driver_version.as_deref().unwrap_or("?")
                ),
                (_, Some(note)) => format!("none ({note})"),
                _ => "none".into(),
            },
        ),
        (
            "crates".into(),
            env.crates
                .iter()
                .map(|(name, version)| format!("{name} {version}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "machine at start".into(),
            env.machine
                .as_ref()
                .map(|m| super::tables::setup::machine_line(&m.start))
                .unwrap_or_else(|| "not read".into()),
        ),
        (
            "machine at end".into(),
            env.machine
                .as_ref()
                .and_then(|m| m.end.as_ref())
                .map(super::tables::setup::machine_line)
                .unwrap_or_else(|| "not read".into()),
        ),
        (
            "config file".into(),
            report
                .run
                .config_file
                .clone()
                .unwrap_or_else(|| "none".into()),
        ),
    ];
    if let Some(settings) = &report.run.settings {
        rows.push((
            "gate".into(),
            format!(
                "{} (significance {}, noise ±{:.1}%)",
                if settings.gate_enabled { "on" } else { "off" },
                settings.significance_level,
                settings.noise_threshold * 100.0
            ),
        ));
        if let Some(slo) = settings.slo_p99_ns {
            rows.push(("p99 SLO".into(), duration_ns(slo)));
        }
        if !settings.thresholds.is_empty() {
            rows.push(("thresholds".into(), settings.thresholds.join("; ")));
        }
    }
    rows
}

/// A relative URL from `dir` to `target` (both made absolute against the current directory).
fn relative_link(dir: &Path, target: &Path) -> String {
    let absolute = |path: &Path| {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let normal = |path: PathBuf| -> Vec<String> {
        let mut parts: Vec<String> = Vec::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::ParentDir => {
                    parts.pop();
                }
                _ => {}
            }
        }
        parts
    };
    let from = normal(absolute(dir));
    let to = normal(absolute(target));
    let shared = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut link: Vec<String> = vec!["..".to_string(); from.len() - shared];
    link.extend(to[shared..].iter().map(|segment| url_segment(segment)));
    link.join("/")
}

/// `segment` with the characters that would end or change a relative URL's path percent-encoded.
fn url_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.6em}
.meta,.dim{color:#666}.warn{background:#fff3cd;border:1px solid #e0c060;padding:.5em .8em}
nav{margin:1em 0}figure{margin:1.5em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.92em;margin-top:.3em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:.25em .6em}
th{background:#f5f5f5;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
ul.notes{color:#555;font-size:.9em}
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_relative_to_the_report_directory() {
        assert_eq!(
            relative_link(
                Path::new("/t/model-bench/pipeline/report"),
                Path::new("/t/criterion/report/index.html")
            ),
            "../../../criterion/report/index.html"
        );
        assert_eq!(
            relative_link(Path::new("/t/r"), Path::new("/t/my dir/#1/index.html")),
            "../my%20dir/%231/index.html"
        );
    }
}
