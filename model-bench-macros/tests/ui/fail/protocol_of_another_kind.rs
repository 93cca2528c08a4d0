//! An OpenAI-compatible endpoint cannot be switched to a V2 protocol, and a V2 endpoint cannot
//! be given the generic `Protocol` of a stream.
use model_bench::prelude::*;

fn main() {
    let _ = Endpoint::openai_chat("m").with_protocol(V2Protocol::Grpc);
    let _ = Endpoint::rest("m").with_protocol(Protocol::OpenAiChat);
}
