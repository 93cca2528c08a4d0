//! A worker's files carried in its log, for runs without a shared volume: with
//! `MODEL_BENCH_WORKER_STDOUT=1` a worker prints each file it leaves for the merge (every
//! point's record and interval log as the point ends, its `results.json` at the end of the run)
//! to stdout as marked lines, and `model-bench merge` given the saved output of `kubectl logs`
//! unpacks them back into one directory per worker.
//!
//! A line is `model-bench-file <index> <name> <part> <parts> <bytes> <fnv64> <base64>`: worker
//! index, the file's path inside the worker's output directory, part `part` of `parts` of its
//! base64, the file's length and FNV-1a hash. Each line stands alone, so the lines of several
//! pods may interleave (`kubectl logs -l job-name=… --prefix`) and anything before the marker on
//! a line (a pod prefix, a timestamp) is ignored; a file whose parts are not all there, or do not
//! add up to its length and hash (a log rotated or cut), is named and not written.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Component, Path, PathBuf};

use base64::Engine;
use thiserror::Error;

/// The environment variable that turns the printing on (`1`).
pub const STDOUT_VAR: &str = "MODEL_BENCH_WORKER_STDOUT";
/// What starts a file line.
pub const MARKER: &str = "model-bench-file";
/// Base64 characters per line: well under the 16 KiB at which container runtimes split lines.
const CHARS_PER_LINE: usize = 4096;

/// Log files that cannot be unpacked.
#[derive(Debug, Error)]
pub enum LogFilesError {
    /// A log cannot be read.
    #[error("{path}: cannot read: {message}")]
    Read {
        /// The log.
        path: String,
        /// What the system said.
        message: String,
    },
    /// An unpacked file cannot be written.
    #[error("{path}: cannot write: {message}")]
    Write {
        /// The file.
        path: String,
        /// What the system said.
        message: String,
    },
    /// No file lines at all.
    #[error("{logs}: no `{MARKER}` lines: were the workers run with {STDOUT_VAR}=1?")]
    Empty {
        /// The logs read.
        logs: String,
    },
}

/// Prints `bytes` as the file `name` (a relative path) of worker `index` to `out`.
pub fn write_file(
    out: &mut impl Write,
    index: usize,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<()> {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let hash = fnv64(bytes);
    let parts = text.len().div_ceil(CHARS_PER_LINE).max(1);
    for part in 0..parts {
        let chunk = text
            .get(part * CHARS_PER_LINE..((part + 1) * CHARS_PER_LINE).min(text.len()))
            .unwrap_or("");
        writeln!(
            out,
            "{MARKER} {index} {name} {} {parts} {} {hash:016x} {chunk}",
            part + 1,
            bytes.len()
        )?;
    }
    out.flush()
}

/// What [`unpack`] made of some logs.
#[derive(Debug, Default)]
pub struct Unpacked {
    /// One directory per worker index found: `<out>/<index>`.
    pub dirs: Vec<PathBuf>,
    /// Every file written.
    pub files: Vec<PathBuf>,
    /// Files that were not whole (their worker and name, and what was wrong): not written.
    pub damaged: Vec<String>,
}

/// One file's parts as read: `parts[i]` is part i + 1.
#[derive(Default)]
struct Pieces {
    declared: Option<Declared>,
    parts: BTreeMap<usize, String>,
    conflicting: bool,
}

/// Reads the file lines of every log in `logs` and writes each whole file into
/// `<out>/<worker index>/<name>`, `out` emptied first (what an earlier unpack left there must
/// not be merged as this run's).
pub fn unpack(logs: &[PathBuf], out: &Path) -> Result<Unpacked, LogFilesError> {
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| LogFilesError::Write {
            path: out.display().to_string(),
            message: format!("cannot empty it before unpacking: {e}"),
        })?;
    }
    let marker = format!("{MARKER} ");
    let mut files: BTreeMap<FileKey, Pieces> = BTreeMap::new();
    let mut damaged = Vec::new();
    for log in logs {
        let read_error = |e: std::io::Error| LogFilesError::Read {
            path: log.display().to_string(),
            message: e.to_string(),
        };
        let reader = std::io::BufReader::new(std::fs::File::open(log).map_err(read_error)?);
        for (number, line) in reader.split(b'\n').enumerate() {
            let line = line.map_err(read_error)?;
            let line = String::from_utf8_lossy(&line);
            // A log saved with CRLF line ends keeps a `\r`.
            let line = line.trim_end();
            let Some(at) = line.find(&marker) else {
                continue;
            };
            match parse_line(&line[at + marker.len()..]) {
                Some(line) => {
                    let pieces = files.entry(line.file).or_default();
                    if pieces.declared.is_some_and(|d| d != line.declared) {
                        pieces.conflicting = true;
                    }
                    pieces.declared.get_or_insert(line.declared);
                    pieces.parts.insert(line.part, line.chunk);
                }
                None => damaged.push(format!(
                    "{}:{}: a `{MARKER}` line that does not parse",
                    log.display(),
                    number + 1
                )),
            }
        }
    }
    if files.is_empty() {
        let names: Vec<String> = logs.iter().map(|l| l.display().to_string()).collect();
        return Err(LogFilesError::Empty {
            logs: names.join(", "),
        });
    }
    let mut unpacked = Unpacked {
        damaged,
        ..Unpacked::default()
    };
    let decoded: Vec<(FileKey, Result<Vec<u8>, String>)> = files
        .into_iter()
        .map(|(key, pieces)| (key, whole(&pieces)))
        .collect();
    // A point's record goes with its interval log: without the log the merge could not read
    // the point, so the record is left out too and the merge names the worker as missing.
    let damaged_logs: Vec<FileKey> = decoded
        .iter()
        .filter(|((_, name), bytes)| bytes.is_err() && name.ends_with(".hlog"))
        .map(|((index, name), _)| (*index, name.trim_end_matches(".hlog").to_owned()))
        .collect();
    for ((index, name), bytes) in decoded {
        let dir = out.join(index.to_string());
        let log_damaged = name
            .strip_suffix(".json")
            .is_some_and(|stem| damaged_logs.contains(&(index, stem.to_owned())));
        let bytes = match bytes {
            Ok(_) if log_damaged => {
                unpacked.damaged.push(format!(
                    "worker {index}, {name}: left out, as its interval log is damaged"
                ));
                continue;
            }
            Ok(bytes) => bytes,
            Err(message) => {
                unpacked
                    .damaged
                    .push(format!("worker {index}, {name}: {message} (not written)"));
                continue;
            }
        };
        let path = dir.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| LogFilesError::Write {
                path: parent.display().to_string(),
                message: e.to_string(),
            })?;
        }
        crate::export::write_atomic(&path, &bytes).map_err(|e| LogFilesError::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        unpacked.files.push(path);
        // Only a worker with a file written has a directory to merge: one whose every file was
        // left out is missing, as it would be on a volume.
        if !unpacked.dirs.contains(&dir) {
            unpacked.dirs.push(dir);
        }
    }
    Ok(unpacked)
}

