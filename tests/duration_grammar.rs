//! The duration grammar exists twice, once in each crate (a proc-macro crate cannot export
//! functions to the library); this checks that the two copies are still the same file.

const LIBRARY: &str = include_str!("../model-bench/src/duration_grammar.rs");
const MACROS: &str = include_str!("../model-bench-macros/src/values/duration_grammar.rs");

#[test]
fn duration_grammar_copies_are_identical() {
    assert_eq!(
        LIBRARY, MACROS,
        "the two copies of the duration grammar differ: edit one, then copy it over the other, e.g. \
         `cp model-bench-macros/src/values/duration_grammar.rs model-bench/src/duration_grammar.rs`"
    );
}
