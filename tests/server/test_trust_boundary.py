"""The trust boundary over stdio, against the real engine: settings from files inside the workspace
(which the agent can write, and which a cloned repository brings) never widen a sandbox without the
user's consent to the exact values; the user's own settings and explicit requests need none."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from lsprotocol import types
from support.containers import sandboxes_of
from support.images import CLAUDE
from support.lsp import uri

NEEDS_CONSENT = -32006


def write_vscode_settings(workspace: str, settings: dict) -> None:
    folder = Path(workspace, ".vscode")
    folder.mkdir(exist_ok=True)
    # JSON with comments and a trailing comma, as VS Code writes and accepts it.
    body = json.dumps(settings, indent=2)
    Path(folder, "settings.json").write_text("// planted by the agent\n" + body[:-1] + ",\n}\n")


def shared_dir(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.mkdir()
    (path / "marker").write_text(name + "\n")
    return str(path)


async def test_workspace_values_need_consent_showing_each_value(sessions, workspace, docker_api,
                                                                 tmp_path):
    extra = shared_dir(tmp_path, "extra")
    theirs = {"volumes": [f"{extra}:/mnt/extra:ro"], "env": ["PLANTED=1"],
              "credentials": "host"}
    s = await sessions([workspace], configuration={uri(workspace): {
        "template": CLAUDE, "workspaceValues": theirs}})
    await s.wait_status(workspace, "absent")

    error = await s.error("sandbox/run")
    assert error.code == NEEDS_CONSENT and error.data["kind"] == "needsConsent"
    shown = {(i["field"], json.dumps(i["value"])): i for i in error.data["items"]}
    assert set(shown) == {("volumes", json.dumps(f"{extra}:/mnt/extra:ro")),
                          ("env", '"PLANTED"'), ("credentials", '"host"')}
    assert shown[("volumes", json.dumps(f"{extra}:/mnt/extra:ro"))]["note"] == \
        "a host folder, read-only"
    assert f"volumes {extra}:/mnt/extra:ro" in error.message
    assert "PLANTED=1" not in json.dumps(error.data) + error.message  # names, never values
    assert sandboxes_of(docker_api, workspace) == []

    # Allowing some but not all is still no.
    some = [i["id"] for i in error.data["items"] if i["field"] != "credentials"]
    partial = await s.error("sandbox/run", {"accept": some})
    assert [i["field"] for i in partial.data["items"]] == ["credentials"]
    assert sandboxes_of(docker_api, workspace) == []

    everything = [i["id"] for i in error.data["items"]]
    result = await s.request("sandbox/run", {"accept": everything})
    assert result["created"]
    out = await s.request("sandbox/exec", {"command": ["sh", "-c",
                                                      "cat /mnt/extra/marker; echo $PLANTED"]})
    assert out["stdout"] == "extra\n1\n"


async def test_the_users_own_settings_and_requests_need_no_consent(sessions, make_workspace,
                                                                    tmp_path):
    mine, asked = make_workspace("mine"), make_workspace("asked")
    extra = shared_dir(tmp_path, "extra")
    s = await sessions([mine, asked], configuration={
        uri(mine): {"template": CLAUDE, "volumes": [f"{extra}:/mnt/extra"],
                    "workspaceValues": {"env": ["A=1"]}},
        uri(asked): {"template": CLAUDE, "workspaceValues": {"volumes": [f"{extra}:/mnt/x"]}},
    })
    # The user's own volume needs no question; the folder's own env does.
    error = await s.error("sandbox/run", {"workspace": mine})
    assert [i["field"] for i in error.data["items"]] == ["env"]
    # A request's own params are the user's word: they replace what the folder's files say.
    result = await s.request("sandbox/run", {"workspace": mine, "env": ["A=1"]})
    assert result["created"]
    result = await s.request("sandbox/run", {"workspace": asked, "volumes": []})
    assert result["created"]


async def test_recreate_keeps_what_was_allowed_and_asks_for_what_changed(sessions, workspace,
                                                                          tmp_path):
    one, two = shared_dir(tmp_path, "one"), shared_dir(tmp_path, "two")
    config = {"template": CLAUDE, "workspaceValues": {"volumes": [f"{one}:/mnt/one"]}}
    s = await sessions([workspace], configuration={uri(workspace): config})
    error = await s.error("sandbox/run")
    first = await s.request("sandbox/run", {"accept": [i["id"] for i in error.data["items"]]})
    # The sandbox holds what was allowed: recreating it with the same values asks nothing.
    again = await s.request("sandbox/recreate")
    assert again["id"] != first["id"]

    # The agent rewrites the folder's settings: drift shows both values, and recreate asks.
    s.client.set_configuration({**config, "workspaceValues": {"volumes": [f"{two}:/mnt/one"]}},
                               section="berth", scope_uri=uri(workspace))
    mark = len(s.statuses)
    s.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    drifted = await s.wait_status(workspace, lambda st: st["drift"], after=mark)
    assert drifted["drift"] == [{"field": "volumes", "recorded": [f"{one}:/mnt/one"],
                                 "requested": [f"{two}:/mnt/one"]}]
    error = await s.error("sandbox/recreate")
    assert [i["value"] for i in error.data["items"]] == [f"{two}:/mnt/one"]
    [details] = await s.request("sandbox/inspect")
    assert details["id"] == again["id"] and details["status"] == "running", "left as it was"


async def test_settings_file_in_the_folder_is_never_trusted(sessions, workspace, docker_api):
    """A client that passes the folder's .vscode/settings.json along as ordinary settings (as
    neoconf.nvim does) still cannot widen the sandbox: the server reads that file itself."""
    socket = "/var/run/docker.sock:/var/run/docker.sock"
    write_vscode_settings(workspace, {"berth.volumes": [socket], "berth.autoStart": "always"})
    s = await sessions([workspace], configuration={uri(workspace): {
        "template": CLAUDE, "volumes": [socket], "autoStart": "always"}})
    # Auto-start ("always", from the same file) creates nothing and says why.
    message = await _message(s, "did not start")
    assert "Docker engine's socket" in message and socket in message
    assert sandboxes_of(docker_api, workspace) == []
    error = await s.error("sandbox/run")
    [item] = error.data["items"]
    assert item["value"] == socket
    assert item["note"] == "the Docker engine's socket: root-equivalent access to this machine"
    assert ".vscode/settings.json" in error.message
    result = await s.request("sandbox/run", {"accept": [item["id"]]})
    # Through `volumes` the socket is the socket: the same warning as mountDockerSocket.
    assert any("mounts the Docker engine's socket" in w for w in result["warnings"])


async def test_host_environment_by_name_is_asked_for_by_name(sessions, workspace, docker_api):
    s = await sessions([workspace], env={"BERTH_HOST_SECRET": "s3cr3t-value"},
                       configuration={uri(workspace): {
                           "template": CLAUDE,
                           "workspaceValues": {"env": ["BERTH_HOST_SECRET"]}}})
    error = await s.error("sandbox/run")
    [item] = error.data["items"]
    assert item["value"] == "BERTH_HOST_SECRET"
    assert item["note"] == "your own value of BERTH_HOST_SECRET, from Berth's environment"
    everything = json.dumps(error.data) + error.message + json.dumps(s.statuses)
    assert "s3cr3t-value" not in everything
    assert sandboxes_of(docker_api, workspace) == []


async def test_home_and_root_mounts_warn_even_from_the_user(sessions, workspace):
    home = os.path.expanduser("~")
    s = await sessions([workspace], options={"template": CLAUDE})
    result = await s.request("sandbox/run", {"volumes": [f"{home}:/mnt/home:ro"]})
    assert any(f"The volume {home}:/mnt/home:ro mounts your home folder" in w
               for w in result["warnings"])


async def _message(session, text: str, timeout: float = 30) -> str:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for m in session.client.messages:
            if text in m.message:
                return m.message
        await asyncio.sleep(0.1)
    raise AssertionError(f"no message with {text!r}; saw {[m.message for m in session.client.messages]}")


async def test_a_template_the_user_did_not_allow_is_not_even_pulled(sessions, workspace, docker_api,
                                                                     remote_template):
    import docker.errors

    s = await sessions([workspace], configuration={uri(workspace): {
        "workspaceValues": {"template": remote_template}}})
    error = await s.error("sandbox/run")
    [item] = error.data["items"]
    assert item["field"] == "template" and item["value"] == remote_template
    with pytest.raises(docker.errors.ImageNotFound):  # not pulled before the user allowed it
        docker_api.inspect_image(remote_template)
    result = await s.request("sandbox/run", {"accept": [item["id"]]})
    assert result["created"] and result["template"] == remote_template
