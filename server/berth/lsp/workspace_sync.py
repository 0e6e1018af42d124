"""The standard lifecycle: the workspace folders, their settings (pulled or pushed), and what follows
a change of either: statuses, auto-start, the event stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from berth.lsp.folders import Folder
from berth.lsp.params import plain

if TYPE_CHECKING:
    from berth.lsp.auto_start import AutoStart
    from berth.lsp.engine_events import EngineEvents
    from berth.lsp.folders import Folders
    from berth.lsp.server import BerthServer
    from berth.lsp.status import StatusPublisher

log = logging.getLogger(__name__)


class WorkspaceSync:
    def __init__(self, server: BerthServer, folders: Folders, status: StatusPublisher,
                 auto_start: AutoStart, events: EngineEvents) -> None:
        self._server = server  # asks the client for settings; tells the user of a bad one
        self._folders = folders
        self._status = status
        self._auto_start = auto_start
        self._events = events

    def register(self) -> None:
        for method, handler in ((types.INITIALIZE, self._initialize),
                                (types.INITIALIZED, self._initialized),
                                (types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, self._folders_changed),
                                (types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                                 self._configuration_changed),
                                (types.SHUTDOWN, self._shutdown)):
            self._server.feature(method)(_as_function(handler))

    def _initialize(self, params: types.InitializeParams) -> None:
        options = plain(params.initialization_options)
        self._folders.set_global(options.get("berth") if isinstance(options, dict) else None)
        if self._folders.global_settings.error:
            log.warning("%s", self._folders.global_settings.error)
        for folder in params.workspace_folders or []:
            self._folders.add(folder.uri)
        if not params.workspace_folders and (params.root_uri or params.root_path):
            self._folders.add(params.root_uri or params.root_path or "")

    async def _initialized(self, params: types.InitializedParams) -> None:
        try:
            await self._pull_settings(list(self._folders))
        finally:
            self._server.settings.open()
        self._events.start()
        await self._status.refresh_all()
        await asyncio.gather(*(self._auto_start.folder_opened(f) for f in self._folders))

    async def _folders_changed(self, params: types.DidChangeWorkspaceFoldersParams) -> None:
        for gone in params.event.removed:
            self._folders.remove(gone.uri)
        added = [f for f in (self._folders.add(a.uri) for a in params.event.added) if f]
        await self._pull_settings(added)
        await asyncio.gather(*(self._status.refresh_workspace(f.path) for f in added))
        await asyncio.gather(*(self._auto_start.folder_opened(f) for f in added))

    async def _configuration_changed(self, params: types.DidChangeConfigurationParams) -> None:
        settings = plain(params.settings)
        if not self._supports_configuration() and isinstance(settings, dict) \
                and "berth" in settings:
            # Push-style clients send the settings themselves.
            self._folders.set_global(settings["berth"])
            for folder in self._folders:
                self._folders.apply(folder, None)
        else:
            # Requests that come after this notification wait for the new settings (as after
            # `initialized`): a `run` right after the user changed a setting must use it.
            self._server.settings.close()
            try:
                await self._pull_settings(list(self._folders))
            finally:
                self._server.settings.open()
        await self._status.refresh_all()

    def _shutdown(self, params: None) -> None:
        self._events.stop()

    def _supports_configuration(self) -> bool:
        caps = self._server.client_capabilities
        return bool(caps and caps.workspace and caps.workspace.configuration)

    async def _pull_settings(self, folders: list[Folder]) -> None:
        """Each folder's `berth` section from workspace/configuration, when the client offers it."""
        if not folders or not self._supports_configuration():
            log.debug("Not pulling settings: %d folder(s), client supports configuration: %s",
                      len(folders), self._supports_configuration())
            return
        items = [types.ConfigurationItem(scope_uri=f.uri if f.uri.startswith("file:") else None,
                                         section="berth") for f in folders]
        try:
            results = await asyncio.wait_for(self._server.workspace_configuration_async(
                types.ConfigurationParams(items=items)), 10)
        except Exception as exc:  # a client that cannot answer keeps the initializationOptions
            log.warning("workspace/configuration failed: %s", exc)
            return
        # Keys only: setting values (env) may be secrets.
        log.debug("Settings pulled for %d folder(s): %s", len(folders),
                  [sorted(plain(r)) if isinstance(plain(r), dict) else type(r).__name__
                   for r in results or []])
        for folder, raw in zip(folders, results or [], strict=False):
            self._folders.apply(folder, plain(raw))
            if folder.settings_error:
                self._server.warn(folder.settings_error)


def _as_function(method: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A plain function calling a bound method: pygls tags its handlers with attributes, which a
    bound method cannot take."""
    if asyncio.iscoroutinefunction(method):
        async def call_async(params):  # noqa: ANN001, ANN202 - no hints: pygls reads them
            return await method(params)
        return call_async

    def call(params):  # noqa: ANN001, ANN202
        return method(params)
    return call
