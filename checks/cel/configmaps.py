"""CEL checks kept in the cluster: ConfigMaps labelled ``kwa.io/checks: "true"``, read in live mode.

Each value of the ConfigMap's ``data`` is check-file YAML (one or more ``kind: Check`` documents).
Only a live run reads them (a team's checks travel with its cluster); manifests are assessed with
``--checks-dir``. A ConfigMap that does not load is reported as a problem of the run, naming the
ConfigMap, key, check and field, and the run goes on with the others.
"""

from __future__ import annotations

from checks import dynamic
from checks.metadata import CheckRegistrationError
from checks.model import CheckDefinition
from checks.snapshot import Snapshot

LABEL = "kwa.io/checks"
ORIGIN = "cel:configmap"


class ConfigMapChecks:
    """The check source of labelled ConfigMaps (checks.dynamic.CheckSource)."""

    prefix = None

    def __init__(self) -> None:
        self.problems: list[str] = []

    def checks_for(self, snapshot: Snapshot) -> list[CheckDefinition]:
        self.problems = []
        if not snapshot.is_live:
            return []
        # Imported here: the CEL engine is loaded only by runs that have CEL checks.
        from checks.cel.files import definition
        from checks.cel.files import read_text as read_checks

        out: list[CheckDefinition] = []
        taken: dict[str, str] = {}
        for cm in snapshot.of_kind("ConfigMap"):
            if str(cm.labels.get(LABEL, "")).lower() != "true":
                continue
            data = cm.raw.get("data")
            if not isinstance(data, dict):
                continue
            where_cm = f"ConfigMap {cm.namespace}/{cm.name}"
            for key in sorted(data):
                value = data[key]
                where = f"{where_cm} key {key}"
                try:
                    specs = read_checks(value, where) if isinstance(value, str) else []
                    made = []
                    for spec in specs:
                        if spec.id in taken:
                            raise CheckRegistrationError(f"{spec.where}: id already used by {taken[spec.id]}")
                        made.append(definition(spec, f"{ORIGIN}/{cm.namespace}/{cm.name}/{key}"))
                except CheckRegistrationError as exc:
                    self.problems.append(str(exc))
                    continue
                for d in made:
                    taken[d.id] = where
                out.extend(made)
        return out


dynamic.add_check_source(ConfigMapChecks())
