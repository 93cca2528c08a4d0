//! List and integer option values: an integer literal with its span, and the strictly
//! increasing lists of a sweep (batch sizes, concurrencies, rates), each with the messages that
//! say which list and what is wrong. Like the rest of `values/`, it imports no option file.

use std::fmt;

use syn::{Expr, ExprLit, Lit, LitInt};

use super::{number_literal, ungroup};

/// The value, and its literal to point at when the value is out of range.
pub(crate) fn integer<N>(expr: &Expr, option: &str) -> syn::Result<(N, LitInt)>
where
    N: std::str::FromStr,
    N::Err: fmt::Display,
{
    match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => Ok((lit.base10_parse()?, lit.clone())),
        other => Err(syn::Error::new_spanned(
            other,
            format!("expected an integer literal for `{option}`"),
        )),
    }
}

pub(crate) fn batch(expr: &Expr) -> syn::Result<Vec<usize>> {
    int_list(expr, "batch", "batch = [1, 8, 32]")
}

/// A strictly increasing list of positive integers (batch sizes, concurrencies).
pub(crate) fn int_list(expr: &Expr, option: &str, example: &str) -> syn::Result<Vec<usize>> {
    let batch = option == "batch";
    let what = if batch { "batch sizes" } else { "values" };
    let list = ListSpec {
        what,
        not_a_list: if batch {
            format!("expected a list of batch sizes, like `{example}`")
        } else {
            format!("expected a list, like `{example}`")
        },
        empty: if batch {
            "`batch` needs at least one batch size; \
             leave the option out to run the bench once, at batch size 1"
                .to_string()
        } else {
            format!("`{option}` needs at least one value, like `{example}`")
        },
    };
    increasing_list(expr, &list, |elem| {
        let Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) = elem
        else {
            return Err(syn::Error::new_spanned(
                elem,
                format!("expected an integer literal in `{option}`"),
            ));
        };
        let size: usize = lit.base10_parse()?;
        if size == 0 {
            return Err(syn::Error::new_spanned(
                lit,
                format!("{what} must be at least 1"),
            ));
        }
        Ok(size)
    })
}

/// Target rates in requests per second: positive, strictly increasing, integer or float literals.
pub(crate) fn rates(expr: &Expr) -> syn::Result<Vec<f64>> {
    let list = ListSpec {
        what: "rates",
        not_a_list: "expected a list of request rates per second, like `rate = [100, 500]`".into(),
        empty: "`rate` needs at least one rate, like `rate = [100, 500]`".into(),
    };
    increasing_list(expr, &list, |elem| {
        let value = match number_literal(elem) {
            Some(value) => value?,
            None => {
                return Err(syn::Error::new_spanned(
                    elem,
                    "expected a number of requests per second, like `250` or `12.5`",
                ))
            }
        };
        if !(value.is_finite() && value > 0.0) {
            return Err(syn::Error::new_spanned(
                elem,
                "a rate must be greater than zero",
            ));
        }
        Ok(value)
    })
}

/// How a list option reports its mistakes.
struct ListSpec {
    /// The elements, plural, for "… must be strictly increasing".
    what: &'static str,
    not_a_list: String,
    empty: String,
}

/// A non-empty `[a, b, …]` whose elements `parse` accepts, strictly increasing: a sorted,
/// duplicate-free sweep keeps bench ids unique and reports in order.
fn increasing_list<T: PartialOrd + Copy + fmt::Display>(
    expr: &Expr,
    list: &ListSpec,
    parse: impl Fn(&Expr) -> syn::Result<T>,
) -> syn::Result<Vec<T>> {
    let Expr::Array(array) = ungroup(expr) else {
        return Err(syn::Error::new_spanned(expr, &list.not_a_list));
    };
    if array.elems.is_empty() {
        return Err(syn::Error::new_spanned(array, &list.empty));
    }
    let mut values: Vec<T> = Vec::with_capacity(array.elems.len());
    for elem in &array.elems {
        let elem = ungroup(elem);
        let value = parse(elem)?;
        if let Some(&previous) = values.last() {
            if value <= previous {
                return Err(syn::Error::new_spanned(
                    elem,
                    format!(
                        "{} must be strictly increasing, but {value} follows {previous}",
                        list.what
                    ),
                ));
            }
        }
        values.push(value);
    }
    Ok(values)
}