/// One file line: which file of which worker, which part, and what the whole file is.
struct FileLine {
    file: FileKey,
    part: usize,
    declared: Declared,
    chunk: String,
}

/// A worker's index and a file's name in its output directory.
type FileKey = (usize, String);
/// What every line of a file says of the whole: parts, length, hash.
type Declared = (usize, usize, u64);

/// A line's text after the marker; `None` when it does not parse or names a path outside the
/// worker's directory.
fn parse_line(rest: &str) -> Option<FileLine> {
    let mut fields = rest.split_whitespace();
    let index = fields.next()?.parse().ok()?;
    let name = fields.next()?;
    let part = fields.next()?.parse().ok()?;
    let parts = fields.next()?.parse().ok()?;
    let bytes = fields.next()?.parse().ok()?;
    let hash = u64::from_str_radix(fields.next()?, 16).ok()?;
    let chunk = fields.next().unwrap_or("").to_owned();
    let inside = Path::new(name)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    (inside && part >= 1 && part <= parts && fields.next().is_none()).then(|| FileLine {
        file: (index, name.to_owned()),
        part,
        declared: (parts, bytes, hash),
        chunk,
    })
}

/// The file the pieces make, or what is wrong with them.
fn whole(pieces: &Pieces) -> Result<Vec<u8>, String> {
    let Some((parts, bytes, hash)) = pieces.declared else {
        return Err("no parts".to_owned());
    };
    if pieces.conflicting {
        return Err("printed twice with different contents".to_owned());
    }
    // Every part kept is within 1..=parts (checked as read), so what is short is missing.
    let missing = parts.saturating_sub(pieces.parts.len());
    if missing > 0 {
        return Err(format!(
            "{missing} of its {parts} lines are missing from the logs"
        ));
    }
    let text: String = pieces.parts.values().map(String::as_str).collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("its lines do not decode: {e}"))?;
    if decoded.len() != bytes || fnv64(&decoded) != hash {
        return Err("its lines do not add up to the file printed (length or hash)".to_owned());
    }
    Ok(decoded)
}

