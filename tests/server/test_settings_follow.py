"""Settings are what the client's settings say now: a setting the user removes stops applying at
once, even when the client also sent it in initializationOptions at startup (VS Code does)."""

from __future__ import annotations

from lsprotocol import types
from support.images import CLAUDE
from support.lsp import uri


async def test_a_removed_setting_stops_applying(sessions, workspace):
    first = {"template": CLAUDE, "mountDockerSocket": True, "env": ["OLD=1"]}
    s = await sessions([workspace], options=first, configuration={uri(workspace): first})
    await s.wait_status(workspace, "absent")

    # The user deletes two settings: the client now answers without them.
    s.client.set_configuration({"template": CLAUDE}, section="berth", scope_uri=uri(workspace))
    s.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    result = await s.request("sandbox/run")
    assert result["created"]
    [details] = await s.request("sandbox/inspect")
    assert details["config"]["mountDockerSocket"] is False
    assert details["config"]["env"] == []
    assert details["config"]["template"] == CLAUDE


async def test_initialization_options_apply_until_the_client_answers_for_the_folder(sessions,
                                                                                  workspace):
    # A client with nothing for the folder (it answers null) keeps the initializationOptions.
    s = await sessions([workspace], options={"template": CLAUDE, "env": ["FROM_INIT=1"]})
    result = await s.request("sandbox/run")
    assert result["template"] == CLAUDE
    out = await s.request("sandbox/exec", {"command": ["sh", "-c", "echo $FROM_INIT"]})
    assert out["stdout"] == "1\n"
