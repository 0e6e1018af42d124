"""berth-server over stdio with a real LSP client, against the real engine."""

from __future__ import annotations

import json
import os
import subprocess

import docker
import pytest
from berth.lsp.sandbox_requests import COMMANDS
from lsprotocol import types
from support.containers import sandboxes_of
from support.engine import FRESH_LOG, log_events
from support.images import CLAUDE, PLAIN
from support.lsp import stop_session, uri

TEMPLATE = {"template": CLAUDE}


async def test_first_status_for_every_folder_then_run(sessions, make_workspace):
    a, b = make_workspace("a"), make_workspace("b")
    s = await sessions([a, b], options=TEMPLATE)
    for folder in (a, b):
        first = await s.wait_status(folder, "absent")
        assert first == {"workspace": folder, "name": None, "state": "absent", "sandbox": None,
                         "drift": []}

    mark = len(s.statuses)
    result = await s.request("sandbox/run", {"workspace": a})
    assert result["workspace"] == a and result["status"] == "running" and result["created"]
    assert result["template"] == CLAUDE and result["agent"] == "claude"
    assert result["drift"] == []
    assert result["attach"]["argv"][-2:] == ["claude", "--dangerously-skip-permissions"]
    assert result["createdAt"].endswith("Z")
    creating = await s.wait_status(a, "creating", after=mark)
    running = await s.wait_status(a, "running", after=mark)
    assert s.statuses.index(creating) < s.statuses.index(running)
    assert running["sandbox"]["id"] == result["id"]
    assert len(sandboxes_of_api(a)) == 1


def sandboxes_of_api(workspace):
    return sandboxes_of(docker.APIClient(version="auto"), workspace)


async def test_long_work_reports_progress(sessions, workspace):
    s = await sessions([workspace], options=TEMPLATE)
    await s.request("sandbox/run")
    reports = [r for reports in s.client.progress_reports.values() for r in reports]
    kinds = [r.kind for r in reports]
    assert kinds[0] == "begin" and kinds[-1] == "end"
    messages = " ".join(r.message or "" for r in reports if r.kind == "report")
    assert "Creating sandbox" in messages and "Starting sandbox" in messages


async def test_workspace_can_be_omitted_only_with_one_folder(sessions, make_workspace):
    one = make_workspace("one")
    s = await sessions([one, make_workspace("two")], options=TEMPLATE)
    error = await s.error("sandbox/run")
    assert error.code == -32602 and "2 workspace folders are open" in error.message
    by_uri = await s.request("sandbox/run", {"workspace": uri(one)})
    assert by_uri["workspace"] == one


async def test_drift_from_settings_is_reported_and_recreate_clears_it(sessions, workspace):
    configuration = {uri(workspace): {"template": CLAUDE, "env": ["MODE=one"]}}
    s = await sessions([workspace], configuration=configuration)
    await s.request("sandbox/run")
    await s.wait_status(workspace, "running")

    s.client.set_configuration({"template": CLAUDE, "env": ["MODE=two"]}, section="berth",
                               scope_uri=uri(workspace))
    mark = len(s.statuses)
    s.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    drifted = await s.wait_status(workspace, lambda st: st["drift"], after=mark)
    assert drifted["state"] == "running"
    assert drifted["drift"] == [{"field": "env", "recorded": ["MODE"], "requested": ["MODE"],
                                 "changed": ["MODE"]}]
    again = await s.request("sandbox/run")
    assert again["drift"] == drifted["drift"] and not again["created"]
    out = await s.request("sandbox/exec", {"command": ["sh", "-c", "echo $MODE"]})
    assert out["stdout"] == "one\n"

    mark = len(s.statuses)
    recreated = await s.request("sandbox/recreate")
    assert recreated["drift"] == [] and recreated["id"] != again["id"]
    await s.wait_status(workspace, lambda st: st["state"] == "running" and not st["drift"],
                        after=mark)
    out = await s.request("sandbox/exec", {"command": ["sh", "-c", "echo $MODE"]})
    assert out["stdout"] == "two\n"


async def test_request_params_override_settings(sessions, workspace):
    s = await sessions([workspace], options={"template": "berth-test/not-there:1"})
    result = await s.request("sandbox/run", {"template": CLAUDE, "env": ["P=1"]})
    assert result["template"] == CLAUDE
    [details] = await s.request("sandbox/inspect")
    assert details["config"]["env"] == ["P"]
    assert details["labels"]["dev.berth.sandbox"] == "true"


