//! The `#[model_bench(...)]` options: their grammar, and every check on their values. Checking
//! here, at compile time, turns a typo into an error on the user's own tokens instead of a bench
//! that silently runs with the wrong settings.

use syn::meta::ParseNestedMeta;
use syn::{Expr, ExprLit, Lit, LitStr, Token};

use crate::arrival::{arrival, ArrivalOption};
use crate::values::lists::{batch, int_list, integer, rates};
use crate::values::{crate_path, duration, option_name, ungroup, value};

const OPTION_NAMES: &str = "pipeline, name, stage, batch, device, cold, cold_runs, sample_size, \
                            warm_up_time, measurement_time, remote, concurrency, rate, arrival, \
                            max_in_flight, requests, seed, trace, ramp, spike, stress, soak, \
                            compare, crate";

const STAGE_NAMES: &str = "load, preprocess, forward, postprocess, end_to_end (or e2e)";

/// criterion refuses fewer samples than this, so a smaller `sample_size` could only fail at run
/// time.
const MIN_SAMPLE_SIZE: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stage {
    Load,
    Preprocess,
    Forward,
    Postprocess,
    EndToEnd,
    Custom(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Device {
    Cpu,
    Cuda,
}

/// The options as written; `None` means the option was left out.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub pipeline: Option<String>,
    pub name: Option<String>,
    pub stage: Option<Stage>,
    pub batch: Option<Vec<usize>>,
    pub device: Option<Device>,
    pub cold: bool,
    pub cold_runs: Option<u32>,
    pub sample_size: Option<usize>,
    pub warm_up_time: Option<u64>,
    pub measurement_time: Option<u64>,
    pub remote: bool,
    pub concurrency: Option<Vec<usize>>,
    pub rate: Option<Vec<f64>>,
    pub arrival: Option<ArrivalOption>,
    pub max_in_flight: Option<usize>,
    pub requests: Option<u64>,
    pub seed: Option<u64>,
    /// Replay the endpoint's trace: one point at the trace's own pace.
    pub trace: bool,
    pub scenario: Option<crate::scenario::Scenario>,
    pub compare: Option<String>,
    /// `crate = path`: where model-bench is, for a renamed dependency (default `::model_bench`).
    pub krate: Option<proc_macro2::TokenStream>,
    /// Where each option was written, to point at when options conflict.
    pub spans: Vec<(&'static str, proc_macro2::Span)>,
}

impl Options {
    /// Parses the attribute's arguments, stopping at the first invalid option.
    pub(crate) fn parse(args: proc_macro2::TokenStream) -> syn::Result<Options> {
        let mut options = Options::default();
        let parser = syn::meta::parser(|meta| options.parse_one(&meta));
        syn::parse::Parser::parse2(parser, args)?;
        options.check_combinations()?;
        Ok(options)
    }

    fn span_of(&self, option: &str) -> proc_macro2::Span {
        self.spans
            .iter()
            .find(|(name, _)| *name == option)
            .map(|(_, span)| *span)
            .unwrap_or_else(proc_macro2::Span::call_site)
    }

    /// Options that only make sense for one kind of bench, or not together.
    fn check_combinations(&self) -> syn::Result<()> {
        let conflict =
            |option: &str, message: String| Err(syn::Error::new(self.span_of(option), message));
        if self.remote {
            for (option, set) in [
                ("stage", self.stage.is_some()),
                ("batch", self.batch.is_some()),
                ("device", self.device.is_some()),
                ("cold", self.cold),
                ("cold_runs", self.cold_runs.is_some()),
            ] {
                if set {
                    return conflict(
                        option,
                        format!(
                            "`{option}` does not apply to a `remote` bench; \
                             a remote bench is swept with `concurrency = [..]` or `rate = [..]`"
                        ),
                    );
                }
            }
            if let Some(kind) = crate::scenario::NAMES
                .iter()
                .find(|name| self.spans.iter().any(|(option, _)| option == *name))
            {
                for option in [
                    "concurrency",
                    "rate",
                    "arrival",
                    "requests",
                    "measurement_time",
                ] {
                    if self.spans.iter().any(|(name, _)| *name == option) {
                        return conflict(
                            option,
                            format!(
                                "`{option}` does not apply to a `{kind}` scenario: the scenario \
                                 sets its own load and durations (constant arrivals)"
                            ),
                        );
                    }
                }
            }
            if self.trace {
                for option in [
                    "concurrency",
                    "rate",
                    "arrival",
                    "seed",
                    "measurement_time",
                    "ramp",
                    "spike",
                    "stress",
                    "soak",
                ] {
                    if self.spans.iter().any(|(name, _)| *name == option) {
                        return conflict(
                            option,
                            format!(
                                "`{option}` does not apply to a `trace` replay: the trace sets \
                                 its arrivals and its length"
                            ),
                        );
                    }
                }
                return Ok(());
            }
            if self.concurrency.is_some() && self.rate.is_some() {
                return conflict(
                    "rate",
                    "a remote bench is either closed-loop (`concurrency`) or open-loop (`rate`), \
                     not both; write two bench functions to compare them"
                        .into(),
                );
            }
            if self.rate.is_none() && self.scenario.is_none() {
                for option in ["arrival", "max_in_flight", "seed"] {
                    if self.spans.iter().any(|(name, _)| *name == option) {
                        return conflict(
                            option,
                            format!("`{option}` applies to open-loop benches: add `rate = [..]`"),
                        );
                    }
                }
            }
        } else {
            for option in [
                "concurrency",
                "rate",
                "arrival",
                "max_in_flight",
                "requests",
                "seed",
                "trace",
                "ramp",
                "spike",
                "stress",
                "soak",
                "compare",
            ] {
                if self.spans.iter().any(|(name, _)| *name == option) {
                    return conflict(
                        option,
                        format!(
                            "`{option}` applies to remote endpoint benches: add `remote` \
                             (and return an endpoint from the function)"
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    fn parse_one(&mut self, meta: &ParseNestedMeta) -> syn::Result<()> {
        let Some(ident) = meta.path.get_ident() else {
            return Err(unknown_option(meta));
        };
        let option = ident.to_string();
        if let Some(name) = OPTIONS.iter().find(|name| **name == option) {
            self.spans.push((name, ident.span()));
        }
        match option.as_str() {
            "pipeline" => {
                unset(meta, &self.pipeline)?;
                let lit = string(&value(meta, "pipeline = \"resnet50\"")?, "pipeline")?;
                self.pipeline = Some(bench_id_part(&lit, "pipeline")?);
            }
            "name" => {
                unset(meta, &self.name)?;
                let lit = string(&value(meta, "name = \"resnet50_fp16\"")?, "name")?;
                self.name = Some(bench_id_part(&lit, "name")?);
            }
            "stage" => {
                unset(meta, &self.stage)?;
                self.stage = Some(stage(&value(meta, "stage = forward")?)?);
            }
            "batch" => {
                unset(meta, &self.batch)?;
                self.batch = Some(batch(&value(meta, "batch = [1, 8, 32]")?)?);
            }
            "device" => {
                unset(meta, &self.device)?;
                self.device = Some(device(&value(meta, "device = cuda")?)?);
            }
            "cold" => {
                if self.cold {
                    return Err(duplicate(meta));
                }
                no_value(
                    meta,
                    "`cold` is a flag and takes no value; write `cold`, \
                     or `cold_runs = N` to also choose how many cold runs",
                )?;
                self.cold = true;
            }
            "cold_runs" => {
                unset(meta, &self.cold_runs)?;
                let (runs, lit): (u32, _) = integer(&value(meta, "cold_runs = 5")?, "cold_runs")?;
                if runs == 0 {
                    return Err(syn::Error::new_spanned(
                        lit,
                        "`cold_runs` must be at least 1",
                    ));
                }
                self.cold_runs = Some(runs);
            }
            "sample_size" => {
                unset(meta, &self.sample_size)?;
                let (size, lit): (usize, _) =
                    integer(&value(meta, "sample_size = 50")?, "sample_size")?;
                if size < MIN_SAMPLE_SIZE {
                    return Err(syn::Error::new_spanned(
                        lit,
                        format!(
                            "`sample_size` must be at least {MIN_SAMPLE_SIZE}, criterion's minimum"
                        ),
                    ));
                }
                self.sample_size = Some(size);
            }
            "warm_up_time" => {
                unset(meta, &self.warm_up_time)?;
                let expr = value(meta, "warm_up_time = \"500ms\"")?;
                self.warm_up_time = Some(duration(&expr, "warm_up_time")?);
            }
            "measurement_time" => {
                unset(meta, &self.measurement_time)?;
                let expr = value(meta, "measurement_time = \"5s\"")?;
                self.measurement_time = Some(duration(&expr, "measurement_time")?);
            }
            "remote" => {
                if self.remote {
                    return Err(duplicate(meta));
                }
                no_value(
                    meta,
                    "`remote` is a flag and takes no value; write `remote`",
                )?;
                self.remote = true;
            }
            "concurrency" => {
                unset(meta, &self.concurrency)?;
                let expr = value(meta, "concurrency = [1, 4, 16]")?;
                self.concurrency =
                    Some(int_list(&expr, "concurrency", "concurrency = [1, 4, 16]")?);
            }
            "rate" => {
                unset(meta, &self.rate)?;
                self.rate = Some(rates(&value(meta, "rate = [100, 500]")?)?);
            }
            "arrival" => {
                unset(meta, &self.arrival)?;
                self.arrival = Some(arrival(&value(meta, "arrival = poisson")?)?);
            }
            "max_in_flight" => {
                unset(meta, &self.max_in_flight)?;
                let (max, lit): (usize, _) =
                    integer(&value(meta, "max_in_flight = 256")?, "max_in_flight")?;
                if max == 0 {
                    return Err(syn::Error::new_spanned(
                        lit,
                        "`max_in_flight` must be at least 1",
                    ));
                }
                self.max_in_flight = Some(max);
            }
            "requests" => {
                unset(meta, &self.requests)?;
                let (requests, lit): (u64, _) =
                    integer(&value(meta, "requests = 10000")?, "requests")?;
                if requests == 0 {
                    return Err(syn::Error::new_spanned(
                        lit,
                        "`requests` must be at least 1",
                    ));
                }
                self.requests = Some(requests);
            }
            "seed" => {
                unset(meta, &self.seed)?;
                self.seed = Some(integer(&value(meta, "seed = 42")?, "seed")?.0);
            }
            "trace" => {
                if self.trace {
                    return Err(duplicate(meta));
                }
                no_value(
                    meta,
                    "`trace` is a flag and takes no value; write `trace`, and give the endpoint \
                     its trace with `.trace(Trace::mooncake(\"trace.jsonl\"))`",
                )?;
                self.trace = true;
            }
            "crate" => {
                unset(meta, &self.krate)?;
                self.krate = Some(crate_path(&value(meta, "crate = mb")?)?);
            }
            "compare" => {
                unset(meta, &self.compare)?;
                let lit = string(&value(meta, "compare = \"servers\"")?, "compare")?;
                self.compare = Some(bench_id_part(&lit, "compare")?);
            }
            kind @ ("ramp" | "spike" | "stress" | "soak") => {
                if let Some(first) = self
                    .spans
                    .iter()
                    .find(|(name, _)| crate::scenario::NAMES.contains(name) && *name != kind)
                {
                    return Err(syn::Error::new_spanned(
                        &meta.path,
                        format!(
                            "a bench runs one scenario: `{kind}` and `{}` cannot both be given; \
                             write two bench functions",
                            first.0
                        ),
                    ));
                }
                unset(meta, &self.scenario)?;
                self.scenario = Some(crate::scenario::parse(kind, meta)?);
            }
            _ => return Err(unknown_option(meta)),
        }
        Ok(())
    }
}

const OPTIONS: [&str; 24] = [
    "pipeline",
    "name",
    "stage",
    "batch",
    "device",
    "cold",
    "cold_runs",
    "sample_size",
    "warm_up_time",
    "measurement_time",
    "remote",
    "concurrency",
    "rate",
    "arrival",
    "max_in_flight",
    "requests",
    "seed",
    "trace",
    "ramp",
    "spike",
    "stress",
    "soak",
    "compare",
    "crate",
];

fn unknown_option(meta: &ParseNestedMeta) -> syn::Error {
    syn::Error::new_spanned(
        &meta.path,
        format!(
            "unknown option `{}`; expected one of: {OPTION_NAMES}",
            option_name(meta)
        ),
    )
}

/// `cold` and `remote` are bare flags; anything after one but a comma deserves a clearer message
/// than syn's "expected `,`".
fn no_value(meta: &ParseNestedMeta, message: &str) -> syn::Result<()> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        return Ok(());
    }
    if meta.input.peek(Token![=]) {
        // Consumed only so that the error below covers `cold = value`.
        meta.value()?.parse::<Expr>()?;
    }
    Err(meta.error(message))
}

fn duplicate(meta: &ParseNestedMeta) -> syn::Error {
    syn::Error::new_spanned(
        &meta.path,
        format!("duplicate option `{}`", option_name(meta)),
    )
}

/// Reports the second occurrence of an option, on its name.
fn unset<T>(meta: &ParseNestedMeta, slot: &Option<T>) -> syn::Result<()> {
    match slot {
        Some(_) => Err(duplicate(meta)),
        None => Ok(()),
    }
}

fn string(expr: &Expr, option: &str) -> syn::Result<LitStr> {
    match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("expected a string literal for `{option}`, like `{option} = \"resnet50\"`"),
        )),
    }
}

/// Pipelines, names and custom stages become parts of criterion ids, where `/` is the separator.
fn bench_id_part(lit: &LitStr, option: &str) -> syn::Result<String> {
    let value = lit.value();
    if value.trim().is_empty() {
        return Err(syn::Error::new_spanned(
            lit,
            format!("`{option}` must not be empty"),
        ));
    }
    if value.contains('/') {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "`{option}` must not contain `/`: it separates the pipeline, \
                 the bench name and the batch size in bench ids"
            ),
        ));
    }
    Ok(value)
}

