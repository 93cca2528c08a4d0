//! What a comparison needs to know about each side: the setup a bench was measured on (the facts
//! that identify what ran, the CPU, whether the machine was busy) and how two setups differ.
//! criterion's change figures cannot say that a "−96 %" came from switching tract for ONNX
//! Runtime; the runner, the gate and `model-bench compare` say it from these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{BenchResult, Environment};

/// The file kept beside criterion's in a saved baseline's directory
/// (`<criterion>/<group>/<bench>[/<point>]/<baseline>/`); criterion copies only its own files
/// there and never removes others.
pub const SETUP_FILE: &str = "model-bench-setup.json";

/// One side of a comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// The bench's facts, less those that name a place rather than a thing (see [`is_identity`]).
    pub facts: BTreeMap<String, String>,
    /// The CPU model of the run's machine; `None` when unknown (then never counted as a
    /// difference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// The logical CPU count of the run's machine; `None` when unknown (then never counted as a
    /// difference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_cores: Option<usize>,
    /// Why the machine counted as busy when the run started; `None` when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy: Option<String>,
}

/// Whether a difference means another runtime or model, or only another machine or load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A fact differs: backend, its version, execution provider, model digest, server, or a
    /// fact the bench recorded itself (but `threads`). The gate's `same_setup` setting refuses
    /// these.
    Runtime,
    /// The CPU, its core count, the thread count (which follows it), or the machine's load
    /// differ: the numbers are noisier to compare, not about another thing.
    Machine,
}

/// One way the baseline's setup differs from this run's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupChange {
    /// The fact's key, or `cpu_model`, `logical_cores`, `machine_load`.
    pub key: String,
    /// In the baseline (`None`: it had no such fact).
    pub before: Option<String>,
    /// In this run.
    pub after: Option<String>,
    /// Whether the difference is another runtime or model, or only another machine or load.
    pub kind: ChangeKind,
}

impl SetupChange {
    /// `backend: tract → onnxruntime`.
    pub fn describe(&self) -> String {
        format!(
            "{}: {} → {}",
            self.key,
            shown(&self.before),
            shown(&self.after)
        )
    }

    /// A table row: the bench, what differs, the baseline's value and this run's.
    pub fn row(&self, bench: &str) -> Vec<String> {
        vec![
            bench.to_string(),
            self.key.clone(),
            shown(&self.before),
            shown(&self.after),
        ]
    }
}

/// A value as shown: `(none)` where one side has no such fact.
fn shown(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "(none)".into())
}

/// Facts that follow the machine rather than choose what runs: libtorch's and ONNX Runtime's
/// default thread counts are one per physical core. Their differences are `Machine` changes.
const MACHINE_FACTS: &[&str] = &["threads"];

/// Whether a fact identifies what ran (compared), or only where it was found (`model.path`,
/// `backend.library`: a moved file is the same model, its digest says so) or a figure its
/// digest already covers (`model.bytes`).
pub fn is_identity(key: &str) -> bool {
    !(key.ends_with(".path") || key.ends_with(".bytes") || key.ends_with(".library"))
}

impl Setup {
    /// The setup `bench` was measured on, in the run `environment` describes.
    pub fn of(bench: &BenchResult, environment: &Environment) -> Setup {
        Setup {
            facts: bench
                .facts
                .iter()
                .filter(|(key, _)| is_identity(key))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            cpu_model: environment.cpu_model.clone(),
            logical_cores: Some(environment.logical_cores),
            busy: environment
                .machine
                .as_ref()
                .and_then(|m| m.start.busy.clone()),
        }
    }

    /// Every difference from `before` (the baseline) to `self` (this run), facts first.
    pub fn changes_since(&self, before: &Setup) -> Vec<SetupChange> {
        let mut changes = Vec::new();
        let keys: std::collections::BTreeSet<&String> =
            before.facts.keys().chain(self.facts.keys()).collect();
        for key in keys {
            let (was, is) = (before.facts.get(key), self.facts.get(key));
            if was != is {
                changes.push(SetupChange {
                    key: key.clone(),
                    before: was.cloned(),
                    after: is.cloned(),
                    kind: if MACHINE_FACTS.contains(&key.as_str()) {
                        ChangeKind::Machine
                    } else {
                        ChangeKind::Runtime
                    },
                });
            }
        }
        let mut machine = |key: &str, was: Option<String>, is: Option<String>| {
            // Unknown on either side is not a difference anyone can act on.
            if was.is_some() && is.is_some() && was != is {
                changes.push(SetupChange {
                    key: key.into(),
                    before: was,
                    after: is,
                    kind: ChangeKind::Machine,
                });
            }
        };
        machine(
            "cpu_model",
            before.cpu_model.clone(),
            self.cpu_model.clone(),
        );
        machine(
            "logical_cores",
            before.logical_cores.map(|n| n.to_string()),
            self.logical_cores.map(|n| n.to_string()),
        );
        if before.busy.is_some() != self.busy.is_some() {
            let load = |busy: &Option<String>| {
                Some(match busy {
                    Some(why) => format!("busy ({why})"),
                    None => "quiet".into(),
                })
            };
            changes.push(SetupChange {
                key: "machine_load".into(),
                before: load(&before.busy),
                after: load(&self.busy),
                kind: ChangeKind::Machine,
            });
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(facts: &[(&str, &str)], busy: Option<&str>) -> Setup {
        Setup {
            facts: facts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cpu_model: Some("AMD EPYC".into()),
            logical_cores: Some(2),
            busy: busy.map(str::to_string),
        }
    }

    #[test]
    fn the_same_setup_has_no_change_and_each_difference_is_named() {
        let tract = setup(&[("backend", "tract"), ("model.sha256", "ab")], None);
        assert!(tract.changes_since(&tract.clone()).is_empty());

        let ort = setup(
            &[("backend", "onnxruntime"), ("execution_provider", "CPU")],
            Some("other processes used 1.9 of 2 cores"),
        );
        let changes = ort.changes_since(&tract);
        let described: Vec<String> = changes.iter().map(SetupChange::describe).collect();
        assert_eq!(
            described,
            [
                "backend: tract → onnxruntime",
                "execution_provider: (none) → CPU",
                "model.sha256: ab → (none)",
                "machine_load: quiet → busy (other processes used 1.9 of 2 cores)",
            ]
        );
        assert_eq!(changes[0].kind, ChangeKind::Runtime);
        assert_eq!(changes[3].kind, ChangeKind::Machine);
    }

    #[test]
    fn places_are_not_identity_and_an_unknown_cpu_is_no_difference() {
        assert!(!is_identity("model.path"));
        assert!(!is_identity("model2.bytes"));
        assert!(!is_identity("backend.library"));
        assert!(is_identity("model.sha256"));
        assert!(is_identity("backend.version"));
        let known = setup(&[], None);
        let unknown = Setup {
            cpu_model: None,
            ..known.clone()
        };
        assert!(known.changes_since(&unknown).is_empty());
        let other_cpu = Setup {
            cpu_model: Some("Intel Xeon".into()),
            ..known.clone()
        };
        let changes = other_cpu.changes_since(&known);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, ChangeKind::Machine);
        assert_eq!(changes[0].describe(), "cpu_model: AMD EPYC → Intel Xeon");
        let threads =
            setup(&[("threads", "8")], None).changes_since(&setup(&[("threads", "2")], None));
        assert_eq!(threads[0].kind, ChangeKind::Machine);
    }
}
