//! The workspace's main job: an image-classification pipeline on a real (small, random-weight)
//! MobileNet-style ONNX model, stage by stage. tract runs the model unless `ORT_DYLIB_PATH` points
//! at ONNX Runtime's library; see the README.

use model_bench::prelude::*;
use model_bench::runtimes::ort::{OnnxModel, RuntimeError};
use model_bench_suite::classify::{
    as_rows, batch_of, model_path, postprocess, preprocess, read_images, ClassifyError,
};

#[derive(Debug, thiserror::Error)]
enum PipelineError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Classify(#[from] ClassifyError),
    #[error("the model returned {0:?}, not [batch, classes] logits")]
    Shape(Vec<usize>),
}

/// Loading and optimising the model; `cold` also times it in fresh processes.
#[model_bench(pipeline = "mobilenet", stage = load, cold)]
fn load(b: &mut Bencher) -> Result<(), PipelineError> {
    OnnxModel::load(model_path())?;
    b.iter(|| OnnxModel::load(model_path()).map(|_| ()));
    Ok(())
}

/// Decode a 640×480 JPEG, resize, crop and normalize it into the model's input.
#[model_bench(pipeline = "mobilenet", stage = preprocess)]
fn preprocess_image(b: &mut Bencher) -> Result<(), PipelineError> {
    let images = read_images()?;
    preprocess(&images[0])?;
    b.iter(|| preprocess(&images[0]));
    Ok(())
}

/// The model's forward pass, swept over batch sizes; `cold` times load + first forward.
#[model_bench(pipeline = "mobilenet", stage = forward, batch = [1, 2, 4, 8], cold, sample_size = 10)]
fn forward(b: &mut Bencher) -> Result<(), PipelineError> {
    let mut model = OnnxModel::load(model_path())?;
    let images: Vec<_> = read_images()?
        .iter()
        .map(|encoded| preprocess(encoded))
        .collect::<Result<_, _>>()?;
    let input = batch_of(&images, b.batch())?.into_dyn();
    model.run(input.view())?;
    b.iter(|| model.run(input.view()));
    Ok(())
}

/// Softmax and top-5 over one image's logits.
#[model_bench(pipeline = "mobilenet", stage = postprocess)]
fn top5(b: &mut Bencher) -> Result<(), PipelineError> {
    let mut model = OnnxModel::load(model_path())?;
    let images = read_images()?;
    let input = batch_of(&[preprocess(&images[0])?], 1)?.into_dyn();
    let logits = model.run(input.view())?;
    let rows = as_rows(&logits).ok_or_else(|| PipelineError::Shape(logits.shape().to_vec()))?;
    b.iter(|| postprocess(rows));
    Ok(())
}

/// One request through the whole pipeline: encoded image in, top-5 out.
#[model_bench(pipeline = "mobilenet", stage = end_to_end, sample_size = 10)]
fn classify(b: &mut Bencher) -> Result<(), PipelineError> {
    let mut model = OnnxModel::load(model_path())?;
    let images = read_images()?;
    let mut request = || -> Result<_, PipelineError> {
        let input = batch_of(&[preprocess(&images[0])?], 1)?.into_dyn();
        let logits = model.run(input.view())?;
        let rows = as_rows(&logits).ok_or_else(|| PipelineError::Shape(logits.shape().to_vec()))?;
        Ok(postprocess(rows))
    };
    request()?;
    b.iter(|| request().map(|top| top[0].classes[0]));
    Ok(())
}

model_bench::main!();
