"""What the agent is doing, from its own hooks, with the real Claude Code binary (offline it fires
SessionStart, UserPromptSubmit, StopFailure and SessionEnd for `claude -p hi` without a login), and
Codex's notify program set on its real command line. The editor hears it as
sandbox/didChangeAgentState, through the sandbox's own log."""

from __future__ import annotations

import subprocess
import time

from support.images import HOST_UID


def agent_exec(sandbox: str, workspace: str, script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", "-u", str(HOST_UID), "-w", workspace, sandbox, "sh",
                           "-c", script], capture_output=True, text=True, timeout=120)


async def test_claude_code_hooks_reach_the_editor_and_leave_the_users_own_hooks_alone(
        sessions, make_workspace, real_template):
    workspace = make_workspace("hooks")
    # Its own login volume: the user's hook written below is this workspace's alone.
    s = await sessions([workspace], options={"template": real_template, "credentials": "isolated",
                                             "networkPolicy": "open"})
    sandbox = (await s.request("sandbox/run", {}))["name"]
    await s.wait_status(workspace, "running")
    # A hook of the user's own, in Claude Code's settings in its config folder (the volume).
    user_hook = ('{"hooks":{"SessionStart":[{"hooks":[{"type":"command",'
                 '"command":"echo mine >> /tmp/user-hook.log"}]}]}}')
    made = agent_exec(sandbox, workspace, f"printf '%s' '{user_hook}' > "
                                          '"$CLAUDE_CONFIG_DIR/settings.json"')
    assert made.returncode == 0, made.stderr

    mark = len(s.agent_states)
    fired = time.monotonic()
    ran = agent_exec(sandbox, workspace, "claude -p hi")
    # The real binary, offline and logged out: it says so and exits 1; the hooks did not change that.
    assert ran.returncode == 1 and "Not logged in" in ran.stdout + ran.stderr
    error = await s.wait_agent(lambda a: a["state"] == "error", after=mark)
    assert error == {**error, "workspace": workspace, "name": None, "agent": "claude",
                     "state": "error", "message": "Not logged in · Please run /login",
                     "event": "StopFailure", "attention": True}
    seen = [(a["state"], a["event"]) for a in s.agent_states[mark:]]
    assert seen[:3] == [("waitingForInput", "SessionStart"), ("working", "UserPromptSubmit"),
                        ("error", "StopFailure")]  # SessionEnd leaves the failure shown
    assert time.monotonic() - fired < 60
    # The user's own hook ran too.
    assert agent_exec(sandbox, workspace, "cat /tmp/user-hook.log").stdout == "mine\n"

    # A server that starts later (a reloaded window) shows the last state, without announcing it.
    later = await sessions([workspace], options={"template": real_template,
                                                 "credentials": "isolated",
                                                 "networkPolicy": "open"})
    replayed = await later.wait_agent(lambda a: a["workspace"] == workspace)
    assert (replayed["state"], replayed["message"], replayed["attention"]) == (
        "error", "Not logged in · Please run /login", False)


def test_codex_runs_with_berths_notify_unless_the_user_has_one(real_template, make_workspace):
    from support.cli import berth

    workspace = make_workspace("codex-notify")
    assert berth("run", "-d", "-t", real_template, "--credentials", "isolated", "codex",
                 cwd=workspace).returncode == 0
    # The real binary takes the extra config on its real command line.
    ran = berth("run", "codex", "--version", cwd=workspace, input="")
    assert ran.returncode == 0 and "codex-cli" in ran.stdout, ran
    # What it is started with, seen by a stand-in for its binary at the same place in the argv.
    show = "/tmp/show-args"
    made = berth("exec", "sh", "-c", f"printf '#!/bin/sh\\necho \"$*\"\\n' > {show} && "
                                     f"chmod +x {show}", cwd=workspace)
    assert made.returncode == 0, made.stderr
    from berth.agent_hooks import codex_launch

    def launched() -> str:
        out = berth("exec", *codex_launch(show), "--yolo", cwd=workspace)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert launched() == '-c notify=["/usr/local/bin/berth-notify","codex","notify"] --yolo'
    berth("exec", "sh", "-c", 'mkdir -p "$CODEX_HOME" && echo \'notify = ["notify-send"]\' >> '
                              '"$CODEX_HOME/config.toml"', cwd=workspace)
    assert launched() == "--yolo"
