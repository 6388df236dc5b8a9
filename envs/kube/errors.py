"""Errors for input podgym cannot accept: malformed Kubernetes objects and quantities (``KubeObjectError``) and
wrong configuration (``ConfigError``: scenarios, training and evaluation configs, plugin args, engines)."""

from __future__ import annotations

from typing import Any


class KubeObjectError(ValueError):
    """A Kubernetes object, quantity or configuration that podgym cannot accept.

    The message names where the problem is (`source`: a file, `obj`: e.g. ``Pod default/web-0``,
    `field`: a path such as ``spec.containers[0].resources.requests.cpu``) and what was wrong.
    """

    def __init__(self, problem: str, *, obj: str | None = None, field: str | None = None, source: str | None = None):
        self.problem = problem
        self.obj = obj
        self.field = field
        self.source = source
        where = ": ".join(part for part in (source, obj, f"field {field}" if field else None) if part)
        super().__init__(f"{where}: {problem}" if where else problem)

    def within(
        self,
        *,
        obj: str | None = None,
        container: str | None = None,
        field_prefix: str | None = None,
        source: str | None = None,
    ):
        """The same error located inside a larger whole.

        `obj` names the object if the error names none; `container` says where the object sits
        (e.g. ``nodes[3]``); `field_prefix` goes before the field path; `source` names the file.
        """
        field = self.field
        if field_prefix:
            field = f"{field_prefix}.{field}" if field and not field.startswith("[") else f"{field_prefix}{field or ''}"
        name = self.obj or obj
        if container:
            name = f"{container} ({name})" if name else container
        return type(self)(self.problem, obj=name, field=field, source=self.source or source)


class ConfigError(KubeObjectError):
    """A configuration podgym cannot accept: a scenario, training or evaluation config, a scheduler profile's
    plugin args, or an engine that does not run the scenario. It names the file, the field and what was
    expected; it is a KubeObjectError (and a ValueError), so callers that catch those catch it too."""


def from_validation_error(
    exc: Any,
    *,
    obj: str | None = None,
    prefix: str = "",
    source: str | None = None,
    error: type[KubeObjectError] = KubeObjectError,
):
    """A pydantic ValidationError as a KubeObjectError (or `error`) naming the field path (first error only)."""
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    if prefix:
        path = f"{prefix}.{path}" if path and not path.startswith("[") else f"{prefix}{path}"
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}" if loc else "unknown field"
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = err["msg"].removeprefix("Value error, ")
        if "input" in err and kind not in ("value_error", "assertion_error") and not isinstance(err["input"], dict):
            message += f" (got {err['input']!r})"
    return error(message, obj=obj, field=path or None, source=source)
