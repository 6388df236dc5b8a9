"""The one error type for malformed Kubernetes objects, quantities and scheduler configuration."""

from __future__ import annotations


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

    def within(self, *, obj: str | None = None, field_prefix: str | None = None, source: str | None = None):
        """The same error located inside a larger object (adds the object name, a field prefix, a file)."""
        field = self.field
        if field_prefix:
            field = f"{field_prefix}.{field}" if field and not field.startswith("[") else f"{field_prefix}{field or ''}"
        return KubeObjectError(self.problem, obj=self.obj or obj, field=field, source=self.source or source)
