//! The code generated next to a bench function, and the checks on that function's signature that
//! the generated call relies on.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, ItemFn, ReturnType, Type};

use crate::arrival::ArrivalOption;
use crate::options::{Device, Options, Stage};

/// Checks that `item` can be called as `item(&mut Bencher)` (or, for a remote bench, `item()`
/// returning an endpoint) from a plain `fn` pointer, reporting every problem at once so the user
/// fixes them in one pass.
pub(crate) fn check_signature(item: &ItemFn, remote: bool) -> syn::Result<()> {
    let sig = &item.sig;
    let mut errors: Vec<syn::Error> = Vec::new();
    let mut reject = |tokens: &dyn ToTokens, message: &str| {
        errors.push(syn::Error::new_spanned(tokens, message));
    };

    if let Some(constness) = &sig.constness {
        reject(constness, "a `#[model_bench]` function cannot be `const`");
    }
    if let Some(asyncness) = &sig.asyncness {
        reject(
            asyncness,
            "a `#[model_bench]` function cannot be `async`; \
             start a runtime in the function and block on the future inside `b.iter(...)`",
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        reject(
            unsafety,
            "a `#[model_bench]` function cannot be `unsafe`; use an `unsafe` block in its body",
        );
    }
    if let Some(abi) = &sig.abi {
        reject(abi, "a `#[model_bench]` function cannot be `extern`");
    }
    for param in &sig.generics.params {
        match param {
            GenericParam::Lifetime(_) => {}
            GenericParam::Type(_) | GenericParam::Const(_) => reject(
                param,
                "a `#[model_bench]` function cannot be generic; \
                 write one bench function per type or value",
            ),
        }
    }
    if let Some(variadic) = &sig.variadic {
        reject(variadic, "a `#[model_bench]` function cannot be variadic");
    }

    let mut params = Vec::with_capacity(sig.inputs.len());
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                receiver,
                "a `#[model_bench]` function must be a free function, without `self`",
            )),
            FnArg::Typed(param) => params.push(param),
        }
    }
    if remote {
        for param in params {
            errors.push(syn::Error::new_spanned(
                param,
                "a `#[model_bench(remote)]` function takes no parameters; \
                 it returns the endpoint to drive",
            ));
        }
        if let ReturnType::Default = sig.output {
            errors.push(syn::Error::new_spanned(
                &sig.ident,
                "a `#[model_bench(remote)]` function returns the endpoint to drive: \
                 `fn name() -> V2Endpoint` (or `OpenAiEndpoint`, `PostEndpoint`)",
            ));
        }
        return combine(errors);
    }
    let mut params = params.into_iter();
    match params.next() {
        Some(param) => {
            if let Err(error) = check_bencher_type(&param.ty) {
                errors.push(error);
            }
        }
        // With `self` there, the user needs to move the function, not to add a parameter.
        None if sig.receiver().is_some() => {}
        None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            "a `#[model_bench]` function takes one parameter: `b: &mut Bencher`",
        )),
    }
    for extra in params {
        errors.push(syn::Error::new_spanned(
            extra,
            "a `#[model_bench]` function takes only one parameter, `b: &mut Bencher`; \
             build other inputs inside the function, before calling `b.iter(...)`",
        ));
    }

    combine(errors)
}

fn combine(errors: Vec<syn::Error>) -> syn::Result<()> {
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            first.extend(errors);
            Err(first)
        }
    }
}

/// Only the shape is checked here: any `&mut T` passes, and whether `T` is model-bench's
/// `Bencher` (under whatever name it was imported) is left to the compiler, at the check the
/// expansion adds (`__private::assert_bencher`). The name helps only to say what is wrong with
/// a shape that can never work.
fn check_bencher_type(ty: &Type) -> syn::Result<()> {
    let expected = "the parameter of a `#[model_bench]` function must be `&mut Bencher`";
    match strip(ty) {
        Type::Reference(reference) if reference.mutability.is_some() => Ok(()),
        Type::Reference(reference) if names_bencher(&reference.elem) => Err(
            syn::Error::new_spanned(reference, format!("{expected}, not `&Bencher`: add `mut`")),
        ),
        other if names_bencher(other) => Err(syn::Error::new_spanned(
            other,
            format!("{expected}: the bench runner lends the `Bencher`, so take it by `&mut`"),
        )),
        other => Err(syn::Error::new_spanned(other, expected)),
    }
}

