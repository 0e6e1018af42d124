"""Several sandboxes per workspace (`berth run --name`), against a real engine: each is its own
container with its own state, found by its name, beside the workspace's default one."""

from __future__ import annotations

import os

import pytest
from berth.errors import BadInput, Conflict, NotFound
from berth.selection import Selection
from support.containers import sandboxes_of
from support.engine import run
from support.images import GEMINI


def unique(name: str) -> str:
    return f"{name}-{os.urandom(3).hex()}"  # container names are the engine's: other suites share it


def names(engine, workspace):
    return sorted((s.name, s.named) for s in engine.list() if s.workspace == workspace)


def test_a_named_sandbox_is_made_beside_the_default_one_and_each_keeps_its_own_state(
        engine, workspace, docker_api):
    review = unique("review")
    default = run(engine, workspace)
    named = run(engine, workspace, sandbox=review)
    assert named.created and named.sandbox.name == review and named.sandbox.named == review
    assert named.sandbox.full_id != default.sandbox.full_id
    assert len(sandboxes_of(docker_api, workspace)) == 2
    # Each is its own container: what one writes outside the workspace the other never sees.
    engine.exec(Selection(workspace=workspace, name=review), ["sh", "-c", "echo n > /tmp/mine"])
    assert engine.exec(workspace, ["cat", "/tmp/mine"]).exit_code != 0
    # Both see the one workspace.
    engine.exec(Selection(workspace=workspace, name=review), ["sh", "-c", "echo hi > shared"])
    assert engine.exec(workspace, ["cat", "shared"]).stdout == "hi\n"
    # Run again by name: the same one; without a name: the default one.
    assert run(engine, workspace, sandbox=review).sandbox.full_id == named.sandbox.full_id
    assert run(engine, workspace).sandbox.full_id == default.sandbox.full_id
    assert engine.find(workspace).full_id == default.sandbox.full_id
    assert engine.names(workspace) == [review]


def test_stop_and_remove_by_name_leave_the_default_sandbox_alone(engine, workspace):
    review = unique("review")
    default = run(engine, workspace)
    run(engine, workspace, sandbox=review)
    [stopped] = engine.stop_selected(Selection(workspace=workspace, name=review))
    assert stopped.state == "stopped"
    assert engine.status(workspace).state == "running"
    assert engine.status(workspace, name=review).state == "stopped"
    assert engine.remove(Selection(workspace=workspace, name=review)) == [stopped.id]
    assert engine.status(workspace, name=review).state == "absent"
    assert engine.find(workspace).full_id == default.sandbox.full_id
    with pytest.raises(NotFound, match=f"no sandbox named '{review}'"):
        engine.logs(Selection(workspace=workspace, name=review))


def test_removing_the_default_sandbox_leaves_the_named_ones(engine, workspace):
    review = unique("review")
    run(engine, workspace)
    named = run(engine, workspace, sandbox=review)
    engine.remove(Selection(workspace=workspace))
    assert engine.find(workspace) is None
    assert engine.find(workspace, review).full_id == named.sandbox.full_id
    assert engine.status(workspace, name=review).state == "running"


def test_named_sandboxes_may_run_other_agents_and_share_the_agents_login(engine, workspace,
                                                                         docker_api):
    a, b = unique("claude-a"), unique("gemini-b")
    run(engine, workspace, sandbox=a)
    run(engine, workspace, sandbox=b, agent="gemini", template=GEMINI)
    c = unique("claude-c")
    run(engine, workspace, sandbox=c)
    by_name = {s.name: s for s in engine.list() if s.workspace == workspace}
    assert by_name[b].agent == "gemini" and by_name[a].agent == "claude"

    def volumes(name):
        mounts = docker_api.inspect_container(by_name[name].full_id)["Mounts"]
        return {m["Name"] for m in mounts if m["Type"] == "volume"}

    # One login per agent, shared by every sandbox of that agent, whatever its name.
    assert "berth-claude-credentials" in volumes(a) & volumes(c)
    assert "berth-gemini-credentials" in volumes(b)


def test_a_name_another_workspace_uses_is_refused_and_nothing_is_made(engine, make_workspace,
                                                                      docker_api):
    one, two = make_workspace("one"), make_workspace("two")
    taken = unique("taken")
    run(engine, one, sandbox=taken)
    with pytest.raises(Conflict, match=f"{taken}.*not this workspace's sandbox"):
        run(engine, two, sandbox=taken)
    assert sandboxes_of(docker_api, two) == []
    assert engine.find(one, taken) is not None


def test_recreate_by_name_keeps_it_named_and_leaves_the_default_one(engine, workspace):
    review = unique("review")
    default = run(engine, workspace)
    before = run(engine, workspace, sandbox=review)
    after = run(engine, workspace, sandbox=review, env=["MODE=review"], recreate=True)
    assert after.created and after.sandbox.full_id != before.sandbox.full_id
    assert after.sandbox.named == review and after.sandbox.name == review
    assert engine.exec(Selection(workspace=workspace, name=review),
                       ["sh", "-c", "echo $MODE"]).stdout == "review\n"
    assert engine.find(workspace).full_id == default.sandbox.full_id
    assert names(engine, workspace) == sorted([(default.sandbox.name, None), (review, review)])


def test_a_named_sandbox_in_a_folder_with_spaces_and_non_ascii_letters(engine, make_workspace):
    workspace = make_workspace("mein Projekt ÄÖÜ 日本")
    second = unique("zweite")
    run(engine, workspace, sandbox=second)
    assert engine.exec(Selection(workspace=workspace, name=second), ["pwd"]).stdout \
        == f"{workspace}\n"
    assert engine.find(workspace) is None  # no default one was made


def test_a_bad_name_is_refused_with_the_value(engine, workspace, docker_api):
    with pytest.raises(BadInput, match="'-nope' is not a valid sandbox name"):
        run(engine, workspace, sandbox="-nope")
    assert sandboxes_of(docker_api, workspace) == []
    with pytest.raises(BadInput, match="'name' names one of a workspace's sandboxes"):
        Selection.of(ids=["abc"], name="x")


def test_a_name_that_is_the_default_sandboxs_container_name_is_refused(engine, workspace):
    default = run(engine, workspace)
    with pytest.raises(Conflict, match="is this workspace's default sandbox: run it without"):
        run(engine, workspace, sandbox=default.sandbox.name)
    assert engine.find(workspace, default.sandbox.name) is None
    assert engine.names(workspace) == []
