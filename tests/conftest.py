"""Shared fixtures: a real Docker engine, Berth's offline test templates, and throwaway workspaces.

These tests never mock docker-py: every sandbox test creates real containers. No engine is a failure,
not a skip: CI's .ci/run starts one.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import docker
import pytest

HERE = Path(__file__).parent
CLAUDE = "berth-test/claude:1"
GEMINI = "berth-test/gemini:1"
PLAIN = "berth-test/plain:1"
CLAUDE_WITH_CONFIG = "berth-test/claude-config:1"
MARKER = "dev.berth.sandbox=true"
# Workspaces belong to an ordinary host user, as on a developer's machine (CI runs as root).
HOST_UID = 1234


@pytest.fixture(scope="session")
def docker_api() -> docker.APIClient:
    try:
        client = docker.APIClient(version="auto")
        client.ping()
    except Exception as exc:  # no engine is a broken test set-up, never a reason to skip
        pytest.fail(f"No Docker engine answers ({exc}); .ci/run starts one.", pytrace=False)
    return client


@pytest.fixture(scope="session")
def templates(docker_api) -> None:
    subprocess.run([str(HERE / "images" / "build.sh")], check=True)


def sandboxes_of(api: docker.APIClient, workspace: str) -> list[dict]:
    return [c for c in api.containers(all=True, filters={"label": [MARKER]})
            if c["Labels"].get("dev.berth.workspace") == workspace]


def remove_sandboxes_of(api: docker.APIClient, workspace: str) -> None:
    for c in sandboxes_of(api, workspace):
        api.remove_container(c["Id"], force=True)


@pytest.fixture
def make_workspace(tmp_path, docker_api, templates):
    """Workspace folders under tmp_path; their sandboxes are removed afterwards."""
    made: list[str] = []

    def make(name: str = "ws", owner: int = HOST_UID) -> str:
        path = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        os.chown(path, owner, owner)
        real = os.path.realpath(path)
        made.append(real)
        return real

    yield make
    for workspace in made:
        remove_sandboxes_of(docker_api, workspace)


@pytest.fixture
def workspace(make_workspace) -> str:
    return make_workspace()


@pytest.fixture
async def sessions():
    """berth-server sessions over stdio (tests/server/lsp_harness.py); all stopped at the end."""
    import sys

    sys.path.insert(0, str(HERE / "server"))
    from lsp_harness import start_session, stop_session

    started = []

    async def start(folders, **kwargs):
        session = await start_session(folders, **kwargs)
        started.append(session)
        return session

    yield start
    for session in started:
        await stop_session(session)
