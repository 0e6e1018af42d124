"""Under rootless Docker and Podman the agent runs as root in the sandbox, since root there is the user
on the host (docs/engines.md). The real Claude Code refuses to skip its permission prompts as root
unless it is told that it runs in a sandbox: every Berth sandbox tells it (IS_SANDBOX=1)."""

from __future__ import annotations

import subprocess


async def test_claude_code_skips_its_prompts_as_root_in_a_berth_sandbox(sessions, make_workspace,
                                                                         real_template):
    workspace = make_workspace("claude-root")
    s = await sessions([workspace], options={"template": real_template, "agent": "claude",
                                             "credentials": "isolated", "networkPolicy": "open"})
    sandbox = (await s.request("sandbox/run", {}))["name"]

    def as_root(*prefix: str) -> str:
        done = subprocess.run(["docker", "exec", "-u", "0", "-w", workspace, sandbox, *prefix,
                               "claude", "--dangerously-skip-permissions", "-p", "hi"],
                              capture_output=True, text=True, timeout=180)
        return done.stdout + done.stderr

    # What the variable changes: without it, the refusal.
    assert "cannot be used with root/sudo privileges" in as_root("env", "-u", "IS_SANDBOX")
    # With the sandbox's own environment, Claude Code starts and gets as far as asking for a login
    # (offline, with none).
    said = as_root()
    assert "root/sudo" not in said and "Not logged in" in said, said
    await s.request("sandbox/remove", {})