/// FNV-1a, 64 bits: enough to tell a cut or altered file from the one printed.
fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_prefixed_logs_unpack_into_each_workers_files() {
        let big: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut zero = Vec::new();
        let mut one = Vec::new();
        write_file(&mut zero, 0, "worker-0/p.hlog", &big).unwrap();
        write_file(&mut zero, 0, "results.json", b"{}").unwrap();
        write_file(&mut one, 1, "worker-1/p.hlog", b"one").unwrap();
        write_file(&mut one, 1, "worker-1/empty", b"").unwrap();
        // As `kubectl logs --prefix` gives them: other output between, lines of both pods
        // interleaved, each with its pod's prefix.
        let zero = String::from_utf8(zero).unwrap();
        let one = String::from_utf8(one).unwrap();
        let mut log = String::from("Benchmarking serving/x: Collecting 10 samples\n");
        let mut ones = one.lines();
        for line in zero.lines() {
            log.push_str(&format!("[pod/run-0-abc/bench] {line}\n"));
            if let Some(other) = ones.next() {
                log.push_str(&format!("[pod/run-1-def/bench] {other}\n"));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods.log");
        std::fs::write(&path, log).unwrap();
        let out = dir.path().join("out");
        let unpacked = unpack(&[path], &out).unwrap();
        assert!(unpacked.damaged.is_empty(), "{:?}", unpacked.damaged);
        assert_eq!(unpacked.dirs, [out.join("0"), out.join("1")]);
        assert_eq!(std::fs::read(out.join("0/worker-0/p.hlog")).unwrap(), big);
        assert_eq!(std::fs::read(out.join("0/results.json")).unwrap(), b"{}");
        assert_eq!(
            std::fs::read(out.join("1/worker-1/p.hlog")).unwrap(),
            b"one"
        );
        assert_eq!(std::fs::read(out.join("1/worker-1/empty")).unwrap(), b"");
    }

    #[test]
    fn a_cut_or_hostile_file_is_named_and_the_rest_kept() {
        let big: Vec<u8> = (0..10_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut out = Vec::new();
        write_file(&mut out, 0, "worker-0/p.hlog", &big).unwrap();
        write_file(&mut out, 0, "worker-0/p.json", b"{\"a\": 1}").unwrap();
        write_file(&mut out, 0, "worker-0/q.json", b"{\"b\": 2}").unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        // A rotated log lost the hlog's second line.
        lines.remove(1);
        let mut log = lines.join("\n");
        log.push_str("\nmodel-bench-file 0 ../../etc/passwd 1 1 1 0 eA==\n");
        log.push_str("model-bench-file 0 worker-0/x 1 1 nonsense\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods.log");
        std::fs::write(&path, log).unwrap();
        // Left over from an earlier unpack into the same place: removed, not merged.
        std::fs::create_dir_all(dir.path().join("out/0/worker-0")).unwrap();
        std::fs::write(dir.path().join("out/0/worker-0/p.json"), "stale").unwrap();
        let unpacked = unpack(&[path], &dir.path().join("out")).unwrap();
        assert_eq!(unpacked.files, [dir.path().join("out/0/worker-0/q.json")]);
        assert!(!dir.path().join("out/0/worker-0/p.json").exists());
        let damaged = unpacked.damaged.join("\n");
        assert!(
            damaged.contains("worker 0, worker-0/p.hlog: 1 of its"),
            "{damaged}"
        );
        assert!(
            damaged.contains("worker 0, worker-0/p.json: left out, as its interval log is damaged"),
            "{damaged}"
        );
        assert_eq!(unpacked.damaged.len(), 4, "{damaged}");
        assert!(!dir.path().join("etc").exists());

        // A worker whose every file was left out has no directory to merge.
        let mut only = Vec::new();
        write_file(&mut only, 3, "worker-3/p.hlog", &big).unwrap();
        let text = String::from_utf8(only).unwrap();
        let cut: Vec<&str> = text.lines().skip(1).collect();
        let path = dir.path().join("cut.log");
        std::fs::write(&path, cut.join("\r\n")).unwrap();
        let unpacked = unpack(&[path], &dir.path().join("out3")).unwrap();
        assert!(unpacked.dirs.is_empty() && unpacked.files.is_empty());
        assert_eq!(unpacked.damaged.len(), 1, "{:?}", unpacked.damaged);

        let empty = dir.path().join("empty.log");
        std::fs::write(&empty, "no files here\n").unwrap();
        let error = unpack(&[empty], &dir.path().join("out2")).unwrap_err();
        assert!(error.to_string().contains(STDOUT_VAR), "{error}");
    }
}
