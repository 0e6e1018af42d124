"""`$/progress` for one long operation (run, recreate, auto-start), fed from a worker thread; it also
drives the transient `creating`/`starting` statuses every client sees."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING

from lsprotocol import types

from berth.engine import Progress

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

    from berth.lsp.status import StatusPublisher

log = logging.getLogger(__name__)


class ProgressReporter:
    def __init__(self, server: LanguageServer, status: StatusPublisher, title: str,
                 workspace: str, name: str | None = None) -> None:
        self._server = server
        self._status = status
        self._title = title
        self._workspace = workspace
        self._name = name
        self._token: str | None = None
        self._loop = asyncio.get_running_loop()

    async def __aenter__(self) -> Progress:
        server = self._server
        caps = server.client_capabilities.window if server.client_capabilities else None
        if caps is not None and caps.work_done_progress:
            token = f"berth-{uuid.uuid4()}"
            try:
                await asyncio.wait_for(server.work_done_progress.create_async(token), 5)
                server.work_done_progress.begin(
                    token, types.WorkDoneProgressBegin(title=self._title, cancellable=False))
                self._token = token
            except Exception as exc:  # progress is a courtesy: a client refusing it changes nothing
                log.debug("Client refused progress: %s", exc)
        return self.report

    def report(self, phase: str, message: str) -> None:
        self._loop.call_soon_threadsafe(self._report_on_loop, phase, message)

    def _report_on_loop(self, phase: str, message: str) -> None:
        state = "starting" if phase == "starting" else "creating"
        self._status.transient(self._workspace, state, message, self._name)
        if self._token is not None:
            self._server.work_done_progress.report(
                self._token, types.WorkDoneProgressReport(message=message))

    async def __aexit__(self, *exc: object) -> None:
        if self._token is not None:
            self._server.work_done_progress.end(self._token, types.WorkDoneProgressEnd())
