//! The reference server's Open Inference Protocol gRPC service (tonic): raw or typed input
//! contents in, raw output contents out.

use std::sync::Arc;

use bytes::Bytes;
use tonic::{Request, Response, Status};

use super::models::{InferError, Models};
use super::rest::SERVER_NAME;
use crate::remote::oip::proto::{self, grpc_inference_service_server::GrpcInferenceService};
use crate::remote::oip::tensor::{Datatype, Tensor};

pub(crate) struct Service {
    pub models: Arc<Models>,
}

#[tonic::async_trait]
impl GrpcInferenceService for Service {
    async fn server_live(
        &self,
        _: Request<proto::ServerLiveRequest>,
    ) -> Result<Response<proto::ServerLiveResponse>, Status> {
        Ok(Response::new(proto::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<proto::ServerReadyRequest>,
    ) -> Result<Response<proto::ServerReadyResponse>, Status> {
        Ok(Response::new(proto::ServerReadyResponse { ready: true }))
    }

    async fn model_ready(
        &self,
        request: Request<proto::ModelReadyRequest>,
    ) -> Result<Response<proto::ModelReadyResponse>, Status> {
        let name = request.into_inner().name;
        self.model(&name)?;
        Ok(Response::new(proto::ModelReadyResponse { ready: true }))
    }

    async fn server_metadata(
        &self,
        _: Request<proto::ServerMetadataRequest>,
    ) -> Result<Response<proto::ServerMetadataResponse>, Status> {
        Ok(Response::new(proto::ServerMetadataResponse {
            name: SERVER_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            extensions: vec![],
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<proto::ModelMetadataRequest>,
    ) -> Result<Response<proto::ModelMetadataResponse>, Status> {
        let name = request.into_inner().name;
        let model = self.model(&name)?;
        let tensors = |specs: &[super::models::TensorSpec]| {
            specs
                .iter()
                .map(|t| proto::model_metadata_response::TensorMetadata {
                    name: t.name.clone(),
                    datatype: t.datatype.as_str().into(),
                    shape: t.shape.clone(),
                })
                .collect()
        };
        Ok(Response::new(proto::ModelMetadataResponse {
            name: model.name.clone(),
            versions: vec!["1".into()],
            platform: model.platform.into(),
            inputs: tensors(&model.inputs),
            outputs: tensors(&model.outputs),
        }))
    }

    async fn model_statistics(
        &self,
        request: Request<proto::ModelStatisticsRequest>,
    ) -> Result<Response<proto::ModelStatisticsResponse>, Status> {
        let name = request.into_inner().name;
        let model_stats = if name.is_empty() {
            self.models.all().map(Service::statistics).collect()
        } else {
            vec![Service::statistics(self.model(&name)?)]
        };
        Ok(Response::new(proto::ModelStatisticsResponse {
            model_stats,
        }))
    }

    async fn model_infer(
        &self,
        request: Request<proto::ModelInferRequest>,
    ) -> Result<Response<proto::ModelInferResponse>, Status> {
        let request = request.into_inner();
        let model = self.model(&request.model_name)?;
        let _inside = model.stats.enter();
        let started = std::time::Instant::now();
        let response = self.infer(model, request).await;
        match &response {
            Ok(_) => model.stats.success.add(started.elapsed()),
            Err(_) => model.stats.fail.add(started.elapsed()),
        }
        response
    }
}

impl Service {
    /// One model's counters as Triton's `ModelStatistics`.
    fn statistics(model: &super::models::ServedModel) -> proto::ModelStatistics {
        let duration = |counter: &super::models::Counter| {
            let (count, ns) = counter.read();
            Some(proto::StatisticDuration { count, ns })
        };
        let stats = &model.stats;
        let (successes, _) = stats.success.read();
        proto::ModelStatistics {
            name: model.name.clone(),
            version: "1".into(),
            last_inference: 0,
            inference_count: successes,
            execution_count: successes,
            inference_stats: Some(proto::InferStatistics {
                success: duration(&stats.success),
                fail: duration(&stats.fail),
                queue: duration(&stats.queue),
                compute_input: duration(&stats.compute_input),
                compute_infer: duration(&stats.compute_infer),
                compute_output: duration(&stats.compute_output),
                cache_hit: None,
                cache_miss: None,
            }),
        }
    }

    async fn infer(
        &self,
        model: &super::models::ServedModel,
        request: proto::ModelInferRequest,
    ) -> Result<Response<proto::ModelInferResponse>, Status> {
        let taking_inputs = std::time::Instant::now();
        let inputs = decode_inputs(&request).map_err(Status::invalid_argument)?;
        model.stats.compute_input.add(taking_inputs.elapsed());
        let outputs = self
            .models
            .infer(model, inputs)
            .await
            .map_err(|e| match e {
                InferError::BadInput(m) => Status::invalid_argument(m),
                InferError::Model(m) => Status::internal(m),
            })?;
        let producing_outputs = std::time::Instant::now();
        let wanted = |t: &Tensor| {
            request.outputs.is_empty() || request.outputs.iter().any(|o| o.name == t.name())
        };
        let outputs: Vec<Tensor> = outputs.into_iter().filter(wanted).collect();
        let response = Response::new(proto::ModelInferResponse {
            model_name: model.name.clone(),
            model_version: request.model_version,
            id: request.id,
            outputs: outputs
                .iter()
                .map(|t| proto::model_infer_response::InferOutputTensor {
                    name: t.name().into(),
                    datatype: t.datatype().as_str().into(),
                    shape: t.shape().to_vec(),
                    ..Default::default()
                })
                .collect(),
            raw_output_contents: outputs
                .iter()
                .map(|t| Bytes::copy_from_slice(t.raw()))
                .collect(),
            ..Default::default()
        });
        model.stats.compute_output.add(producing_outputs.elapsed());
        Ok(response)
    }
}

impl Service {
    fn model(&self, name: &str) -> Result<&super::models::ServedModel, Status> {
        self.models
            .get(name)
            .ok_or_else(|| Status::not_found(format!("model `{name}` is not served here")))
    }
}

fn decode_inputs(request: &proto::ModelInferRequest) -> Result<Vec<Tensor>, String> {
    let raw = &request.raw_input_contents;
    if !raw.is_empty() && raw.len() != request.inputs.len() {
        return Err(format!(
            "{} raw input contents for {} inputs",
            raw.len(),
            request.inputs.len()
        ));
    }
    request
        .inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let datatype = Datatype::parse(&input.datatype).ok_or_else(|| {
                format!(
                    "input `{}` has unknown datatype `{}`",
                    input.name, input.datatype
                )
            })?;
            let bytes = match raw.get(index) {
                Some(bytes) => bytes.to_vec(),
                None => contents_to_raw(&input.name, datatype, input.contents.as_ref())?,
            };
            Tensor::from_raw(input.name.clone(), datatype, input.shape.clone(), bytes)
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn contents_to_raw(
    name: &str,
    datatype: Datatype,
    contents: Option<&proto::InferTensorContents>,
) -> Result<Vec<u8>, String> {
    let contents = contents.ok_or_else(|| format!("input `{name}` has no contents"))?;
    let mut raw = Vec::new();
    match datatype {
        Datatype::Bool => raw.extend(contents.bool_contents.iter().map(|&b| b as u8)),
        Datatype::Int8 | Datatype::Int16 | Datatype::Int32 => {
            let size = datatype.element_size().unwrap_or(4);
            for v in &contents.int_contents {
                raw.extend_from_slice(&v.to_le_bytes()[..size]);
            }
        }
        Datatype::Int64 => contents
            .int64_contents
            .iter()
            .for_each(|v| raw.extend_from_slice(&v.to_le_bytes())),
        Datatype::Uint8 | Datatype::Uint16 | Datatype::Uint32 => {
            let size = datatype.element_size().unwrap_or(4);
            for v in &contents.uint_contents {
                raw.extend_from_slice(&v.to_le_bytes()[..size]);
            }
        }
        Datatype::Uint64 => contents
            .uint64_contents
            .iter()
            .for_each(|v| raw.extend_from_slice(&v.to_le_bytes())),
        Datatype::Fp32 => contents
            .fp32_contents
            .iter()
            .for_each(|v| raw.extend_from_slice(&v.to_le_bytes())),
        Datatype::Fp64 => contents
            .fp64_contents
            .iter()
            .for_each(|v| raw.extend_from_slice(&v.to_le_bytes())),
        Datatype::Bytes => {
            for element in &contents.bytes_contents {
                raw.extend_from_slice(&(element.len() as u32).to_le_bytes());
                raw.extend_from_slice(element);
            }
        }
        Datatype::Fp16 => return Err(format!("input `{name}`: FP16 needs raw_input_contents")),
    }
    Ok(raw)
}
