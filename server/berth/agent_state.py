"""What an agent is doing, from the lines its hooks write to its sandbox's log (berth.agent_hooks):
`working`, `waitingForInput`, `done` or `error`, with the agent's own message. Pure: no engine.

Everything in those lines comes from inside the sandbox, so it is read as hostile text: one line of
bounded length, an agent and event of plain characters, data that may or may not be JSON, and a
message that is cut short and stripped of anything a terminal or a notification would interpret.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from berth.agent_hooks import MARKER

STATES = ("working", "waitingForInput", "done", "error")
MAX_MESSAGE = 300
_MAX_LINE = 8192
_WORD = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")


@dataclass(frozen=True)
class AgentEvent:
    """One line a hook wrote: which agent, which of its events, and what its hook passed."""

    agent: str
    event: str
    data: Any  # the hook's JSON, or its text when it is not JSON, or None
    at: str = ""  # the engine's timestamp of the line


@dataclass(frozen=True)
class AgentState:
    agent: str
    state: str
    message: str
    event: str
    at: str
    # Whether the user is wanted: a question, a finished turn, a failure (not a session starting).
    attention: bool

    def to_json(self) -> dict[str, Any]:
        return {"agent": self.agent, "state": self.state, "message": self.message,
                "event": self.event, "at": self.at, "attention": self.attention}


def parse_line(line: str) -> AgentEvent | None:
    """A log line (with or without the engine's timestamp) as an AgentEvent, or None for any other
    line, including a malformed one."""
    if len(line) > _MAX_LINE:
        return None
    at = ""
    if line[:4].isdigit():
        at, _, line = line.partition(" ")
    if not line.startswith(MARKER + " "):
        return None
    parts = line[len(MARKER) + 1:].split(" ", 2)
    if len(parts) < 2 or not _WORD.match(parts[0]) or not _WORD.match(parts[1]):
        return None
    raw = parts[2].strip() if len(parts) == 3 else ""
    try:
        data: Any = json.loads(raw) if raw else None
    except ValueError:
        data = raw
    return AgentEvent(parts[0], parts[1], data, at)


def next_state(current: AgentState | None, event: AgentEvent) -> AgentState | None:
    """The agent's state after `event`, or None when the event says nothing new about it."""
    found = _claude(event) if event.agent == "claude" else None
    if found is None and event.agent == "codex" and event.event == "notify":
        found = _codex(event.data)
    if found is None and event.event in STATES:
        # Any agent (or a user's script) may say its state itself: `berth-notify NAME STATE TEXT`.
        found = (event.event, _text(event.data), event.event != "working")
    if found is None:
        return None
    state, message, attention = found
    if event.agent == "claude" and event.event == "SessionEnd" and current is not None \
            and current.state == "error":
        return None  # the failure that ended the session is what the user needs to see
    new = AgentState(event.agent, state, message, event.event, event.at, attention)
    if current is not None and (current.agent, current.state, current.message) == (
            new.agent, new.state, new.message):
        return None
    return new


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$")


def stamp_ns(at: str) -> int | None:
    """The engine's timestamp of a log line (RFC 3339, UTC, up to nanoseconds) in nanoseconds since
    the epoch: what orders the lines, so a line read twice (after a reconnect) is known."""
    from datetime import UTC, datetime

    match = _STAMP.match(at)
    if match is None:
        return None
    seconds = int(datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC).timestamp())
    return seconds * 1_000_000_000 + int((match.group(2) or "0").ljust(9, "0"))


def replayed(state: AgentState) -> AgentState:
    """A state read back from the log (a server that just started): shown, not announced."""
    return replace(state, attention=False)


def _claude(event: AgentEvent) -> tuple[str, str, bool] | None:
    data = event.data if isinstance(event.data, dict) else {}
    match event.event:
        case "SessionStart":
            return "waitingForInput", "ready for a prompt", False
        case "UserPromptSubmit" | "PostToolUse":
            return "working", "", False
        case "Notification":
            return "waitingForInput", _text(data.get("message")) or "waiting for you", True
        case "Stop":
            return "done", _said(data) or "finished its turn", True
        case "StopFailure":
            return "error", _said(data) or "stopped on an error", True
        case "SessionEnd":
            return "done", "session ended", False
    return None


def _codex(data: Any) -> tuple[str, str, bool] | None:
    """Codex's notify program runs only when a turn completes (its one notification type);
    berth-notify keeps only its message."""
    said = _said(data) if isinstance(data, dict) else ""
    return "done", said or "finished its turn", True


def _said(data: dict[str, Any]) -> str:
    """The message berth-notify kept, or (from a hook of one's own) the field that holds it."""
    for key in ("message", "last_assistant_message", "last-assistant-message", "error"):
        text = _text(data.get(key))
        if text:
            return text
    return ""


def _text(value: Any) -> str:
    """A message fit to show: text only, one line, nothing a terminal or markup would act on,
    at most MAX_MESSAGE characters."""
    if isinstance(value, dict):
        value = value.get("message")
    if not isinstance(value, str):
        return ""
    text = " ".join(_UNPRINTABLE.sub(" ", value).split())
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"