async def test_each_error_kind_has_its_code_and_leaves_nothing(sessions, workspace, tmp_path):
    s = await sessions([workspace], options=TEMPLATE)
    cases = [
        ({"volumes": ["relative:/x"]}, -32602, "must be absolute"),
        ({"volumes": [f"{tmp_path}/missing:/x"]}, -32602, "does not exist"),
        ({"volumes": ["/tmp"]}, -32602, "not of the form"),
        ({"env": ["=1"]}, -32602, "empty variable name"),
        ({"agent": "aider"}, -32602, "Unknown agent 'aider'"),
        ({"credentials": "all"}, -32602, "Unknown credentials mode 'all'"),
        ({"colour": "blue"}, -32602, "Unknown parameter 'colour'"),
        ({"workspace": f"{tmp_path}/nowhere"}, -32602, "does not exist"),
        ({"template": PLAIN}, -32003,
         "The claude binary was not found in the sandbox; please check this is the correct "
         "sandbox for this agent."),
        ({"template": "berth-test/missing:0"}, -32003, "berth-test/missing:0"),
    ]
    for params, code, text in cases:
        error = await s.error("sandbox/run", params)
        assert error.code == code, (params, error.message)
        assert text in error.message
        assert error.data["kind"] == {-32602: "badInput", -32003: "templateProblem"}[code]
        assert sandboxes_of_api(workspace) == []
    assert (await s.error("sandbox/stop")).code == -32001
    assert (await s.error("sandbox/inspect", {"ids": ["nope"]})).code == -32001
    assert (await s.error("sandbox/logs", {"tail": -1})).code == -32602
    assert (await s.error("sandbox/exec", {"command": []})).code == -32602
    assert (await s.error("sandbox/remove", {"all": True, "ids": ["x"]})).code == -32602
    await s.request("sandbox/run")
    await s.request("sandbox/stop")
    assert (await s.error("sandbox/exec", {"command": ["true"]})).code == -32004


async def test_commands_mirror_requests_and_differ_from_palette_ids(sessions, workspace):
    s = await sessions([workspace], options=TEMPLATE)
    advertised = s.client.protocol  # noqa: F841 - kept for symmetry with the request path
    result = await s.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=COMMANDS["sandbox/run"], arguments=[{"workspace": workspace}]))
    assert result["workspace"] == workspace and result["status"] == "running"
    listed = await s.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="berthServer.list", arguments=[{}]))
    assert result["id"] in [x["id"] for x in listed]
    assert all(not c.startswith("berth.") for c in COMMANDS.values())


async def test_agents_lists_the_built_in_and_the_users_own(sessions, workspace, user_config_home):
    (user_config_home / "berth").mkdir()
    (user_config_home / "berth" / "config.toml").write_text(
        '[defaults]\nagent = "mine"\n[agents.mine]\nbinary = "claude"\ntemplate = "' + CLAUDE
        + '"\nkeys = ["MINE_KEY"]\n')
    s = await sessions([workspace])
    agents = {a["name"]: a for a in await s.request("sandbox/agents")}
    assert set(agents) == {"claude", "codex", "gemini", "copilot", "opencode", "shell", "mine"}
    assert agents["codex"]["state"] == ["~/.codex"] and agents["shell"]["credentialsVolume"] is None
    assert agents["mine"]["keys"] == ["MINE_KEY"] and agents["mine"]["source"] != "built-in"
    same = await s.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="berthServer.agents", arguments=[{}]))
    assert [a["name"] for a in same] == list(agents)
    # The config file's default agent is what a bare run creates.
    assert (await s.request("sandbox/run"))["agent"] == "mine"


async def test_outside_docker_commands_are_reported(sessions, workspace, docker_api):
    s = await sessions([workspace], options=TEMPLATE)
    result = await s.request("sandbox/run")
    await s.wait_status(workspace, "running")

    mark = len(s.statuses)
    subprocess.run(["docker", "stop", "-t", "1", result["id"]], check=True, capture_output=True)
    await s.wait_status(workspace, "stopped", after=mark)

    mark = len(s.statuses)
    subprocess.run(["docker", "rename", result["name"], "renamed-by-hand"], check=True)
    renamed = await s.wait_status(
        workspace, lambda st: (st["sandbox"] or {}).get("name") == "renamed-by-hand", after=mark)
    assert renamed["state"] == "stopped"

    mark = len(s.statuses)
    subprocess.run(["docker", "start", result["id"]], check=True, capture_output=True)
    await s.wait_status(workspace, "running", after=mark)

    mark = len(s.statuses)
    subprocess.run(["docker", "rm", "-f", result["id"]], check=True, capture_output=True)
    gone = await s.wait_status(workspace, "absent", after=mark)
    assert gone["sandbox"] is None


