//! The value parsers that every option file shares: an option's `= value`, literals seen through
//! `macro_rules!` groups, numbers, durations and paths. It imports no other macro file, so options.rs and
//! scenario.rs can both use it without importing each other.

use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::{Expr, ExprLit, Lit, Token};

mod duration_grammar;
pub(crate) mod lists;

use duration_grammar::parse_duration;

const DURATION_FORMAT: &str = "a positive number followed by a unit (ns, us, ms, s, m or h), \
                               like \"500ms\", \"1.5s\" or \"10m\"";

/// The option as written, for messages: `warm_up_time`, or `a::b` for a stray path.
pub(crate) fn option_name(meta: &ParseNestedMeta) -> String {
    meta.path.to_token_stream().to_string().replace(' ', "")
}

/// The expression after `option =`; `example` shows the expected form when the `=` is missing.
pub(crate) fn value(meta: &ParseNestedMeta, example: &str) -> syn::Result<Expr> {
    if !meta.input.peek(Token![=]) {
        let option = option_name(meta);
        return Err(meta.error(format!("`{option}` needs a value, like `{example}`")));
    }
    let input: ParseStream = meta.value()?;
    input.parse()
}

/// Values passed through a `macro_rules!` fragment arrive wrapped in an invisible group.
pub(crate) fn ungroup(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => ungroup(&group.expr),
        _ => expr,
    }
}

/// The value of an integer or float literal; `None` for anything else.
pub(crate) fn number_literal(expr: &Expr) -> Option<syn::Result<f64>> {
    match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => Some(lit.base10_parse::<f64>()),
        Expr::Lit(ExprLit {
            lit: Lit::Float(lit),
            ..
        }) => Some(lit.base10_parse::<f64>()),
        _ => None,
    }
}

/// A path to reach the library by (`crate = mb`, `crate = ::renamed`), as tokens to put before
/// `::__private`.
pub(crate) fn crate_path(expr: &Expr) -> syn::Result<proc_macro2::TokenStream> {
    match ungroup(expr) {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => {
            Ok(path.path.to_token_stream())
        }
        other => Err(syn::Error::new_spanned(
            other,
            "`crate` takes the path model-bench is reached by, e.g. `crate = mb` for a \
             dependency renamed to `mb`",
        )),
    }
}

/// A duration string such as `"500ms"`, in nanoseconds, read by the grammar in duration_grammar.rs.
pub(crate) fn duration(expr: &Expr, option: &str) -> syn::Result<u64> {
    match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => parse_duration(&lit.value()).map_err(|error| {
            syn::Error::new_spanned(
                lit,
                format!("invalid `{option}`: {error}; expected {DURATION_FORMAT}"),
            )
        }),
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`{option}` needs a unit: write it as a string, like `{option} = \"{}s\"`",
                lit.base10_digits()
            ),
        )),
        other => Err(syn::Error::new_spanned(
            other,
            format!("expected a duration string for `{option}`: {DURATION_FORMAT}"),
        )),
    }
}
