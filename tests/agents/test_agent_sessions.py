"""The real Claude Code in a session: offline it shows its welcome screen, says it cannot reach
Anthropic and exits 1. The user keeps its last words and learns why, from the terminal that ran it,
from `berth sessions`, and by attaching the exited session again."""

from __future__ import annotations

import json

from support.cli import BERTH, berth
from support.terminal import Terminal


def test_an_offline_claude_code_session_keeps_its_last_words_and_says_why(real_template,
                                                                          make_workspace):
    workspace = make_workspace("offline")
    term = Terminal([*BERTH, "run", "-t", real_template, "--credentials", "isolated",
                     "--network-policy", "open", "claude"], cwd=workspace, cols=120, rows=40)
    # Ink places each word with a cursor move: the words, not the spaces, are in the stream.
    term.expect("Welcome", timeout=120)
    term.expect("Unable", timeout=120)
    term.expect("api.anthropic.com:", timeout=120)
    assert term.wait(120) == 1  # the agent's own exit code, through the session

    [session] = json.loads(berth("sessions", "--json", cwd=workspace).stdout)
    assert (session["agent"], session["state"], session["exitCode"]) == ("claude", "exited", 1)
    assert session["reason"]["kind"] == "offline"
    assert "Unable to connect to Anthropic services" in session["lastOutput"]
    table = berth("sessions", cwd=workspace).stdout
    assert "exited (1): The agent could not reach its service" in table

    # Attached again, the exited session shows its last screen and gives its exit code.
    again = Terminal([*BERTH, "attach", session["id"]], cwd=workspace, cols=120, rows=40)
    again.expect("has exited; its last output")
    again.expect("Unable")
    assert again.wait() == 1
    # Its start and exit are in the sandbox's log, beside Berth's own lines.
    log = berth("logs", cwd=workspace).stdout
    assert "sandbox started" in log and "setup done" in log
    assert "session claude-1 (claude) started" in log
    assert "session claude-1 (claude) exited with code 1" in log
