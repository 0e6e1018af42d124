"""What the agent is doing, over the protocol, with stand-ins for agents that need a network to get
anywhere (Codex's notify, any agent's own `berth-notify`): the line a hook writes in the sandbox
reaches the editor as sandbox/didChangeAgentState; hostile lines are plain text or nothing; and a
hook with nobody listening never holds the agent up."""

from __future__ import annotations

import json
import subprocess
import time

from support.images import CLAUDE, HOST_UID

OPTIONS = {"template": CLAUDE, "networkPolicy": "open"}


def notify(sandbox: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """berth-notify as a hook runs it: the agent's user, in the sandbox."""
    return subprocess.run(["docker", "exec", "-i", "-u", str(HOST_UID), sandbox,
                           "/usr/local/bin/berth-notify", *args], input=stdin,
                          capture_output=True, text=True, timeout=30)


async def test_a_hooks_line_reaches_the_editor_as_the_agents_state(sessions, workspace):
    s = await sessions([workspace], options=OPTIONS)
    sandbox = (await s.request("sandbox/run", {}))["name"]
    await s.wait_status(workspace, "running")

    # Codex's notify program gets its JSON as an argument.
    turn = {"type": "agent-turn-complete", "last-assistant-message": "Refactored the parser."}
    assert notify(sandbox, "codex", "notify", json.dumps(turn)).returncode == 0
    done = await s.wait_agent(lambda a: a["agent"] == "codex")
    assert (done["workspace"], done["state"], done["message"], done["attention"]) == (
        workspace, "done", "Refactored the parser.", True)

    # Claude Code's hooks get theirs on stdin; any agent may say its state itself.
    mark = len(s.agent_states)
    asked = json.dumps({"hook_event_name": "Notification", "prompt": "deploy with SECRET-TOKEN-123",
                        "tool_input": {"command": "echo $API_KEY=SECRET-KEY-456"},
                        "message": "Claude needs your permission to use Bash"})
    assert notify(sandbox, "claude", "Notification", stdin=asked).returncode == 0
    waiting = await s.wait_agent(lambda a: a["agent"] == "claude", after=mark)
    assert (waiting["state"], waiting["message"]) == (
        "waitingForInput", "Claude needs your permission to use Bash")
    assert notify(sandbox, "aider", "error", "tests failed").returncode == 0
    failed = await s.wait_agent(lambda a: a["agent"] == "aider")
    assert (failed["state"], failed["message"], failed["attention"]) == (
        "error", "tests failed", True)

    # The same lines are in the sandbox's own log, for `berth logs`.
    logs = await s.request("sandbox/logs", {})
    assert "berth-agent-event 1 aider error tests failed" in logs["text"]
    # Only the message is kept: what else a hook's payload holds (a prompt, a tool's input) may be
    # a secret, and never reaches the log.
    assert "SECRET" not in logs["text"]
    assert 'claude Notification {"message":"Claude needs your permission to use Bash"}' in logs["text"]


async def test_hostile_lines_are_plain_text_or_nothing(sessions, workspace):
    s = await sessions([workspace], options=OPTIONS)
    sandbox = (await s.request("sandbox/run", {}))["name"]
    await s.wait_status(workspace, "running")
    # Not berth-notify's: lines of its own, straight into the FIFO: a forged message full of
    # terminal escapes (JSON-escaped, so it parses) and far too long, then a malformed line.
    message = "\x1b]8;;http://evil\x07click\x1b]8;;\x07\u202e " + "0" * 900
    lines = (f"berth-agent-event 1 claude Stop {json.dumps({'last_assistant_message': message})}\n"
             "berth-agent-event 1 c$ude Stop {}\n")
    subprocess.run(["docker", "exec", "-i", "-u", str(HOST_UID), sandbox, "sh", "-c",
                    "cat > /run/berth/events"], input=lines, text=True, check=True)
    said = await s.wait_agent(lambda a: a["event"] == "Stop")
    assert not set("\x1b\x07\u202e") & set(said["message"])
    assert said["message"].startswith("]8;;http://evil click ]8;; 0000")
    assert len(said["message"]) == 300
    assert [a["agent"] for a in s.agent_states] == ["claude"]  # the malformed one said nothing


async def test_a_hook_with_nobody_listening_never_holds_the_agent_up(sessions, workspace):
    s = await sessions([workspace], options=OPTIONS)
    sandbox = (await s.request("sandbox/run", {}))["name"]
    await s.wait_status(workspace, "running")
    # The reader gone (the sandbox's main process's copy loop killed): the writer would block.
    subprocess.run(["docker", "exec", sandbox, "sh", "-c", "pkill -f 'cat /run/berth/events'; "
                                                           "pkill cat; true"], check=True)
    started = time.monotonic()
    blocked = notify(sandbox, "claude", "Stop", "{}")
    assert blocked.returncode == 0 and time.monotonic() - started < 10
    # No FIFO at all (a sandbox made before it): nothing to do, at once.
    subprocess.run(["docker", "exec", sandbox, "rm", "-f", "/run/berth/events"], check=True)
    started = time.monotonic()
    assert notify(sandbox, "claude", "Stop", "{}").returncode == 0
    assert time.monotonic() - started < 5
