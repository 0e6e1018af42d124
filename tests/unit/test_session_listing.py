"""What the session holder in a sandbox reports, read as the untrusted text it is, and what an exited
agent's last output says about why it ended (berth.sessions)."""

from __future__ import annotations

import json

import pytest
from berth.errors import BadInput
from berth.sessions import MAX_SESSIONS, exit_reason, last_output, parse_listing, parse_session_id
from hypothesis import given
from hypothesis import strategies as st


def line(**fields) -> str:
    base = {"id": "claude-1", "agent": "claude", "started": 1795846175, "state": "running",
            "attached": False}
    return json.dumps({**base, **fields})


def test_running_and_exited_sessions_are_read():
    text = "\n".join([line(), line(id="claude-2", state="exited", exitCode=1,
                                    tail="\x1b[2J\x1b[1mWelcome\x1b[0m\r\nUnable to connect to "
                                         "Anthropic services\r\n")])
    running, exited = parse_listing(text)
    assert running.running and running.exit_code is None and running.reason is None
    assert exited.to_json()["started"] == "2026-11-28T06:09:35Z"
    assert exited.last_output == "Welcome\nUnable to connect to Anthropic services"
    assert exited.exit_code == 1 and exited.reason.kind == "offline"


@pytest.mark.parametrize("bad", [
    "not json", "[]", "null", line(id="../etc"), line(id=""), line(id="a" * 65), line(agent="a b"),
    line(started="soon"), line(started=True), line(started=-1), line(state="zombie"),
    line(id=["claude-1"]),
])
def test_lines_that_are_not_sessions_are_dropped(bad):
    assert parse_listing(bad) == []


def test_odd_fields_are_dropped_not_trusted():
    [s] = parse_listing(line(state="exited", exitCode=99999, attached="yes", tail=["x"]))
    assert s.exit_code is None and s.attached is False and s.last_output == ""


def test_a_flood_keeps_only_the_newest():
    found = parse_listing("\n".join(line(id=f"claude-{n}") for n in range(1000)))
    assert len(found) == MAX_SESSIONS and found[-1].id == "claude-999"


def test_a_stopped_session_says_so_whatever_it_printed():
    [s] = parse_listing(line(state="exited", exitCode=129, stopped=True, tail="Not logged in"))
    assert s.reason.kind == "stopped"


@pytest.mark.parametrize(("code", "output", "kind"), [
    (1, "Not logged in · Please run /login", "notLoggedIn"),
    (1, "Error: Invalid API key", "notLoggedIn"),
    (1, "Unable to connect to Anthropic services", "offline"),
    (1, "TypeError: fetch failed\n  getaddrinfo EAI_AGAIN api.openai.com", "offline"),
    (127, "berth-session: cannot run claude: No such file or directory", "binaryMissing"),
    (1, "something else went wrong", None),
    (0, "Not logged in", None),
])
def test_why_an_agent_exited(code, output, kind):
    reason = exit_reason(code, output)
    assert (reason.kind if reason else None) == kind


def test_last_output_is_plain_text_of_the_last_lines():
    raw = "".join(f"line {n}\r\n" for n in range(40)) + "\x1b]0;title\x07progress 10%\rprogress 100%"
    text = last_output(raw)
    assert text.splitlines()[-1] == "progress 100%" and "line 39" in text and "line 20" not in text
    assert "\x1b" not in text and "title" not in text


@given(st.text(max_size=3000))
def test_any_listing_parses_without_error(text):
    for s in parse_listing(text):
        assert parse_session_id(s.id) == s.id


def test_session_ids_are_checked():
    assert parse_session_id("codex-12") == "codex-12"
    for bad in ("", "-x", "a/b", "a b", 3, None, "x" * 65):
        with pytest.raises(BadInput):
            parse_session_id(bad)


def test_text_from_the_sandbox_loses_what_would_act_on_the_users_terminal():
    from berth.sessions import plain_text

    hostile = "ok\x1b]52;c;ZXZpbA==\x07 \x9b31m C1 \u202eevil\u202c \x1b[2Jdone"
    assert plain_text(hostile) == "ok 31m C1 evil done"  # the 8-bit CSI goes, its text stays inert
    [s] = parse_listing(line(state="exited", exitCode=1, tail=hostile))
    assert s.last_output == "ok 31m C1 evil done"
