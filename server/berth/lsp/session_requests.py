"""The session requests: a sandbox's agent sessions, attaching one, ending one (protocol.md,
"Sessions")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from berth.lsp.sandbox_requests import Handler, bool_param, one_sandbox, only
from berth.lsp.session_watch import sessions_params
from berth.selection import IDS, NAME, WORKSPACE
from berth.sessions import parse_session_id

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.lsp.server import Workers
    from berth.lsp.session_watch import SessionWatcher


class SessionRequests:
    def __init__(self, engine: Engine, folders: Folders, watcher: SessionWatcher,
                 workers: Workers) -> None:
        self._engine = engine
        self._folders = folders
        self._watcher = watcher
        self._workers = workers

    def handlers(self) -> dict[str, Handler]:
        return {
            "sandbox/sessions": self.sessions,
            "sandbox/attachSession": self.attach,
            "sandbox/stopSession": self.stop,
        }

    async def sessions(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS))
        sandbox, found = await self._workers.engine(self._engine.sessions,
                                                    one_sandbox(params, self._folders))
        return sessions_params(sandbox, found)

    async def attach(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS, "session", "framed", "tty"))
        session = (parse_session_id(params["session"])
                   if params.get("session") is not None else None)
        framed = bool_param(params, "framed")
        tty = params.get("tty") is None or bool_param(params, "tty")
        sandbox, found, argv = await self._workers.engine(
            lambda: self._engine.attach_session(one_sandbox(params, self._folders), session,
                                                tty=tty, framed=framed))
        return {"sandbox": sandbox.id, "session": found.to_json(), "argv": argv}

    async def stop(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS, "session"))
        session = parse_session_id(params.get("session"))
        sandbox, found = await self._workers.engine(self._engine.stop_session,
                                                    one_sandbox(params, self._folders), session)
        self._watcher.changed(sandbox, found)
        return sessions_params(sandbox, found)
