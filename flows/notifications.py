"""``kwa notify``'s side in Prefect: a notification block and an automation that sends through it
when a run's event arrives (flows.events, docs/notifications.md).

Everything lives on the Prefect server, as a user building the same thing in the Prefect UI would
leave it: a block ``kwa-notify-<name>`` (Slack Webhook, or Custom Webhook) and an automation
``kwa-notify-<name>`` with a reactive :class:`~prefect.events.schemas.automations.EventTrigger` on
``kwa.run.finished`` or ``kwa.run.regressed`` (one cluster's resource, or every ``kwa.cluster.*``)
and a :class:`~prefect.events.actions.SendNotification` action with a templated message. Adding a
name that exists replaces both, so ``add`` can be repeated.

The webhook URL is a credential (a Slack webhook URL is its own bearer token): it is stored only in
the block, as a secret field (SlackWebhook's ``url`` is a SecretStr; the Custom Webhook's URL is
the placeholder ``{{webhook_url}}`` filled from its SecretDict ``secrets``), registered with
:mod:`redaction` the moment it is read, and never read back: ``list`` shows its scheme and host,
kept in the automation's description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flows.events import FINISHED, REGRESSED, resource_id

PREFIX = "kwa-notify-"
EVENTS = {"finished": FINISHED, "regressed": REGRESSED}
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SECRET_KEY = "webhook_url"
SLUGS = {"slack": "slack-webhook", "webhook": "custom-webhook"}  # Prefect's block type slugs


def _value(field: str) -> str:
    """A payload field in a message template; ``n/a`` where the payload holds null (a failed run has
    no score) or lacks the field, instead of Jinja printing ``None`` or nothing."""
    v = f"event.payload.{field}"
    return "{{ " + f"{v} if {v} is defined and {v} is not none else 'n/a'" + " }}"


SUBJECT = f"kwa: {_value('cluster')} " + "{{ event.event }}"
BODIES = {
    FINISHED: (
        f"kwa run {_value('run_id')} on cluster {_value('cluster')} ended {_value('state')}"
        f" ({_value('scope')}): score {_value('score')} ({_value('grade')}),"
        f" coverage {_value('coverage')}%, delta {_value('score_delta')},"
        f" new critical findings {_value('new_critical')}"
    ),
    REGRESSED: (
        f"kwa run {_value('run_id')} on cluster {_value('cluster')} regressed"
        f" ({_value('state')}, {_value('scope')}): score {_value('score_before')}"
        f" -> {_value('score_after')} (delta {_value('score_delta')}),"
        f" new critical {_value('new_critical')}, new high {_value('new_high')}"
        f" since run {_value('previous_run_id')}"
    ),
}


class NotifyError(Exception):
    """A value ``kwa notify`` cannot use (a usage error), said in one line."""


@dataclass
class Notification:
    name: str
    kind: str  # "slack" | "webhook"
    on: str  # "finished" | "regressed"
    cluster: str | None
    target: str  # scheme://host/… (never the whole URL)
    enabled: bool = True


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise NotifyError(
            f"notification name {name!r}: use lowercase letters, digits and dashes (at most 63), starting with a "
            "letter or digit"
        )
    return name


def default_name(on: str, cluster: str | None) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", (cluster or "all").lower()).strip("-") or "cluster"
    return f"{on}-{slug}"[:63].rstrip("-")


def target_of(url: str) -> str:
    """What ``list`` shows of a webhook URL: its scheme and host, the rest (the secret part) elided."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def check_url(url: str, kind: str) -> str:
    from redaction import register

    register(url)  # from now on no error, log line or traceback of this process prints it
    try:
        parts = urlsplit(url.strip())
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise NotifyError(f"--{'slack-webhook' if kind == 'slack' else 'webhook'}: not an http(s) URL")
    return url.strip()


def trigger_match(cluster: str | None) -> dict[str, str]:
    return {"prefect.resource.id": resource_id(cluster) if cluster else resource_id("*")}


def describe(n: Notification) -> str:
    """The automation's description: what ``list`` reads back (no secret in it)."""
    where = f"cluster {n.cluster}" if n.cluster else "every cluster"
    return f"kwa notify: {n.kind} {n.target} on {EVENTS[n.on]} for {where}"


def parse_description(name: str, text: str, enabled: bool) -> Notification | None:
    m = re.match(r"^kwa notify: (\w+) (\S+) on kwa\.run\.(\w+) for (?:cluster (.+)|every cluster)$", text or "")
    if not m:
        return None
    return Notification(name, m.group(1), m.group(3), m.group(4), m.group(2), enabled)


def _block(kind: str, url: str, name: str) -> Any:
    from pydantic import SecretStr

    if kind == "slack":
        from prefect.blocks.notifications import SlackWebhook

        return SlackWebhook(url=SecretStr(url))
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    return CustomWebhookNotificationBlock(
        name=name,
        url="{{" + SECRET_KEY + "}}",
        json_data={"text": "{{subject}}\n{{body}}", "subject": "{{subject}}", "body": "{{body}}", "name": "{{name}}"},
        secrets={SECRET_KEY: url},
    )


def add(name: str, kind: str, url: str, on: str, cluster: str | None) -> Notification:
    """Create (or replace) the block and the automation ``kwa-notify-<name>``."""
    from prefect.automations import Automation
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import EventTrigger, Posture

    note = Notification(check_name(name), kind, on, cluster, target_of(url))
    full = PREFIX + name
    block = _block(kind, url, full)
    from redaction.hooks import requests_unredacted

    with requests_unredacted():  # the block's secret field is where the URL is meant to go
        block_id = block.save(full, overwrite=True)
    _delete_blocks(full, keep=SLUGS[kind])  # the same name of the other kind, from an earlier add
    event = EVENTS[on]
    _delete_automations(full)
    Automation(
        name=full,
        description=describe(note),
        trigger=EventTrigger(expect={event}, match=trigger_match(cluster), posture=Posture.Reactive, threshold=1),
        actions=[SendNotification(block_document_id=block_id, subject=SUBJECT, body=BODIES[event])],
    ).create()
    return note


def _delete_automations(full: str) -> int:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        found = client.read_automations_by_name(name=full)
        for automation in found:
            client.delete_automation(automation.id)
    return len(found)


def listed() -> list[Notification]:
    """Every notification kwa made (automations named ``kwa-notify-*``), by name."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        automations = client.read_automations()
    out = []
    for a in automations:
        if a.name.startswith(PREFIX):
            note = parse_description(a.name.removeprefix(PREFIX), a.description, a.enabled)
            out.append(note or Notification(a.name.removeprefix(PREFIX), "?", "?", None, "?", a.enabled))
    return sorted(out, key=lambda n: n.name)


def remove(name: str) -> bool:
    """Delete the automation and the block of ``name``; whether there was anything to delete."""
    full = PREFIX + check_name(name)
    removed = _delete_automations(full)
    return bool(removed + _delete_blocks(full))


def _delete_blocks(full: str, keep: str | None = None) -> int:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deleted = 0
    with get_client(sync_client=True) as client:
        for slug in SLUGS.values():
            if slug == keep:
                continue
            try:  # without its secrets: the URL is never read back
                doc = client.read_block_document_by_name(full, slug, include_secrets=False)
            except ObjectNotFound:
                continue
            client.delete_block_document(doc.id)
            deleted += 1
    return deleted
