"""Berth's label scheme: the only place a sandbox's state is kept, on its container.

Every container Berth creates carries MARKER; nothing without it is ever touched. Sandboxes are found by
the workspace key (a hash of the real path), which is safe in engine label filters whatever characters
the path holds; the path itself is recorded beside it.
"""

from __future__ import annotations

import json
from typing import Any

from berth.config import SandboxConfig

PREFIX = "dev.berth."
MARKER = PREFIX + "sandbox"
WORKSPACE = PREFIX + "workspace"
WORKSPACE_KEY = PREFIX + "workspace-key"
AGENT = PREFIX + "agent"
TEMPLATE = PREFIX + "template"
CONFIG = PREFIX + "config"
USER = PREFIX + "user"
VERSION = PREFIX + "version"
# Set on a sandbox asked for by name (`--name`): one of several of its workspace. The workspace's
# default sandbox (the one a request without a name means) has none.
NAME = PREFIX + "name"
# A throwaway container checking a template before a recreate: Berth's, but no sandbox.
PROBE = PREFIX + "probe"
# A filtered sandbox's egress: the token on the sandbox, its proxy container and its network; the
# proxy and the network (and the proxy's image) carry MARKER_EGRESS instead of MARKER.
EGRESS = PREFIX + "egress"
MARKER_EGRESS = PREFIX + "egress-proxy"
# A running sandbox's port helpers (engine.ports): its portal and each forward carry HELPER (`portal`
# or `forward`) and HELPER_OF, the sandbox's full id; a forward also carries the port it forwards.
HELPER = PREFIX + "helper"
HELPER_OF = PREFIX + "helper-of"
FORWARDED_PORT = PREFIX + "forwarded-port"
# On a portal: the start time of the sandbox's run it was made for (a new run needs a new portal).
HELPER_RUN = PREFIX + "helper-run"


def sandbox_labels(workspace: str, key: str, config: SandboxConfig, user: str,
                   version: str, egress: str | None = None,
                   named: str | None = None) -> dict[str, str]:
    out = {
        MARKER: "true",
        WORKSPACE: workspace,
        WORKSPACE_KEY: key,
        AGENT: config.agent,
        TEMPLATE: config.template,
        CONFIG: json.dumps(config.to_json(), sort_keys=True, separators=(",", ":")),
        USER: user,
        VERSION: version,
    }
    if egress:
        out[EGRESS] = egress
    if named:
        out[NAME] = named
    return out


def marker_filter(*extra: str) -> dict[str, list[str]]:
    return {"label": [f"{MARKER}=true", *extra]}


def workspace_filter(key: str) -> dict[str, list[str]]:
    return marker_filter(f"{WORKSPACE_KEY}={key}")


def is_berth(labels: dict[str, str] | None) -> bool:
    return bool(labels) and labels.get(MARKER) == "true"


def recorded_config(labels: dict[str, str], name: str | None) -> SandboxConfig:
    try:
        data: Any = json.loads(labels.get(CONFIG, "{}"))
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    data.setdefault("agent", labels.get(AGENT, "claude"))
    data.setdefault("template", labels.get(TEMPLATE, ""))
    # Sandboxes from before network policies have their engine's default network: open.
    data.setdefault("networkPolicy", "open")
    # Sandboxes from before resource limits have none.
    data.setdefault("pidsLimit", -1)
    return SandboxConfig.from_json(data, name=name)