/// The `T` of a stage bench's `&mut T` parameter, with every lifetime made `'_`: the check runs
/// in a function of its own, where the bench function's lifetime parameters are not in scope.
fn bencher_param(item: &ItemFn) -> Option<TokenStream> {
    let FnArg::Typed(param) = item.sig.inputs.first()? else {
        return None;
    };
    let Type::Reference(reference) = strip(&param.ty) else {
        return None;
    };
    let elem = reference.elem.to_token_stream();
    // `for<'a>` cannot become `for<'_>`; such a type is never the `Bencher`, and the call to the
    // function says so.
    (!has_for(&elem)).then(|| erase_lifetimes(elem))
}

fn has_for(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "for",
        proc_macro2::TokenTree::Group(group) => has_for(&group.stream()),
        _ => false,
    })
}

fn erase_lifetimes(tokens: TokenStream) -> TokenStream {
    use proc_macro2::{Group, Ident, Punct, Spacing, TokenTree};
    let mut out = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Punct(punct) if punct.as_char() == '\'' => {
                let span = punct.span();
                // A lifetime is `'` joined to an identifier.
                if matches!(tokens.peek(), Some(TokenTree::Ident(_))) {
                    tokens.next();
                }
                let mut tick = Punct::new('\'', Spacing::Joint);
                tick.set_span(span);
                out.push(TokenTree::Punct(tick));
                out.push(TokenTree::Ident(Ident::new("_", span)));
            }
            TokenTree::Group(group) => {
                let mut erased = Group::new(group.delimiter(), erase_lifetimes(group.stream()));
                erased.set_span(group.span());
                out.push(TokenTree::Group(erased));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Paren(inner) => strip(&inner.elem),
        Type::Group(inner) => strip(&inner.elem),
        _ => ty,
    }
}

fn names_bencher(ty: &Type) -> bool {
    match strip(ty) {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Bencher"),
        _ => false,
    }
}

