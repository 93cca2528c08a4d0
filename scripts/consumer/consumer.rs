//! A user's bench file, as README's "Using it in your repository" describes it: one pipeline
//! stage (the example ONNX model's forward pass on the `ort` feature) and one remote bench (the
//! same model served by the in-process reference server over REST), through a renamed
//! dependency (`mb`).

use mb::prelude::*;
use mb::runtimes::ort::ndarray::{ArrayD, IxDyn};
use mb::runtimes::ort::{OnnxModel, RuntimeError};

fn model_path() -> String {
    std::env::var("CONSUMER_MODEL").unwrap_or_else(|_| "mobilenet_v1_050.onnx".to_owned())
}

#[model_bench(crate = mb, stage = forward)]
fn forward(b: &mut Bencher) -> Result<(), RuntimeError> {
    let mut model = OnnxModel::load(model_path())?;
    let input = ArrayD::<f32>::from_elem(IxDyn(&[1, 3, 224, 224]), 0.5);
    b.iter(|| model.run(input.view()).map(|logits| logits.len()));
    Ok(())
}

#[model_bench(crate = mb, remote, concurrency = [1], warm_up_time = "200ms", measurement_time = "1s")]
fn served() -> Result<V2Endpoint, mb::remote::TensorError> {
    let pixels = vec![0.5f32; 3 * 224 * 224];
    Ok(Endpoint::rest("mobilenet")
        .reference(ReferenceConfig::new().onnx("mobilenet", model_path()))
        .input(Tensor::fp32("input", [1, 3, 224, 224], &pixels)?)
        .expect_output_shape("logits", [1, 1000]))
}

mb::main!();
