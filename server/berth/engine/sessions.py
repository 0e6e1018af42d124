"""A sandbox's agent sessions, through the engine's API alone (so on any engine, remote ones too):
the session holder copied in (berth.session_tool), its sessions listed and stopped.

The sessions themselves live in the sandbox (the holder's folder in its /tmp): the CLI, every editor
window and a restarted server all read the same ones.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from berth import session_tool
from berth.engine.commands import run_command
from berth.engine.connection import call, path_exists, translated
from berth.errors import Conflict, EngineError, NotFound
from berth.models import Sandbox
from berth.sessions import Session, parse_listing

if TYPE_CHECKING:
    import docker

_arch_lock = threading.Lock()
_arch: dict[str, str] = {}


def engine_arch(api: docker.APIClient) -> str:
    """The engine's machine architecture (`docker version`'s Arch), asked once per engine."""
    with _arch_lock:
        if api.base_url not in _arch:
            with translated("Asking the engine for its architecture"):
                _arch[api.base_url] = str(api.version().get("Arch") or "")
        return _arch[api.base_url]


def ensure_holder(api: docker.APIClient, sandbox: Sandbox) -> str:
    """The session holder's path in the sandbox, copied there first when this build's is not (one
    stat of the path, ~1 ms, when it is)."""
    data = session_tool.binary(engine_arch(api))
    path = session_tool.path_in_sandbox(data)
    what = f"Copying Berth's session holder into sandbox {sandbox.name}"
    if not path_exists(api, sandbox.full_id, path, what) and \
            not call(what, api.put_archive, sandbox.full_id, "/", session_tool.archive(data)):
        raise EngineError(f"{what}: the engine refused it.")
    return path


def _running(sandbox: Sandbox) -> None:
    if sandbox.status != "running":
        raise Conflict(f"The sandbox {sandbox.name} is {sandbox.status}, not running: its "
                       "sessions ended when it stopped.", value=sandbox.status)


def list_sessions(api: docker.APIClient, sandbox: Sandbox) -> list[Session]:
    """The sandbox's sessions, oldest first: none when it is not running (they ended with it)."""
    if sandbox.status != "running":
        return []
    holder = ensure_holder(api, sandbox)
    # In `/`: the holder needs no folder, and a sandbox whose workspace is gone still lists.
    result = run_command(api, sandbox, [holder, "ls"], user=sandbox.user or None, workdir="/")
    if result.exit_code != 0:
        raise EngineError(f"Listing the sessions of sandbox {sandbox.name} failed: "
                          f"{_said(result.stderr or result.stdout)}")
    return parse_listing(result.stdout)


def stop_session(api: docker.APIClient, sandbox: Sandbox, session: str) -> list[Session]:
    """Ends the session's agent (hang-up, then TERM after 2 s, KILL after 5 s) and waits for it;
    the sandbox's sessions after it."""
    _running(sandbox)
    holder = ensure_holder(api, sandbox)
    result = run_command(api, sandbox, [holder, "stop", session], user=sandbox.user or None,
                         workdir="/")
    if result.exit_code != 0:
        if "no session" in result.stderr:
            raise NotFound(f"The sandbox {sandbox.name} has no session {session}.", value=session)
        raise EngineError(f"Stopping session {session} failed: {_said(result.stderr)}")
    return list_sessions(api, sandbox)


def require_session(api: docker.APIClient, sandbox: Sandbox, session: str) -> Session:
    _running(sandbox)
    for found in list_sessions(api, sandbox):
        if found.id == session:
            return found
    raise NotFound(f"The sandbox {sandbox.name} has no session {session}.", value=session)


def _said(stderr: str) -> str:
    """The holder's own message (its text is the sandbox's: one line, bounded)."""
    line = next((ln for ln in stderr.splitlines() if ln.strip()), "no message")
    return line.removeprefix("berth-session: ")[:200]
