//! `model-bench k8s-job`: a ready Kubernetes Indexed Job that runs a bench binary's image as N
//! scale-out workers. Kubernetes is the coordinator: `completionMode: Indexed` gives each pod its
//! index, `completions = parallelism = N` runs them at once, `backoffLimitPerIndex: 0` never
//! restarts an index mid-run (a late copy would skew the run; the merge names the missing
//! index instead), the pods spread over nodes, and every worker gets the same start instant, a
//! set time after the manifest is printed. Results go to a shared volume, one directory per
//! index, or through the pods' logs (`kubectl logs`), for `model-bench merge`.
//!
//! Every string is written as a JSON string, which YAML reads as the same string, so no value
//! (a bench filter, an image reference) can change the manifest's structure.

use std::time::{Duration, SystemTime};

use crate::remote::scaleout::format_rfc3339;

/// What the Job runs.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    /// The Job's name (and the label its pods share).
    pub name: String,
    /// The image with the bench binary as its entrypoint.
    pub image: String,
    /// How many workers.
    pub workers: usize,
    /// The shared start.
    pub start_at: SystemTime,
    /// How late a worker may reach the start.
    pub late_limit: Duration,
    /// Arguments for the bench binary after `--bench` (a filter, criterion's flags).
    pub bench_args: Vec<String>,
    /// Where the workers' outputs go.
    pub results: Results,
}

/// Where a Job's workers leave their outputs for the merge.
#[derive(Debug, Clone, PartialEq)]
pub enum Results {
    /// On this PersistentVolumeClaim (ReadWriteMany), one directory per index.
    Volume(String),
    /// In the pods' logs (`MODEL_BENCH_WORKER_STDOUT=1`), read back with `kubectl logs` and
    /// given to `model-bench merge` as a file; the outputs themselves go to a scratch volume.
    Logs,
}

/// Why a Job cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Not a DNS-1123 name.
    #[error("`{0}` is not a Kubernetes name: lowercase letters, digits and `-`, at most 52 characters, starting with a letter and ending with a letter or digit")]
    Name(String),
    /// No workers.
    #[error("a Job needs at least one worker")]
    NoWorkers,
    /// An empty image or claim.
    #[error("the {0} cannot be empty")]
    Empty(&'static str),
}

/// Where each worker's output goes inside its pod: `/results/<index>`.
pub const RESULTS_MOUNT: &str = "/results";

/// A duration in model-bench's grammar (`90s`, `2m`, `500ms`) for the command's flags.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration_grammar::parse_duration(text.trim())
        .map(Duration::from_nanos)
        .map_err(|e| format!("`{text}`: {e}"))
}

fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// The manifest, as YAML.
pub fn manifest(spec: &JobSpec) -> Result<String, JobError> {
    // Pod names add a suffix to the Job's: leave room for it under 63 characters.
    let valid_name = !spec.name.is_empty()
        && spec.name.len() <= 52
        && spec.name.starts_with(|c: char| c.is_ascii_lowercase())
        && spec
            .name
            .ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && spec
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_name {
        return Err(JobError::Name(spec.name.clone()));
    }
    if spec.workers == 0 {
        return Err(JobError::NoWorkers);
    }
    if spec.image.trim().is_empty() {
        return Err(JobError::Empty("image"));
    }
    if matches!(&spec.results, Results::Volume(claim) if claim.trim().is_empty()) {
        return Err(JobError::Empty("volume claim"));
    }
    let name = quoted(&spec.name);
    let workers = spec.workers;
    let start_at = quoted(&format_rfc3339(spec.start_at));
    let late_limit = quoted(&format!("{}ms", spec.late_limit.as_millis().max(1)));
    let args: Vec<String> = std::iter::once("--bench".to_owned())
        .chain(spec.bench_args.iter().cloned())
        .map(|arg| quoted(&arg))
        .collect();
    let image = quoted(&spec.image);
    let output_dir = quoted(&format!("{RESULTS_MOUNT}/$(MODEL_BENCH_WORKER_INDEX)"));
    let mount = quoted(RESULTS_MOUNT);
    let (how_to_merge, volume, to_stdout) = match &spec.results {
        Results::Volume(claim) => (
            "merge the outputs on the volume:\n# model-bench merge <volume>/* -o merged"
                .to_owned(),
            format!("persistentVolumeClaim:\n            claimName: {}", quoted(claim)),
            String::new(),
        ),
        Results::Logs => (
            format!(
                "save the pods' logs and merge the files\n# they carry: kubectl logs -l model-bench/run={} --tail=-1 --max-log-requests={} --prefix > {}.log\n# model-bench merge {}.log -o merged",
                spec.name, workers.max(5), spec.name, spec.name
            ),
            "emptyDir: {}".to_owned(),
            format!(
                "\n            - name: {}\n              value: \"1\"",
                quoted(crate::remote::scaleout::log_files::STDOUT_VAR)
            ),
        ),
    };
    Ok(format!(
        r#"# model-bench scale-out: {workers} workers, starting together at {start_at}.
# kubectl apply -f this file; when every pod has ended (the Job's condition is Complete, or
# Failed with reason FailedIndexes when some index failed), {how_to_merge}
# (a failed index shows up as missing: exit 7).
apiVersion: "batch/v1"
kind: "Job"
metadata:
  name: {name}
  labels:
    "app.kubernetes.io/name": "model-bench"
    "model-bench/run": {name}
spec:
  completionMode: "Indexed"
  completions: {workers}
  parallelism: {workers}
  # An index that fails is not started again: a late copy would skew the run.
  backoffLimitPerIndex: 0
  template:
    metadata:
      labels:
        "app.kubernetes.io/name": "model-bench"
        "model-bench/run": {name}
    spec:
      restartPolicy: "Never"
      # One worker per node where the cluster has the nodes.
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: "kubernetes.io/hostname"
          whenUnsatisfiable: "ScheduleAnyway"
          labelSelector:
            matchLabels:
              "model-bench/run": {name}
      containers:
        - name: "worker"
          image: {image}
          args: [{args}]
          env:
            - name: "MODEL_BENCH_WORKERS"
              value: "{workers}"
            - name: "MODEL_BENCH_WORKER_INDEX"
              valueFrom:
                fieldRef:
                  fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"
            - name: "MODEL_BENCH_START_AT"
              value: {start_at}
            - name: "MODEL_BENCH_START_LATE_LIMIT"
              value: {late_limit}
            - name: "POD_NAME"
              valueFrom:
                fieldRef:
                  fieldPath: "metadata.name"
            - name: "MODEL_BENCH_OUTPUT_DIR"
              value: {output_dir}{to_stdout}
          volumeMounts:
            - name: "results"
              mountPath: {mount}
      volumes:
        - name: "results"
          {volume}
"#,
        args = args.join(", "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> JobSpec {
        JobSpec {
            name: "mb-run".into(),
            image: "registry.example/bench:1".into(),
            workers: 4,
            start_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_499_000),
            late_limit: Duration::from_secs(1),
            bench_args: vec!["^serving/".into(), "--quick \" x".into()],
            results: Results::Volume("bench-results".into()),
        }
    }

    #[test]
    fn the_manifest_says_what_the_workers_need() {
        let yaml = manifest(&spec()).expect("a valid spec");
        for line in [
            "completionMode: \"Indexed\"",
            "completions: 4",
            "parallelism: 4",
            "backoffLimitPerIndex: 0",
            "restartPolicy: \"Never\"",
            "value: \"2026-12-05T19:30:00.000Z\"",
            "args: [\"--bench\", \"^serving/\", \"--quick \\\" x\"]",
            "claimName: \"bench-results\"",
        ] {
            assert!(yaml.contains(line), "{line} in\n{yaml}");
        }
        assert!(!yaml.contains("MODEL_BENCH_WORKER_STDOUT"));
        let logs = manifest(&JobSpec {
            results: Results::Logs,
            ..spec()
        })
        .expect("a valid spec");
        for line in [
            "- name: \"MODEL_BENCH_WORKER_STDOUT\"\n              value: \"1\"",
            "emptyDir: {}",
            "kubectl logs -l model-bench/run=mb-run --tail=-1 --max-log-requests=5 --prefix > mb-run.log",
        ] {
            assert!(logs.contains(line), "{line} in\n{logs}");
        }
        assert!(!logs.contains("claimName"));
    }

    #[test]
    fn names_kubernetes_refuses_are_refused_here() {
        for bad in ["", "Upper", "-dash", "dash-", "a_b", &"x".repeat(53)] {
            let error = manifest(&JobSpec {
                name: bad.into(),
                ..spec()
            })
            .expect_err(bad);
            assert!(matches!(error, JobError::Name(_)), "{bad}: {error}");
        }
        let error = manifest(&JobSpec {
            workers: 0,
            ..spec()
        })
        .expect_err("no workers");
        assert_eq!(error, JobError::NoWorkers);
    }
}
