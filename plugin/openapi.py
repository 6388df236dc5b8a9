"""The extender's HTTP API as an OpenAPI 3.1 document, served at ``GET /openapi.json``.

It describes the wire format of ``k8s.io/kube-scheduler/extender/v1`` (module doc of ``plugin.extender``):
the request bodies and every answer, 400 included, so that a client (or a schema-driven fuzzer) can check
that the server answers only what it declares. Pods and Nodes are Kubernetes objects; the schema names the
fields the extender reads and lets any other field through, as the apiserver's objects carry many more.
"""

from __future__ import annotations

from typing import Any

_QUANTITY = {"oneOf": [{"type": "string"}, {"type": "number"}], "description": "a quantity: '100m', '1Gi', 2"}
_RESOURCES = {"type": "object", "additionalProperties": _QUANTITY}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "uid": {"type": "string"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
}
_CONTAINER = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "resources": {"type": "object", "properties": {"requests": _RESOURCES}}},
}
POD = {
    "type": "object",
    "description": "a v1.Pod",
    "properties": {
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "properties": {
                "containers": {"type": "array", "items": _CONTAINER},
                "initContainers": {"type": "array", "items": _CONTAINER},
                "nodeName": {"type": "string"},
                "nodeSelector": _STRING_MAP,
                "priority": {"type": "integer"},
                "tolerations": {"type": "array", "items": {"type": "object"}},
            },
        },
    },
}
NODE = {
    "type": "object",
    "description": "a v1.Node",
    "properties": {
        "metadata": _METADATA,
        "spec": {"type": "object", "properties": {"unschedulable": {"type": "boolean"}}},
        "status": {"type": "object", "properties": {"allocatable": _RESOURCES}},
    },
}
_NODE_LIST = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}},
}
NODE_REF = {"$ref": "#/components/schemas/Node"}
POD_REF = {"$ref": "#/components/schemas/Pod"}
_LIST = {"type": "object", "description": "a List: its items", "properties": {"items": {"type": ["array", "null"]}}}
_NAMES = {"type": "array", "items": {"type": "string"}}
_REASONS = {"type": "object", "additionalProperties": {"type": "string"}}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _verb(summary: str, ok: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExtenderArgs"}}},
            },
            "responses": {
                "200": _json(ok, "the answer"),
                "400": _json(
                    "#/components/schemas/ExtenderFilterResult" if "Filter" in ok else "#/components/schemas/Error",
                    "a body that is not an ExtenderArgs, or a malformed Pod or Node",
                ),
            },
        }
    }


def openapi_schema(cache_api: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``create_app`` (with the cache routes when `cache_api`)."""
    paths: dict[str, Any] = {
        "/filter": _verb("Filter: which nodes the pod may run on", "#/components/schemas/ExtenderFilterResult"),
        "/prioritize": _verb("Prioritize: a score 0..max_score per node", "#/components/schemas/HostPriorityList"),
        "/healthz": {
            "get": {
                "summary": "ready once the cache has listed nodes and pods",
                "responses": {
                    "200": _json("#/components/schemas/Health", "synced"),
                    "503": _json("#/components/schemas/Health", "still listing"),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus text",
                "responses": {
                    "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}
                },
            }
        },
    }
    if cache_api:
        version = _json("#/components/schemas/Version", "the cache's version after the change")
        bad = _json("#/components/schemas/Error", "objects or events the cache cannot apply")
        paths["/cache/state"] = {
            "post": {
                "summary": "replace the cache's nodes and pods",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "nodes": {"anyOf": [{"type": "array", "items": NODE_REF}, _LIST, {"type": "null"}]},
                                    "pods": {"anyOf": [{"type": "array", "items": POD_REF}, _LIST, {"type": "null"}]},
                                },
                            }
                        }
                    },
                },
                "responses": {"200": version, "400": bad},
            }
        }
        event = {
            "type": "object",
            "required": ["type", "object"],
            "properties": {"type": {"enum": ["ADDED", "MODIFIED", "DELETED"]}, "object": {"type": "object"}},
        }
        paths["/cache/events"] = {
            "post": {
                "summary": "apply watch events in order",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "anyOf": [
                                    {
                                        "type": "object",
                                        "required": ["events"],
                                        "properties": {"events": {"type": "array", "items": event}},
                                    },
                                    {"type": "array", "items": event},
                                ]
                            }
                        }
                    },
                },
                "responses": {"200": version, "400": bad},
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "podgym scheduler extender", "version": "v1"},
        "paths": paths,
        "components": {
            "schemas": {
                "Pod": POD,
                "Node": NODE,
                "ExtenderArgs": {
                    "type": "object",
                    "properties": {
                        "Pod": {"$ref": "#/components/schemas/Pod"},
                        "Nodes": {"anyOf": [_NODE_LIST, {"type": "null"}]},
                        "NodeNames": {"anyOf": [_NAMES, {"type": "null"}]},
                    },
                },
                "ExtenderFilterResult": {
                    "type": "object",
                    "required": ["Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes", "Error"],
                    "properties": {
                        "Nodes": {"anyOf": [_NODE_LIST, {"type": "null"}]},
                        "NodeNames": {"anyOf": [_NAMES, {"type": "null"}]},
                        "FailedNodes": _REASONS,
                        "FailedAndUnresolvableNodes": _REASONS,
                        "Error": {"type": "string"},
                    },
                },
                "HostPriorityList": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Host", "Score"],
                        "properties": {"Host": {"type": "string"}, "Score": {"type": "integer", "minimum": 0}},
                    },
                },
                "Error": {"type": "object", "required": ["Error"], "properties": {"Error": {"type": "string"}}},
                "Health": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
                "Version": {"type": "object", "required": ["version"], "properties": {"version": {"type": "integer"}}},
            }
        },
    }
