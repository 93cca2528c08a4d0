//! The reference server's models (identity, ONNX) behind one interface, with the injected
//! latency schedule and optional dynamic batching applied in front of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::remote::oip::tensor::{Datatype, Tensor};
use crate::remote::reference::{Batching, InjectedLatency, ModelSpec, ReferenceConfig};

/// Why an inference failed, as the protocols report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InferError {
    /// The request does not fit the model (HTTP 400 / INVALID_ARGUMENT).
    #[cfg_attr(not(feature = "ort"), allow(dead_code))]
    BadInput(String),
    /// The model failed (HTTP 500 / INTERNAL).
    Model(String),
}

/// A tensor description for metadata.
#[derive(Debug, Clone)]
pub struct TensorSpec {
    pub name: String,
    pub datatype: Datatype,
    pub shape: Vec<i64>,
}

trait Compute: Send + Sync {
    fn infer(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, InferError>;

    /// Whether an inference is long enough to belong on a blocking thread.
    fn is_heavy(&self) -> bool {
        true
    }
}

struct Identity;

impl Compute for Identity {
    fn is_heavy(&self) -> bool {
        false
    }

    fn infer(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, InferError> {
        inputs
            .into_iter()
            .map(|t| {
                let name = match t.name().strip_prefix("INPUT") {
                    Some(rest) => format!("OUTPUT{rest}"),
                    None => t.name().to_string(),
                };
                Tensor::from_raw(name, t.datatype(), t.shape().to_vec(), t.raw().to_vec())
                    .map_err(|e| InferError::Model(e.to_string()))
            })
            .collect()
    }
}

#[cfg(feature = "ort")]
struct Onnx {
    model: std::sync::Mutex<crate::runtimes::ort::OnnxModel>,
    output_name: String,
}

#[cfg(feature = "ort")]
impl Compute for Onnx {
    fn infer(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, InferError> {
        let [input] = inputs.as_slice() else {
            return Err(InferError::BadInput(format!(
                "the model takes one input, {} were given",
                inputs.len()
            )));
        };
        if input.datatype() != Datatype::Fp32 {
            return Err(InferError::BadInput(format!(
                "input `{}` must be FP32, not {}",
                input.name(),
                input.datatype()
            )));
        }
        let values: Vec<f32> = input
            .raw()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let shape: Vec<usize> = input.shape().iter().map(|&d| d as usize).collect();
        let array = ndarray::ArrayViewD::from_shape(shape, &values)
            .map_err(|e| InferError::BadInput(e.to_string()))?;
        let output = self
            .model
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .run(array)
            .map_err(|e| InferError::Model(e.to_string()))?;
        let shape: Vec<i64> = output.shape().iter().map(|&d| d as i64).collect();
        let data: Vec<f32> = output.iter().copied().collect();
        let output = Tensor::fp32(self.output_name.clone(), shape, &data)
            .map_err(|e| InferError::Model(e.to_string()))?;
        Ok(vec![output])
    }
}

/// One served model: metadata, compute, the queue in front of it when batching, and its
/// cumulative statistics.
pub struct ServedModel {
    pub name: String,
    pub platform: &'static str,
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
    compute: Arc<dyn Compute>,
    batcher: Option<mpsc::Sender<Job>>,
    pub stats: ModelCounters,
}

/// A count and the total time of one kind of event.
#[derive(Debug, Default)]
pub struct Counter {
    count: AtomicU64,
    ns: AtomicU64,
}

impl Counter {
    pub fn add(&self, duration: Duration) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.ns
            .fetch_add(duration.as_nanos() as u64, Ordering::Relaxed);
    }

