"""Regenerates the committed JSON Schemas of the Prometheus Operator kinds we ship.

Run by hand, in a throw-away virtualenv (the package is not a test dependency):

    python -m venv /tmp/po && /tmp/po/bin/pip install cloudcoil-models-prometheus-operator==0.80.1.0
    /tmp/po/bin/python tests/schemas/generate_prometheus_operator.py

The models are generated from the Prometheus Operator CRDs. Their JSON Schema allows unknown
fields; the API server with strict field validation (kubectl's default) rejects them, so every
object with declared properties is closed here.
"""

import json
from pathlib import Path

from cloudcoil.models.prometheus_operator import v1

KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")
OUTPUT = Path(__file__).parent / "monitoring.coreos.com"


def closed(schema):
    """The schema with additionalProperties false wherever properties are declared and open."""
    if isinstance(schema, dict):
        schema = {key: closed(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [closed(item) for item in schema]
    return schema


def main():
    OUTPUT.mkdir(exist_ok=True)
    for kind in KINDS:
        schema = closed(getattr(v1, kind).model_json_schema(by_alias=True, mode="validation"))
        path = OUTPUT / f"{kind.lower()}_v1.json"
        path.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
