//! How many runtime workers drive an endpoint's load best: the load generator's own policy,
//! read off the endpoint's kind and connections.

use crate::remote::endpoint::{Endpoint, Request};
use crate::results::Protocol;

/// The runtime workers for `endpoint`'s load. gRPC: one per HTTP/2 connection (every stream of
/// a connection goes through that connection's one task, so more workers only add cross-thread
/// wake-ups: 12.9 → 7.5 µs of client CPU per call on one connection). Others: half the cores,
/// at least one, leaving the rest to a server on the same machine; one worker drives about
/// 190k requests/s, and on two cores shared with the server a second one raised the client CPU
/// per request from 5.4 to 7.7 µs and lowered the throughput (docs/PERFORMANCE.md). A mixed
/// workload takes the most any member wants.
pub fn load_threads<R: Request>(endpoint: &Endpoint<R>) -> usize {
    let own = match endpoint.protocol() {
        Protocol::Grpc => endpoint.common.connections.unwrap_or(1),
        _ => (cores() / 2).max(1),
    };
    endpoint
        .common
        .mix
        .iter()
        .map(|member| load_threads(&member.endpoint))
        .fold(own, usize::max)
}

/// The cores this process may run on (1 when that cannot be read).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::oip::Tensor;

    #[test]
    fn grpc_load_runs_one_worker_per_connection() {
        let input = || Tensor::fp32("INPUT0", [1], &[1.0]).unwrap();
        let grpc = || Endpoint::grpc("m").input(input());
        assert_eq!(load_threads(&grpc()), 1);
        assert_eq!(load_threads(&grpc().connections(4)), 4);
        let rest = Endpoint::rest("m").input(input());
        assert_eq!(load_threads(&rest), (cores() / 2).max(1));
        let mixed = grpc().mix("wide", 1.0, grpc().connections(3));
        assert_eq!(load_threads(&mixed), 3);
        let with_rest = grpc().connections(64).mix("rest", 1.0, rest.clone());
        assert_eq!(load_threads(&with_rest), 64);
    }
}
