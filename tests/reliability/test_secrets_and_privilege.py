"""Environment values stay out of logs and error messages; sandboxes get no privilege they did not
ask for, and the ones they ask for are shown."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from berth.config import parse_env
from berth.errors import BadInput
from lsprotocol import types
from support import lsp as lsp_harness
from support.engine import user_mounts
from support.images import CLAUDE
from support.reliability import (
    TEMPLATE,
    assert_clean_error,
    uri,
)


async def test_env_values_never_reach_logs_or_error_messages(sessions, make_workspace, tmp_path,
                                                             monkeypatch):
    canary = f"s3cr3t-{uuid.uuid4().hex}"
    log = tmp_path / "server.log"
    # The server's stderr (its log) goes to a file: BERTH_LOG_LEVEL=DEBUG, everything it says.
    monkeypatch.setattr(lsp_harness, "SERVER", [
        "sh", "-c", f'exec "{sys.executable}" -m berth.lsp.app 2>>"{log}"'])
    a, b = make_workspace("a"), make_workspace("b")
    s = await sessions([a, b], env={"BERTH_LOG_LEVEL": "DEBUG"}, configuration={
        uri(a): {"template": CLAUDE, "env": [f"TOKEN={canary}"]},
        uri(b): {"template": CLAUDE, "env": {"TOKEN": canary}}})
    messages: list[str] = []

    async def error(method, params):
        exc = await s.error(method, params)
        assert_clean_error(exc)
        messages.append(exc.message + repr(exc.data))
        return exc

    # Through run (settings, then params), drift, recreate, exec.
    ran = await s.request("sandbox/run", {"workspace": a})
    await s.request("sandbox/run", {"workspace": b, "env": [f"TOKEN={canary}", "OTHER=1"]})
    drifted = await s.request("sandbox/run", {"workspace": a, "env": [f"TOKEN={canary}-2"]})
    assert drifted["drift"] and drifted["id"] == ran["id"]
    out = await s.request("sandbox/exec", {"workspace": a, "command": ["sh", "-c", "echo $TOKEN"]})
    assert out["stdout"] == canary + "\n"
    await s.request("sandbox/exec", {"workspace": a, "command": ["sh", "-c", "echo $TOKEN >&2; exit 4"]})
    await s.request("sandbox/recreate", {"workspace": a, "env": [f"TOKEN={canary}-3"]})
    # `inspect` names the variables; the values stay in the container (and the recreate applied
    # the new one).
    [info] = await s.request("sandbox/inspect", {"workspace": a})
    assert info["config"]["env"] == ["TOKEN"] and canary not in repr(info)
    out = await s.request("sandbox/exec", {"workspace": a, "command": ["sh", "-c", "echo $TOKEN"]})
    assert out["stdout"] == canary + "-3\n"

    # Bad env entries carrying the secret, in every way a hand can slip.
    for entry in (f"TOKEN:{canary}", f"TOKEN {canary}", f"TOKEN={canary}\x00", canary,
                  f"=TOKEN={canary}"):
        await error("sandbox/run", {"workspace": a, "env": [entry]})
    await error("sandbox/run", {"workspace": a, "env": [f"TOKEN={canary}", f"TOKEN={canary}"]})
    await error("sandbox/run", {"workspace": a, "env": f"TOKEN={canary}"})
    await error("sandbox/run", {"workspace": a, "env": {"TOKEN": [canary]}})
    await error("sandbox/recreate", {"workspace": a, "env": [f"TOKEN={canary}"],
                                     "template": "berth-test/never:0"})
    await error("sandbox/recreate", {"workspace": a, "env": [f"TOKEN={canary}"],
                                     "volumes": ["/nonexistent:/x"]})
    await s.request("sandbox/stop", {"workspace": a})
    await error("sandbox/exec", {"workspace": a, "command": ["sh", "-c", f"echo {canary}"]})
    # Bad settings are reported in statuses and pop-ups.
    s.client.set_configuration({"template": CLAUDE, "env": [f"TOKEN:{canary}"]}, section="berth",
                               scope_uri=uri(b))
    mark = len(s.statuses)
    s.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    bad = await s.wait_status(b, lambda st: "berth.env" in (st.get("message") or ""), after=mark)
    messages += [bad["message"], *(m.message for m in s.client.messages)]

    # Statuses carry drift by variable name only; labels (in inspect above) names only.
    assert any(st["drift"] for st in s.statuses) and canary[:12] not in repr(s.statuses)
    await lsp_harness.stop_session(s)
    text = log.read_text(errors="replace")
    assert "DEBUG" in text  # the log really was at debug level
    for where, content in [("log", text), *(("message", m) for m in messages)]:
        assert canary not in content, (where, content[:2000])
        assert canary[:12] not in content, (where, content[:2000])


@pytest.mark.parametrize("entry", ["TOKEN:hunter2-secret", "TOKEN hunter2-secret",
                                   "hunter2-secret", "TOKEN=hunter2-secret\x00"])
def test_env_parsing_never_echoes_a_value(entry):
    with pytest.raises(BadInput) as info:
        parse_env([entry])
    assert "hunter2" not in info.value.message and "hunter2" not in repr(info.value.data)


def test_cli_errors_never_echo_env_values(workspace):
    for args in (["-e", "TOKEN:hunter2-secret"], ["-e", "TOKEN=hunter2-secret", "-t",
                                                  "berth-test/never:0"]):
        out = subprocess.run([sys.executable, "-m", "berth.cli", "run", "-d", "-w", workspace,
                              *args, "claude"], capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and "berth: error:" in out.stderr, out
        assert "hunter2" not in out.stderr + out.stdout


# -- least privilege ----------------------------------------------------------------------------

CASES = {
    "defaults": {},
    "volumes": {"volumes": ["{tmp}:/extra", "{tmp}:/extra-ro:ro"]},
    "socket": {"mountDockerSocket": True},
    "host-credentials": {"credentials": "host"},
    "no-credentials": {"credentials": "none"},
}


@pytest.mark.parametrize("case", CASES)
async def test_sandboxes_get_no_privilege_beyond_the_engine_default(sessions, workspace, tmp_path,
                                                                   docker_api, case):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".gitconfig").write_text("[user]\n\tname = H\n")
    params = {k: [v.format(tmp=tmp_path) for v in val] if isinstance(val, list) else val
              for k, val in CASES[case].items()}
    s = await sessions([workspace], options=TEMPLATE, env={"HOME": str(home)})
    result = await s.request("sandbox/run", params)
    info = docker_api.inspect_container(result["id"])
    host = info["HostConfig"]
    assert host["Privileged"] is False
    assert not host.get("CapAdd")
    assert not host.get("Devices") and not host.get("DeviceRequests")
    assert not host.get("DeviceCgroupRules")
    assert not host.get("SecurityOpt")
    # Namespaces, cgroups, capabilities and limits exactly as a plain `docker create` gets them.
    plain = docker_api.create_container(CLAUDE, command=["true"])
    try:
        default = docker_api.inspect_container(plain["Id"])["HostConfig"]
    finally:
        docker_api.remove_container(plain["Id"], force=True)
    # The network: the sandbox's own internal one (the default policy filters it), never more.
    [network] = info["NetworkSettings"]["Networks"]
    assert host["NetworkMode"] == network and network.startswith("berth-net-")
    assert docker_api.inspect_network(network)["Internal"] is True
    # ...and one capability fewer than the default: no raw packets to route around the proxy with.
    assert host["CapDrop"] == ["NET_RAW"]
    for key in ("PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode",
                "CapAdd", "Privileged", "SecurityOpt", "Devices", "ReadonlyPaths",
                "MaskedPaths", "GroupAdd", "OomKillDisable", "Sysctls"):
        assert host.get(key) == default.get(key), key
    assert not host.get("Binds")  # every mount is an explicit Mount below
    # Berth's own session holder, read-only (a volume of its own): the rest are the user's.
    mounts = {m["Destination"]: m for m in user_mounts(info["Mounts"])}
    socket_mounted = "/var/run/docker.sock" in mounts
    assert socket_mounted == (case == "socket")
    warned = [w for w in result["warnings"] if "control the host's Docker engine" in w]
    assert bool(warned) == socket_mounted
    assert bool([m for m in s.client.messages if "Docker engine" in m.message]) == socket_mounted
    if case == "host-credentials":
        creds = [m for d, m in mounts.items() if d.startswith("/mnt/host-credentials")]
        assert len(creds) == 2 and all(m["RW"] is False for m in creds)
        assert {Path(m["Source"]).name for m in creds} == {".ssh", ".gitconfig"}
    else:
        assert not any(d.startswith("/mnt/host-credentials") for d in mounts)
    if case == "volumes":
        assert mounts["/extra"]["RW"] is True and mounts["/extra-ro"]["RW"] is False
    allowed = {workspace, "/extra", "/extra-ro", "/var/run/docker.sock", "/mnt/claude-data",
               "/mnt/host-credentials/.ssh", "/mnt/host-credentials/.gitconfig"}
    assert set(mounts) <= allowed
    assert mounts[workspace]["Source"] == workspace
