//! The Open Inference Protocol gRPC messages, client and server, generated from
//! `proto/grpc_service.proto` by `build.rs`.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

tonic::include_proto!("inference");
