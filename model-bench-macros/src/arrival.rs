//! The `arrival` option of an open-loop remote bench: `poisson`, `constant` or `gamma(shape)`,
//! parsed with spanned errors. Uses only the shared value parsers (`values/`).

use syn::Expr;

use crate::values::{number_literal, ungroup};

/// An open loop's arrival process, as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ArrivalOption {
    Constant,
    Poisson,
    /// Gamma-distributed gaps of this shape.
    Gamma(f64),
}

/// `poisson`, `constant` or `gamma(shape)`.
pub(crate) fn arrival(expr: &Expr) -> syn::Result<ArrivalOption> {
    let expected = "expected an arrival process: `poisson`, `constant` or `gamma(shape)`";
    match ungroup(expr) {
        Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_some() => {
            let ident = &path.path.segments[0].ident;
            match ident.to_string().as_str() {
                "poisson" => Ok(ArrivalOption::Poisson),
                "constant" => Ok(ArrivalOption::Constant),
                other => Err(syn::Error::new_spanned(
                    ident,
                    format!("unknown arrival process `{other}`; {expected}"),
                )),
            }
        }
        Expr::Call(call) if matches!(&*call.func, Expr::Path(path) if path.path.is_ident("gamma")) =>
        {
            let shape =
                match (call.args.len(), call.args.first().and_then(number_literal)) {
                    (1, Some(shape)) => shape?,
                    _ => return Err(syn::Error::new_spanned(
                        call,
                        "expected `gamma(shape)` with one number, like `gamma(0.5)` (below 1 is \
                         burstier than Poisson, 1 is Poisson)",
                    )),
                };
            if !(shape.is_finite() && shape > 0.0) {
                return Err(syn::Error::new_spanned(
                    call,
                    "a gamma shape must be greater than zero",
                ));
            }
            Ok(ArrivalOption::Gamma(shape))
        }
        other => Err(syn::Error::new_spanned(
            other,
            format!("{expected}, written without quotes"),
        )),
    }
}
