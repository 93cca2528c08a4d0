//! What ran: key-value facts that a bench's code and the runtime helpers record while the bench
//! runs (the backend and its version as loaded, the device, the model file), collected per bench
//! by the runner into `results.json`. A fact recorded again with the same value costs a lock and a
//! comparison, so a helper may record on every call (e.g. every model load of a load bench).
//!
//! The keys are dotted names: `backend`, `backend.version`, `backend.library`,
//! `execution_provider`, `model.path` (the runner adds `model.bytes` and `model.sha256` after the
//! bench, outside its measurement), and whatever user code adds with [`record`] or
//! [`Bencher::fact`](crate::Bencher::fact).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// The facts of the bench that is running.
static CURRENT: Recorder = Recorder::new();

/// Records `key = value` for the running bench, replacing an earlier value of `key`.
pub fn record(key: &str, value: &str) {
    CURRENT.record(key, value);
}

/// Records the model file a runtime helper loaded, under `model.path`; a second, different file in
/// the same bench goes under `model2.path`, and so on.
pub fn record_model(path: &Path) {
    CURRENT.record_model(path);
}

/// Forgets what was recorded (before a bench starts).
pub(crate) fn clear() {
    CURRENT.lock().clear();
}

/// What the bench that just ran recorded, with each model file's size and SHA-256 added.
pub(crate) fn take() -> BTreeMap<String, String> {
    CURRENT.take()
}

struct Recorder(Mutex<BTreeMap<String, String>>);

impl Recorder {
    const fn new() -> Recorder {
        Recorder(Mutex::new(BTreeMap::new()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, key: &str, value: &str) {
        let mut facts = self.lock();
        if facts.get(key).map(String::as_str) != Some(value) {
            facts.insert(key.to_string(), value.to_string());
        }
    }

    fn record_model(&self, path: &Path) {
        let path = path.to_string_lossy();
        let mut facts = self.lock();
        for n in 1.. {
            let key = model_key(n, "path");
            match facts.get(&key) {
                Some(known) if *known == *path => return,
                Some(_) => continue,
                None => {
                    facts.insert(key, path.into_owned());
                    return;
                }
            }
        }
    }

    fn take(&self) -> BTreeMap<String, String> {
        let mut facts = std::mem::take(&mut *self.lock());
        for n in 1.. {
            let Some(path) = facts.get(&model_key(n, "path")).cloned() else {
                break;
            };
            match file_digest(Path::new(&path)) {
                Ok((bytes, sha256)) => {
                    facts.insert(model_key(n, "bytes"), bytes.to_string());
                    facts.insert(model_key(n, "sha256"), sha256);
                }
                Err(error) => {
                    facts.insert(model_key(n, "sha256"), format!("unreadable: {error}"));
                }
            }
        }
        facts
    }
}

/// The key of the `n`th model file's `field` (`path`, `bytes`, `sha256`): `model.path`, then
/// `model2.path`, …
pub(crate) fn model_key(n: usize, field: &str) -> String {
    if n == 1 {
        format!("model.{field}")
    } else {
        format!("model{n}.{field}")
    }
}

/// A file's size and SHA-256 (lowercase hex), read once per path, size and modification time.
fn file_digest(path: &Path) -> std::io::Result<(u64, String)> {
    type Key = (PathBuf, u64, Option<SystemTime>);
    static DIGESTS: Mutex<Option<HashMap<Key, String>>> = Mutex::new(None);
    let meta = std::fs::metadata(path)?;
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok());
    if let Some(known) = DIGESTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .get(&key)
    {
        return Ok((meta.len(), known.clone()));
    }
    let digest = sha256_of(path)?;
    DIGESTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(key, digest.clone());
    Ok((meta.len(), digest))
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_recorded_once_per_value_and_models_get_their_size_and_digest() {
        // A recorder of its own: the process-wide one is shared by tests running in parallel.
        let recorder = Recorder::new();
        let (record, record_model, take) = (
            |k: &str, v: &str| recorder.record(k, v),
            |p: &Path| recorder.record_model(p),
            || recorder.take(),
        );
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.onnx");
        let second = dir.path().join("b.onnx");
        std::fs::write(&first, b"abc").unwrap();
        std::fs::write(&second, b"").unwrap();
        record("backend", "tract");
        record("backend", "ONNX Runtime");
        record_model(&first);
        record_model(&first);
        record_model(&second);
        let facts = take();
        assert_eq!(facts["backend"], "ONNX Runtime");
        assert_eq!(facts["model.path"], first.to_string_lossy());
        assert_eq!(facts["model.bytes"], "3");
        // FIPS 180-2's example for "abc", and the digest of nothing.
        assert_eq!(
            facts["model.sha256"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(facts["model2.path"], second.to_string_lossy());
        assert_eq!(
            facts["model2.sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(!facts.contains_key("model3.path"));
        assert!(take().is_empty(), "taken facts are gone");
    }
}
