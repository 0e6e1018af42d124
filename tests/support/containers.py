"""The engine's own view of Berth's containers, read with docker-py directly (not through Berth)."""

from __future__ import annotations

import docker

MARKER = "dev.berth.sandbox=true"


def sandboxes_of(api: docker.APIClient, workspace: str) -> list[dict]:
    """Every container carrying Berth's label for `workspace`, whatever its state."""
    return [c for c in api.containers(all=True, filters={"label": [MARKER]})
            if c["Labels"].get("dev.berth.workspace") == workspace]


def remove_sandboxes_of(api: docker.APIClient, workspace: str) -> None:
    for c in sandboxes_of(api, workspace):
        api.remove_container(c["Id"], force=True)
