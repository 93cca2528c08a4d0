//! One portable file for a named criterion baseline (every `<group>/<bench>/<name>/*.json` under
//! criterion's directory), so CI can keep main's baseline as an artifact and restore it on a
//! pull request; importing can rename it.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ToolError;

pub const FORMAT: &str = "model-bench-baseline";
pub const VERSION: u64 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct BaselineFile {
    format: String,
    version: u64,
    name: String,
    /// Path relative to criterion's directory, with the baseline's directory written as `{name}`
    /// → the file's JSON.
    files: BTreeMap<String, serde_json::Value>,
}

/// Packs baseline `name` from `criterion_dir` into `output`; how many benchmarks it held.
pub fn export(criterion_dir: &Path, name: &str, output: &Path) -> Result<usize, ToolError> {
    let mut files = BTreeMap::new();
    let mut benchmarks = 0;
    collect(
        criterion_dir,
        criterion_dir,
        name,
        &mut files,
        &mut benchmarks,
    )?;
    if benchmarks == 0 {
        return Err(ToolError::Read {
            path: criterion_dir.display().to_string(),
            message: format!("no baseline `{name}` in any benchmark directory"),
        });
    }
    let file = BaselineFile {
        format: FORMAT.into(),
        version: VERSION,
        name: name.into(),
        files,
    };
    let bytes = serde_json::to_vec_pretty(&file).map_err(|e| ToolError::Write {
        path: output.display().to_string(),
        message: e.to_string(),
    })?;
    crate::export::write_atomic(output, &bytes).map_err(|e| ToolError::Write {
        path: output.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(benchmarks)
}

fn collect(
    root: &Path,
    dir: &Path,
    name: &str,
    files: &mut BTreeMap<String, serde_json::Value>,
    benchmarks: &mut usize,
) -> Result<(), ToolError> {
    let read_error = |path: &Path, e: std::io::Error| ToolError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let entries = std::fs::read_dir(dir).map_err(|e| read_error(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| read_error(dir, e))?;
        let path = entry.path();
        // The entry's own type, not its target's: a symlink (perhaps a loop) is not followed.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if entry.file_name() == name && path.join("estimates.json").is_file() {
            *benchmarks += 1;
            let bench_dir = dir.strip_prefix(root).unwrap_or(dir);
            for file in std::fs::read_dir(&path).map_err(|e| read_error(&path, e))? {
                let file = file.map_err(|e| read_error(&path, e))?.path();
                if file.extension().is_some_and(|e| e == "json") {
                    let value = super::read_json(&file, "criterion baseline file")?;
                    let file_name = file.file_name().unwrap_or_default().to_string_lossy();
                    // `/` whatever the platform, so the file imports anywhere.
                    let bench_dir: Vec<String> = bench_dir
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    let key = format!("{}/{{name}}/{file_name}", bench_dir.join("/"));
                    files.insert(key, value);
                }
            }
        } else {
            collect(root, &path, name, files, benchmarks)?;
        }
    }
    Ok(())
}

/// Unpacks `input` into `criterion_dir`, as baseline `rename` or under its own name; returns the
/// name written and how many files.
pub fn import(
    input: &Path,
    criterion_dir: &Path,
    rename: Option<&str>,
) -> Result<(String, usize), ToolError> {
    let invalid = |message: String| super::invalid(input, "baseline file", message);
    let value = super::read_json(input, "baseline file")?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(invalid(format!("its `format` is not `{FORMAT}`")));
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    super::check_version(input, "baseline file", version, VERSION)?;
    let file: BaselineFile = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
    let name = rename.unwrap_or(&file.name).to_string();
    if !is_plain_name(&name) {
        return Err(invalid(format!("`{name}` is not a usable baseline name")));
    }
    // Every path is checked before anything is written, so a bad file writes nothing.
    let mut targets = Vec::new();
    for (key, content) in &file.files {
        let relative = entry_path(key, &name).ok_or_else(|| {
            invalid(format!(
                "entry `{key}` is not `<benchmark dirs>/{{name}}/<file>.json` inside criterion's directory"
            ))
        })?;
        let target = criterion_dir.join(relative);
        if target.is_dir() {
            return Err(invalid(format!(
                "entry `{key}` would replace the directory {}",
                target.display()
            )));
        }
        targets.push((target, content));
    }
    for (path, content) in &targets {
        let write_error = |message: String| ToolError::Write {
            path: path.display().to_string(),
            message,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_error(e.to_string()))?;
        }
        let bytes = serde_json::to_vec(content).map_err(|e| write_error(e.to_string()))?;
        crate::export::write_atomic(path, &bytes).map_err(|e| write_error(e.to_string()))?;
    }
    Ok((name, targets.len()))
}

/// `a/b/{name}/estimates.json` → `a/b/<name>/estimates.json`; `None` unless the key is exactly
/// benchmark directories, `{name}`, and a `.json` file, all plain components.
fn entry_path(key: &str, name: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = key.split('/').collect();
    let (file, rest) = parts.split_last()?;
    let (placeholder, dirs) = rest.split_last()?;
    let plain = |part: &str| {
        !part.is_empty()
            && !part.contains("{name}")
            && Path::new(part).components().count() == 1
            && Path::new(part)
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
    };
    if *placeholder != "{name}"
        || dirs.is_empty()
        || !file.ends_with(".json")
        || !plain(file)
        || !dirs.iter().all(|d| plain(d))
    {
        return None;
    }
    let mut path: PathBuf = dirs.iter().collect();
    path.push(name);
    path.push(file);
    Some(path)
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name != "."
        && name != ".."
        // criterion's own directories beside the baselines.
        && !matches!(name, "new" | "change" | "report")
}
