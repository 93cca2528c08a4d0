use model_bench::{model_bench, Bencher};

#[model_bench]
fn returns_result(b: &mut Bencher) -> Result<(), String> {
    let input = "42".parse::<u32>().map_err(|error| error.to_string())?;
    b.iter(|| input + 1);
    Ok(())
}

#[model_bench]
fn returns_io_result(b: &mut Bencher) -> std::io::Result<u64> {
    b.iter(|| ());
    Ok(7)
}

#[model_bench]
fn returns_unit(b: &mut Bencher) -> () {
    b.iter(|| ());
}

fn main() {
    let names: Vec<&str> = model_bench::registry::all()
        .iter()
        .map(|bench| bench.name)
        .collect();
    assert_eq!(names, ["returns_result", "returns_io_result", "returns_unit"]);
}
