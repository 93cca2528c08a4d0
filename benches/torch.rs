//! A TorchScript model through tch (libtorch): loading and a batch-size sweep of the forward pass on
//! CPU. `cargo bench --features tch --bench torch`, with libtorch set up as the README says.
//! The model is `assets/tiny_cnn.pt`, made by `scripts/make_torch_model.py`.

use model_bench::prelude::*;
use model_bench::runtimes::tch::{Device, TorchModel};

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/tiny_cnn.pt");

#[model_bench(pipeline = "tiny_cnn", stage = load, cold)]
fn load(b: &mut Bencher) {
    b.iter(|| match TorchModel::load(MODEL, Device::Cpu) {
        Ok(model) => model,
        Err(error) => panic!("{error}"),
    });
}

#[model_bench(pipeline = "tiny_cnn", stage = forward, device = cpu, batch = [1, 8, 32])]
fn forward(b: &mut Bencher) -> Result<(), String> {
    let model = TorchModel::load(MODEL, Device::Cpu).map_err(|e| e.to_string())?;
    let input = model.random_input(&[1, 3, 32, 32], b.batch(), 42);
    b.iter(|| model.forward(&input));
    Ok(())
}

model_bench::main!();
