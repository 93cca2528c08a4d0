//! POST endpoints: a fixed body sent to a path, for servers that speak neither V2 nor OpenAI
//! (TorchServe's `/predictions/{model}`, a custom handler); any 2xx answer counts as success.

use super::request::PostRequest;
use super::shared::{Endpoint, DEFAULT_TIMEOUT};

impl Endpoint<PostRequest> {
    /// A plain POST of `body` (sent as `content_type`) to `path` under the endpoint's URL.
    pub fn post(path: impl Into<String>, content_type: impl Into<String>, body: Vec<u8>) -> Self {
        let request = PostRequest {
            path: path.into(),
            content_type: content_type.into(),
            body,
        };
        Endpoint::with_common(request, DEFAULT_TIMEOUT)
    }
}
