//! Compile-time behaviour of `#[model_bench]`: what it accepts, what it registers, and where its
//! errors point.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
