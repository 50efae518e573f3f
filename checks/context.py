"""What a check function receives: the snapshot, the run's configuration, and result helpers.

The helpers fill in kind/namespace/name/source from the object, so a check body reads as its rule:
``yield ctx.fail(w, "privileged container", container=c["name"])``.

They also record where the verdict points in the manifest (checks/positions.py): every result of a
manifest object carries the object's lines; a failing or warning result also carries the field
it is about - ``field=`` when the check names it (``w.container_path(c, "securityContext.
privileged")``), else the container's own path when ``container=`` is given - and a failing one
that field's line and column, resolved now from the parsed text. Other results never pay for a field lookup.
"""

from __future__ import annotations

from typing import Any

from checks.config import Config
from checks.model import CheckDefinition, Result, SkipReason, Status
from checks.positions import field_position
from checks.snapshot import K8sObject, Snapshot, Workload, container_path, pod_template

Subject = K8sObject | Workload | None
# Verdicts that point somewhere a person must look get the field's path; failing ones its line too.
LOCATED = frozenset({Status.FAILING, Status.WARNING})
RESOLVED = frozenset({Status.FAILING})


class CheckContext:
    __slots__ = ("check", "config", "snapshot")

    def __init__(self, snapshot: Snapshot, config: Config, check: CheckDefinition | None = None):
        self.snapshot = snapshot
        self.config = config
        self.check = check

    @property
    def live(self) -> bool:
        return self.snapshot.is_live

    def setting(self, key: str, default: Any = None) -> Any:
        """A per-check setting from the config (``checks.<ID>.<key>``), else a global threshold."""
        check_id = self.check.id if self.check else ""
        return self.config.setting(check_id, key, default)

    def result(
        self,
        subject: Subject,
        status: Status,
        message: str = "",
        *,
        container: str | None = None,
        reason: str | None = None,
        details: Any = None,
        field: str | None = None,
    ) -> Result:
        obj = subject.obj if isinstance(subject, Workload) else subject
        if obj is None:
            return Result(status, message, container=container, reason=reason, details=details, field_path=field)
        # By position (Result's field order: status, message, kind, namespace, name, container,
        # reason, source, details): half the cost of keywords, once per result.
        where = obj.where or None
        result = Result(status, message, obj.kind, obj.namespace, obj.name, container, reason, where, details)
        place = obj.place
        if place is not None:
            result.line, result.end_line, result.column = place.line, place.end_line, place.column
        if status in LOCATED:
            if field is None and container is not None:
                field = _container_field(subject, obj, container)
            if field:
                result.field_path = field
                if status in RESOLVED and place is not None:
                    result.field_line, result.field_column = field_position(place, field)  # type: ignore[misc]
        elif field:
            result.field_path = field
        return result

    def ok(self, subject: Subject, message: str = "", **kw: Any) -> Result:
        return self.result(subject, Status.PASSING, message, **kw)

    def fail(self, subject: Subject, message: str, **kw: Any) -> Result:
        return self.result(subject, Status.FAILING, message, **kw)

    def warn(self, subject: Subject, message: str, **kw: Any) -> Result:
        return self.result(subject, Status.WARNING, message, **kw)

    def skip(self, subject: Subject, reason: str = SkipReason.NOT_APPLICABLE, message: str = "", **kw: Any) -> Result:
        return self.result(subject, Status.SKIPPED, message or reason, reason=reason, **kw)

    def error(self, subject: Subject, message: str, **kw: Any) -> Result:
        return self.result(subject, Status.ERROR, message, **kw)


def _container_field(subject: Subject, obj: K8sObject, container: str) -> str | None:
    """The path of the container a verdict names, when the object has it in its pod spec."""
    if isinstance(subject, Workload):
        return subject.container_path(container)
    template = pod_template(obj)
    return container_path(obj.kind, template[0], container) if template else None
