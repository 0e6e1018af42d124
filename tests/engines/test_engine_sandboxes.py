"""Berth on every engine a user may already have, each started for real on this machine
(support/engines.py): a second dockerd chosen by a Docker context, the same dockerd over tcp with TLS
(from a context's TLS material and from DOCKER_HOST with DOCKER_TLS_VERIFY), the main engine over
ssh:// through OpenSSH, Podman's API service rootful and rootless, and rootless Docker.

On each: run through the server, the engine's own description, status from the engine's events (a
stop made behind Berth's back), exec, the files the agent writes owned by the workspace's owner, the
engine's socket reaching the same engine from inside, the terminal's command line reaching the same
engine whatever the terminal's own environment says, stop and remove. Then what only some engines
have: a workspace the engine's machine does not have, and an ssh connection that drops.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.engines import (
    PodmanService,
    RootlessDockerd,
    SecondDockerd,
    SshEngine,
    client_env,
    docker,
    load_image,
    podman_service,
    rootless_dockerd,
    second_dockerd,
    ssh_engine,
)
from support.images import HOST_UID, PLAIN

SETTINGS = {"template": PLAIN, "agent": "shell", "networkPolicy": "open"}


@dataclass
class Case:
    env: dict[str, str]
    # Where workspaces go, and whose they are (a rootless engine's user owns what it can mount).
    parent: Path
    owner: int
    # What sandbox/engine must say.
    expect: dict[str, Any]
    # The engine's socket path on its machine, when Berth can know it (not for a bare tcp engine).
    socket: str | None
    made: list[str] = field(default_factory=list)

    def workspace(self) -> str:
        path = self.parent / f"ws-{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        (path / "README.md").write_text("the user's file\n")
        for p in (path, path / "README.md"):
            os.chown(p, self.owner, self.owner)
        self.made.append(str(path))
        return os.path.realpath(path)


@pytest.fixture(scope="module")
def second(tmp_path_factory) -> Iterator[SecondDockerd]:
    with second_dockerd(tmp_path_factory.mktemp("second")) as engine:
        load_image(engine.env, PLAIN)
        yield engine


@pytest.fixture(scope="module")
def over_ssh(tmp_path_factory, templates) -> Iterator[SshEngine]:
    with ssh_engine(tmp_path_factory.mktemp("ssh")) as engine:
        yield engine


@pytest.fixture(scope="module")
def podman(tmp_path_factory) -> Iterator[PodmanService]:
    with podman_service(tmp_path_factory.mktemp("podman")) as engine:
        # As podman.socket (SocketMode=0660) makes it; a service started by hand makes it 0600.
        engine.socket.chmod(0o660)
        load_image(engine.env, PLAIN)
        yield engine


@pytest.fixture(scope="module")
def podman_rootless(tmp_path_factory) -> Iterator[PodmanService]:
    with podman_service(tmp_path_factory.mktemp("podman-rootless"), rootless=True) as engine:
        load_image(engine.env, PLAIN)
        yield engine


@pytest.fixture(scope="module")
def docker_rootless(tmp_path_factory) -> Iterator[RootlessDockerd]:
    with rootless_dockerd(tmp_path_factory.mktemp("rootless")) as engine:
        load_image(engine.env, PLAIN)
        yield engine


def _context(request: pytest.FixtureRequest, tmp: Path) -> Case:
    d: SecondDockerd = request.getfixturevalue("second")
    return Case(d.context("berth-second"), tmp, HOST_UID,
                {"context": "berth-second", "source": "DOCKER_CONTEXT", "sameMachine": True,
                 "product": "Docker Engine"}, str(d.socket))


def _tls_context(request: pytest.FixtureRequest, tmp: Path) -> Case:
    d: SecondDockerd = request.getfixturevalue("second")
    return Case(d.context("berth-tls", tls=True, current=True), tmp, HOST_UID,
                {"context": "berth-tls", "source": "config", "host": d.tls_host,
                 "sameMachine": False}, None)


def _tls_env(request: pytest.FixtureRequest, tmp: Path) -> Case:
    d: SecondDockerd = request.getfixturevalue("second")
    return Case(d.tls_env, tmp, HOST_UID,
                {"context": None, "source": "DOCKER_HOST", "host": d.tls_host,
                 "sameMachine": False}, None)


def _ssh(request: pytest.FixtureRequest, tmp: Path) -> Case:
    s: SshEngine = request.getfixturevalue("over_ssh")
    return Case(s.env, tmp, HOST_UID,
                {"host": s.host, "source": "DOCKER_HOST", "sameMachine": False},
                "/var/run/docker.sock")


def _podman(request: pytest.FixtureRequest, tmp: Path) -> Case:
    p: PodmanService = request.getfixturevalue("podman")
    return Case(p.env, tmp, HOST_UID,
                {"product": "Podman", "podman": True, "rootless": False, "sameMachine": True},
                str(p.socket))


def _podman_rootless(request: pytest.FixtureRequest, tmp: Path) -> Case:
    p: PodmanService = request.getfixturevalue("podman_rootless")
    return Case(p.env, p.workdir, p.uid,
                {"product": "Podman", "podman": True, "rootless": True, "sameMachine": True},
                str(p.socket))


def _docker_rootless(request: pytest.FixtureRequest, tmp: Path) -> Case:
    r: RootlessDockerd = request.getfixturevalue("docker_rootless")
    return Case(r.env, r.workdir, r.uid,
                {"product": "Docker Engine", "rootless": True, "sameMachine": True},
                str(r.socket))


CASES: dict[str, Callable[[pytest.FixtureRequest, Path], Case]] = {
    "context": _context,
    "tls-context": _tls_context,
    "tls-env": _tls_env,
    "ssh": _ssh,
    "podman": _podman,
    "podman-rootless": _podman_rootless,
    "docker-rootless": _docker_rootless,
}


@pytest.fixture(params=list(CASES))
def case(request, tmp_path) -> Iterator[Case]:
    made = CASES[request.param](request, tmp_path)
    yield made
    # Whatever a failed test left on that engine.
    for workspace in made.made:
        ids = docker(made.env, "ps", "-aq", "--filter",
                     f"label=dev.berth.workspace={os.path.realpath(workspace)}", check=False)
        for cid in ids.stdout.split():
            docker(made.env, "rm", "-f", cid, check=False)


async def test_a_sandbox_works_the_same_on_every_engine(case: Case, sessions):
    workspace = case.workspace()
    s = await sessions([workspace], options=SETTINGS, env=client_env(case.env))

    # The engine is named, as the status bar and `berth version` show it.
    info = await s.request("sandbox/engine")
    assert info["available"], info
    assert {k: info.get(k) for k in case.expect} == case.expect, info
    if case.socket:
        assert info["socket"] == case.socket, info

    if case.socket is None:
        # Over tcp, the engine's socket on its machine cannot be known: asking for it is refused,
        # with nothing made.
        refused = await s.error("sandbox/run", {"mountDockerSocket": True})
        assert refused.data["kind"] == "badInput" and "ssh://HOST/PATH" in refused.message
        assert docker(case.env, "ps", "-aq", "--filter",
                      f"label=dev.berth.workspace={workspace}").stdout.strip() == ""
    socket = {"mountDockerSocket": True} if case.socket else {}
    ran = await s.request("sandbox/run", socket)
    assert ran["state"] == "running", ran
    await s.wait_status(workspace, "running")
    sandbox = ran["id"]
    # On that engine, and only there (the ssh case is the main engine itself).
    assert docker(case.env, "inspect", sandbox).returncode == 0
    if "ssh" not in case.expect.get("host", ""):
        assert docker({}, "inspect", sandbox, check=False).returncode != 0

    # The agent writes the workspace, and what it writes is the workspace owner's on the host.
    out = await s.request("sandbox/exec", {"command": [
        "sh", "-c", "cat README.md && echo made > by-agent.txt && mkdir -p sub && echo x > sub/f"]})
    assert out["exitCode"] == 0 and out["stdout"] == "the user's file\n", out
    for made in ("by-agent.txt", "sub", "sub/f"):
        st = os.stat(os.path.join(workspace, made))
        assert (st.st_uid, st.st_gid) == (case.owner, case.owner), (made, st.st_uid, st.st_gid)

    # The socket it was given is that engine's own: the agent reaches it and finds it is the same
    # engine (its data root is one of a kind on this machine).
    if case.socket:
        asked = await s.request("sandbox/exec", {"command": [
            "socket-get", "/var/run/docker.sock", "/info"]})
        assert asked["exitCode"] == 0, asked
        root = docker(case.env, "info", "--format", "{{.DockerRootDir}}").stdout.strip()
        assert json.loads(asked["stdout"])["DockerRootDir"] == root

    # The terminal's command line reaches the same engine, whatever its own environment says.
    argv = ran["shell"]["argv"]
    cut = argv.index("exec")
    misled = {**client_env(case.env), "DOCKER_HOST": "unix:///nonexistent.sock",
              "DOCKER_CONTEXT": "nonexistent"}
    if "DOCKER_CONFIG" not in case.env:
        misled.pop("DOCKER_CONTEXT")
    reached = subprocess.run([*argv[:cut], "exec", sandbox, "cat", "README.md"], env=misled,
                             capture_output=True, text=True, timeout=60)
    assert reached.stdout == "the user's file\n", (argv[:cut], reached.stderr)

    # A stop behind Berth's back shows from the engine's events, on that transport.
    mark = len(s.statuses)
    docker(case.env, "stop", "-t", "1", sandbox)
    await s.wait_status(workspace, "stopped", after=mark)

    ran = await s.request("sandbox/run", socket)
    assert ran["state"] == "running" and not ran["created"], ran
    await s.request("sandbox/stop", {})
    await s.wait_status(workspace, "stopped", after=mark + 1)
    await s.request("sandbox/remove", {})
    await s.wait_status(workspace, "absent")
    gone = docker(case.env, "ps", "-aq", "--filter", f"label=dev.berth.workspace={workspace}")
    assert gone.stdout.strip() == ""
    assert Path(workspace, "README.md").read_text() == "the user's file\n"


async def test_a_context_switched_while_the_server_runs_is_followed(second: SecondDockerd,
                                                                   sessions, tmp_path):
    """As Docker Desktop or colima switch the current context when they start: the server's next
    request, and its event stream, are on the engine the context now names."""
    config = second.context("berth-second", current=True)
    docker(config, "context", "create", "berth-main", "--docker", "host=unix:///var/run/docker.sock")
    case = Case(config, tmp_path, HOST_UID, {}, None)
    workspace = case.workspace()
    s = await sessions([workspace], options=SETTINGS, env=client_env(config))
    try:
        assert (await s.request("sandbox/engine"))["context"] == "berth-second"
        on_second = (await s.request("sandbox/run", {}))["id"]
        assert docker(second.env, "inspect", on_second).returncode == 0

        docker(config, "context", "use", "berth-main")
        assert (await s.request("sandbox/engine"))["context"] == "berth-main"
        on_main = await s.request("sandbox/run", {})
        assert on_main["created"] and docker({}, "inspect", on_main["id"]).returncode == 0
        # A stop on the main engine behind Berth's back arrives from the main engine's events.
        mark = len(s.statuses)
        docker({}, "stop", "-t", "1", on_main["id"])
        await s.wait_status(workspace, "stopped", after=mark, timeout=60)
    finally:
        docker(config, "context", "use", "berth-second")
        for env in ({}, second.env):
            ids = docker(env, "ps", "-aq", "--filter", f"label=dev.berth.workspace={workspace}",
                         check=False).stdout.split()
            for cid in ids:
                docker(env, "rm", "-f", cid, check=False)


def _unshared_workspace(tmp: Path, *, exists_there: bool) -> tuple[str, list[str]]:
    """A workspace this process's children see and the engine does not: the Berth CLI runs in a
    mount namespace of its own, where a tmpfs over the folder holds the user's file. Returns the
    workspace and the argv prefix that runs a command in that view."""
    parent = tmp / f"elsewhere-{uuid.uuid4().hex[:6]}"
    parent.mkdir()
    workspace = parent / "ws"
    if exists_there:
        workspace.mkdir()  # on the engine's machine: an empty folder at the same path
    target = workspace if exists_there else parent
    script = (f"mount -t tmpfs berth-test {target} && mkdir -p {workspace} && "
              f"echo mine > {workspace}/README.md && chown -R {HOST_UID}:{HOST_UID} {workspace} && "
              f'cd {workspace} && exec "$@"')
    return str(workspace), ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"]


@pytest.mark.parametrize("exists_there", [False, True], ids=["missing-there", "empty-there"])
def test_a_workspace_the_engine_machine_lacks_is_refused_with_nothing_left(
        second: SecondDockerd, tmp_path, exists_there):
    from support.cli import BERTH

    workspace, inside = _unshared_workspace(tmp_path, exists_there=exists_there)
    env = client_env(second.tls_env)
    ran = subprocess.run([*inside, *BERTH, "run", "-d", "-t", PLAIN, "--network-policy", "open",
                          "shell"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 2, (ran.stdout, ran.stderr)
    assert "runs on another machine" in ran.stderr and workspace in ran.stderr, ran.stderr
    assert "Traceback" not in ran.stderr
    left = docker(second.tls_env, "ps", "-aq", "--filter", f"label=dev.berth.workspace={workspace}")
    assert left.stdout.strip() == ""


def test_on_a_rootful_engine_the_agent_never_becomes_root_for_a_folder_root_owns_there(
        second: SecondDockerd, tmp_path):
    """The engine's machine has the folder, owned by root there, while here it is the user's: the
    owner the engine's machine has is the one that counts, and root in a sandbox of an engine that
    does not map root to the user is root, so the agent keeps its own uid and the run warns."""
    from support.cli import BERTH

    parent = tmp_path / f"remote-root-{uuid.uuid4().hex[:6]}"
    workspace = parent / "ws"
    workspace.mkdir(parents=True)
    (workspace / "README.md").write_text("root's, on the engine's machine\n")  # root-owned
    run = shlex.join([*BERTH, "run", "-d", "-t", PLAIN, "--network-policy", "open", "shell"])
    agent_uid = shlex.join([*BERTH, "exec", "id", "-u"])
    script = (f"mount -t tmpfs berth-test {workspace} && echo mine > {workspace}/README.md && "
              f"chown -R {HOST_UID}:{HOST_UID} {workspace} && cd {workspace} && {run} && "
              f"{agent_uid}")
    ran = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                         env=client_env(second.tls_env), capture_output=True, text=True,
                         timeout=120)
    try:
        assert "belongs to root on the engine's machine" in ran.stderr, (ran.stdout, ran.stderr)
        assert ran.stdout.strip().splitlines()[-1] == "1000", ran.stdout  # the template's agent
    finally:
        ids = docker(second.tls_env, "ps", "-aq", "--filter",
                     f"label=dev.berth.workspace={workspace}").stdout.split()
        for cid in ids:
            docker(second.tls_env, "rm", "-f", cid, check=False)


async def test_over_ssh_status_survives_the_connection_dropping(over_ssh: SshEngine, sessions,
                                                                 tmp_path):
    case = Case(over_ssh.env, tmp_path, HOST_UID, {}, None)
    workspace = case.workspace()
    s = await sessions([workspace], options=SETTINGS, env=client_env(over_ssh.env))
    ran = await s.request("sandbox/run", {})
    await s.wait_status(workspace, "running")
    try:
        # Every ssh connection of the server's (the shared master and its clients) dies at once,
        # the events stream's with them.
        ssh_pids = subprocess.run(["pgrep", "-P", str(s.pid), "-x", "ssh"], capture_output=True,
                                  text=True).stdout.split()
        masters = subprocess.run(["pgrep", "-f", "ssh.*ControlMaster=auto.*berth-engine"],
                                 capture_output=True, text=True).stdout.split()
        assert ssh_pids, "the server reaches the engine through ssh processes of its own"
        for pid in {*ssh_pids, *masters}:
            os.kill(int(pid), signal.SIGKILL)
        mark = len(s.statuses)
        docker(over_ssh.env, "stop", "-t", "1", ran["id"])
        await s.wait_status(workspace, "stopped", after=mark, timeout=60)
        # And requests work again on new connections.
        again = await s.request("sandbox/run", {})
        assert again["state"] == "running"
    finally:
        docker(over_ssh.env, "rm", "-f", ran["id"], check=False)


def test_engine_setup_mistakes_are_named_by_the_cli_not_start_docker(tmp_path):
    from support.cli import BERTH

    def berth(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        # Only these variables: none of the caller's own DOCKER_* may change what is found.
        return subprocess.run([*BERTH, *args], cwd=tmp_path, env=client_env(env),
                              capture_output=True, text=True, timeout=60)

    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"currentContext": "gone"}))
    out = berth("ls", env={"DOCKER_CONFIG": str(config)})
    assert out.returncode == 9, out.stderr
    assert "The Docker context 'gone'" in out.stderr and "Start Docker" not in out.stderr
    assert "Traceback" not in out.stderr
    out = berth("version", env={"DOCKER_HOST": "tcp://nohost:notaport"})
    assert out.returncode == 0 and "engine: none usable: DOCKER_HOST" in out.stdout, out
