"""Driving berth.engine.Engine directly, as the CLI does."""

from __future__ import annotations

import re

from berth.config import parse_request
from berth.engine import Engine
from berth.models import RunResult

from support.images import CLAUDE


def run(engine: Engine, workspace: str, *, recreate: bool = False, sandbox: str | None = None,
        **fields) -> RunResult:
    """`run` with these settings (the offline claude template unless one is given); `sandbox`:
    the workspace's sandbox of that name (`berth run --name`)."""
    fields.setdefault("template", CLAUDE)
    return engine.run(workspace, parse_request(fields), recreate=recreate, name=sandbox)


def log_events(text: str) -> list[str]:
    """A sandbox log's lines, each without Berth's `berth: <UTC time> ` in front (other lines as
    they are)."""
    return [re.sub(r"^berth: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", "", line)
            for line in text.splitlines()]


# What a new sandbox of the offline templates says in its log, before anything runs in it.
FRESH_LOG = ["sandbox started", "setup done: the agent runs as agent (uid 1234)"]


def holder_mount_of(mounts: list[dict]) -> dict:
    """Of a new sandbox's mounts (inspect's), the session holder's: a volume of Berth's, read-only."""
    [holder] = [m for m in mounts if m["Destination"].startswith("/usr/local/lib/berth/")]
    assert holder["Type"] == "volume" and holder["Name"].startswith("berth-session-")
    assert holder["RW"] is False
    return holder


def user_mounts(mounts: list[dict]) -> list[dict]:
    """A new sandbox's mounts but the session holder's (checked as holder_mount_of does)."""
    holder = holder_mount_of(mounts)
    return [m for m in mounts if m is not holder]
