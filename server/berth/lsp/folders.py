"""The open workspace folders and the Berth settings that apply to each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from berth.config import ConfigRequest, parse_request
from berth.errors import BadInput, BerthError
from berth.trust import (
    WORKSPACE_SETTINGS_FILE,
    ConsentItem,
    WorkspaceValues,
    consent_items,
    read_settings_file,
)
from berth.workspace import resolve_workspace

# The key under which a client that knows where each setting came from sends the values set by files
# inside the workspace (protocol.md, "The trust boundary"); the other keys are then the user's own.
WORKSPACE_VALUES = "workspaceValues"

AUTO_START_MODES = ("never", "existing", "always")


@dataclass
class Folder:
    path: str
    uri: str
    settings: ConfigRequest = field(default_factory=ConfigRequest)
    auto_start: str = "existing"
    settings_error: str | None = None
    # Where the settings came from: the user's own (None: the client cannot tell), and the values
    # the folder's own files set (None: the server reads .vscode/settings.json itself).
    trusted: ConfigRequest | None = None
    from_workspace: WorkspaceValues | None = None


@dataclass
class Settings:
    request: ConfigRequest
    auto_start: str
    error: str | None


def parse_settings(raw: Any) -> Settings:
    """Editor settings (section `berth`). A bad setting is reported, never fatal to the folder."""
    if not isinstance(raw, dict):
        raw = {}
    auto_start = raw.get("autoStart") or "existing"
    error = None
    if auto_start not in AUTO_START_MODES:
        error = (f"Setting berth.autoStart {auto_start!r} is not one of "
                 f"{', '.join(AUTO_START_MODES)}; using 'existing'.")
        auto_start = "existing"
    try:
        request = parse_request(raw, strict=False)
    except BerthError as exc:
        request = ConfigRequest()
        error = f"Setting berth.{exc.data.get('field', '')}: {exc.message}"
    return Settings(request, auto_start, error)


class Folders:
    def __init__(self) -> None:
        self._by_path: dict[str, Folder] = {}
        self._raw_global: dict[str, Any] = {}
        self.global_settings = Settings(ConfigRequest(), "existing", None)

    def __iter__(self):  # noqa: ANN204 - a plain iterator over the open folders
        return iter(list(self._by_path.values()))

    def add(self, uri_or_path: str) -> Folder | None:
        try:
            path = resolve_workspace(uri_or_path)
        except BadInput:
            return None  # a folder that is not on disk (a virtual file system) has no sandbox
        folder = self._by_path.get(path)
        if folder is None:
            folder = Folder(path=path, uri=uri_or_path)
            self.apply(folder, None)  # the initializationOptions, until its own settings come
            self._by_path[path] = folder
        return folder

    def remove(self, uri_or_path: str) -> Folder | None:
        try:
            path = resolve_workspace(uri_or_path)
        except BadInput:
            return None
        return self._by_path.pop(path, None)

    def get(self, path: str) -> Folder | None:
        return self._by_path.get(path)

    def settings_for(self, path: str) -> ConfigRequest:
        folder = self._by_path.get(path)
        return folder.settings if folder else self.global_settings.request

    def apply(self, folder: Folder, raw: Any) -> None:
        """Folder settings: the client's answer for the folder (workspace/configuration) when it
        gave one, else the initializationOptions. An answer replaces them whole, so a setting the
        user removed stops applying at once (null and absent both mean unset)."""
        source = raw if isinstance(raw, dict) else self._raw_global
        mine = {k: v for k, v in source.items() if v is not None and k != WORKSPACE_VALUES}
        theirs = source.get(WORKSPACE_VALUES)
        told = WORKSPACE_VALUES in source
        theirs = {k: v for k, v in theirs.items() if v is not None} if isinstance(theirs, dict) \
            else {}
        settings = parse_settings({**mine, **theirs})
        folder.settings, folder.auto_start, folder.settings_error = (
            settings.request, settings.auto_start, settings.error)
        folder.trusted = _quiet_parse(mine) if told else None
        folder.from_workspace = _workspace_values(theirs, "workspace or folder settings") \
            if told else None

    def set_global(self, raw: Any) -> None:
        self._raw_global = dict(raw) if isinstance(raw, dict) else {}
        # For a workspace that is not an open folder: the user's own settings only, since the
        # workspace values sent here belong to the open folder(s), not to it.
        self.global_settings = parse_settings(
            {k: v for k, v in self._raw_global.items() if k != WORKSPACE_VALUES})

    def consent_items(self, path: str, explicit: ConfigRequest) -> list[ConsentItem]:
        """The values the folder's own files ask for that the user has not said themselves; a
        field the request sets itself is the user's word (the request is theirs)."""
        folder = self._by_path.get(path)
        if folder is None:
            return []
        from_workspace = folder.from_workspace
        if from_workspace is None:
            # A client that cannot tell where its settings came from: whatever the folder's own
            # settings file says now (the agent may have just written it) counts as the folder's.
            raw = read_settings_file(path)
            from_workspace = _workspace_values(raw, WORKSPACE_SETTINGS_FILE) if raw else None
        effective = explicit.over(folder.settings)
        items = consent_items(path, effective, folder.trusted, from_workspace)
        return [i for i in items if i.field not in explicit.fields]

    def resolve(self, workspace: Any) -> str:
        """The workspace a request means: the one it names, or the only open folder."""
        if workspace is not None:
            return resolve_workspace(workspace)
        if len(self._by_path) == 1:
            return next(iter(self._by_path))
        if not self._by_path:
            raise BadInput("No workspace folder is open; pass 'workspace'.", field="workspace")
        raise BadInput(f"{len(self._by_path)} workspace folders are open; pass 'workspace' to say "
                       "which.", field="workspace")


def _quiet_parse(raw: dict[str, Any]) -> ConfigRequest:
    """Field by field, skipping bad ones (the effective settings' parse reports them): one broken
    entry must not hide the other values a folder's file asks for."""
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            fields.update(parse_request({key: value}, strict=False).fields)
        except BerthError:
            continue
    return ConfigRequest(fields)


def _workspace_values(raw: dict[str, Any] | None, source: str) -> WorkspaceValues | None:
    if not raw:
        return WorkspaceValues(ConfigRequest(), source=source)
    env = raw.get("env")
    bare = frozenset(e for e in env if isinstance(e, str) and "=" not in e) \
        if isinstance(env, list) else frozenset()
    return WorkspaceValues(_quiet_parse(raw), bare, source)