fn stage(expr: &Expr) -> syn::Result<Stage> {
    match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => {
            let custom = bench_id_part(lit, "stage")?;
            // A quoted built-in would report under the same name as the real stage yet not be
            // broken down with it.
            let builtin = [
                "load",
                "preprocess",
                "forward",
                "postprocess",
                "end_to_end",
                "e2e",
            ];
            if builtin.contains(&custom.as_str()) {
                return Err(syn::Error::new_spanned(
                    lit,
                    format!(
                        "`{custom}` is a built-in stage: \
                         write it without quotes, `stage = {custom}`"
                    ),
                ));
            }
            Ok(Stage::Custom(custom))
        }
        Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_some() => {
            let ident = &path.path.segments[0].ident;
            match ident.to_string().as_str() {
                "load" => Ok(Stage::Load),
                "preprocess" => Ok(Stage::Preprocess),
                "forward" => Ok(Stage::Forward),
                "postprocess" => Ok(Stage::Postprocess),
                "end_to_end" | "e2e" => Ok(Stage::EndToEnd),
                other => Err(syn::Error::new_spanned(
                    ident,
                    format!(
                        "unknown stage `{other}`; expected one of: {STAGE_NAMES}, \
                         or a string literal such as `stage = \"{other}\"` for a custom stage"
                    ),
                )),
            }
        }
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "expected a stage: one of {STAGE_NAMES}, \
                 or a string literal such as `stage = \"tokenize\"` for a custom stage"
            ),
        )),
    }
}

