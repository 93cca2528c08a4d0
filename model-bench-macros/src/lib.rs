//! The `#[model_bench(...)]` attribute of model-bench. Use it through the `model_bench` crate,
//! which re-exports it; the generated code reaches the library through `::model_bench`, or the
//! path given with `crate = path`.

use proc_macro::TokenStream;
use quote::ToTokens;
use syn::{Item, ItemFn};

mod arrival;
mod expand;
mod options;
mod scenario;
mod values;

/// Registers a function `fn(b: &mut Bencher)` (a pipeline stage) or, with `remote`, one
/// returning an endpoint (`fn() -> V2Endpoint`, `OpenAiEndpoint`, `PostEndpoint`) as a bench. Its options are documented where users meet it, on the re-export
/// `model_bench::model_bench`: one section per option, with examples.
#[proc_macro_attribute]
pub fn model_bench(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let function: ItemFn = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(function)) => function,
        Ok(other) => return with_errors(item, &not_a_function(&other)),
        Err(error) => return with_errors(item, &error),
    };

    let args = proc_macro2::TokenStream::from(args);
    // Even when the options do not parse, `remote` among them decides which signature is right.
    let remote = args
        .clone()
        .into_iter()
        .any(|token| matches!(&token, proc_macro2::TokenTree::Ident(ident) if ident == "remote"));
    let options = options::Options::parse(args);
    let signature = expand::check_signature(&function, remote);
    match (options, signature) {
        (Ok(options), Ok(())) => expand::expand(&options, &function).into(),
        (Err(mut error), Err(more)) => {
            error.combine(more);
            with_errors(item, &error)
        }
        (Err(error), _) | (_, Err(error)) => with_errors(item, &error),
    }
}

/// Keeps the item as written next to the errors: other code that uses it then still resolves,
/// and only the attribute's own errors are reported.
fn with_errors(item: proc_macro2::TokenStream, error: &syn::Error) -> TokenStream {
    let mut tokens = item;
    tokens.extend(error.to_compile_error());
    tokens.into()
}

fn not_a_function(item: &Item) -> syn::Error {
    let message = "`#[model_bench]` goes on a function `fn name(b: &mut Bencher)`";
    // The item's keyword and name are enough to point at; spanning the whole item would
    // underline every line of a long struct or impl.
    let head = match item {
        Item::Struct(item) => pair(item.struct_token, &item.ident),
        Item::Enum(item) => pair(item.enum_token, &item.ident),
        Item::Union(item) => pair(item.union_token, &item.ident),
        Item::Trait(item) => pair(item.trait_token, &item.ident),
        Item::Mod(item) => pair(item.mod_token, &item.ident),
        Item::Const(item) => pair(item.const_token, &item.ident),
        Item::Static(item) => pair(item.static_token, &item.ident),
        Item::Type(item) => pair(item.type_token, &item.ident),
        Item::Impl(item) => pair(item.impl_token, &item.self_ty),
        other => other.to_token_stream(),
    };
    syn::Error::new_spanned(head, message)
}

fn pair(keyword: impl ToTokens, name: impl ToTokens) -> proc_macro2::TokenStream {
    quote::quote!(#keyword #name)
}