    /// `(count, ns)`.
    pub fn read(&self) -> (u64, u64) {
        (
            self.count.load(Ordering::Relaxed),
            self.ns.load(Ordering::Relaxed),
        )
    }
}

/// Cumulative per-model counters in the shape of Triton's statistics extension: requests that
/// succeeded or failed (whole server-side time), time queued before the model's turn, and the
/// time spent taking the inputs in (decoding), inferring, and producing the outputs (encoding).
#[derive(Debug, Default)]
pub struct ModelCounters {
    pub success: Counter,
    pub fail: Counter,
    pub queue: Counter,
    pub compute_input: Counter,
    pub compute_infer: Counter,
    pub compute_output: Counter,
    /// Requests inside the server now (received, not yet answered).
    pub in_flight: AtomicU64,
}

/// A request inside the server: counted in `in_flight` until dropped, however it ends.
pub struct InFlight<'a>(&'a AtomicU64);

impl ModelCounters {
    pub fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Memory a request holds while inside the server: mapped straight from the kernel and
/// written page by page, so it is resident exactly while held. (The allocator would keep freed
/// blocks in its per-thread arenas and blur the memory per request in flight.)
struct HeldPages {
    #[cfg(unix)]
    pages: Option<(std::ptr::NonNull<libc::c_void>, usize)>,
    #[cfg(not(unix))]
    _bytes: Vec<u8>,
}

// The mapping is owned by one request and only unmapped on drop.
#[cfg(unix)]
unsafe impl Send for HeldPages {}
#[cfg(unix)]
unsafe impl Sync for HeldPages {}

impl HeldPages {
    #[cfg(unix)]
    fn new(bytes: usize) -> HeldPages {
        // SAFETY: an anonymous private mapping of `bytes`, checked for failure; every page
        // written is inside it.
        let pages = unsafe {
            let address = libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if address == libc::MAP_FAILED {
                None
            } else {
                let base = address.cast::<u8>();
                for offset in (0..bytes).step_by(4096) {
                    base.add(offset).write_volatile(1);
                }
                std::ptr::NonNull::new(address).map(|p| (p, bytes))
            }
        };
        HeldPages { pages }
    }

    #[cfg(not(unix))]
    fn new(bytes: usize) -> HeldPages {
        HeldPages {
            _bytes: std::hint::black_box(vec![1u8; bytes]),
        }
    }
}

#[cfg(unix)]
impl Drop for HeldPages {
    fn drop(&mut self) {
        if let Some((address, bytes)) = self.pages.take() {
            // SAFETY: the mapping made in `new`, unmapped once.
            unsafe {
                libc::munmap(address.as_ptr(), bytes);
            }
        }
    }
}

struct Job {
    inputs: Vec<Tensor>,
    reply: oneshot::Sender<Result<Vec<Tensor>, InferError>>,
}

/// Every model of a server, the latency schedule, and the server's start (the schedule's
/// origin).
pub struct Models {
    models: Vec<ServedModel>,
    latency: Option<InjectedLatency>,
    started: Instant,
    /// With a capacity: each request's service time and when the server is next free.
    single_server: Option<(Duration, std::sync::Mutex<Instant>)>,
    hold_per_request: usize,
    leak_per_request: usize,
    /// What requests left behind (`leak_per_request`), kept until the server stops.
    leaked: std::sync::Mutex<Vec<Vec<u8>>>,
}

impl Models {
    /// Loads every model. Must be called inside the server's runtime when batching is on (the
    /// batchers are tasks).
    pub fn load(config: &ReferenceConfig) -> Result<Models, String> {
        let mut models = Vec::with_capacity(config.models.len());
        for spec in &config.models {
            let mut model = load_one(spec)?;
            if let Some(batching) = config.batching {
                model.batcher = Some(spawn_batcher(Arc::clone(&model.compute), batching));
            }
            models.push(model);
        }
        Ok(Models {
            models,
            latency: config.latency,
            started: Instant::now(),
            single_server: config.capacity.map(|rate| {
                (
                    Duration::from_secs_f64(1.0 / rate),
                    std::sync::Mutex::new(Instant::now()),
                )
            }),
            hold_per_request: config.hold_per_request,
            leak_per_request: config.leak_per_request,
            leaked: std::sync::Mutex::new(Vec::new()),
        })
    }

    pub fn all(&self) -> impl Iterator<Item = &ServedModel> {
        self.models.iter()
    }

