# Identity model for the MLServer integration-test fixture (see ../README.md).
#
# Echoes every input tensor back unchanged: same shape, same datatype, same values. An input
# named "INPUT<suffix>" comes back as "OUTPUT<suffix>"; any other name comes back as-is.
# Inputs are decoded with mlserver's NumpyCodec, so REST JSON `data` and gRPC
# `raw_input_contents` (which mlserver unpacks into `data` before calling predict) both work.
import numpy as np

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.errors import InferenceError
from mlserver.types import InferenceRequest, InferenceResponse


def output_name(input_name: str) -> str:
    if input_name.startswith("INPUT"):
        return "OUTPUT" + input_name[len("INPUT"):]
    return input_name


class IdentityModel(MLModel):
    async def load(self) -> bool:
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        outputs = []
        for request_input in payload.inputs:
            try:
                array: np.ndarray = NumpyCodec.decode_input(request_input)
            except (ValueError, TypeError, KeyError) as err:
                # e.g. `data` length does not match `shape`: a 400 / INVALID_ARGUMENT, not a 500.
                raise InferenceError(f"input {request_input.name}: {err}") from err
            output = NumpyCodec.encode_output(output_name(request_input.name), array)
            # encode_output turns a 1-D shape [N] into [N, 1]; keep the request's shape.
            output.shape = list(request_input.shape)
            outputs.append(output)
        return InferenceResponse(
            model_name=self.name,
            model_version=self.version,
            outputs=outputs,
        )