fn device(expr: &Expr) -> syn::Result<Device> {
    let expected = "expected a device: `cpu` or `cuda`";
    match ungroup(expr) {
        Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_some() => {
            let ident = &path.path.segments[0].ident;
            match ident.to_string().as_str() {
                "cpu" => Ok(Device::Cpu),
                "cuda" => Ok(Device::Cuda),
                other => Err(syn::Error::new_spanned(
                    ident,
                    format!("unknown device `{other}`; {expected}"),
                )),
            }
        }
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Err(syn::Error::new_spanned(
            lit,
            format!("{expected}, written without quotes, like `device = cuda`"),
        )),
        other => Err(syn::Error::new_spanned(other, expected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use quote::quote;

    fn error(args: proc_macro2::TokenStream) -> String {
        match Options::parse(args) {
            Ok(options) => panic!("expected an error, parsed {options:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn no_options() {
        let options = Options::parse(quote!()).expect("empty options parse");
        assert_eq!(options.name, None);
        assert_eq!(options.stage, None);
        assert!(!options.cold);
    }

    #[test]
    fn every_option() {
        let options = Options::parse(quote!(
            pipeline = "resnet",
            name = "fp16",
            stage = e2e,
            batch = [1, 2, 4, 8],
            device = cuda,
            cold,
            cold_runs = 5,
            sample_size = 10,
            warm_up_time = "500ms",
            measurement_time = "1.5s",
        ))
        .expect("valid options parse");
        assert_eq!(options.pipeline.as_deref(), Some("resnet"));
        assert_eq!(options.name.as_deref(), Some("fp16"));
        assert_eq!(options.stage, Some(Stage::EndToEnd));
        assert_eq!(options.batch, Some(vec![1, 2, 4, 8]));
        assert_eq!(options.device, Some(Device::Cuda));
        assert!(options.cold);
        assert_eq!(options.cold_runs, Some(5));
        assert_eq!(options.sample_size, Some(10));
        assert_eq!(options.warm_up_time, Some(500_000_000));
        assert_eq!(options.measurement_time, Some(1_500_000_000));
    }

    #[test]
    fn stages() {
        let parse = |args| Options::parse(args).expect("stage parses").stage;
        assert_eq!(parse(quote!(stage = load)), Some(Stage::Load));
        assert_eq!(parse(quote!(stage = preprocess)), Some(Stage::Preprocess));
        assert_eq!(parse(quote!(stage = forward)), Some(Stage::Forward));
        assert_eq!(parse(quote!(stage = postprocess)), Some(Stage::Postprocess));
        assert_eq!(parse(quote!(stage = end_to_end)), Some(Stage::EndToEnd));
        assert_eq!(
            parse(quote!(stage = "tokenize")),
            Some(Stage::Custom("tokenize".into()))
        );
        assert!(error(quote!(stage = inference)).contains("unknown stage `inference`"));
        assert!(error(quote!(stage = "")).contains("must not be empty"));
        assert!(error(quote!(stage = "a/b")).contains("must not contain `/`"));
        assert!(error(quote!(stage = "forward")).contains("without quotes"));
    }

    #[test]
    fn option_errors() {
        assert!(error(quote!(foo = 1)).starts_with("unknown option `foo`; expected one of:"));
        assert!(error(quote!(a::b)).starts_with("unknown option `a::b`"));
        assert_eq!(error(quote!(cold, cold)), "duplicate option `cold`");
        assert_eq!(
            error(quote!(name = "a", name = "b")),
            "duplicate option `name`"
        );
        assert!(error(quote!(cold = 3)).contains("takes no value"));
        assert!(error(quote!(pipeline)).contains("needs a value"));
        assert!(error(quote!(pipeline("x"))).contains("needs a value"));
        assert!(error(quote!(pipeline = x)).contains("expected a string literal"));
        assert!(error(quote!(name = "")).contains("must not be empty"));
        assert!(error(quote!(batch = 4)).contains("expected a list"));
        assert!(error(quote!(batch = [])).contains("at least one"));
        assert!(error(quote!(batch = [0])).contains("at least 1"));
        assert!(error(quote!(batch = [2, 2])).contains("strictly increasing"));
        assert!(error(quote!(batch = [1, x])).contains("integer literal"));
        assert!(error(quote!(remote = 1)).contains("takes no value"));
        assert!(error(quote!(remote, batch = [1])).contains("does not apply to a `remote` bench"));
        assert!(error(quote!(remote, cold)).contains("does not apply"));
        assert!(error(quote!(remote, concurrency = [1], rate = [5])).contains("not both"));
        assert!(error(quote!(remote, trace, rate = [5])).contains("a `trace` replay"));
        assert!(error(quote!(remote, trace, concurrency = [2])).contains("a `trace` replay"));
        assert!(error(quote!(remote, trace = 1)).contains("takes no value"));
        assert!(error(quote!(trace)).contains("add `remote`"));
        let replay = Options::parse(quote!(remote, trace, max_in_flight = 64, requests = 100))
            .expect("a replay with a cap and a budget");
        assert!(replay.trace);
        assert!(error(quote!(remote, arrival = poisson)).contains("add `rate = [..]`"));
        assert!(error(quote!(concurrency = [4])).contains("add `remote`"));
        assert!(error(quote!(remote, rate = [0])).contains("greater than zero"));
        assert!(error(quote!(remote, rate = [5, 5.0])).contains("strictly increasing"));
        assert!(error(quote!(remote, rate = [5], arrival = bursty)).contains("unknown arrival"));
        assert!(error(quote!(remote, rate = [5], arrival = gamma(0))).contains("greater than zero"));
        assert!(error(quote!(remote, rate = [5], arrival = gamma())).contains("one number"));
        assert!(error(quote!(remote, stress(start = 1, increment = 1))).contains("a limit to find"));
        assert!(error(quote!(
            remote,
            stress(start = 1, increment = 1, min_goodput = 1.5)
        ))
        .contains("at most 1"));
        let stress = Options::parse(quote!(
            remote,
            stress(start = 1, increment = 1, min_goodput = 0.9)
        ))
        .unwrap()
        .scenario;
        assert!(
            matches!(
                stress,
                Some(crate::scenario::Scenario::Stress {
                    slo_p99_ns: None,
                    min_goodput: Some(share),
                    ..
                }) if share == 0.9
            ),
            "{stress:?}"
        );
        let gamma = Options::parse(quote!(remote, rate = [5], arrival = gamma(0.5))).unwrap();
        assert_eq!(gamma.arrival, Some(ArrivalOption::Gamma(0.5)));
        assert!(error(quote!(remote, concurrency = [0])).contains("at least 1"));
        assert!(error(quote!(remote, rate = [5], max_in_flight = 0)).contains("at least 1"));
        assert!(error(quote!(device = gpu)).contains("unknown device `gpu`"));
        assert!(error(quote!(device = "cuda")).contains("without quotes"));
        assert!(error(quote!(cold_runs = 0)).contains("at least 1"));
        assert!(error(quote!(sample_size = 9)).contains("at least 10"));
        assert!(error(quote!(sample_size = -9)).contains("integer literal"));
        assert!(error(quote!(warm_up_time = 3)).contains("\"3s\""));
        assert!(error(quote!(warm_up_time = "0s")).contains("greater than zero"));
        assert!(error(quote!(measurement_time = "fast")).contains("expected a positive number"));
    }

    #[test]
    fn remote_options() {
        let options = Options::parse(quote!(
            remote,
            rate = [100, 250.5],
            arrival = poisson,
            max_in_flight = 64,
            requests = 1000,
            seed = 7,
        ))
        .expect("remote options parse");
        assert!(options.remote);
        assert_eq!(options.rate, Some(vec![100.0, 250.5]));
        assert_eq!(options.arrival, Some(ArrivalOption::Poisson));
        assert_eq!(options.max_in_flight, Some(64));
        assert_eq!(options.requests, Some(1000));
        assert_eq!(options.seed, Some(7));
        let closed = Options::parse(quote!(remote, concurrency = [1, 8])).expect("closed loop");
        assert_eq!(closed.concurrency, Some(vec![1, 8]));
    }

    #[test]
    fn cold_runs_parses() {
        let options = Options::parse(quote!(cold_runs = 3)).expect("cold_runs parses");
        assert_eq!(options.cold_runs, Some(3));
        // `cold_runs` alone implies a cold run; that is decided in the expansion.
        assert!(!options.cold);
    }
}
