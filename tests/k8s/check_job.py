"""Checks a Kubernetes Job manifest (YAML on stdin) against the Job schema without an API server:
the official Python client's models (kubernetes==33.1.0) read it, and writing them back must give
the same document, so a field the schema does not know, or a value of another type, fails."""

import json
import sys

import yaml
from kubernetes import client

doc = yaml.safe_load(sys.stdin)
api = client.ApiClient()


class Response:
    data = json.dumps(doc)


job = api.deserialize(Response(), "V1Job")
back = api.sanitize_for_serialization(job)
if back != doc:
    print("the Job schema does not read this manifest as written:", file=sys.stderr)
    print(json.dumps(doc, indent=1, sort_keys=True), file=sys.stderr)
    print("read back as:", file=sys.stderr)
    print(json.dumps(back, indent=1, sort_keys=True), file=sys.stderr)
    sys.exit(1)
spec = job.spec
print(
    json.dumps(
        {
            "kind": job.kind,
            "completion_mode": spec.completion_mode,
            "completions": spec.completions,
            "parallelism": spec.parallelism,
            "backoff_limit_per_index": spec.backoff_limit_per_index,
            "restart_policy": spec.template.spec.restart_policy,
            "env": {e.name: e.value for e in spec.template.spec.containers[0].env},
            "args": spec.template.spec.containers[0].args,
            "volumes": {
                v.name: "claim"
                if v.persistent_volume_claim is not None
                else "emptyDir"
                if v.empty_dir is not None
                else "other"
                for v in spec.template.spec.volumes
            },
        }
    )
)
