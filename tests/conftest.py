"""Shared fixtures: a real Docker engine, Berth's offline test templates, and throwaway workspaces.

These tests never mock docker-py: every sandbox test creates real containers. No engine is a failure,
not a skip: CI's .ci/run starts one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import docker
import pytest
from support.containers import remove_sandboxes_of
from support.images import CLAUDE, HOST_UID, REAL

HERE = Path(__file__).parent
# The network proxy's base: the debootstrapped Debian the real template is built on (no registry
# answers on these machines); a user's engine pulls debian:bookworm-slim instead.
os.environ.setdefault("BERTH_PROXY_BASE", "berth-test/debian:bookworm")


@pytest.fixture(autouse=True)
def user_config_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test starts without a user config file (~/.config/berth/config.toml of whoever runs
    the suite must not change what it sees); a test writes `berth/config.toml` under this folder."""
    home = tmp_path_factory.mktemp("xdg-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


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
    # Berth's own image (the network proxy, and the port helpers), built once here: a test that
    # times its requests must not time its first build.
    from berth.engine import egress

    egress.ensure_image(docker_api, lambda *_: None)


@pytest.fixture(scope="session")
def real_template(docker_api) -> str:
    """The real agents' template (tests/images/real): cached by tag, so a second call takes a
    second; CI builds it in its own step first. Its base is the network proxy's too."""
    subprocess.run(["bash", str(HERE / "images" / "real" / "build.sh")], check=True)
    return REAL


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
    """berth-server sessions over stdio (support/lsp.py); all stopped at the end."""
    from support.lsp import start_session, stop_session

    started = []

    async def start(folders, **kwargs):
        session = await start_session(folders, **kwargs)
        started.append(session)
        return session

    yield start
    for session in started:
        await stop_session(session)


@pytest.fixture(scope="session")
def registry(tmp_path_factory, templates):
    """Debian's docker-registry on loopback, which the engine trusts without TLS."""
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is part of the test set-up; scripts/test-all.sh installs it"
    root = tmp_path_factory.mktemp("registry")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = root / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}/data\n"
                      f"http:\n  addr: 127.0.0.1:{port}\nlog:\n  level: warn\n")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the registry did not start listening"
                assert process.poll() is None, "the registry exited at start"
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def remote_template(registry, docker_api):
    """A template that exists only in the registry, not on the engine."""
    ref = f"{registry}/berth-pull/claude:{uuid.uuid4().hex[:8]}"
    docker_api.tag(CLAUDE, ref)
    for line in docker_api.push(ref, stream=True, decode=True):
        assert "error" not in line, line
    docker_api.remove_image(ref)
    yield ref
    subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)
