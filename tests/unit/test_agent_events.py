"""The agent's state from the lines its hooks write to its sandbox's log: pure, no engine. The lines
come from inside the sandbox, so the hostile ones matter as much as the real ones."""

from __future__ import annotations

import json

import pytest
from berth.agent_hooks import CLAUDE_EVENTS, claude_settings
from berth.agent_state import MAX_MESSAGE, AgentEvent, AgentState, next_state, parse_line, replayed

STAMP = "2026-11-28T03:10:09.151510423Z"


def line(agent: str, event: str, data: object = None) -> str:
    body = "" if data is None else (data if isinstance(data, str) else json.dumps(data))
    return f"{STAMP} berth-agent-event 1 {agent} {event} {body}"


def run(*lines: str) -> list[AgentState]:
    """The states a series of lines goes through, as the server would announce them."""
    states, current = [], None
    for text in lines:
        event = parse_line(text)
        assert event is not None, text
        new = next_state(current, event)
        if new is not None:
            states.append(new)
            current = new
    return states


def test_what_the_real_claude_code_says_offline_and_logged_out():
    # The hooks' stdin as Claude Code 2.1 wrote it for `claude -p hi` with no login (seen here).
    states = run(
        line("claude", "SessionStart", {"hook_event_name": "SessionStart", "source": "startup"}),
        line("claude", "UserPromptSubmit", {"hook_event_name": "UserPromptSubmit", "prompt": "hi"}),
        line("claude", "StopFailure", {"hook_event_name": "StopFailure",
                                       "error": "authentication_failed",
                                       "last_assistant_message": "Not logged in · Please run /login"}),
        line("claude", "SessionEnd", {"hook_event_name": "SessionEnd", "reason": "other"}))
    assert [(s.state, s.message, s.attention) for s in states] == [
        ("waitingForInput", "ready for a prompt", False),
        ("working", "", False),
        ("error", "Not logged in · Please run /login", True),
    ]  # the session's end leaves the failure shown
    assert states[-1].at == STAMP and states[-1].event == "StopFailure"


def test_a_turn_a_question_and_a_finish():
    states = run(
        line("claude", "UserPromptSubmit", {}),
        line("claude", "PostToolUse", {"tool_name": "Bash"}),  # still working: nothing new
        line("claude", "Notification", {"message": "Claude needs your permission to use Bash"}),
        line("claude", "PostToolUse", {}),
        line("claude", "Stop", {"last_assistant_message": "All tests pass."}),
        line("claude", "SessionEnd", {}))
    assert [(s.state, s.message, s.attention) for s in states] == [
        ("working", "", False),
        ("waitingForInput", "Claude needs your permission to use Bash", True),
        ("working", "", False),
        ("done", "All tests pass.", True),
        ("done", "session ended", False),
    ]


def test_codex_notify_and_any_agent_saying_its_state():
    # What berth-notify keeps of Codex's payload: its message (not the prompts it also carries).
    [done] = run(line("codex", "notify", {"message": "Refactored the parser."}))
    assert (done.agent, done.state, done.message, done.attention) == (
        "codex", "done", "Refactored the parser.", True)
    # Codex's notify program runs when a turn completes; its own payload read whole, too.
    [whole] = run(line("codex", "notify", {"type": "agent-turn-complete",
                                           "last-assistant-message": "Done."}))
    assert (whole.state, whole.message) == ("done", "Done.")
    [waiting] = run(line("aider", "waitingForInput", "Which branch?"))
    assert (waiting.state, waiting.message, waiting.attention) == (
        "waitingForInput", "Which branch?", True)
    assert run(line("aider", "working"))[0].attention is False


@pytest.mark.parametrize("text", [
    "berth-agent-event 2 claude Stop {}",  # another version
    "berth-agent-event 1 claude",  # no event
    "berth-agent-event 1 cl$ude Stop {}",
    "berth-agent-event 1 claude St\x1bop {}",
    "hello from the sandbox",
    f"berth-agent-event 1 claude Stop {'x' * 9000}",
    "",
])
def test_anything_else_in_the_log_is_not_an_event(text):
    assert parse_line(text) is None


def test_messages_are_plain_bounded_text_whatever_the_hook_sent():
    hostile = {"message": "\x1b]8;;http://evil\x07click\x1b]8;;\x07\u202e txt\nnext line" + "y" * 900}
    [state] = run(line("claude", "Notification", hostile))
    assert "\x1b" not in state.message and "\u202e" not in state.message
    assert "\n" not in state.message and len(state.message) == MAX_MESSAGE
    assert state.message.startswith("]8;;http://evil click ]8;; txt next line")
    # Not JSON, not a string, a list: no crash, a default message.
    assert run(line("claude", "Stop", "{not json"))[0].message == "finished its turn"
    assert run(line("claude", "Notification", [1, 2]))[0].message == "waiting for you"
    assert parse_line(line("claude", "Stop", "{not json")).data == "{not json"


def test_the_same_state_and_message_again_is_nothing_new_and_a_replay_is_not_announced():
    first = next_state(None, AgentEvent("claude", "Stop", {"last_assistant_message": "ok"}))
    assert next_state(first, AgentEvent("claude", "Stop", {"last_assistant_message": "ok"})) is None
    assert replayed(first).attention is False and replayed(first).state == "done"


def test_the_claude_drop_in_hooks_every_bridged_event_bounded():
    hooks = claude_settings()["hooks"]
    assert set(hooks) == set(CLAUDE_EVENTS)
    for event, [entry] in hooks.items():
        [hook] = entry["hooks"]
        # Only the events whose message is shown pass their payload on (stdin); the others pass
        # an empty one, so prompts and tool output never reach the sandbox's log.
        passes = event in ("Notification", "Stop", "StopFailure")
        assert hook == {"type": "command", "timeout": 5,
                        "command": f"/usr/local/bin/berth-notify claude {event}"
                                   + ("" if passes else " ''")}


def test_the_claude_drop_in_answers_the_bypass_mode_question_the_sandbox_already_answers():
    # Berth runs Claude Code in bypass mode (the sandbox is the boundary): its one-time
    # confirmation is answered by Claude Code's own setting, in this sandbox's drop-in only.
    assert claude_settings()["skipDangerousModePermissionPrompt"] is True
