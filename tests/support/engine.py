"""Driving berth.engine.Engine directly, as the CLI does."""

from __future__ import annotations

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
