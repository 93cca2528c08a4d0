//! `summary.md`: the summary tables as GitHub-flavoured Markdown (fit for `$GITHUB_STEP_SUMMARY`).

use super::file::Exporter;
use super::tables;
use crate::error::Result;
use crate::results::Report;

pub struct Markdown;

impl Exporter for Markdown {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let env = &report.environment;
        let mut out = String::from("## model-bench summary\n\n");
        out.push_str(&format!(
            "{} · {} · {} cores{} · {} · model-bench {}{}{} · finished {}\n\n",
            env.os.as_deref().unwrap_or("unknown OS"),
            env.cpu_model.as_deref().unwrap_or("unknown CPU"),
            env.logical_cores,
            env.gpu
                .as_ref()
                .filter(|g| !g.gpus.is_empty())
                .map(|g| format!(
                    " · {} (driver {})",
                    g.gpus
                        .iter()
                        .map(|d| d.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    g.driver_version.as_deref().unwrap_or("?")
                ))
                .unwrap_or_default(),
            env.rustc,
            report.model_bench_version,
            env.git
                .as_ref()
                .map(|g| format!(
                    " · commit {}{}",
                    &g.commit[..g.commit.len().min(12)],
                    if g.dirty { " (dirty)" } else { "" }
                ))
                .unwrap_or_default(),
            if report.run.quick {
                " · quick mode"
            } else {
                ""
            },
            super::format::rfc3339_utc(report.created_unix_s),
        ));
        if report.interrupted {
            out.push_str("**Interrupted**: the run was stopped; these are the benches measured before it.\n\n");
        }
        for table in tables::build(report) {
            out.push_str(&table.to_markdown());
        }
        Ok(out.into_bytes())
    }
}
