"""Finding sandboxes: the engine's container list, filtered by Berth's labels, read as Sandboxes.

Which sandboxes a request means (a workspace's, some by id or name, all) is decided by
berth.selection over `find` and `list` here.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from berth import labels
from berth.config import env_map
from berth.engine.connection import call
from berth.errors import NotFound
from berth.models import Sandbox, iso_time
from berth.workspace import workspace_key

if TYPE_CHECKING:
    import docker


def list_sandboxes(api: docker.APIClient) -> list[Sandbox]:
    """Every Berth sandbox on the engine, oldest first, from one label-filtered call."""
    sandboxes = [from_summary(s) for s in _summaries(api, labels.marker_filter())]
    return sorted((s for s in sandboxes if s), key=lambda s: s.created_at)


def of_workspace(api: docker.APIClient, workspace: str) -> list[Sandbox]:
    """Every sandbox of the workspace, its default one and those asked for by name, oldest first."""
    found = [s for s in map(from_summary, _summaries(
        api, labels.workspace_filter(workspace_key(workspace)))) if s and s.workspace == workspace]
    return sorted(found, key=lambda s: s.created_at)


def find(api: docker.APIClient, workspace: str, name: str | None = None) -> Sandbox | None:
    """The workspace's sandbox, or None when it has none: its default one, or with `name` the one
    asked for by that name."""
    return pick(of_workspace(api, workspace), name)


def pick(sandboxes: list[Sandbox], name: str | None) -> Sandbox | None:
    """Of one workspace's sandboxes, the one `name` means (None: the default one)."""
    found = [s for s in sandboxes if s.named == name]
    if not found:
        return None
    # Only a crash or an outside `docker` command can leave two; the running, newest one wins.
    return max(found, key=lambda s: (s.status == "running", s.created_at))


def by_id(api: docker.APIClient, container_id: str) -> Sandbox | None:
    summary = _summaries(api, {"id": [container_id]})
    return from_summary(summary[0]) if summary else None


def name_holder(api: docker.APIClient, name: str) -> tuple[str, Sandbox | None] | None:
    """The container that has this name: its id, and the sandbox it is (None when it is not
    Berth's); None when no container has it."""
    summary = _summaries(api, {"name": [f"^/{re.escape(name)}$"]})
    return (summary[0]["Id"], from_summary(summary[0])) if summary else None


def refreshed(api: docker.APIClient, sandbox: Sandbox) -> Sandbox:
    """The sandbox as the engine lists it now."""
    fresh = by_id(api, sandbox.full_id)
    if fresh is None:
        raise NotFound(f"The sandbox {sandbox.name} was removed while Berth was using it.")
    return fresh


def inspected(api: docker.APIClient, sandbox: Sandbox) -> tuple[Sandbox, dict[str, str]] | None:
    """The sandbox with the status the container itself reports, and its environment; None when
    it is gone.

    The engine's container list lags its events: right after `die` (a `docker kill`, a crashed main
    process) it still says running -- every time, on 20.10 -- and no later event corrects it.
    Inspect reads the container itself, so a status computed on an event shows the state that
    event announced.
    """
    try:
        info = call(f"Inspecting sandbox {sandbox.name}", api.inspect_container, sandbox.full_id)
    except NotFound:
        return None
    state = info.get("State") or {}
    live = state.get("Status")
    env = env_map((info.get("Config") or {}).get("Env"))
    oom = bool(state.get("OOMKilled")) and live not in ("running", "restarting")
    return dataclasses.replace(sandbox, status=live or sandbox.status, oom_killed=oom), env


def container_env(api: docker.APIClient, sandbox: Sandbox) -> dict[str, str]:
    """The sandbox's environment, values included: the only place they are kept."""
    seen = inspected(api, sandbox)
    return seen[1] if seen else {}


def from_summary(summary: dict[str, Any]) -> Sandbox | None:
    """A Sandbox from the engine's container list entry, or None for anything not Berth's."""
    lab = summary.get("Labels") or {}
    if not labels.is_berth(lab) or not lab.get(labels.WORKSPACE):
        return None
    names = summary.get("Names") or []
    name = names[0].lstrip("/") if names else summary["Id"][:12]
    return Sandbox(
        id=summary["Id"][:12],
        full_id=summary["Id"],
        name=name,
        workspace=lab[labels.WORKSPACE],
        agent=lab.get(labels.AGENT, ""),
        template=lab.get(labels.TEMPLATE, summary.get("Image", "")),
        status=summary.get("State", "unknown"),
        created_at=iso_time(summary.get("Created", 0)),
        user=lab.get(labels.USER, ""),
        config=labels.recorded_config(lab, name),
        labels=dict(lab),
    )


def _summaries(api: docker.APIClient, filters: dict[str, Any]) -> list[dict[str, Any]]:
    return call("Listing sandboxes", api.containers, all=True, filters=filters)
