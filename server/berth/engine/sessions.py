"""A sandbox's agent sessions, through the engine's API alone (so on any engine, remote ones too):
the session holder copied in (berth.session_tool), its sessions listed and stopped.

The sessions themselves live in the sandbox (the holder's folder in its /tmp): the CLI, every editor
window and a restarted server all read the same ones.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from berth import labels, session_tool
from berth.engine.commands import run_bounded
from berth.engine.connection import (
    call,
    create_container,
    path_exists,
    remove_container,
    translated,
)
from berth.errors import Conflict, EngineError, NotFound
from berth.models import Sandbox
from berth.sessions import Session, parse_listing, parse_session_id, plain_text

if TYPE_CHECKING:
    import docker

# What a listing may be (64 sessions of 8 KiB of output each, with room), and how long it may take.
_MAX_LISTING = 1024 * 1024
_DEADLINE = 20.0
# Tenths of a second a new sandbox waits for its holder's volume while another Berth fills it.
_FILL_WAIT = 50
_arch_lock = threading.Lock()
_arch: dict[str, str] = {}


def engine_arch(api: docker.APIClient) -> str:
    """The engine's machine architecture (`docker version`'s Arch), asked once per engine."""
    with _arch_lock:
        if api.base_url not in _arch:
            with translated("Asking the engine for its architecture"):
                _arch[api.base_url] = str(api.version().get("Arch") or "")
        return _arch[api.base_url]


def holder_mount(api: docker.APIClient, image: str) -> Any:
    """The read-only mount of this build's holder for a new sandbox: a volume of its own, made and
    filled once per engine (from `image`, the template at hand, in a container never started), so
    that no sandbox waits for a copy (~70 ms each) and none can change another's holder."""
    from docker.errors import NotFound as Missing
    from docker.types import Mount

    data = session_tool.binary(engine_arch(api))
    name = f"berth-session-{session_tool.build_id(data)}"
    what = "Making the volume of Berth's session holder"
    with translated(what):
        try:
            api.inspect_volume(name)
        except Missing:
            api.create_volume(name, labels={labels.HELPER: "session"})
            filler = create_container(api, what, image=image, entrypoint=["true"], user="0",
                                      labels={labels.HELPER: "session"},
                                      host_config=api.create_host_config(
                                          mounts=[Mount(target="/holder", source=name,
                                                        type="volume")]))
            try:
                if filler is None or not api.put_archive(
                        filler, "/holder", session_tool.archive(data, "berth-session")):
                    raise EngineError(f"{what}: the engine refused it.")
            finally:
                if filler is not None:
                    remove_container(api, filler, what)
    return Mount(target=session_tool.folder_in_sandbox(data), source=name, type="volume",
                 read_only=True)


def ensure_holder(api: docker.APIClient, sandbox: Sandbox) -> str:
    """The session holder's path in the sandbox (one stat of the path, ~1 ms): in its volume in a
    sandbox made with it, else copied in (a sandbox made before it, or by another build)."""
    data = session_tool.binary(engine_arch(api))
    path = session_tool.path_in_sandbox(data)
    what = f"Copying Berth's session holder into sandbox {sandbox.name}"
    for _ in range(_FILL_WAIT):
        if path_exists(api, sandbox.full_id, path, what):
            return path
        if session_tool.folder_in_sandbox(data) not in _mount_points(api, sandbox):
            if not call(what, api.put_archive, sandbox.full_id, "/",
                        session_tool.archive(data, path)):
                raise EngineError(f"{what}: the engine refused it.")
            return path
        time.sleep(0.1)  # its volume is being filled by another Berth this moment
    raise EngineError(f"Berth's session holder is missing from its volume in sandbox "
                      f"{sandbox.name}; `docker volume rm berth-session-"
                      f"{session_tool.build_id(data)}` lets the next new sandbox make it again.")


def _mount_points(api: docker.APIClient, sandbox: Sandbox) -> set[str]:
    info = call(f"Inspecting sandbox {sandbox.name}", api.inspect_container, sandbox.full_id)
    return {m.get("Destination", "") for m in info.get("Mounts") or []}


def _running(sandbox: Sandbox) -> None:
    if sandbox.status != "running":
        raise Conflict(f"The sandbox {sandbox.name} is {sandbox.status}, not running: its "
                       "sessions ended when it stopped.", value=sandbox.status)


def list_sessions(api: docker.APIClient, sandbox: Sandbox) -> list[Session]:
    """The sandbox's sessions, oldest first: none when it is not running (they ended with it)."""
    if sandbox.status != "running":
        return []
    holder = ensure_holder(api, sandbox)
    # Bounded: the holder's output is the sandbox's (the agent may replace it with anything).
    result = run_bounded(api, sandbox, [holder, "ls"], sandbox.user or None, limit=_MAX_LISTING,
                         deadline=_DEADLINE)
    if result.exit_code != 0:
        raise EngineError(f"Listing the sessions of sandbox {sandbox.name} failed: "
                          f"{_said(result.stderr or result.stdout)}")
    return parse_listing(result.stdout)


def stop_session(api: docker.APIClient, sandbox: Sandbox, session: str) -> list[Session]:
    """Ends the session's agent (hang-up, then TERM after 2 s, KILL after 5 s) and waits for it;
    the sandbox's sessions after it."""
    parse_session_id(session)
    _running(sandbox)
    holder = ensure_holder(api, sandbox)
    # The holder waits up to 10 s for the agent to end (KILL after 5 s).
    result = run_bounded(api, sandbox, [holder, "stop", session], sandbox.user or None,
                         limit=_MAX_LISTING, deadline=_DEADLINE)
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
    line = next((ln for ln in plain_text(stderr).splitlines() if ln.strip()), "no message")
    return line.removeprefix("berth-session: ")[:200]
