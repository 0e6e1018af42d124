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


def egress_tokens(api: docker.APIClient, workspace: str) -> set[str]:
    """The egress tokens of `workspace`'s sandboxes: what names their proxies and networks."""
    return {c["Labels"]["dev.berth.egress"] for c in sandboxes_of(api, workspace)
            if c["Labels"].get("dev.berth.egress")}


def egress_of(api: docker.APIClient, workspace: str,
              tokens: set[str] | None = None) -> tuple[list[dict], list[dict]]:
    """The network proxies and networks of `workspace`'s sandboxes: those carrying its label (made
    for it) or one of `tokens` (default: its sandboxes' tokens now; a spare taken by a sandbox
    carries no workspace)."""
    tokens = egress_tokens(api, workspace) if tokens is None else tokens

    def mine(items: list[dict]) -> list[dict]:
        return [i for i in items if (i.get("Labels") or {}).get("dev.berth.workspace") == workspace
                or (i.get("Labels") or {}).get("dev.berth.egress") in tokens]

    return (mine(api.containers(all=True, filters={"label": [EGRESS_MARKER]})),
            mine(api.networks(filters={"label": [EGRESS_MARKER]})))


def remove_sandboxes_of(api: docker.APIClient, workspace: str) -> None:
    """Everything Berth made for `workspace`; what a test's own servers are removing right then
    (their removal already in progress, or gone) is theirs to finish."""
    proxies, networks = egress_of(api, workspace)
    helpers = [c for c in api.containers(all=True, filters={"label": ["dev.berth.helper"]})
               if c["Labels"].get("dev.berth.workspace") == workspace]
    for c in [*helpers, *sandboxes_of(api, workspace), *proxies]:
        try:
            api.remove_container(c["Id"], force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                raise
    for v in api.volumes(filters={"label": ["dev.berth.helper-of"]}).get("Volumes") or []:
        if (v.get("Labels") or {}).get("dev.berth.workspace") == workspace:
            with contextlib.suppress(docker.errors.APIError):
                api.remove_volume(v["Name"], force=True)
    for n in networks:
        # Gone already, or its proxy still being removed by the server that made it.
        with contextlib.suppress(docker.errors.APIError):
            api.remove_network(n["Id"])
