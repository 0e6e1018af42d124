"""Agent sessions, pure: what the session holder in a sandbox (berth.session_tool) reports, read as
the untrusted text it is, and what an exited agent's last output says about why it ended.

Everything here comes from inside the sandbox, where the agent can write anything: each field is
checked and bounded, and a line that is not a session is dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from berth.errors import BadInput
from berth.models import iso_time

# The holder's own rule for ids, and Berth's: safe in a path and on a command line.
_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
MAX_SESSIONS = 64
# The end of an exited session's output that the holder reports (its TAIL).
TAIL = 8192
# What `lastOutput` keeps: the end of the terminal's text, in lines.
_LAST_LINES = 12
_STATES = ("running", "exited", "ended")
# Terminal control sequences: CSI, OSC (to BEL or ST), other escapes (ESC 7, ESC ( B, ...), other
# control characters. A TUI moves its cursor instead of writing spaces and newlines: those moves
# become the spaces and line breaks they stand for, first.
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]|"
                      r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORWARD = re.compile(r"\x1b\[(\d{0,3})C")
_COLUMN = re.compile(r"\x1b\[\d*G")  # to a column: at least a space (Claude Code's Ink writes so)
_DOWN = re.compile(r"\x1b\[\d*[BEH]|\x1b\[\d+;\d+[Hf]")


@dataclass(frozen=True)
class ExitReason:
    kind: str  # notLoggedIn | offline | binaryMissing | stopped
    message: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class Session:
    id: str
    agent: str
    started: int  # epoch seconds
    state: str  # running | exited | ended (with its sandbox's stop: no exit code)
    attached: bool = False
    exit_code: int | None = None
    last_output: str = ""
    reason: ExitReason | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.agent,
            "started": iso_time(self.started),
            "state": self.state,
            "attached": self.attached,
            "exitCode": self.exit_code,
            "lastOutput": self.last_output,
            "reason": self.reason.to_json() if self.reason else None,
        }


STOPPED = ExitReason("stopped", "The session was stopped.")


def parse_session_id(value: Any, field: str = "session") -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise BadInput(f"'{field}' must be a session id such as claude-1, got {value!r:.60}.",
                       field=field)
    return value


def parse_listing(text: str) -> list[Session]:
    """`berth-session ls`: one JSON object per line, oldest first; at most MAX_SESSIONS kept (the
    newest)."""
    found = [s for s in map(_session, text.splitlines()[-MAX_SESSIONS * 4:]) if s is not None]
    return found[-MAX_SESSIONS:]


def _session(line: str) -> Session | None:
    try:
        raw = json.loads(line)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    sid, agent, started, state = raw.get("id"), raw.get("agent"), raw.get("started"), raw.get("state")
    if not (isinstance(sid, str) and _ID.fullmatch(sid) and isinstance(agent, str)
            and _ID.fullmatch(agent) and isinstance(started, int) and not isinstance(started, bool)
            and 0 <= started < 2**40 and state in _STATES):
        return None
    code = raw.get("exitCode")
    code = code if isinstance(code, int) and not isinstance(code, bool) and -1 <= code <= 255 else None
    tail = raw.get("tail")
    last = last_output(tail) if isinstance(tail, str) else ""
    return Session(id=sid, agent=agent, started=started, state=state,
                   attached=raw.get("attached") is True, exit_code=code, last_output=last,
                   reason=(STOPPED if raw.get("stopped") is True else exit_reason(code, last))
                   if state == "exited" else None)


# What never reaches a user's screen from a sandbox: C1 controls (some terminals act on them), and
# the bidirectional overrides and isolates that make text read other than it is.
_UNSHOWN = re.compile("[\x80-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain_text(raw: str) -> str:
    """Text from the sandbox with every control sequence and character gone (but line breaks)."""
    return _UNSHOWN.sub("", _CONTROL.sub("", raw))


def last_output(raw: str) -> str:
    """The terminal's last lines as plain text: control sequences gone, carriage returns resolved."""
    text = _FORWARD.sub(lambda m: " " * min(int(m.group(1) or 1), 200), raw[-TAIL:])
    text = _COLUMN.sub(" ", text)
    text = re.sub(r"\r+\n", "\n", _UNSHOWN.sub("", _CONTROL.sub("", _DOWN.sub("\n", text))))
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    lines = [line[:300] for line in lines if line.strip()]
    return "\n".join(lines[-_LAST_LINES:])


# What the agents print when they cannot go on (seen with the real Claude Code, Codex, Gemini CLI
# offline and logged out: ../shared/notes/real-templates.md), most telling first.
_NOT_LOGGED_IN = re.compile(r"not logged in|please run /login|run `?\w+ login|invalid api key|"
                            r"api key (?:is )?(?:missing|not (?:set|found|configured))|"
                            r"authenticat(?:e|ion) (?:required|failed)|unauthorized", re.I)
_OFFLINE = re.compile(r"unable to connect|could not connect|cannot connect|failed to connect|"
                      r"connection (?:refused|error|timed out)|network (?:error|is unreachable)|"
                      r"enotfound|econnrefused|econnreset|etimedout|eai_again|getaddrinfo|"
                      r"could not resolve|fetch failed|403 forbidden|stream disconnected", re.I)
_MISSING = re.compile(r"berth-session: cannot run|command not found|no such file or directory", re.I)


def exit_reason(code: int | None, output: str) -> ExitReason | None:
    """Why an agent probably exited, when its last output or code says; None when it does not."""
    if code == 0:
        return None
    if code == 127 or (code == 126 and _MISSING.search(output)):
        return ExitReason("binaryMissing", "The agent's program is not in this sandbox's template: "
                          "recreate the sandbox with a template that has it.")
    if _NOT_LOGGED_IN.search(output):
        return ExitReason("notLoggedIn", "The agent is not logged in: start it again and log in; "
                          "the login is kept in the sandbox's credentials volume.")
    if _OFFLINE.search(output):
        return ExitReason("offline", "The agent could not reach its service: check this machine's "
                          "network, and the sandbox's network policy (berth policy log lists the "
                          "requests it refused).")
    return None