async def test_another_window_sees_the_same_truth(sessions, workspace):
    first = await sessions([workspace], options=TEMPLATE)
    second = await sessions([workspace], options=TEMPLATE)
    await second.wait_status(workspace, "absent")
    result = await first.request("sandbox/run")
    seen = await second.wait_status(workspace, "running")
    assert seen["sandbox"]["id"] == result["id"]
    await first.request("sandbox/remove")
    await second.wait_status(workspace, "absent", after=second.statuses.index(seen))


async def test_restarted_server_finds_its_running_sandbox(sessions, workspace):
    first = await sessions([workspace], options=TEMPLATE)
    result = await first.request("sandbox/run")
    await stop_session(first)
    second = await sessions([workspace], options=TEMPLATE)
    status = await second.wait_status(workspace, "running")
    assert status["sandbox"]["id"] == result["id"]
    again = await second.request("sandbox/run")
    assert again["id"] == result["id"] and not again["created"]


async def test_folders_added_later_get_a_status(sessions, make_workspace):
    first, later = make_workspace("first"), make_workspace("later")
    s = await sessions([first], options=TEMPLATE)
    await s.wait_status(first, "absent")
    s.client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(
            added=[types.WorkspaceFolder(uri=uri(later), name="later")], removed=[])))
    await s.wait_status(later, "absent")
    statuses = await s.request("sandbox/status")
    assert sorted(x["workspace"] for x in statuses) == sorted([first, later])


@pytest.mark.parametrize("mode, expected", [("never", "absent"), ("always", "running")])
async def test_auto_start_on_open(sessions, workspace, mode, expected):
    s = await sessions([workspace], options={**TEMPLATE, "autoStart": mode})
    status = await s.wait_status(workspace, expected)
    if mode == "never":
        result = await s.request("sandbox/status")
        assert result[0]["state"] == "absent"
    else:
        assert status["sandbox"]["template"] == CLAUDE


async def test_auto_start_existing_starts_a_stopped_sandbox_only(sessions, make_workspace):
    stopped, absent = make_workspace("stopped"), make_workspace("absent")
    setup = await sessions([stopped], options=TEMPLATE)
    await setup.request("sandbox/run")
    await setup.request("sandbox/stop")
    await stop_session(setup)
    s = await sessions([stopped, absent], options=TEMPLATE)  # autoStart defaults to existing
    await s.wait_status(stopped, "running")
    statuses = await s.request("sandbox/status", {"workspace": absent})
    assert statuses[0]["state"] == "absent"


async def test_list_inspect_logs_exec_and_remove_all(sessions, make_workspace, docker_api):
    a, b = make_workspace("a"), make_workspace("b")
    s = await sessions([a, b], options=TEMPLATE)
    ra = await s.request("sandbox/run", {"workspace": a, "env": ["SECRET=v"]})
    box = "named-box-" + os.urandom(3).hex()  # unique: other suites may share the engine
    rb = await s.request("sandbox/run", {"workspace": b, "name": box})
    listed = {x["id"]: x for x in await s.request("sandbox/list")}
    assert {ra["id"], rb["id"]} <= set(listed)
    assert set(listed[ra["id"]]) == {"id", "name", "workspace", "agent", "template", "status",
                                     "state", "createdAt", "networkPolicy", "named", "ports",
                                     "resources", "oomKilled", "builtTemplate"}
    assert listed[rb["id"]]["named"] is True and listed[ra["id"]]["named"] is False
    [ia, ib] = await s.request("sandbox/inspect", {"ids": [ra["id"], box]})
    assert ia["config"]["env"] == ["SECRET"] and ib["name"] == box
    out = await s.request("sandbox/exec", {"workspace": b, "name": box,
                                           "command": ["sh", "-c", "echo hi >&2"]})
    assert out == {"exitCode": 0, "stdout": "", "stderr": "hi\n"}
    logs = await s.request("sandbox/logs", {"workspace": a, "tail": 5})
    assert log_events(logs["text"]) == FRESH_LOG

    other = docker_api.create_container(CLAUDE, command=["sleep", "30"], name="bystander-" + ra["id"])
    try:
        removed = await s.request("sandbox/remove", {"all": True})
        assert {ra["id"], rb["id"]} <= set(removed["removed"])
        assert docker_api.inspect_container(other["Id"])
        await s.wait_status(a, "absent")
        await s.wait_status(b, "absent", name=box)
    finally:
        docker_api.remove_container(other["Id"], force=True)


