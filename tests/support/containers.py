"""The engine's own view of Berth's containers, read with docker-py directly (not through Berth)."""

from __future__ import annotations

import contextlib

import docker

MARKER = "dev.berth.sandbox=true"
EGRESS_MARKER = "dev.berth.egress-proxy=true"


def sandboxes_of(api: docker.APIClient, workspace: str) -> list[dict]:
    """Every container carrying Berth's label for `workspace`, whatever its state."""
    return [c for c in api.containers(all=True, filters={"label": [MARKER]})
            if c["Labels"].get("dev.berth.workspace") == workspace]


def egress_of(api: docker.APIClient, workspace: str) -> tuple[list[dict], list[dict]]:
    """The network proxies and networks Berth made for `workspace`'s sandboxes."""
    def mine(items: list[dict]) -> list[dict]:
        return [i for i in items if (i.get("Labels") or {}).get("dev.berth.workspace") == workspace]

    return (mine(api.containers(all=True, filters={"label": [EGRESS_MARKER]})),
            mine(api.networks(filters={"label": [EGRESS_MARKER]})))


def remove_sandboxes_of(api: docker.APIClient, workspace: str) -> None:
    """Everything Berth made for `workspace`; what a test's own servers are removing right then
    (their removal already in progress, or gone) is theirs to finish."""
    proxies, networks = egress_of(api, workspace)
    for c in [*sandboxes_of(api, workspace), *proxies]:
        try:
            api.remove_container(c["Id"], force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                raise
    for n in networks:
        # Gone already, or its proxy still being removed by the server that made it.
        with contextlib.suppress(docker.errors.APIError):
            api.remove_network(n["Id"])