/// The user's function, unchanged, followed by its runner and its registration.
pub(crate) fn expand(options: &Options, item: &ItemFn) -> TokenStream {
    let root = options
        .krate
        .clone()
        .unwrap_or_else(|| quote!(::model_bench));
    let krate = quote!(#root::__private);
    let ident = &item.sig.ident;
    let fn_span = ident.span();

    let name = options
        .name
        .clone()
        .unwrap_or_else(|| ident.unraw().to_string());
    let pipeline = optional(options.pipeline.as_deref());
    let stage = match &options.stage {
        _ if options.remote => quote!(#krate::Stage::Custom("remote")),
        Some(Stage::Load) => quote!(#krate::Stage::Load),
        Some(Stage::Preprocess) => quote!(#krate::Stage::Preprocess),
        Some(Stage::Forward) => quote!(#krate::Stage::Forward),
        Some(Stage::Postprocess) => quote!(#krate::Stage::Postprocess),
        Some(Stage::EndToEnd) => quote!(#krate::Stage::EndToEnd),
        Some(Stage::Custom(custom)) => quote!(#krate::Stage::Custom(#custom)),
        None => quote!(#krate::Stage::Custom(#name)),
    };
    let device = match options.device.unwrap_or(Device::Cpu) {
        Device::Cpu => quote!(#krate::Device::Cpu),
        Device::Cuda => quote!(#krate::Device::Cuda),
    };
    let batch = options
        .batch
        .iter()
        .flatten()
        .map(|&size| Literal::usize_unsuffixed(size));
    let cold = options.cold || options.cold_runs.is_some();
    let cold_runs = optional(options.cold_runs.map(Literal::u32_unsuffixed));
    let sample_size = optional(options.sample_size.map(Literal::usize_unsuffixed));
    let duration = |nanos: Option<u64>| {
        optional(nanos.map(|nanos| {
            let nanos = Literal::u64_unsuffixed(nanos);
            quote!(#krate::Duration::from_nanos(#nanos))
        }))
    };
    let warm_up_time = duration(options.warm_up_time);
    let measurement_time = duration(options.measurement_time);

    // Spanned on the user's function so the registered location is the function's, not the
    // attribute's.
    let file = quote_spanned!(fn_span=> ::core::file!());
    let line = quote_spanned!(fn_span=> ::core::line!());
    // Spanned on the return type so a type that is not a bench outcome is reported there.
    let run_body = match &item.sig.output {
        ReturnType::Type(_, ty) => {
            let mut callee = ident.clone();
            callee.set_span(ty.span());
            quote_spanned! {ty.span()=>
                #krate::IntoBenchOutcome::into_bench_outcome(#callee(b))
            }
        }
        ReturnType::Default => quote!(#krate::IntoBenchOutcome::into_bench_outcome(#ident(b))),
    };

    let (runner, kind) = if options.remote {
        let endpoint_body = match &item.sig.output {
            ReturnType::Type(_, ty) => {
                let mut callee = ident.clone();
                callee.set_span(ty.span());
                quote_spanned! {ty.span()=>
                    #krate::IntoEndpoint::into_endpoint(#callee())
                }
            }
            ReturnType::Default => quote!(#krate::IntoEndpoint::into_endpoint(#ident())),
        };
        let concurrency = options
            .concurrency
            .iter()
            .flatten()
            .map(|&c| Literal::usize_unsuffixed(c));
        let rate = options
            .rate
            .iter()
            .flatten()
            .map(|&r| Literal::f64_suffixed(r));
        let (poisson, gamma_shape) = match options.arrival {
            Some(ArrivalOption::Constant) => (false, None),
            None | Some(ArrivalOption::Poisson) => (true, None),
            Some(ArrivalOption::Gamma(shape)) => (true, Some(shape)),
        };
        let gamma_shape = optional(gamma_shape.map(Literal::f64_suffixed));
        let max_in_flight = optional(options.max_in_flight.map(Literal::usize_unsuffixed));
        let requests = optional(options.requests.map(Literal::u64_unsuffixed));
        let seed = optional(options.seed.map(Literal::u64_unsuffixed));
        let compare = optional(options.compare.as_deref());
        let trace = options.trace;
        let scenario = optional(
            options
                .scenario
                .as_ref()
                .map(|s| scenario_tokens(&krate, s)),
        );
        (
            quote! {
                fn __model_bench_endpoint() -> ::core::result::Result<
                    #root::remote::AnyEndpoint,
                    ::std::string::String,
                > {
                    #endpoint_body
                }
            },
            quote! {
                #krate::BenchKind::Remote(#krate::RemoteBench {
                    endpoint: __model_bench_endpoint,
                    concurrency: &[#(#concurrency),*],
                    rate: &[#(#rate),*],
                    poisson: #poisson,
                    gamma_shape: #gamma_shape,
                    max_in_flight: #max_in_flight,
                    requests: #requests,
                    seed: #seed,
                    scenario: #scenario,
                    trace: #trace,
                    compare: #compare,
                })
            },
        )
    } else {
        // Spanned on the parameter's type, so a type that is not the `Bencher` is reported there.
        let is_bencher = bencher_param(item).map(|ty| {
            quote_spanned! {ty.span()=> #krate::assert_bencher::<#ty>();}
        });
        (
            quote! {
                fn __model_bench_run(
                    b: &mut #root::Bencher<'_, '_>,
                ) -> #krate::BenchOutcome {
                    #is_bencher
                    #run_body
                }
            },
            quote!(#krate::BenchKind::Stage(__model_bench_run)),
        )
    };

    quote! {
        #item

        const _: () = {
            #runner

            #[#krate::linkme::distributed_slice(#krate::BENCHES)]
            #[linkme(crate = #krate::linkme)]
            static __MODEL_BENCH: #krate::BenchDescriptor = #krate::BenchDescriptor {
                name: #name,
                module_path: ::core::module_path!(),
                file: #file,
                line: #line,
                pipeline: #pipeline,
                stage: #stage,
                device: #device,
                batch: &[#(#batch),*],
                cold: #cold,
                cold_runs: #cold_runs,
                sample_size: #sample_size,
                warm_up_time: #warm_up_time,
                measurement_time: #measurement_time,
                kind: #kind,
            };
        };
    }
}

fn optional(value: Option<impl ToTokens>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// A scenario as a `ScenarioSpec` constant.
fn scenario_tokens(
    krate: &proc_macro2::TokenStream,
    scenario: &crate::scenario::Scenario,
) -> proc_macro2::TokenStream {
    use crate::scenario::Scenario;
    let f = Literal::f64_suffixed;
    let ns = |value: u64| quote!(::core::time::Duration::from_nanos(#value));
    match *scenario {
        Scenario::Ramp {
            from,
            to,
            steps,
            step_ns,
        } => {
            let (from, to, steps, step) = (
                f(from),
                f(to),
                Literal::usize_unsuffixed(steps),
                ns(step_ns),
            );
            quote!(#krate::ScenarioSpec::Ramp { from: #from, to: #to, steps: #steps, step: #step })
        }
        Scenario::ConcurrencyRamp {
            from,
            to,
            steps,
            step_ns,
        } => {
            let (from, to, steps, step) = (
                Literal::usize_unsuffixed(from),
                Literal::usize_unsuffixed(to),
                Literal::usize_unsuffixed(steps),
                ns(step_ns),
            );
            quote!(#krate::ScenarioSpec::ConcurrencyRamp { from: #from, to: #to, steps: #steps, step: #step })
        }
        Scenario::Spike {
            baseline,
            factor,
            before_ns,
            spike_ns,
            after_ns,
            recovered_within_pct,
        } => {
            let (baseline, factor, within) = (f(baseline), f(factor), f(recovered_within_pct));
            let (before, spike, after) = (ns(before_ns), ns(spike_ns), ns(after_ns));
            quote!(#krate::ScenarioSpec::Spike {
                baseline: #baseline,
                factor: #factor,
                before: #before,
                spike: #spike,
                after: #after,
                recovered_within_pct: #within,
            })
        }
        Scenario::Stress {
            start,
            increment,
            step_ns,
            max_steps,
            slo_p99_ns,
            min_goodput,
            max_error_rate,
        } => {
            let (start, increment, max_error_rate) = (f(start), f(increment), f(max_error_rate));
            let step = ns(step_ns);
            let slo = optional(slo_p99_ns.map(ns));
            let min_goodput = optional(min_goodput.map(f));
            let max_steps = Literal::usize_unsuffixed(max_steps);
            quote!(#krate::ScenarioSpec::Stress {
                start: #start,
                increment: #increment,
                step: #step,
                max_steps: #max_steps,
                slo_p99: #slo,
                min_goodput: #min_goodput,
                max_error_rate: #max_error_rate,
            })
        }
        Scenario::Soak {
            rate,
            concurrency,
            duration_ns,
            window_ns,
            leak_mib_per_min,
        } => {
            let rate = match rate {
                Some(rate) => {
                    let rate = f(rate);
                    quote!(::core::option::Option::Some(#rate))
                }
                None => quote!(::core::option::Option::None),
            };
            let concurrency = match concurrency {
                Some(n) => {
                    let n = Literal::usize_unsuffixed(n);
                    quote!(::core::option::Option::Some(#n))
                }
                None => quote!(::core::option::Option::None),
            };
            let (duration, window, leak) = (ns(duration_ns), ns(window_ns), f(leak_mib_per_min));
            quote!(#krate::ScenarioSpec::Soak {
                rate: #rate,
                concurrency: #concurrency,
                duration: #duration,
                window: #window,
                leak_mib_per_min: #leak,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the expansion names the `model_bench` crate in a path (its own items are called
    /// `__model_bench_…`).
    fn names_the_crate(expansion: &str) -> bool {
        expansion.contains(":: model_bench ::") || expansion.contains("model_bench :: ")
    }

    fn expanded(args: TokenStream, item: TokenStream) -> String {
        let options = Options::parse(args).unwrap();
        let item: ItemFn = syn::parse2(item).unwrap();
        expand(&options, &item).to_string()
    }

    /// With `crate = path`, nothing in the expansion names `model_bench`: a crate that renamed
    /// the dependency has no such crate to reach.
    #[test]
    fn the_expansion_reaches_the_library_only_through_the_given_path() {
        let stage = expanded(
            quote!(crate = mb),
            quote!(
                fn f(b: &mut mb::Bencher) {}
            ),
        );
        assert!(!names_the_crate(&stage), "{stage}");
        assert!(stage.contains("mb :: __private"), "{stage}");
        let remote = expanded(
            quote!(remote, crate = ::renamed, concurrency = [1]),
            quote!(
                fn r() -> renamed::remote::V2Endpoint {
                    todo!()
                }
            ),
        );
        assert!(!names_the_crate(&remote), "{remote}");
        assert!(
            remote.contains(":: renamed :: remote :: AnyEndpoint"),
            "{remote}"
        );
        let default = expanded(
            quote!(),
            quote!(
                fn f(b: &mut Bencher) {}
            ),
        );
        assert!(names_the_crate(&default), "{default}");
    }

    #[test]
    fn lifetimes_are_erased_for_the_bencher_check() {
        let item: ItemFn = syn::parse2(quote!(
            fn f<'a, 'g>(b: &mut Lent<'a, 'g>) {}
        ))
        .unwrap();
        assert_eq!(
            bencher_param(&item).unwrap().to_string(),
            quote!(Lent<'_, '_>).to_string()
        );
        let higher: ItemFn = syn::parse2(quote!(
            fn f(b: &mut for<'a> fn(&'a u8)) {}
        ))
        .unwrap();
        assert!(bencher_param(&higher).is_none());
    }
}
