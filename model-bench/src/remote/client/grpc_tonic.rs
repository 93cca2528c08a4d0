//! gRPC through tonic's channel: `ModelInfer` over TLS (`https://`), and every probe of a gRPC
//! endpoint (health, metadata, Triton's statistics) whichever transport carries its inference.
//! The request is encoded once; a codec sends those bytes as they are.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{Ascii, MetadataKey, MetadataValue};
use tonic::transport::{Channel, ClientTlsConfig};

use super::grpc_status::classify_status;
use super::transport::{
    BoxFuture, ClientError, ModelMetadata, ServerMetadata, Target, TensorInfo, Transport,
};
use crate::remote::endpoint::EndpointError;
use crate::remote::error::{chain, ErrorClass, RequestError};
use crate::remote::oip::grpc::MODEL_INFER;
use crate::remote::oip::proto;

type Metadata = Vec<(MetadataKey<Ascii>, MetadataValue<Ascii>)>;

fn with_metadata<T>(message: T, metadata: &Metadata) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for (key, value) in metadata {
        request.metadata_mut().insert(key.clone(), value.clone());
    }
    request
}

/// gRPC over tonic channels: one per connection the endpoint asks for, taken in turn.
pub(crate) struct Tonic {
    target: Target,
    channels: Vec<Channel>,
    next: AtomicUsize,
    request: Bytes,
    metadata: Metadata,
}

impl Tonic {
    /// Lazily connecting channels for `target`, sending the encoded `request` with `headers`
    /// as metadata and trusting `tls_ca` beside the system's roots.
    pub fn new(
        target: Target,
        request: Bytes,
        headers: &[(String, String)],
        connections: usize,
        tls_ca: Option<&[u8]>,
    ) -> Result<Tonic, ClientError> {
        let mut metadata = Vec::with_capacity(headers.len());
        for (name, value) in headers {
            let key =
                MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|e| {
                    ClientError::Endpoint(EndpointError::InvalidHeader {
                        header: name.clone(),
                        message: e.to_string(),
                    })
                })?;
            let value = MetadataValue::try_from(value.as_str()).map_err(|_| {
                ClientError::Endpoint(EndpointError::InvalidHeader {
                    header: name.clone(),
                    message: "the value is not valid ASCII metadata".into(),
                })
            })?;
            metadata.push((key, value));
        }
        let channels = (0..connections)
            .map(|_| {
                grpc_channel(&target.base_url, target.timeout, tls_ca)
                    .map_err(|message| target.setup_error(message))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Tonic {
            target,
            channels,
            next: AtomicUsize::new(0),
            request,
            metadata,
        })
    }

    /// The endpoint these requests go to, for the transports built on this one.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The generated client for the calls outside the hot path (health, metadata, statistics).
    fn service_client(
        &self,
    ) -> proto::grpc_inference_service_client::GrpcInferenceServiceClient<Channel> {
        proto::grpc_inference_service_client::GrpcInferenceServiceClient::new(
            self.channels[0].clone(),
        )
    }

    async fn send(&self) -> Result<(), RequestError> {
        // tonic's channel bounds a call by the endpoint's timeout (`Endpoint::timeout`) already.
        let channels = &self.channels;
        let channel = if channels.len() == 1 {
            channels[0].clone()
        } else {
            channels[self.next.fetch_add(1, Ordering::Relaxed) % channels.len()].clone()
        };
        let base_url = &self.target.base_url;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.map_err(|e| {
            RequestError::new(ErrorClass::Connect, format!("{base_url}: {}", chain(&e)))
        })?;
        let call = with_metadata(self.request.clone(), &self.metadata);
        let response = grpc
            .unary(call, PathAndQuery::from_static(MODEL_INFER), PreEncoded)
            .await
            .map_err(|status| classify_status(&status, base_url))?;
        self.target.check_grpc(&response.into_inner())
    }

    async fn check_health(&self) -> Result<(), RequestError> {
        let mut client = self.service_client();
        let (base_url, metadata) = (&self.target.base_url, &self.metadata);
        let fail = |what: &str, status: tonic::Status| {
            let mut error = classify_status(&status, base_url);
            error.message = format!("{what}: {}", error.message);
            error
        };
        let live = client
            .server_live(with_metadata(proto::ServerLiveRequest {}, metadata))
            .await
            .map_err(|s| fail("ServerLive", s))?;
        let ready = client
            .server_ready(with_metadata(proto::ServerReadyRequest {}, metadata))
            .await
            .map_err(|s| fail("ServerReady", s))?;
        let model = client
            .model_ready(with_metadata(
                proto::ModelReadyRequest {
                    name: self.target.model.clone(),
                    version: self.target.version.clone().unwrap_or_default(),
                },
                metadata,
            ))
            .await
            .map_err(|s| fail("ModelReady", s))?;
        let not = |what: String| {
            Err(RequestError::new(
                ErrorClass::GrpcCode("not_ready".into()),
                what,
            ))
        };
        if !live.into_inner().live {
            return not(format!("{base_url}: the server is not live"));
        }
        if !ready.into_inner().ready {
            return not(format!("{base_url}: the server is not ready"));
        }
        if !model.into_inner().ready {
            return not(format!(
                "{base_url}: model `{}` is not ready",
                self.target.model
            ));
        }
        Ok(())
    }

