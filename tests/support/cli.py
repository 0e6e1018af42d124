"""Driving the `berth` CLI as a user would, from a workspace folder."""

from __future__ import annotations

import os
import subprocess
import sys

BERTH = [sys.executable, "-m", "berth.cli"]


def berth(*args: str, cwd: str, input: str | None = None,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BERTH, *args], cwd=cwd, input=input, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def sh(workspace: str, script: str) -> subprocess.CompletedProcess[str]:
    """A shell command in the workspace's sandbox, as its agent user."""
    return berth("exec", "sh", "-c", script, cwd=workspace)


def fetch(workspace: str, url: str, *, root: bool = False, extra: str = "") -> str:
    """The HTTP status curl got for `url` in the sandbox, or curl's error."""
    sudo = "sudo " if root else ""
    out = sh(workspace, f"{sudo}curl -sS -m 20 {extra} -o /dev/null -w '%{{http_code}}' '{url}'")
    return out.stdout if out.returncode == 0 else f"{out.stdout} {out.stderr.strip()}"
