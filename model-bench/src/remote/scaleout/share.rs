//! Which worker of a scale-out run this process is: its [`WorkerShare`] read from the
//! environment a Kubernetes Indexed Job gives its pods (or the same variables set by hand), with
//! typed errors before any load. What a share sends is `remote::load::share`'s.

use thiserror::Error;

use crate::remote::load::WorkerShare;

/// The worker index Kubernetes sets in each pod of an Indexed Job.
pub const KUBERNETES_INDEX_VAR: &str = "JOB_COMPLETION_INDEX";
/// The worker index outside Kubernetes (wins over [`KUBERNETES_INDEX_VAR`] when both are set
/// and agree).
pub const INDEX_VAR: &str = "MODEL_BENCH_WORKER_INDEX";
/// How many workers share the run.
pub const WORKERS_VAR: &str = "MODEL_BENCH_WORKERS";

/// Worker settings that do not describe one worker of a run: refused before any load.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ShareError {
    /// A variable that must be a whole number is not.
    #[error("{var}=`{value}` is not a whole number")]
    NotANumber {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// An index without a worker count.
    #[error("{index_var}={index} is set but {WORKERS_VAR} is not: set {WORKERS_VAR} to the number of workers (the Job's completions)")]
    NoCount {
        /// The variable the index came from.
        index_var: &'static str,
        /// The index.
        index: usize,
    },
    /// A worker count without an index.
    #[error("{WORKERS_VAR}={count} is set but neither {INDEX_VAR} nor {KUBERNETES_INDEX_VAR} is: each worker needs its index")]
    NoIndex {
        /// The worker count.
        count: usize,
    },
    /// Zero workers.
    #[error("{WORKERS_VAR}=0: a run needs at least one worker")]
    NoWorkers,
    /// An index past the last worker.
    #[error("worker index {index} is not below {WORKERS_VAR}={count}")]
    IndexTooLarge {
        /// The index.
        index: usize,
        /// The worker count.
        count: usize,
    },
    /// Two indexes that disagree.
    #[error("{INDEX_VAR}={ours} and {KUBERNETES_INDEX_VAR}={kubernetes} disagree")]
    Disagree {
        /// `MODEL_BENCH_WORKER_INDEX`.
        ours: usize,
        /// `JOB_COMPLETION_INDEX`.
        kubernetes: usize,
    },
}

impl WorkerShare {
    /// This process's share from `env` (a lookup such as `std::env::var`): `None` when no
    /// worker variable is set (a one-machine run), an error when they are set but do not
    /// describe one worker.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<WorkerShare>, ShareError> {
        let number = |var: &'static str| -> Result<Option<usize>, ShareError> {
            env(var)
                .map(|value| {
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| ShareError::NotANumber {
                            var,
                            value: value.clone(),
                        })
                })
                .transpose()
        };
        let ours = number(INDEX_VAR)?;
        let kubernetes = number(KUBERNETES_INDEX_VAR)?;
        let count = number(WORKERS_VAR)?;
        let index = match (ours, kubernetes) {
            (Some(ours), Some(kubernetes)) if ours != kubernetes => {
                return Err(ShareError::Disagree { ours, kubernetes })
            }
            (Some(index), _) => Some((INDEX_VAR, index)),
            (None, Some(index)) => Some((KUBERNETES_INDEX_VAR, index)),
            (None, None) => None,
        };
        match (index, count) {
            (None, None) => Ok(None),
            (Some((index_var, index)), None) => Err(ShareError::NoCount { index_var, index }),
            (None, Some(count)) => Err(ShareError::NoIndex { count }),
            (Some(_), Some(0)) => Err(ShareError::NoWorkers),
            (Some((_, index)), Some(count)) => WorkerShare::new(index, count)
                .map(Some)
                .ok_or(ShareError::IndexTooLarge { index, count }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |var| pairs.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_environment_names_one_worker_or_a_clear_error() {
        assert_eq!(WorkerShare::from_env(env(&[])), Ok(None));
        let k8s = env(&[(KUBERNETES_INDEX_VAR, "3"), (WORKERS_VAR, "8")]);
        assert_eq!(WorkerShare::from_env(k8s), Ok(WorkerShare::new(3, 8)));
        let ours = env(&[(INDEX_VAR, "0"), (WORKERS_VAR, " 2 ")]);
        assert_eq!(WorkerShare::from_env(ours), Ok(WorkerShare::new(0, 2)));
        let both = env(&[
            (INDEX_VAR, "1"),
            (KUBERNETES_INDEX_VAR, "1"),
            (WORKERS_VAR, "2"),
        ]);
        assert_eq!(WorkerShare::from_env(both), Ok(WorkerShare::new(1, 2)));

        let error = |pairs: &[(&str, &str)]| {
            WorkerShare::from_env(env(pairs))
                .expect_err("refused")
                .to_string()
        };
        assert!(error(&[(KUBERNETES_INDEX_VAR, "1")]).contains("MODEL_BENCH_WORKERS is not"));
        assert!(error(&[(WORKERS_VAR, "4")]).contains("needs its index"));
        assert!(error(&[(INDEX_VAR, "4"), (WORKERS_VAR, "4")]).contains("not below"));
        assert!(error(&[(INDEX_VAR, "0"), (WORKERS_VAR, "0")]).contains("at least one"));
        assert!(error(&[(INDEX_VAR, "x"), (WORKERS_VAR, "2")]).contains("`x` is not a whole"));
        assert!(error(&[
            (INDEX_VAR, "0"),
            (KUBERNETES_INDEX_VAR, "1"),
            (WORKERS_VAR, "2")
        ])
        .contains("disagree"));
    }
}
