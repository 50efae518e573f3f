"""What a check function receives: the snapshot, the run's configuration, and result helpers.

The helpers fill in kind/namespace/name/source from the object, so a check body reads as its rule:
``yield ctx.fail(w, "privileged container", container=c["name"])``.
"""

from __future__ import annotations

from typing import Any

from checks.config import Config
from checks.model import CheckDefinition, Result, SkipReason, Status
from checks.snapshot import K8sObject, Snapshot, Workload

Subject = K8sObject | Workload | None


class CheckContext:
    __slots__ = ("check", "config", "snapshot")

    def __init__(self, snapshot: Snapshot, config: Config, check: CheckDefinition | None = None):
        self.snapshot = snapshot
        self.config = config
        self.check = check

    @property
    def snap(self) -> Snapshot:
        return self.snapshot

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
    ) -> Result:
        obj = subject.obj if isinstance(subject, Workload) else subject
        if obj is None:
            return Result(status, message, container=container, reason=reason, details=details)
        return Result(
            status,
            message,
            kind=obj.kind,
            namespace=obj.namespace,
            name=obj.name,
            container=container,
            reason=reason,
            source=obj.where or None,
            details=details,
        )

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
