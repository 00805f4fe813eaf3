#!/usr/bin/env python3
"""Validates openapi.yaml with openapi-spec-validator and prints every operation as `METHOD /path`."""
import sys

import yaml
from openapi_spec_validator import validate

path = sys.argv[1] if len(sys.argv) > 1 else "openapi.yaml"
with open(path, encoding="utf-8") as handle:
    spec = yaml.safe_load(handle)
validate(spec)
for route, item in sorted(spec["paths"].items()):
    for method in ("get", "post", "put", "patch", "delete"):
        if method in item:
            print(f"{method.upper()} {route}")
