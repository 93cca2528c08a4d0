//! The example model through `model_bench::runtimes::ort` on whichever backend this process gets:
//! tract by default, real ONNX Runtime when `ORT_DYLIB_PATH` is set (the test script runs this
//! file both ways). Results are checked against what onnxruntime computed in Python when the
//! assets were made (`assets/expected_top5.json`).

use std::collections::HashMap;

use model_bench::runtimes::ort::{backend, Backend, ExecutionProvider, OnnxModel};
use model_bench_suite::classify::{
    as_rows, batch_of, image_paths, model_path, postprocess, preprocess, read_images,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    logits_first5: HashMap<String, [f32; 5]>,
    #[serde(flatten)]
    top5: HashMap<String, serde_json::Value>,
}

fn expected() -> Expected {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/expected_top5.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn the_backend_is_the_one_the_environment_asks_for() {
    // scripts/test.sh names the backend of each step (`MODEL_BENCH_ORT_BACKEND` with
    // `ORT_DYLIB_PATH`); without the name, the library's path alone chooses.
    let library = std::env::var("ORT_DYLIB_PATH")
        .ok()
        .filter(|p| !p.is_empty());
    let expected = match (std::env::var("MODEL_BENCH_ORT_BACKEND").as_deref(), library) {
        (Ok("tract"), _) | (Err(_), None) => Backend::Tract,
        (Ok("onnxruntime") | Err(_), Some(path)) => Backend::OnnxRuntime {
            library: path.into(),
        },
        (asked, library) => {
            panic!("an environment this test does not expect: {asked:?}, {library:?}")
        }
    };
    assert_eq!(backend().unwrap(), &expected);
}

/// The backend's version is the one loaded at run time: ONNX Runtime reports its own, which is
/// the one in its file's name (`libonnxruntime.so.1.31.1`); tract is the one this was built with.
#[test]
fn the_backend_version_is_the_one_loaded() {
    OnnxModel::load(model_path()).unwrap();
    let version = model_bench::runtimes::ort::backend_version().unwrap();
    match backend().unwrap() {
        Backend::Tract => assert_eq!(version, model_bench::runtimes::ort::TRACT_VERSION),
        Backend::OnnxRuntime { library } => {
            let name = library.file_name().unwrap().to_string_lossy();
            assert!(
                name.ends_with(&format!(".so.{version}")),
                "{name} reports version {version}"
            );
        }
    }
}

/// The CUDA execution provider either runs the model (an ONNX Runtime with CUDA, on a GPU) and
/// agrees with the CPU, or fails to load with an error naming the file, the device and what is
/// missing; it never falls back to the CPU unnoticed.
#[test]
fn the_cuda_provider_runs_the_model_or_says_why_not() {
    let cuda = ExecutionProvider::Cuda { device_id: 0 };
    match OnnxModel::load_on(model_path(), cuda) {
        Ok(mut on_gpu) => {
            let input = batch_of(&[preprocess(&read_images().unwrap()[0]).unwrap()], 1)
                .unwrap()
                .into_dyn();
            let mut on_cpu = OnnxModel::load(model_path()).unwrap();
            let (gpu, cpu) = (
                on_gpu.run(input.view()).unwrap(),
                on_cpu.run(input.view()).unwrap(),
            );
            assert_eq!(gpu.shape(), cpu.shape());
            for (g, c) in gpu.iter().zip(cpu.iter()) {
                assert!((g - c).abs() < 1e-2, "{g} on CUDA vs {c} on the CPU");
            }
        }
        Err(error) => {
            let error = error.to_string();
            assert!(error.contains("mobilenet"), "names the file: {error}");
            assert!(error.contains("on CUDA device 0"), "{error}");
            match backend().unwrap() {
                Backend::Tract => assert!(error.contains("needs ONNX Runtime"), "{error}"),
                Backend::OnnxRuntime { library } => {
                    assert!(error.contains("CUDA execution provider"), "{error}");
                    assert!(error.contains(&*library.to_string_lossy()), "{error}");
                }
            }
        }
    }
}

#[test]
fn logits_match_onnxruntime_in_python() {
    let expected = expected();
    let mut model = OnnxModel::load(model_path()).unwrap();
    assert_eq!(model.input_name(), "input");
    assert_eq!(model.output_name(), "logits");
    // MobileNetV2's declared shapes, the batch dimension dynamic.
    assert_eq!(model.input_shape(), [-1, 3, 224, 224]);
    assert_eq!(model.output_shape(), [-1, 1000]);
    let images = read_images().unwrap();
    assert_eq!(images.len(), image_paths().len());
    assert_eq!(
        images.len(),
        expected.logits_first5.len(),
        "an image for every logits row PyTorch's side wrote"
    );
    for (path, encoded) in image_paths().iter().zip(images) {
        let name = path.file_name().unwrap().to_str().unwrap();
        let input = batch_of(&[preprocess(&encoded).unwrap()], 1)
            .unwrap()
            .into_dyn();
        let logits = model.run(input.view()).unwrap();
        assert_eq!(logits.shape(), &[1, 1000]);
        let rows = as_rows(&logits).unwrap();
        let want = expected.logits_first5[name];
        // The 256×256 image needs no resize, so its input is PIL's up to rounding; the others go
        // through a different bilinear resizer and JPEG decoder.
        let tolerance = if name.starts_with("sprite") {
            1e-3
        } else {
            3e-2
        };
        for (got, want) in rows.row(0).iter().zip(want) {
            assert!((got - want).abs() < tolerance, "{name}: {got} vs {want}");
        }
        let top1 = postprocess(rows)[0].classes[0];
        let want_top5: Vec<usize> = serde_json::from_value(expected.top5[name].clone()).unwrap();
        assert_eq!(top1, want_top5[0], "{name}: top-1");
    }
}

#[test]
fn a_batch_gives_the_same_rows_as_single_images() {
    let mut model = OnnxModel::load(model_path()).unwrap();
    let images: Vec<_> = read_images()
        .unwrap()
        .iter()
        .map(|e| preprocess(e).unwrap())
        .collect();
    let batch = batch_of(&images, 4).unwrap().into_dyn();
    let batched = model.run(batch.view()).unwrap();
    assert_eq!(batched.shape(), &[4, 1000]);
    for (i, image) in images.iter().enumerate() {
        let single = batch_of(std::slice::from_ref(image), 1).unwrap().into_dyn();
        let alone = model.run(single.view()).unwrap();
        let diff = batched
            .index_axis(ndarray::Axis(0), i)
            .iter()
            .zip(alone.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-4, "row {i}: {diff}");
    }
}

#[test]
fn a_missing_model_file_is_an_error_naming_it() {
    let error = OnnxModel::load("/nonexistent/model.onnx").err().unwrap();
    assert_eq!(
        error.to_string(),
        "cannot load ONNX model /nonexistent/model.onnx: no such file"
    );
}