    pub fn get(&self, name: &str) -> Option<&ServedModel> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Runs one request: waits out the injected latency, then infers (through the batcher when
    /// there is one) off the async workers.
    pub async fn infer(
        &self,
        model: &ServedModel,
        inputs: Vec<Tensor>,
    ) -> Result<Vec<Tensor>, InferError> {
        let arrived = Instant::now();
        let mut started = arrived;
        let _held = (self.hold_per_request > 0).then(|| HeldPages::new(self.hold_per_request));
        if self.leak_per_request > 0 {
            crate::sync::lock(&self.leaked).push(vec![1u8; self.leak_per_request]);
        }
        if let Some((service, next_free)) = &self.single_server {
            // Served in arrival order: this request's turn starts when the previous one's ends
            // (or now, when the server is idle) and lasts one service time.
            let turn = {
                let mut next_free = crate::sync::lock(next_free);
                let turn = (*next_free).max(arrived);
                *next_free = turn + *service;
                turn
            };
            model.stats.queue.add(turn - arrived);
            started = turn;
            tokio::time::sleep_until(tokio::time::Instant::from_std(turn + *service)).await;
        } else {
            model.stats.queue.add(Duration::ZERO);
        }
        let outputs = self.infer_after_queue(model, inputs).await;
        model.stats.compute_infer.add(started.elapsed());
        outputs
    }

    async fn infer_after_queue(
        &self,
        model: &ServedModel,
        inputs: Vec<Tensor>,
    ) -> Result<Vec<Tensor>, InferError> {
        if let Some(latency) = self.latency {
            let delay = latency.delay_at(self.started.elapsed());
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        match &model.batcher {
            Some(queue) => {
                let (reply, answer) = oneshot::channel();
                queue
                    .send(Job { inputs, reply })
                    .await
                    .map_err(|_| InferError::Model("the batcher stopped".into()))?;
                answer.await.unwrap_or_else(|_| {
                    Err(InferError::Model("the batcher dropped the request".into()))
                })
            }
            None => run_compute(Arc::clone(&model.compute), inputs).await,
        }
    }
}

async fn run_compute(
    compute: Arc<dyn Compute>,
    inputs: Vec<Tensor>,
) -> Result<Vec<Tensor>, InferError> {
    // A copy is cheaper inline than the hand-off to a blocking thread would be.
    if !compute.is_heavy() {
        return compute.infer(inputs);
    }
    tokio::task::spawn_blocking(move || compute.infer(inputs))
        .await
        .unwrap_or_else(|e| Err(InferError::Model(format!("the model panicked: {e}"))))
}

fn load_one(spec: &ModelSpec) -> Result<ServedModel, String> {
    match spec {
        ModelSpec::Identity { name } => Ok(ServedModel {
            name: name.clone(),
            platform: "model-bench_identity",
            inputs: vec![TensorSpec {
                name: "INPUT0".into(),
                datatype: Datatype::Fp32,
                shape: vec![-1, -1],
            }],
            outputs: vec![TensorSpec {
                name: "OUTPUT0".into(),
                datatype: Datatype::Fp32,
                shape: vec![-1, -1],
            }],
            compute: Arc::new(Identity),
            batcher: None,
            stats: ModelCounters::default(),
        }),
        #[cfg(feature = "ort")]
        ModelSpec::Onnx { name, path } => {
            let model = crate::runtimes::ort::OnnxModel::load(path)
                .map_err(|e| format!("model `{name}`: {e}"))?;
            let input = model.input_name().to_string();
            let output = model.output_name().to_string();
            let input_shape = model.input_shape().to_vec();
            let output_shape = model.output_shape().to_vec();
            Ok(ServedModel {
                name: name.clone(),
                platform: "onnxruntime_onnx",
                inputs: vec![TensorSpec {
                    name: input,
                    datatype: Datatype::Fp32,
                    shape: input_shape,
                }],
                outputs: vec![TensorSpec {
                    name: output.clone(),
                    datatype: Datatype::Fp32,
                    shape: output_shape,
                }],
                compute: Arc::new(Onnx {
                    model: std::sync::Mutex::new(model),
                    output_name: output,
                }),
                batcher: None,
                stats: ModelCounters::default(),
            })
        }
        #[cfg(not(feature = "ort"))]
        ModelSpec::Onnx { name, .. } => Err(format!(
            "model `{name}` is an ONNX model, which needs model-bench's `ort` feature"
        )),
    }
}

/// Queues requests for one model and runs them together: a batch closes when it holds
/// `max_batch` requests or `max_queue_delay` after its first request arrived.
fn spawn_batcher(compute: Arc<dyn Compute>, batching: Batching) -> mpsc::Sender<Job> {
    let (queue, mut jobs) = mpsc::channel::<Job>(batching.max_batch * 64);
    tokio::spawn(async move {
        while let Some(first) = jobs.recv().await {
            let deadline = tokio::time::Instant::now() + batching.max_queue_delay;
            let mut batch = vec![first];
            while batch.len() < batching.max_batch {
                match tokio::time::timeout_at(deadline, jobs.recv()).await {
                    Ok(Some(job)) => batch.push(job),
                    Ok(None) | Err(_) => break,
                }
            }
            run_batch(Arc::clone(&compute), batch).await;
        }
    });
    queue
}

async fn run_batch(compute: Arc<dyn Compute>, batch: Vec<Job>) {
    if batch.len() == 1 {
        let job = batch.into_iter().next().expect("one job");
        let _ = job.reply.send(run_compute(compute, job.inputs).await);
        return;
    }
    let sizes: Vec<i64> = batch
        .iter()
        .map(|job| {
            job.inputs
                .first()
                .and_then(|t| t.shape().first().copied())
                .unwrap_or(0)
        })
        .collect();
    let stacked = match stack(batch.iter().map(|job| job.inputs.as_slice())) {
        Ok(stacked) => stacked,
        // Requests that cannot be stacked (different shapes) run one by one.
        Err(_) => {
            for job in batch {
                let result = run_compute(Arc::clone(&compute), job.inputs).await;
                let _ = job.reply.send(result);
            }
            return;
        }
    };
    match run_compute(compute, stacked).await {
        Ok(outputs) => match unstack(&outputs, &sizes) {
            Ok(split) => {
                for (job, outputs) in batch.into_iter().zip(split) {
                    let _ = job.reply.send(Ok(outputs));
                }
            }
            Err(error) => {
                for job in batch {
                    let _ = job.reply.send(Err(InferError::Model(error.clone())));
                }
            }
        },
        Err(error) => {
            for job in batch {
                let _ = job.reply.send(Err(error.clone()));
            }
        }
    }
}

/// Concatenates each input along its first dimension across requests.
fn stack<'a>(requests: impl Iterator<Item = &'a [Tensor]> + Clone) -> Result<Vec<Tensor>, String> {
    let first = requests.clone().next().ok_or("an empty batch")?;
    let mut stacked = Vec::with_capacity(first.len());
    for (index, head) in first.iter().enumerate() {
        let mut raw = Vec::new();
        let mut rows = 0;
        for inputs in requests.clone() {
            let tensor = inputs.get(index).ok_or("requests have different inputs")?;
            if tensor.name() != head.name()
                || tensor.datatype() != head.datatype()
                || tensor.shape().get(1..) != head.shape().get(1..)
                || tensor.shape().is_empty()
            {
                return Err("requests have different input shapes".into());
            }
            rows += tensor.shape()[0];
            raw.extend_from_slice(tensor.raw());
        }
        let mut shape = head.shape().to_vec();
        shape[0] = rows;
        stacked.push(
            Tensor::from_raw(head.name(), head.datatype(), shape, raw)
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(stacked)
}

/// Splits each output along its first dimension into the requests' row counts.
fn unstack(outputs: &[Tensor], sizes: &[i64]) -> Result<Vec<Vec<Tensor>>, String> {
    let mut split: Vec<Vec<Tensor>> = sizes
        .iter()
        .map(|_| Vec::with_capacity(outputs.len()))
        .collect();
    for output in outputs {
        let total: i64 = sizes.iter().sum();
        if output.shape().first() != Some(&total) || output.datatype().element_size().is_none() {
            return Err(format!(
                "output `{}` cannot be split across the batch",
                output.name()
            ));
        }
        let row_bytes = output.raw().len() / total.max(1) as usize;
        let mut offset = 0;
        for (index, &rows) in sizes.iter().enumerate() {
            let len = rows as usize * row_bytes;
            let mut shape = output.shape().to_vec();
            shape[0] = rows;
            let raw = output.raw()[offset..offset + len].to_vec();
            offset += len;
            split[index].push(
                Tensor::from_raw(output.name(), output.datatype(), shape, raw)
                    .map_err(|e| e.to_string())?,
            );
        }
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_renames_inputs() {
        let input = Tensor::fp32("INPUT0", [1, 2], &[1.0, 2.0]).unwrap();
        let output = Identity.infer(vec![input.clone()]).unwrap();
        assert_eq!(output[0].name(), "OUTPUT0");
        assert_eq!(output[0].raw(), input.raw());
    }

    #[test]
    fn batches_stack_and_split() {
        let a = vec![Tensor::fp32("x", [1, 2], &[1.0, 2.0]).unwrap()];
        let b = vec![Tensor::fp32("x", [2, 2], &[3.0, 4.0, 5.0, 6.0]).unwrap()];
        let stacked = stack([a.as_slice(), b.as_slice()].into_iter()).unwrap();
        assert_eq!(stacked[0].shape(), &[3, 2]);
        let split = unstack(&stacked, &[1, 2]).unwrap();
        assert_eq!(split[0], a);
        assert_eq!(split[1], b);
        let c = vec![Tensor::fp32("x", [1, 3], &[1.0, 2.0, 3.0]).unwrap()];
        assert!(stack([a.as_slice(), c.as_slice()].into_iter()).is_err());
    }
}
