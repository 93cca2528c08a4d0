//! The tch integration on real libtorch: a TorchScript model made by `scripts/make_torch_model.py`
//! loads, runs and gives PyTorch's own output on the CPU (and on CUDA where libtorch and a GPU
//! have it); a missing file, a file that is not TorchScript and an absent CUDA device are errors
//! naming what is wrong.

use model_bench::runtimes::tch::{Device, Kind, Tensor, TorchError, TorchModel};

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/tiny_cnn.pt");

fn expected() -> (Vec<i64>, Vec<f64>) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/tiny_cnn_expected.json"
    ))
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let shape = json["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let output = json["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    (shape, output)
}

/// Runs PyTorch's reference input through `model` on its device and compares the output with
/// PyTorch's own, to `tolerance`.
fn assert_pytorchs_output(model: &TorchModel, tolerance: f64) {
    let input = Tensor::linspace(-1.0, 1.0, 2 * 3 * 32 * 32, (Kind::Float, model.device()))
        .reshape([2, 3, 32, 32]);
    let output = model.forward(&input).unwrap();
    let (shape, values) = expected();
    assert_eq!(output.size(), shape);
    let got: Vec<f64> = Vec::<f32>::try_from(output.to_device(Device::Cpu).flatten(0, -1))
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    assert_eq!(got.len(), values.len());
    for (i, (got, want)) in got.iter().zip(&values).enumerate() {
        assert!(
            (got - want).abs() < tolerance,
            "output[{i}] on {:?}: {got} vs PyTorch's {want}",
            model.device()
        );
    }
}

#[test]
fn a_torchscript_model_gives_pytorchs_output_on_cpu() {
    let model = TorchModel::load(MODEL, Device::Cpu).unwrap();
    assert_pytorchs_output(&model, 1e-4);
    // The libtorch this process loaded (here PyTorch's wheel, scripts/test.sh) names its version
    // in the bench's facts.
    let version = model_bench::runtimes::tch::libtorch_version();
    assert!(
        version
            .split(['.', '+'])
            .take(3)
            .all(|part| part.parse::<u32>().is_ok()),
        "{version}"
    );

    // Inputs for any batch size, on the model's device.
    let batch = model.random_input(&[1, 3, 32, 32], 8, 7);
    assert_eq!(batch.size(), [8, 3, 32, 32]);
    assert_eq!(model.forward(&batch).unwrap().size(), [8, 10]);
}

#[test]
fn bad_model_files_are_errors_naming_the_file() {
    let missing = TorchModel::load("/no/such/model.pt", Device::Cpu)
        .err()
        .unwrap();
    assert!(
        matches!(&missing, TorchError::Load { path, .. } if path.ends_with("model.pt")),
        "{missing}"
    );
    assert!(missing.to_string().contains("no such file"), "{missing}");

    let not_torchscript = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/mobilenet_v1_050.onnx");
    let error = TorchModel::load(not_torchscript, Device::Cpu)
        .err()
        .unwrap();
    let message = error.to_string();
    assert!(
        message.contains("mobilenet_v1_050.onnx") && message.contains("not a TorchScript file"),
        "{message}"
    );

    // A wrong input is an error from forward, naming the model and the device.
    let model = TorchModel::load(MODEL, Device::Cpu).unwrap();
    let wrong = Tensor::zeros([1, 5], (Kind::Float, Device::Cpu));
    let error = model.forward(&wrong).err().unwrap().to_string();
    assert!(
        error.contains("tiny_cnn.pt") && error.contains("on cpu"),
        "{error}"
    );
}

#[test]
fn a_cuda_device_libtorch_cannot_use_is_an_error_naming_it() {
    match TorchModel::load(MODEL, Device::Cuda(0)) {
        // A machine with a GPU and a CUDA-linked libtorch: the model runs there and agrees with
        // PyTorch (cuDNN may sum the convolutions in another order: 1e-3).
        Ok(model) => {
            assert_eq!(model.device(), Device::Cuda(0));
            assert_pytorchs_output(&model, 1e-3);
        }
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.contains("cuda:0") && message.contains("not available"),
                "{message}"
            );
        }
    }
}
