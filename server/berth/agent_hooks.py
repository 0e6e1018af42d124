"""What Berth puts in a sandbox so that the agents' own hooks reach the server: the `berth-notify`
program, Claude Code's hooks as a drop-in of its managed settings, and Codex's `notify` program.

The way out is the container's own log, read through the engine (so it works on any engine, remote
ones included): the sandbox's main process (container_setup.IDLE_ENTRYPOINT) makes the FIFO EVENTS and
copies whatever is written to it to its output, which is the log. `berth-notify` writes one line
there. It gives the agent no new way out of the sandbox: a line in its own log, which the server reads
as untrusted text (agent_state parses it, bounded). It never fails and never waits long: a hook that
fails must not break the agent.

Hooks already there are left alone: Claude Code merges every managed-settings drop-in with the
user's and the template's own settings and runs every hook; Codex gets Berth's `notify` only when the
user's config.toml sets none.
"""

from __future__ import annotations

import json

# The FIFO the sandbox's main process reads; written by `berth-notify`.
EVENTS = "/run/berth/events"
NOTIFY = "/usr/local/bin/berth-notify"
# Claude Code reads every file here beside /etc/claude-code/managed-settings.json, and merges them.
CLAUDE_DROP_IN = "/etc/claude-code/managed-settings.d/berth.json"
# What starts each line berth-notify writes (and the protocol's version of it).
MARKER = "berth-agent-event 1"
# A line stays below PIPE_BUF (4096), so that writes from several hooks at once never interleave.
MAX_DATA = 3000

# berth-notify AGENT EVENT [DATA]: DATA is the hook's JSON (read from stdin when not given, as
# Claude Code passes it; Codex passes it as an argument), or plain text. Of JSON only the message is
# kept (`message`, `last_assistant_message`, `last-assistant-message` or `error`, the last one in the
# text), as {"message": ...}: a hook's payload also holds prompts, tool input and output, which may
# carry secrets and must never reach a log. Always exits 0; gives up after 2 s when nothing reads
# the FIFO (a sandbox made before this, or its reader gone).
# The sed expression that keeps a JSON string field's content (still JSON-escaped): the last of the
# message fields in the text.
_PICK = (r's/.*"(message|last_assistant_message|last-assistant-message|error)"'
         r'[[:space:]]*:[[:space:]]*"(([^"\\]|\\.)*)".*/\2/p')
NOTIFY_SCRIPT = r"""#!/bin/sh
# Berth: tells the editor what the agent is doing (see berth.agent_hooks). Never fails the agent.
agent=$(printf '%s' "${1:-agent}" | tr -cd 'A-Za-z0-9_.-' | head -c 32)
event=$(printf '%s' "${2:-event}" | tr -cd 'A-Za-z0-9_.-' | head -c 40)
if [ $# -ge 3 ]; then
  data=$(printf '%s' "$3" | head -c @MAX@)
elif [ ! -t 0 ]; then
  data=$(head -c @MAX@); cat >/dev/null 2>&1
else
  data=
fi
case "$data" in
  "{"*)
    picked=$(printf '%s' "$data" | tr '\n\r' '  ' | sed -nE '@PICK@' | head -c 600)
    if [ -n "$picked" ]; then data="{\"message\":\"$picked\"}"; else data=; fi ;;
  *) data=$(printf '%s' "$data" | head -c 600) ;;
esac
fifo=@EVENTS@
[ -p "$fifo" ] && [ -w "$fifo" ] || exit 0
line="@MARKER@ $agent $event $(printf '%s' "$data" | tr '\n\r' '  ')"
( printf '%s\n' "$line" > "$fifo" ) 2>/dev/null &
writer=$!
( sleep 2; kill "$writer" 2>/dev/null ) >/dev/null 2>&1 &
watchdog=$!
wait "$writer" 2>/dev/null
kill "$watchdog" 2>/dev/null
exit 0
""".replace("@PICK@", _PICK).replace("@MAX@", str(MAX_DATA)).replace(
    "@EVENTS@", EVENTS).replace("@MARKER@", MARKER)

# The Claude Code events bridged; those whose payload says nothing Berth shows (a prompt, a tool's
# input and output) are not even read: an empty DATA.
CLAUDE_EVENTS = ("SessionStart", "UserPromptSubmit", "PostToolUse", "Notification", "Stop",
                 "StopFailure", "SessionEnd")
_CLAUDE_MESSAGE_EVENTS = ("Notification", "Stop", "StopFailure")


def claude_settings() -> dict[str, object]:
    """Claude Code's managed-settings drop-in: one command hook per bridged event. A hook is
    bounded (5 s) and Claude Code goes on whatever it answers.

    Berth runs Claude Code with --dangerously-skip-permissions (the sandbox is the boundary the user
    chose), which skips its folder-trust question but asks once, per config folder, to accept
    bypass mode; `skipDangerousModePermissionPrompt` is Claude Code's own setting for that answer.
    It only exists in this sandbox's settings, and only matters in bypass mode."""
    hooks: dict[str, object] = {}
    for event in CLAUDE_EVENTS:
        command = f"{NOTIFY} claude {event}" + ("" if event in _CLAUDE_MESSAGE_EVENTS else " ''")
        entry: dict[str, object] = {"hooks": [{"type": "command", "timeout": 5,
                                               "command": command}]}
        if event == "PostToolUse":
            entry["matcher"] = "*"
        hooks[event] = [entry]
    return {"hooks": hooks, "skipDangerousModePermissionPrompt": True}


def claude_hooks_json() -> str:
    return json.dumps(claude_settings(), indent=2) + "\n"


def codex_launch(binary: str) -> list[str]:
    """Codex's command line before its arguments: with Berth's `notify` program, unless the user's
    config.toml sets one of its own (which then stays the one Codex runs), or the sandbox has no
    berth-notify (made before it)."""
    toml = '"${CODEX_HOME:-$HOME/.codex}/config.toml"'
    script = (f'if [ -x {NOTIFY} ] && ! grep -qs "^[[:space:]]*notify[[:space:]]*=" {toml}; '
              f'then exec "$0" -c \'notify=["{NOTIFY}","codex","notify"]\' "$@"; '
              'else exec "$0" "$@"; fi')
    return ["/bin/sh", "-c", script, binary]

