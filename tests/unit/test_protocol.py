"""protocol.md, the contract, against the code that implements it: its tables name exactly what the
server sends."""

from __future__ import annotations

import re
from pathlib import Path

from berth.config import SandboxConfig
from berth.errors import ERROR_KINDS, BerthError
from berth.models import Sandbox

PROTOCOL = (Path(__file__).parents[2] / "protocol.md").read_text()


def table_after(heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first Markdown table after `heading`, header row left out."""
    lines = PROTOCOL[PROTOCOL.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_the_error_table_lists_exactly_the_error_kinds():
    documented = {(int(row[0]), row[1].strip("`")) for row in table_after("## Errors")}
    kinds = {(kind.code, kind.kind) for kind in (*ERROR_KINDS, BerthError)}
    assert documented == kinds
    assert len({kind.exit_status for kind in ERROR_KINDS}) == len(ERROR_KINDS)


def test_the_sandbox_table_lists_exactly_what_a_sandbox_is_sent_as():
    sandbox = _sandbox("exited")
    documented = [row[0].strip("`") for row in table_after("**Sandbox**")]
    assert documented == list(sandbox.to_json())
    assert sandbox.to_json()["state"] == "stopped"


def test_every_engine_status_the_sandbox_table_names_has_the_state_it_says():
    row = next(r for r in table_after("**Sandbox**") if r[0] == "`state`")
    # `running`; `stopped` (`created`, `exited`, `paused`); ...: each state, then the statuses
    # it stands for in parentheses.
    for state, statuses in re.findall(r"`(\w+)`(?: \(([^)]*)\))?", row[2]):
        for status in re.findall(r"`(\w+)`", statuses) or [state]:
            assert _sandbox(status).state == state, (status, state)


def _sandbox(status: str) -> Sandbox:
    return Sandbox(id="951f5b3c2f0a", full_id="951f5b3c2f0a" * 5, name="n", workspace="/w",
                   agent="claude", template="t", status=status, created_at="2026-01-01T00:00:00Z",
                   user="", config=SandboxConfig())
