//! The bench binary as one worker of a scale-out run (issue 16): read from the environment a
//! Kubernetes Indexed Job gives its pods (or the same variables set by hand) before any bench
//! runs, it makes every remote bench send only this worker's share of its load, and holds the
//! first load until the shared start. Without those variables it changes nothing.

use std::cell::OnceCell;
use std::time::Duration;

use crate::remote::load::LoadPlan;
use crate::remote::scaleout::{StartBarrier, WorkerShare};

/// This process's part in a run from several machines; [`WorkerMode::default`] is the whole
/// run in one process.
#[derive(Debug, Default)]
pub struct WorkerMode {
    /// Which share of each load this worker sends; `None`: all of it.
    pub share: Option<WorkerShare>,
    barrier: Option<StartBarrier>,
    /// The barrier's outcome, once waited for: how late this worker woke, or why it may not run.
    started: OnceCell<Result<Duration, String>>,
}

impl WorkerMode {
    /// The mode the environment describes; an error (for the user, before any load) when its
    /// variables do not describe one worker or one start.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<WorkerMode, String> {
        let share = WorkerShare::from_env(&env).map_err(|e| e.to_string())?;
        let barrier = StartBarrier::from_env(&env).map_err(|e| e.to_string())?;
        Ok(WorkerMode {
            share,
            barrier,
            started: OnceCell::new(),
        })
    }

    /// A line for the terminal when this is a worker, `None` otherwise.
    pub fn describe(&self) -> Option<String> {
        let share = self.share?;
        Some(format!(
            "worker {} of {}: each remote bench sends this worker's share of its load{}",
            share.index,
            share.count,
            match self.barrier {
                Some(barrier) => format!(
                    ", from the shared start {} s after the epoch (late limit {:?})",
                    barrier
                        .at
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs_f64(),
                    barrier.late_limit
                ),
                None => String::new(),
            }
        ))
    }

    /// `plan` as this worker sends it.
    pub fn plan(&self, plan: LoadPlan) -> LoadPlan {
        match self.share {
            Some(share) => plan.for_worker(share),
            None => plan,
        }
    }

    /// Waits for the shared start the first time it is called (after the first bench's health
    /// check); then, and every later time, says whether this worker may run.
    pub fn wait_for_start(&self) -> Result<(), String> {
        let Some(barrier) = self.barrier else {
            return Ok(());
        };
        self.started
            .get_or_init(|| barrier.wait().map_err(|e| e.to_string()))
            .clone()
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_worker_variables_nothing_changes() {
        let mode = WorkerMode::from_env(|_| None).expect("no variables is one process");
        assert_eq!(mode.share, None);
        assert_eq!(mode.describe(), None);
        assert_eq!(mode.wait_for_start(), Ok(()));
        let plan = mode.plan(LoadPlan::closed(4, Duration::from_secs(1)));
        assert_eq!(plan.worker, None);
    }

    #[test]
    fn a_late_worker_is_refused_every_time_it_asks() {
        let env = |var: &str| match var {
            "MODEL_BENCH_WORKERS" => Some("2".to_owned()),
            "JOB_COMPLETION_INDEX" => Some("1".to_owned()),
            "MODEL_BENCH_START_AT" => Some("2020-01-01T00:00:00Z".to_owned()),
            _ => None,
        };
        let mode = WorkerMode::from_env(env).expect("one worker");
        assert!(mode
            .describe()
            .is_some_and(|line| line.starts_with("worker 1 of 2")));
        let first = mode.wait_for_start().expect_err("years late");
        assert!(first.contains("late"), "{first}");
        assert_eq!(mode.wait_for_start(), Err(first));
    }
}