async def test_stop_logs_and_exec_by_id_act_on_exactly_that_sandbox(sessions, make_workspace,
                                                                    docker_api):
    a, b = make_workspace("a"), make_workspace("b")
    s = await sessions([a, b], options=TEMPLATE)
    ra = await s.request("sandbox/run", {"workspace": a})
    rb = await s.request("sandbox/run", {"workspace": b})
    assert ra["state"] == "running" and rb["state"] == "running"
    out = await s.request("sandbox/exec", {"ids": [rb["name"]], "command": ["pwd"]})
    assert out == {"exitCode": 0, "stdout": b + "\n", "stderr": ""}
    logs = await s.request("sandbox/logs", {"ids": [ra["id"]], "tail": 5})
    assert log_events(logs["text"]) == FRESH_LOG
    for method, params in (("sandbox/exec", {"ids": [ra["id"], rb["id"]], "command": ["true"]}),
                           ("sandbox/logs", {"ids": [ra["id"], rb["id"]]}),
                           ("sandbox/stop", {"workspace": a, "ids": [ra["id"]]}),
                           ("sandbox/stop", {"all": "yes"}),
                           ("sandbox/exec", {"all": True, "command": ["true"]})):
        error = await s.error(method, params)
        assert error.code == -32602 and error.data["kind"] == "badInput", (method, error.message)

    mark = len(s.statuses)
    stopped = await s.request("sandbox/stop", {"ids": [ra["id"]]})
    assert [(x["id"], x["status"], x["state"]) for x in stopped] == [(ra["id"], "exited", "stopped")]
    assert docker_api.inspect_container(rb["id"])["State"]["Running"]
    await s.wait_status(a, "stopped", after=mark)
    [status] = await s.request("sandbox/status", {"workspace": a})
    assert status["sandbox"]["state"] == "stopped"
    [details] = await s.request("sandbox/inspect", {"ids": [ra["id"]]})
    assert details["state"] == "stopped"
    listed = {x["id"]: x for x in await s.request("sandbox/list")}
    assert (listed[ra["id"]]["state"], listed[rb["id"]]["state"]) == ("stopped", "running")
    one = await s.request("sandbox/stop", {"workspace": b})
    assert (one["id"], one["state"]) == (rb["id"], "stopped")


async def test_no_engine_means_unavailable_and_clear_errors(sessions, workspace, tmp_path):
    s = await sessions([workspace], options=TEMPLATE,
                       env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    status = await s.wait_status(workspace, "unavailable")
    assert "Docker engine is not answering" in status["message"]
    error = await s.error("sandbox/run")
    assert error.code == -32002 and error.data["kind"] == "engineUnavailable"
    assert "Start Docker" in error.message


async def test_socket_mount_warns_the_user(sessions, workspace):
    s = await sessions([workspace], options=TEMPLATE)
    result = await s.request("sandbox/run", {"mountDockerSocket": True})
    assert any("control the host's Docker engine" in w for w in result["warnings"])
    assert any("control the host's Docker engine" in m.message for m in s.client.messages)


async def test_bad_settings_are_reported_not_fatal(sessions, workspace):
    s = await sessions([workspace], configuration={uri(workspace): {
        "template": CLAUDE, "volumes": ["not-absolute:/x"]}})
    status = await s.wait_status(workspace, "absent")
    assert "berth.volumes" in status["message"] and "must be absolute" in status["message"]
    assert any("berth.volumes" in m.message for m in s.client.messages)


async def test_oversized_message_is_refused_and_the_server_lives(sessions, workspace):
    s = await sessions([workspace], options=TEMPLATE)
    huge = {"workspace": workspace, "env": ["A=" + "x" * (17 * 1024 * 1024)]}
    error = await s.error("sandbox/run", huge)
    assert error.code == -32602 and "limit" in error.message
    assert (await s.request("sandbox/status"))[0]["state"] == "absent"


async def test_results_are_plain_json(sessions, workspace):
    s = await sessions([workspace], options=TEMPLATE)
    result = await s.request("sandbox/run")
    assert json.loads(json.dumps(result)) == result


async def test_pulling_a_template_reports_progress(sessions, workspace, remote_template):
    s = await sessions([workspace], options={"template": remote_template})
    mark = len(s.statuses)
    result = await s.request("sandbox/run")
    assert result["template"] == remote_template and result["created"]
    reports = [r.message or "" for rs in s.client.progress_reports.values() for r in rs
               if r.kind == "report"]
    assert reports[0] == f"Pulling template {remote_template}"
    pulling = await s.wait_status(workspace, "creating", after=mark)
    assert pulling["message"].startswith(f"Pulling template {remote_template}")
