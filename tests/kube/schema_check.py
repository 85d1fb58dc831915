"""Check Kubernetes objects against the real schemas, as the API server and Helm would.

- Built-in kinds (Pod, Secret, Role, Status, ...): Kubernetes' own OpenAPI schemas, as shipped
  by kubernetes-validate, in strict mode (unknown fields are errors, as `kubectl apply` with its
  default `--validate=strict` makes them), for every Kubernetes version in KUBE_VERSIONS.
- MiniCluster (flux-framework.org v1alpha1, v1alpha2): the openAPIV3Schema of the Flux
  Operator's CRD (schemas/flux-operator). Strict field validation rejects a field a structural
  schema does not declare, unless the schema keeps unknown fields: so every object schema with
  properties and neither additionalProperties nor x-kubernetes-preserve-unknown-fields is
  closed here.
- Zero to JupyterHub values: the chart's values.schema.yaml against the chart's defaults with
  the user's values merged over them, which is what `helm install -f` validates.
- Requests to a pod's exec and portforward subresources (they carry no object, only query
  parameters): the parameters Kubernetes' own OpenAPI v3 spec declares for those paths
  (schemas/kubernetes), read as the API server reads them.

`problems(obj)` returns readable messages (empty: valid); `check(obj)` raises with them.
"""

import copy
import json
import re
from functools import cache
from pathlib import Path

import jsonschema
import yaml
from kubernetes_validate.utils import all_versions, schema_contents
from referencing import Registry, Resource

SCHEMAS = Path(__file__).parent / "schemas"


def _minor(version):
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


# What flux-hub supports: the Zero to JupyterHub chart needs Kubernetes >= 1.28 (its Chart.yaml
# kubeVersion), up to the newest release kubernetes-validate knows.
KUBE_VERSIONS = tuple(
    sorted(
        {".".join(v.split(".")[:2]) for v in all_versions() if _minor(v) >= (1, 28)},
        key=_minor,
    )
)
MINICLUSTER_GROUP = "flux-framework.org"
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


class SchemaError(AssertionError):
    pass


@cache
def minicluster_schema(version):
    crd = yaml.safe_load((SCHEMAS / "flux-operator" / f"miniclusters-{version}.yaml").read_text())
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = copy.deepcopy(served["schema"]["openAPIV3Schema"])
    _close(schema)
    return schema


def _close(schema):
    """Strict field validation: undeclared fields of a structural schema are errors."""
    if not isinstance(schema, dict):
        return
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        schema["additionalProperties"] = False
    for key in ("properties", "patternProperties"):
        for sub in (schema.get(key) or {}).values():
            _close(sub)
    for key in ("items", "additionalProperties"):
        _close(schema.get(key))
    for key in ("anyOf", "allOf", "oneOf"):
        for sub in schema.get(key) or ():
            _close(sub)


def _errors(validator, obj):
    return [
        f"{'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
        for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path)))
    ]


def _metadata_problems(obj):
    meta = obj.get("metadata") or {}
    found = []
    for key in ("name", "namespace"):
        value = meta.get(key)
        if value is not None and not (
            isinstance(value, str) and len(value) <= 253 and DNS_SUBDOMAIN.fullmatch(value)
        ):
            found.append(f"metadata.{key}: {value!r} is not a valid DNS subdomain name")
    return found


def problems(obj, versions=KUBE_VERSIONS):
    """What the API server would refuse about `obj` (a dict), one message per problem."""
    if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
        return ["(top): not a Kubernetes object (apiVersion and kind are required)"]
    group, _, version = obj["apiVersion"].rpartition("/")
    if group == MINICLUSTER_GROUP:
        if obj["kind"] == "MiniClusterList":  # a list of a CRD's objects: each is one of them
            items = obj.get("items")
            if not isinstance(items, list) or set(obj) - {
                "apiVersion",
                "kind",
                "metadata",
                "items",
            }:
                return ["MiniClusterList: only apiVersion, kind, metadata and items (a list)"]
            return [
                f"items[{i}].{problem}"
                for i, item in enumerate(items)
                for problem in problems(
                    {"apiVersion": obj["apiVersion"], "kind": "MiniCluster", **item}, versions
                )
            ]
        if obj["kind"] != "MiniCluster":
            return [f"kind: {obj['kind']!r} is not served by {MINICLUSTER_GROUP}"]
        try:
            schema = minicluster_schema(version)
        except FileNotFoundError:
            return [f"apiVersion: {obj['apiVersion']!r} is not a MiniCluster version"]
        validator = jsonschema.Draft7Validator(schema)
        return _errors(validator, obj) + _metadata_problems(obj)
    found = []
    for kube in versions:
        try:
            validator = kube_validator(kube, obj["kind"], obj["apiVersion"])
        except FileNotFoundError:
            found.append(f"Kubernetes {kube}: no kind {obj['kind']} in {obj['apiVersion']}")
            continue
        found += [f"Kubernetes {kube}: {error}" for error in _errors(validator, obj)]
    return found + _metadata_problems(obj)


