"""`berth sessions`, `berth attach`, and `berth run`/`stop` with sessions, as a user types them in a
real terminal, against the real engine."""

from __future__ import annotations

import json

from support.cli import BERTH, berth
from support.images import CLAUDE
from support.terminal import Terminal


def sessions_of(workspace: str) -> list[dict]:
    out = berth("sessions", "--json", cwd=workspace)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_run_detach_list_run_again_attaches_the_same_agent(workspace):
    first = Terminal([*BERTH, "run", "-t", CLAUDE, "claude"], cwd=workspace)
    first.expect("tty: yes")
    first.send("remember me\r")
    first.expect("agent heard: remember me")
    first.send(b"\x1c")
    first.expect("the agent keeps running")
    assert first.wait() == 0

    table = berth("sessions", cwd=workspace).stdout
    assert "claude-1" in table and "running, detached" in table

    again = Terminal([*BERTH, "run", "claude"], cwd=workspace)
    again.expect("claude-1 (claude) is already running in this sandbox: attaching it")
    again.expect("agent heard: remember me")
    again.send(b"\x1c")
    assert again.wait() == 0
    assert [s["id"] for s in sessions_of(workspace)] == ["claude-1"]

    other = Terminal([*BERTH, "run", "--new", "claude"], cwd=workspace)
    other.expect("tty: yes")
    other.send("exit\r")
    assert other.wait() == 0
    assert {s["id"]: s["state"] for s in sessions_of(workspace)} == {
        "claude-1": "running", "claude-2": "exited"}

    attach = Terminal([*BERTH, "attach", "claude-1"], cwd=workspace)
    attach.expect("attaching claude-1 (claude)")
    attach.expect("agent heard: remember me")
    attach.send("exit\r")
    assert attach.wait() == 0
    assert berth("attach", cwd=workspace).stderr.startswith("berth: error: No agent is running")


def test_stop_asks_on_a_terminal_before_ending_sessions_and_says_so_elsewhere(workspace):
    term = Terminal([*BERTH, "run", "-t", CLAUDE, "claude"], cwd=workspace)
    term.expect("tty: yes")
    term.send(b"\x1c")
    assert term.wait() == 0

    ask = Terminal([*BERTH, "stop"], cwd=workspace)
    ask.expect("Stopping ends 1 running agent session (claude-1 in ")
    ask.expect("Continue? [y/N]")
    ask.send("n\r")
    assert ask.wait() == 1
    assert "Nothing was changed" in ask.text
    assert sessions_of(workspace)[0]["state"] == "running"

    out = berth("stop", cwd=workspace)  # no terminal: it goes ahead, and says what it ended
    assert out.returncode == 0
    assert "stopping ends 1 running agent session: claude-1 in " in out.stderr
    assert sessions_of(workspace) == []


def test_sessions_stop_and_bad_ids(workspace):
    term = Terminal([*BERTH, "run", "-t", CLAUDE, "claude"], cwd=workspace)
    term.expect("tty: yes")
    out = berth("sessions", "stop", "claude-1", cwd=workspace)
    assert out.returncode == 0 and "Ended session claude-1" in out.stdout
    assert term.wait() == 129
    table = berth("sessions", cwd=workspace).stdout
    assert "exited (129): The session was stopped." in table
    bad = berth("attach", "../x", cwd=workspace)
    assert bad.returncode == 2 and "SESSION" in bad.stderr and "Traceback" not in bad.stderr
    missing = berth("sessions", "stop", "claude-7", cwd=workspace)
    assert missing.returncode == 3 and "no session claude-7" in missing.stderr
