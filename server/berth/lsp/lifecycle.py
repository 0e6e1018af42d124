"""Initialize, folders, settings, auto-start, and the event watcher that keeps statuses live."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from berth.errors import BerthError, NeedsConsent
from berth.lsp.folders import Folder
from berth.lsp.params import plain
from berth.lsp.requests import start_sandbox
from berth.watcher import EventWatcher

if TYPE_CHECKING:
    from berth.lsp.app import BerthServer

log = logging.getLogger(__name__)


def register(server: BerthServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: BerthServer, params: types.InitializeParams) -> None:
        options = plain(params.initialization_options)
        ls.folders.set_global(options.get("berth") if isinstance(options, dict) else None)
        if ls.folders.global_settings.error:
            log.warning("%s", ls.folders.global_settings.error)
        for folder in params.workspace_folders or []:
            ls.folders.add(folder.uri)
        if not params.workspace_folders and (params.root_uri or params.root_path):
            ls.folders.add(params.root_uri or params.root_path or "")

    @server.feature(types.INITIALIZED)
    async def initialized(ls: BerthServer, params: types.InitializedParams) -> None:
        try:
            await _pull_settings(ls, list(ls.folders))
        finally:
            ls.settings_ready.set()
        start_watcher(ls)
        await ls.status.refresh_all()
        await asyncio.gather(*(_auto_start(ls, f) for f in ls.folders))

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def folders_changed(ls: BerthServer,
                              params: types.DidChangeWorkspaceFoldersParams) -> None:
        for gone in params.event.removed:
            ls.folders.remove(gone.uri)
        added = [f for f in (ls.folders.add(a.uri) for a in params.event.added) if f]
        await _pull_settings(ls, added)
        await asyncio.gather(*(ls.status.refresh(f.path) for f in added))
        await asyncio.gather(*(_auto_start(ls, f) for f in added))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def configuration_changed(ls: BerthServer,
                                    params: types.DidChangeConfigurationParams) -> None:
        settings = plain(params.settings)
        if not _supports_configuration(ls) and isinstance(settings, dict) and "berth" in settings:
            # Push-style clients send the settings themselves.
            ls.folders.set_global(settings["berth"])
            for folder in ls.folders:
                ls.folders.apply(folder, None)
        else:
            await _pull_settings(ls, list(ls.folders))
        await ls.status.refresh_all()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: BerthServer, params: Any) -> None:
        stop_watcher(ls)


def _supports_configuration(ls: BerthServer) -> bool:
    caps = ls.client_capabilities
    return bool(caps and caps.workspace and caps.workspace.configuration)


async def _pull_settings(ls: BerthServer, folders: list[Folder]) -> None:
    """Each folder's `berth` section from workspace/configuration, when the client offers it."""
    if not folders or not _supports_configuration(ls):
        log.debug("Not pulling settings: %d folder(s), client supports configuration: %s",
                  len(folders), _supports_configuration(ls))
        return
    items = [types.ConfigurationItem(scope_uri=f.uri if f.uri.startswith("file:") else None,
                                     section="berth") for f in folders]
    try:
        results = await asyncio.wait_for(
            ls.workspace_configuration_async(types.ConfigurationParams(items=items)), 10)
    except Exception as exc:  # a client that cannot answer keeps the initializationOptions
        log.warning("workspace/configuration failed: %s", exc)
        return
    # Keys only: setting values (env) may be secrets.
    log.debug("Settings pulled for %d folder(s): %s", len(folders),
              [sorted(plain(r)) if isinstance(plain(r), dict) else type(r).__name__
               for r in results or []])
    for folder, raw in zip(folders, results or [], strict=False):
        ls.folders.apply(folder, plain(raw))
        if folder.settings_error:
            ls.warn(folder.settings_error)


async def _auto_start(ls: BerthServer, folder: Folder) -> None:
    mode = folder.auto_start
    if mode == "never":
        return
    last = ls.status.last(folder.path) or {}
    if last.get("state") == "unavailable":
        # Docker often starts after the editor (at login): decide when the engine answers.
        ls.status.when_read(folder.path, lambda: _auto_start_later(ls, folder))
        return
    if mode == "existing" and last.get("state") not in ("stopped",):
        return  # nothing to start: absent stays absent, running stays running
    if mode == "always" and last.get("state") == "running":
        return
    try:
        await start_sandbox(ls, folder.path, folder.settings)
    except NeedsConsent as exc:
        ls.warn(f"Berth did not start the sandbox for {folder.path} on its own: {exc.message}")
    except BerthError as exc:
        ls.warn(f"Berth could not start the sandbox for {folder.path}: {exc.message}")


def _auto_start_later(ls: BerthServer, folder: Folder) -> None:
    if ls.folders.get(folder.path) is not folder:
        return  # closed meanwhile
    task = asyncio.get_running_loop().create_task(_auto_start(ls, folder))
    # asyncio keeps only a weak reference to a task: this one is kept until it is done.
    _background.add(task)
    task.add_done_callback(_background.discard)


_background: set[asyncio.Task[None]] = set()


def start_watcher(ls: BerthServer) -> None:
    if ls.watcher is not None:
        return
    loop = asyncio.get_running_loop()

    def on_change(workspace: str, event: dict[str, Any]) -> None:
        # `die`: show it stopped at once; the refresh that follows confirms it from the engine.
        container = event.get("id") if event.get("Action") == "die" else None

        def apply() -> None:
            if container:
                ls.status.died(workspace, container)
            ls.status.soon(workspace)
        loop.call_soon_threadsafe(apply)

    def on_availability(available: bool) -> None:
        def apply() -> None:
            ls.status.engine_available = available
            if available:
                ls.status.soon()
            else:
                from berth.docker_client import unavailable

                ls.status.set_unavailable(unavailable().message)
        loop.call_soon_threadsafe(apply)

    ls.watcher = EventWatcher(on_change, on_availability)
    ls.watcher.start()


def stop_watcher(ls: BerthServer) -> None:
    if ls.watcher is not None:
        ls.watcher.stop()
        ls.watcher = None