    async fn read_metadata(&self) -> Result<ModelMetadata, RequestError> {
        let request = with_metadata(
            proto::ModelMetadataRequest {
                name: self.target.model.clone(),
                version: self.target.version.clone().unwrap_or_default(),
            },
            &self.metadata,
        );
        let response = self
            .service_client()
            .model_metadata(request)
            .await
            .map_err(|status| classify_status(&status, &self.target.base_url))?
            .into_inner();
        let convert = |items: Vec<proto::model_metadata_response::TensorMetadata>| {
            items
                .into_iter()
                .map(|t| TensorInfo {
                    name: t.name,
                    datatype: t.datatype,
                    shape: t.shape,
                })
                .collect()
        };
        Ok(ModelMetadata {
            name: response.name,
            versions: response.versions,
            platform: response.platform,
            inputs: convert(response.inputs),
            outputs: convert(response.outputs),
            context_length: None,
        })
    }

    async fn read_server_metadata(&self) -> Result<ServerMetadata, RequestError> {
        let request = with_metadata(proto::ServerMetadataRequest {}, &self.metadata);
        let response = self
            .service_client()
            .server_metadata(request)
            .await
            .map_err(|status| classify_status(&status, &self.target.base_url))?
            .into_inner();
        Ok(ServerMetadata {
            name: response.name,
            version: response.version,
            extensions: response.extensions,
        })
    }

    async fn read_statistics(&self) -> Result<proto::ModelStatisticsResponse, RequestError> {
        let request = with_metadata(
            proto::ModelStatisticsRequest {
                name: self.target.model.clone(),
                version: self.target.version.clone().unwrap_or_default(),
            },
            &self.metadata,
        );
        self.service_client()
            .model_statistics(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| classify_status(&status, &self.target.base_url))
    }
}

impl Transport for Tonic {
    fn infer(&self) -> BoxFuture<'_, Result<(), RequestError>> {
        Box::pin(self.send())
    }

    fn health(&self) -> BoxFuture<'_, Result<(), RequestError>> {
        Box::pin(self.check_health())
    }

    fn metadata(&self) -> BoxFuture<'_, Result<ModelMetadata, RequestError>> {
        Box::pin(self.read_metadata())
    }

    fn server_metadata(&self) -> BoxFuture<'_, Result<ServerMetadata, RequestError>> {
        Box::pin(self.read_server_metadata())
    }

    fn model_statistics(
        &self,
    ) -> Option<BoxFuture<'_, Result<proto::ModelStatisticsResponse, RequestError>>> {
        Some(Box::pin(self.read_statistics()))
    }
}

fn grpc_channel(
    base_url: &str,
    timeout: Duration,
    tls_ca: Option<&[u8]>,
) -> Result<Channel, String> {
    let mut builder = tonic::transport::Endpoint::from_shared(base_url.to_string())
        .map_err(|e| chain(&e))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .tcp_nodelay(true);
    if base_url.starts_with("https://") {
        let mut tls = ClientTlsConfig::new().with_native_roots();
        if let Some(pem) = tls_ca {
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        builder = builder.tls_config(tls).map_err(|e| chain(&e))?;
    }
    Ok(builder.connect_lazy())
}

/// A codec that sends an already-encoded `ModelInferRequest` as is, so nothing is encoded inside
/// the timed request, and decodes the response with prost.
#[derive(Debug, Clone, Copy, Default)]
struct PreEncoded;

struct PreEncodedEncoder;

struct ResponseDecoder;

impl Codec for PreEncoded {
    type Encode = Bytes;
    type Decode = proto::ModelInferResponse;
    type Encoder = PreEncodedEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        PreEncodedEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

impl Encoder for PreEncodedEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for ResponseDecoder {
    type Item = proto::ModelInferResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        let remaining = src.remaining();
        proto::ModelInferResponse::decode(src.copy_to_bytes(remaining))
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("cannot decode ModelInferResponse: {e}")))
    }
}
