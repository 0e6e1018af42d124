"""Agent sessions on the real engine: the agent outlives its terminal, is attached again with its
screen, and its exit code and last words stay (berth.engine.sessions, the session holder)."""

from __future__ import annotations

import subprocess
import time

import pytest
from berth.errors import Conflict, NotFound
from berth.selection import Selection
from support.engine import run
from support.images import PLAIN
from support.terminal import Terminal


def listed(engine, workspace):
    return engine.sessions(Selection(workspace=workspace))[1]


def until(check, what: str, timeout: float = 20.0):
    """Polls the sandbox's own record until `check` holds (the holder changes it asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.2)


def test_the_agent_outlives_its_terminal_and_comes_back_with_its_screen(engine, workspace):
    result = run(engine, workspace)
    term = Terminal(result.attach)
    term.expect("fake-agent claude as agent in " + workspace)
    term.expect("tty: yes")
    term.send("first words\r")
    term.expect("agent heard: first words")
    term.close()  # the tab closes: the agent must go on

    [session] = listed(engine, workspace)
    assert session.id == "claude-1" and session.running and session.agent == "claude"

    sandbox, found, argv = engine.attach_session(Selection(workspace=workspace))
    assert found.id == "claude-1"
    again = Terminal(argv)
    again.expect("agent heard: first words")  # the screen it had, replayed
    assert listed(engine, workspace)[0].attached
    again.send("second\r")
    again.expect("agent heard: second")
    again.send("exit\r")
    assert again.wait() == 0
    [ended] = listed(engine, workspace)
    assert ended.state == "exited" and ended.exit_code == 0
    assert ended.last_output.splitlines()[-1] == "fake-agent done"


def test_ctrl_backslash_detaches_and_a_second_session_is_its_own(engine, workspace):
    result = run(engine, workspace)
    first = Terminal(result.attach)
    first.expect("tty: yes")
    first.send(b"\x1c")
    first.expect("the agent keeps running")
    assert first.wait() == 0
    second = Terminal(run(engine, workspace).attach)
    second.expect("tty: yes")
    second.send("exit\r")
    assert second.wait() == 0
    states = {s.id: s.state for s in listed(engine, workspace)}
    assert states == {"claude-1": "running", "claude-2": "exited"}


def test_an_exited_agent_keeps_its_exit_code_and_last_output(engine, workspace):
    result = engine.run(workspace, _request(), ["-c", "x"])
    # The session's own argv, from a pipe (the holder's pipe mode).
    argv = [a if a != "-it" else "-i" for a in result.attach]
    # Piped input: the agent reads it, then end-of-file, and the output is read to the end.
    out = subprocess.run(argv, input="ping\n", capture_output=True, text=True, timeout=60)
    assert "agent heard: ping" in out.stdout and out.returncode == 0
    # The holder itself reports a missing program as the shell would: 127, and why.
    missing = [*argv[:argv.index("--") + 1], "no-such-agent"]
    out = subprocess.run(missing, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 127
    by_id = {s.id: s for s in listed(engine, workspace)}
    assert by_id["claude-2"].exit_code == 127 and by_id["claude-2"].reason.kind == "binaryMissing"
    assert "cannot run no-such-agent" in by_id["claude-2"].last_output
    # Attaching an exited session replays its last screen and gives its exit code.
    _, found, replay = engine.attach_session(Selection(workspace=workspace), "claude-2", tty=False)
    out = subprocess.run(replay, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 127 and "cannot run no-such-agent" in out.stdout


def test_stopping_a_session_ends_its_agent_and_the_sandbox_keeps_running(engine, workspace):
    result = run(engine, workspace)
    term = Terminal(result.attach)
    term.expect("tty: yes")
    sandbox, after = engine.stop_session(Selection(workspace=workspace), "claude-1")
    assert after[0].state == "exited" and after[0].reason.kind == "stopped"
    assert term.wait() == 129  # the attached terminal hears the agent's end (a hang-up)
    assert engine.find(workspace).status == "running"
    with pytest.raises(NotFound, match="no session claude-9"):
        engine.stop_session(Selection(workspace=workspace), "claude-9")


def test_sessions_end_with_their_sandbox_and_are_told_apart_after_a_start(engine, workspace):
    term = Terminal(run(engine, workspace).attach)
    term.expect("tty: yes")
    engine.stop(workspace)
    assert term.wait() != 0
    assert listed(engine, workspace) == []  # a stopped sandbox runs nothing
    with pytest.raises(Conflict, match="not running"):
        engine.attach_session(Selection(workspace=workspace), "claude-1")
    run(engine, workspace)
    [old] = listed(engine, workspace)
    assert old.state == "ended" and old.exit_code is None  # not "running": its process is gone
    with pytest.raises(NotFound, match="No agent is running"):
        engine.attach_session(Selection(workspace=workspace))


def test_the_holder_runs_in_a_template_without_a_shell_user(engine, make_workspace, docker_api):
    # Any template: this one has no named user and runs everything as root.
    workspace = make_workspace("plain")
    result = run(engine, workspace, template=PLAIN, agent="shell")
    term = Terminal(result.attach)
    term.send("echo from-$((40+2))\r")
    term.expect("from-42")
    term.send("exit\r")
    assert term.wait() == 0
    [session] = listed(engine, workspace)
    assert session.agent == "shell" and session.exit_code == 0
    # The holder was copied once, root's, and is the same file on the next run.
    holder = result.attach[result.attach.index("new") - 1]
    stat = docker_api.exec_create(result.sandbox.full_id, ["stat", "-c", "%U %a", holder])
    assert docker_api.exec_start(stat["Id"]).decode().strip() == "root 755"
    assert run(engine, workspace, template=PLAIN, agent="shell").attach == result.attach
    # Shared by the engine's sandboxes, read-only: not even root in one can change it for others.
    write = docker_api.exec_create(result.sandbox.full_id, ["sh", "-c", f"echo x > {holder}"],
                                   user="0")
    assert b"Read-only file system" in docker_api.exec_start(write["Id"])


def test_a_sandbox_made_without_the_holders_volume_gets_a_copy(engine, workspace, docker_api):
    from berth.container_setup import IDLE_ENTRYPOINT
    from support.images import CLAUDE

    made = run(engine, workspace)
    # As a sandbox made by an older Berth: the same labels and mounts, no holder volume.
    info = docker_api.inspect_container(made.sandbox.full_id)
    engine.remove(Selection(workspace=workspace))
    binds = [f"{m['Source']}:{m['Destination']}" for m in info["Mounts"] if m["Type"] == "bind"]
    old = docker_api.create_container(
        CLAUDE, name=info["Name"][1:], entrypoint=IDLE_ENTRYPOINT, user="0", labels=info["Config"]["Labels"],
        working_dir=workspace, host_config=docker_api.create_host_config(binds=binds))
    docker_api.start(old["Id"])
    term = Terminal(run(engine, workspace).attach)
    term.expect("tty: yes")
    term.send("exit\r")
    assert term.wait() == 0


def _request():
    from berth.config import parse_request
    from support.images import CLAUDE

    return parse_request({"template": CLAUDE})


def test_a_sandbox_that_plants_fifos_and_folders_cannot_stall_or_flood_the_listing(
        engine, workspace, docker_api):
    result = run(engine, workspace)
    term = Terminal(result.attach)
    term.expect("tty: yes")
    # The agent owns its sessions folder: a FIFO where a session's info is read, and 2000 fakes.
    planted = docker_api.exec_create(result.sandbox.full_id, ["sh", "-c", (
        'd=/tmp/berth-sessions-$(id -u); mkdir -p $d/evil && mkfifo $d/evil/info $d/evil/exit; '
        'i=0; while [ $i -lt 2000 ]; do mkdir $d/fake-$i; '
        'printf \'{"id":"fake-%s","agent":"x","started":1,"pid":1,"startTime":1}\' $i '
        '> $d/fake-$i/info; echo 0 > $d/fake-$i/exit; i=$((i+1)); done')], user="agent")
    docker_api.exec_start(planted["Id"])
    found = listed(engine, workspace)  # returns: no read waits on the FIFO
    assert len(found) <= 64
    assert "evil" not in {s.id for s in found}
    assert any(s.id == "claude-1" and s.running for s in found) or len(found) == 64


def test_a_large_paste_reaches_the_agent_whole(engine, workspace):
    result = run(engine, workspace)
    holder = result.attach[result.attach.index("new") - 1]
    prefix = result.attach[:result.attach.index(holder)]
    prefix = [a if a != "-it" else "-i" for a in prefix]
    counter = subprocess.run([*prefix, holder, "new", "--agent", "count", "--", "sh", "-c",
                              "stty raw -echo; head -c 300000 | wc -c > /tmp/pasted"],
                             capture_output=True, text=True, timeout=60, check=True)
    session = counter.stdout.strip()
    # Piped in at once, faster than the agent reads: nothing is dropped.
    paste = subprocess.run([*prefix, holder, "attach", session], input=b"a" * 300000,
                           capture_output=True, timeout=120)
    assert paste.returncode == 0, paste.stderr
    out = subprocess.run([*prefix, "cat", "/tmp/pasted"], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "300000"
