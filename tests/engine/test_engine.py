"""The engine against a real Docker engine: what a user of `run`, `rm`, `ls` and friends sees."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from berth.config import parse_request
from berth.engine import ROOT_WORKSPACE_WARNING, SOCKET_WARNING, Engine
from berth.errors import BadInput, Conflict, NotFound, TemplateProblem
from support.containers import MARKER, sandboxes_of
from support.engine import FRESH_LOG, log_events, run, user_mounts
from support.images import CLAUDE, CLAUDE_WITH_CONFIG, GEMINI, HOST_UID, PLAIN


def sh(engine: Engine, workspace: str, script: str):
    return engine.exec(workspace, ["sh", "-c", script])


def test_run_creates_one_labelled_sandbox_and_reuses_it(engine, workspace, docker_api):
    first = run(engine, workspace)
    assert first.created and first.sandbox.status == "running"
    second = run(engine, workspace)
    assert not second.created
    assert second.sandbox.full_id == first.sandbox.full_id
    containers = sandboxes_of(docker_api, workspace)
    assert len(containers) == 1
    labels = containers[0]["Labels"]
    assert labels["dev.berth.sandbox"] == "true"
    assert labels["dev.berth.workspace"] == workspace
    assert labels["dev.berth.agent"] == "claude"
    assert json.loads(labels["dev.berth.config"])["template"] == CLAUDE


def test_workspace_is_mounted_read_write_at_the_same_path(engine, workspace):
    run(engine, workspace)
    Path(workspace, "from-host.txt").write_text("hello from host")
    result = sh(engine, workspace, 'pwd; cat from-host.txt; echo "from sandbox" > from-sandbox.txt')
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [workspace, "hello from host"]
    assert Path(workspace, "from-sandbox.txt").read_text() == "from sandbox\n"


def test_agent_user_takes_the_workspace_owners_uid(engine, workspace):
    result = run(engine, workspace)
    assert result.warnings == []
    assert sh(engine, workspace, "id -u; touch made-by-agent").stdout == f"{HOST_UID}\n"
    assert os.stat(Path(workspace, "made-by-agent")).st_uid == HOST_UID


def test_root_owned_workspace_is_left_alone_with_a_warning(engine, make_workspace):
    workspace = make_workspace("rooted", owner=0)
    result = run(engine, workspace)
    assert ROOT_WORKSPACE_WARNING in result.warnings
    assert os.stat(workspace).st_uid == 0


def test_agent_runs_as_the_templates_non_root_user(engine, workspace, docker_api):
    result = run(engine, workspace)
    assert sh(engine, workspace, "id -un").stdout.strip() == "agent"
    assert "-u" in result.attach and result.attach[result.attach.index("-u") + 1] == "agent"
    assert result.attach[-2:] == ["claude", "--dangerously-skip-permissions"]
    info = docker_api.inspect_container(result.sandbox.full_id)
    assert info["HostConfig"]["Privileged"] is False
    assert not info["HostConfig"]["CapAdd"]


def test_attach_argv_runs_the_agent_with_its_arguments(engine, workspace):
    import subprocess

    result = engine.run(workspace, parse_request({"template": CLAUDE}), ["-c", "--model", "x"])
    argv = [a if a != "-it" else "-i" for a in result.attach]
    out = subprocess.run(argv, input="ping\nexit\n", capture_output=True, text=True, timeout=30)
    assert "fake-agent claude as agent in " + workspace in out.stdout
    assert "args: --dangerously-skip-permissions -c --model x" in out.stdout
    assert "agent heard: ping" in out.stdout


def test_the_agent_gets_the_terminals_term_and_colorterm(engine, workspace):
    import subprocess

    result = run(engine, workspace)
    argv = [a if a != "-it" else "-i" for a in result.shell] + ["-c", 'echo "$TERM|$COLORTERM"']
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)
    assert out.stdout.strip().splitlines()[-1] == "xterm-256color|truecolor", out


def test_recreate_with_another_agent_renames_a_default_named_sandbox(engine, workspace):
    from berth.workspace import default_sandbox_name

    first = run(engine, workspace)
    assert first.sandbox.name == default_sandbox_name("claude", workspace)
    second = run(engine, workspace, agent="gemini", template=GEMINI, recreate=True)
    assert second.sandbox.name == default_sandbox_name("gemini", workspace)
    assert [s.name for s in engine.list() if s.workspace == workspace] == [second.sandbox.name]
    named = run(engine, workspace, agent="claude", name="my-box-" + os.urandom(3).hex(),
                recreate=True)
    kept = run(engine, workspace, agent="gemini", template=GEMINI, recreate=True)
    assert kept.sandbox.name == named.sandbox.name  # a name the user chose stays


def test_env_is_visible_to_every_process(engine, workspace):
    run(engine, workspace, env=["GREETING=hi there", "EMPTY="])
    out = sh(engine, workspace, 'echo "$GREETING|${EMPTY-unset}"').stdout
    assert out == "hi there|\n"


def test_extra_volumes_and_read_only_is_really_read_only(engine, workspace, tmp_path):
    rw, ro = tmp_path / "cache", tmp_path / "refs"
    rw.mkdir()
    ro.mkdir()
    os.chown(rw, HOST_UID, HOST_UID)
    (ro / "keep.txt").write_text("original")
    run(engine, workspace, volumes=[f"{rw}:/cache", f"{ro}:/refs:ro"])
    assert sh(engine, workspace, "echo x > /cache/new.txt").exit_code == 0
    assert (rw / "new.txt").read_text() == "x\n"
    write = sh(engine, workspace, "echo y > /refs/keep.txt")
    assert write.exit_code != 0
    assert "Read-only file system" in write.stderr
    assert (ro / "keep.txt").read_text() == "original"


def test_docker_socket_only_on_request_and_always_with_a_warning(engine, make_workspace,
                                                                 docker_api):
    plain_ws, socket_ws = make_workspace("plain"), make_workspace("socket")
    plain = run(engine, plain_ws)
    assert plain.warnings == []
    mounts = docker_api.inspect_container(plain.sandbox.full_id)["Mounts"]
    assert not any(m["Destination"] == "/var/run/docker.sock" for m in mounts)

    with_socket = run(engine, socket_ws, mountDockerSocket=True)
    assert with_socket.warnings == [SOCKET_WARNING]
    assert "control the host's Docker engine" in SOCKET_WARNING
    assert sh(engine, socket_ws, "test -S /var/run/docker.sock").exit_code == 0
    assert run(engine, socket_ws).warnings == [SOCKET_WARNING]  # every run, not only the first


def test_credentials_volume_is_writable_shared_and_survives_rm(engine, make_workspace,
                                                               docker_api):
    first, second = make_workspace("one"), make_workspace("two")
    run(engine, first, credentials="sandbox")
    stored = sh(engine, first, "echo token-1 > ~/.claude/login.json && ls -ld ~/.claude/")
    assert stored.exit_code == 0, stored.stderr
    engine.remove(workspace=first)
    assert sandboxes_of(docker_api, first) == []
    assert docker_api.inspect_volume("berth-claude-credentials")["Name"]
    run(engine, second)
    assert sh(engine, second, "cat ~/.claude/login.json").stdout == "token-1\n"
    sh(engine, second, "rm ~/.claude/login.json")


def test_template_agent_config_is_kept_not_clobbered(engine, workspace):
    run(engine, workspace, template=CLAUDE_WITH_CONFIG)
    out = sh(engine, workspace, "cat ~/.claude/settings.json")
    assert out.exit_code == 0
    assert json.loads(out.stdout) == {"fromTemplate": True}


def test_credentials_none_stores_nothing(engine, workspace, docker_api):
    result = run(engine, workspace, credentials="none")
    mounts = docker_api.inspect_container(result.sandbox.full_id)["Mounts"]
    assert [m["Destination"] for m in user_mounts(mounts)] == [workspace]
    assert sh(engine, workspace, "test -e ~/.claude").exit_code != 0


def test_credentials_host_mounts_gitconfig_and_ssh_read_only(engine, workspace, tmp_path,
                                                             monkeypatch, docker_api):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_test").write_text("key")
    (home / ".gitconfig").write_text("[user]\n\tname = Host User\n")
    monkeypatch.setenv("HOME", str(home))
    result = run(engine, workspace, credentials="host")
    mounts = {m["Destination"]: m for m in
              docker_api.inspect_container(result.sandbox.full_id)["Mounts"]}
    for target in ("/mnt/host-credentials/.gitconfig", "/mnt/host-credentials/.ssh"):
        assert mounts[target]["RW"] is False
    assert "Host User" in sh(engine, workspace, "cat ~/.gitconfig").stdout
    assert sh(engine, workspace, "touch ~/.ssh/new").exit_code != 0
    assert sorted(os.listdir(home / ".ssh")) == ["id_test"]


def test_host_git_identity_is_brought_in(engine, workspace, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Ada Lovelace\n\temail = ada@example.org\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    run(engine, workspace)
    out = sh(engine, workspace, 'echo "$GIT_AUTHOR_NAME <$GIT_COMMITTER_EMAIL>"').stdout
    assert out == "Ada Lovelace <ada@example.org>\n"


def test_template_without_the_agent_fails_exactly_and_leaves_nothing(engine, workspace,
                                                                     docker_api):
    for template, binary in ((PLAIN, "claude"), (CLAUDE, "gemini")):
        fields = {"template": template} | ({"agent": "gemini"} if binary == "gemini" else {})
        with pytest.raises(TemplateProblem) as info:
            engine.run(workspace, parse_request(fields))
        assert info.value.message == (
            f"The {binary} binary was not found in the sandbox; please check this is the correct "
            "sandbox for this agent.")
        assert sandboxes_of(docker_api, workspace) == []


def test_missing_template_names_the_image_and_leaves_nothing(engine, workspace, docker_api):
    with pytest.raises(TemplateProblem) as info:
        run(engine, workspace, template="berth-test/never-built:404")
    assert "berth-test/never-built:404" in info.value.message
    assert "could not be pulled" in info.value.message
    assert sandboxes_of(docker_api, workspace) == []


def test_drift_is_reported_and_the_sandbox_left_unchanged(engine, workspace):
    created = run(engine, workspace, env=["A=1"])
    again = run(engine, workspace, env=["A=2"], credentials="none")
    assert again.sandbox.full_id == created.sandbox.full_id
    # Environment drift names the variable whose value changed, never the values.
    assert {d["field"]: (d["recorded"], d["requested"]) for d in again.drift} == {
        "env": (["A"], ["A"]), "credentials": ("sandbox", "none")}
    assert [d["changed"] for d in again.drift if d["field"] == "env"] == [["A"]]
    assert sh(engine, workspace, "echo $A").stdout == "1\n"
    # The same value again is no drift: it is compared with the container's own environment.
    assert run(engine, workspace, env=["A=1"]).drift == []


def test_recreate_applies_the_new_settings_and_keeps_the_workspace(engine, workspace):
    Path(workspace, "precious.txt").write_text("keep me")
    created = run(engine, workspace, env=["A=1"])
    recreated = engine.run(workspace, parse_request({"env": ["A=2"]}), recreate=True)
    assert recreated.sandbox.full_id != created.sandbox.full_id
    assert recreated.drift == []
    assert sh(engine, workspace, "echo $A; cat precious.txt").stdout == "2\nkeep me"
    assert recreated.sandbox.config.template == CLAUDE  # not requested: kept from before


def test_stop_then_run_starts_the_same_sandbox(engine, workspace):
    created = run(engine, workspace)
    sh(engine, workspace, "echo installed > /tmp/state")
    assert engine.stop(workspace).status == "exited"
    again = run(engine, workspace)
    assert again.sandbox.full_id == created.sandbox.full_id and again.sandbox.status == "running"
    assert sh(engine, workspace, "cat /tmp/state").stdout == "installed\n"


def test_exec_on_a_stopped_sandbox_is_a_clear_conflict(engine, workspace):
    run(engine, workspace)
    engine.stop(workspace)
    with pytest.raises(Conflict, match="not running"):
        engine.exec(workspace, ["true"])


def test_exec_separates_exit_code_stdout_and_stderr(engine, workspace):
    run(engine, workspace)
    result = sh(engine, workspace, "echo out; echo err >&2; exit 3")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_list_inspect_and_remove_by_id_and_name(engine, make_workspace):
    a, b = make_workspace("a"), make_workspace("b")
    ra = run(engine, a, env=["X=1"])
    box = "my-box-" + os.urandom(3).hex()  # unique: other suites may share the engine
    rb = engine.run(b, parse_request({"template": GEMINI, "agent": "gemini", "name": box}))
    listed = {s.workspace: s for s in engine.list()}
    assert listed[a].id == ra.sandbox.id and listed[b].name == box
    assert listed[b].agent == "gemini" and listed[b].template == GEMINI
    [details] = engine.inspect(ids=[box])
    assert details.config.agent == "gemini" and details.full_id == rb.sandbox.full_id
    [by_prefix] = engine.inspect(ids=[ra.sandbox.id[:8]])
    assert by_prefix.config.env == ("X",)  # labels hold names; the value only the container
    assert engine.remove(ids=[ra.sandbox.id, box]) == [ra.sandbox.id, rb.sandbox.id]
    assert engine.find(a) is None and engine.find(b) is None


def test_unknown_id_fails_before_anything_is_removed(engine, workspace):
    result = run(engine, workspace)
    with pytest.raises(NotFound, match="no-such-sandbox"):
        engine.remove(ids=[result.sandbox.id, "no-such-sandbox"])
    assert engine.find(workspace) is not None


def test_remove_all_leaves_other_containers_volumes_and_images(engine, workspace, docker_api):
    run(engine, workspace)
    other = docker_api.create_container(CLAUDE, command=["sleep", "60"],
                                        labels={"dev.berth.workspace": workspace},
                                        name="not-berth-" + os.urandom(3).hex())
    try:
        removed = engine.remove(everything=True)
        assert removed and engine.list() == []
        assert docker_api.inspect_container(other["Id"])["Id"] == other["Id"]
        assert docker_api.inspect_image(CLAUDE)
        assert docker_api.inspect_volume("berth-claude-credentials")
    finally:
        docker_api.remove_container(other["Id"], force=True)


def test_non_berth_container_with_the_sandbox_name_is_never_touched(engine, workspace,
                                                                    docker_api):
    from berth.workspace import default_sandbox_name

    name = default_sandbox_name("claude", workspace)
    squatter = docker_api.create_container(CLAUDE, command=["sleep", "60"], name=name)
    try:
        with pytest.raises(Conflict, match="not this workspace's sandbox"):
            run(engine, workspace)
        assert engine.find(workspace) is None
        with pytest.raises(NotFound):
            engine.remove(ids=[name])
        assert docker_api.inspect_container(squatter["Id"])["State"]["Status"] == "created"
    finally:
        docker_api.remove_container(squatter["Id"], force=True)


def test_workspace_with_spaces_and_non_ascii_letters(engine, make_workspace):
    workspace = make_workspace("mein Arbeitsbereich ÄÖÜ 日本")
    result = run(engine, workspace)
    assert result.sandbox.workspace == workspace
    Path(workspace, "ü.txt").write_text("grüß")
    assert sh(engine, workspace, "cat ü.txt; pwd").stdout == f"grüß{workspace}\n"
    assert engine.find(workspace).full_id == result.sandbox.full_id


def test_logs_and_missing_sandbox_errors(engine, workspace):
    with pytest.raises(NotFound, match="has no sandbox"):
        engine.logs(workspace)
    with pytest.raises(NotFound):
        engine.stop(workspace)
    run(engine, workspace)
    assert log_events(engine.logs(workspace, tail=10)) == FRESH_LOG  # Berth's own lines only


def test_remove_needs_a_target(engine):
    with pytest.raises(BadInput):
        engine.remove()


def test_only_berth_labelled_containers_are_listed(engine, docker_api, workspace):
    run(engine, workspace)
    everything = docker_api.containers(all=True, filters={"label": [MARKER]})
    assert {c["Id"][:12] for c in everything} >= {s.id for s in engine.list()}
    assert all(s.labels["dev.berth.sandbox"] == "true" for s in engine.list())


def test_run_unpauses_a_sandbox_paused_from_outside(engine, workspace, docker_api):
    created = run(engine, workspace)
    docker_api.pause(created.sandbox.full_id)
    assert engine.find(workspace).status == "paused"
    again = run(engine, workspace)
    assert again.sandbox.full_id == created.sandbox.full_id
    assert again.sandbox.status == "running"
    assert sh(engine, workspace, "echo alive").stdout == "alive\n"


def test_recreate_onto_a_template_without_the_agent_keeps_the_sandbox(engine, workspace,
                                                                      docker_api):
    created = run(engine, workspace)
    sh(engine, workspace, "echo installed > /tmp/state")
    with pytest.raises(TemplateProblem) as info:
        engine.run(workspace, parse_request({"template": PLAIN}), recreate=True)
    assert info.value.message.startswith("The claude binary was not found in the sandbox")
    kept = engine.find(workspace)
    assert kept.full_id == created.sandbox.full_id and kept.status == "running"
    assert sh(engine, workspace, "cat /tmp/state").stdout == "installed\n"
    probes = docker_api.containers(all=True, filters={"label": ["dev.berth.probe=true"]})
    assert probes == []
    moved = engine.run(workspace, parse_request({"template": CLAUDE_WITH_CONFIG}), recreate=True)
    assert moved.sandbox.template == CLAUDE_WITH_CONFIG and moved.sandbox.status == "running"
    assert moved.sandbox.full_id != created.sandbox.full_id


def _derived_image(docker_api, tag: str, lines: str) -> str:
    """A template built on the offline one, without a registry: `lines` after its FROM."""
    import io

    dockerfile = f"FROM {CLAUDE}\n{lines}\n".encode()
    for _ in docker_api.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True, decode=True):
        pass
    return tag


@pytest.mark.parametrize("name, lines, says", [
    ("uid-taken", "USER root\nRUN echo 'other:x:1234:1234::/tmp:/bin/sh' >> /etc/passwd\nUSER agent",
     "uid 1234, which owns the workspace, belongs to another user of the template, so the agent "
     "(agent) keeps uid 1000"),
    ("numeric-user", "USER 1000",
     "the template's USER is a bare uid (1000), which Berth cannot give the workspace owner's uid "
     "1234"),
])
def test_an_agent_uid_that_cannot_follow_the_owner_is_a_warning(engine, workspace, docker_api,
                                                                 name, lines, says):
    template = _derived_image(docker_api, f"berth-test/{name}:1", lines)
    result = run(engine, workspace, template=template)
    [warning] = [w for w in result.warnings if "Setting up sandbox" in w]
    assert says in warning and "use a template" in warning
    # Said once, by the run that set it up; later runs have nothing new to say.
    assert [w for w in run(engine, workspace, template=template).warnings
            if "Setting up" in w] == []