@cache
def kube_validator(kube, kind, api_version):
    """kubernetes-validate's strict schema of a kind, loaded once (its validate() reloads the
    definitions on every call, which is too slow for every answer of the fake API server)."""
    # kubernetes-validate's file naming: rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1.
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    if (kind, api_version) == ("Status", "v1"):
        group = "meta-v1"  # Status is served as v1 but defined in meta/v1
    directory = f"kubernetes-json-schema/v{_schema_version(kube)}-local-strict"
    schema = schema_contents(f"{directory}/{kind.lower()}-{group}.json", kube)
    definitions = schema_contents(f"{directory}/_definitions.json", kube)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _schema_version(kube):
    return [v for v in all_versions() if _minor(v) <= _minor(kube)][-1]


def check(obj, versions=KUBE_VERSIONS):
    found = problems(obj, versions)
    if found:
        name = (obj.get("metadata") or {}).get("name") if isinstance(obj, dict) else None
        raise SchemaError(f"{obj.get('kind')} {name}: " + "; ".join(found[:10]))
    return obj


def manifests(path):
    """The objects of a YAML file of one or more documents."""
    return [doc for doc in yaml.safe_load_all(Path(path).read_text()) if doc is not None]


# -- Zero to JupyterHub values -------------------------------------------------------------


@cache
def z2jh_schema():
    return yaml.safe_load((SCHEMAS / "z2jh" / "values.schema.yaml").read_text())


def helm_merge(defaults, values):
    """Helm's coalescing of user values over a chart's: maps merge, null deletes a key."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def z2jh_problems(values):
    defaults = yaml.safe_load((SCHEMAS / "z2jh" / "values.yaml").read_text())
    validator = jsonschema.Draft7Validator(z2jh_schema())
    return _errors(validator, helm_merge(defaults, values or {}))


# -- exec and portforward requests ---------------------------------------------------------

# Parameters that may be given more than once: command is an argv ("argv array"), ports a list
# ("List of ports to forward"), although the OpenAPI spec types each value as one string/integer.
REPEATED = {"command", "ports"}
# strconv.ParseBool, which the API server's query parameter decoding uses for booleans
GO_BOOLEANS = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}


@cache
def connect_parameters(subresource):
    """{name: schema} of the query parameters Kubernetes declares for pods/<subresource>."""
    spec = json.loads((SCHEMAS / "kubernetes" / "pod-connect-openapi-v3.json").read_text())
    path = spec["paths"][f"/api/v1/namespaces/{{namespace}}/pods/{{name}}/{subresource}"]
    return {p["name"]: p["schema"] for p in path["parameters"] if p["in"] == "query"}


def connect_problems(subresource, method, query):
    """What is wrong with an exec or portforward request's query (``{name: [values]}``, as
    parsed from the URL) by Kubernetes' OpenAPI spec: unknown parameters, values the API
    server cannot decode, a single-valued parameter given twice, a method it does not serve."""
    try:
        declared = connect_parameters(subresource)
    except KeyError:
        return [f"pods/{subresource}: not a subresource Kubernetes serves"]
    found = []
    if method not in ("GET", "POST"):
        found.append(f"pods/{subresource}: {method} is not served (GET and POST are)")
    for name, values in query.items():
        schema = declared.get(name)
        if schema is None:
            found.append(
                f"pods/{subresource}: unknown parameter {name!r} (Kubernetes declares "
                + ", ".join(sorted(declared))
                + ")"
            )
            continue
        if len(values) > 1 and name not in REPEATED:
            found.append(f"pods/{subresource}: {name!r} given {len(values)} times")
        for value in values:
            if schema["type"] == "boolean" and value not in GO_BOOLEANS:
                found.append(f"pods/{subresource}: {name}={value!r} is not a boolean")
            elif schema["type"] == "integer" and not all(
                part.isdigit()
                for part in value.split(",")  # ports: "5000" or "5000,5001"
            ):
                found.append(f"pods/{subresource}: {name}={value!r} is not an integer")
    return found
