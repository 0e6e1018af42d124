"""The open workspace folders and the Berth settings that apply to each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from berth.config import ConfigRequest, parse_request
from berth.errors import BadInput, BerthError
from berth.workspace import resolve_workspace

AUTO_START_MODES = ("never", "existing", "always")


@dataclass
class Folder:
    path: str
    uri: str
    settings: ConfigRequest = field(default_factory=ConfigRequest)
    auto_start: str = "existing"
    settings_error: str | None = None


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

    def __len__(self) -> int:
        return len(self._by_path)

    def add(self, uri_or_path: str) -> Folder | None:
        try:
            path = resolve_workspace(uri_or_path)
        except BadInput:
            return None  # a folder that is not on disk (a virtual file system) has no sandbox
        folder = self._by_path.get(path)
        if folder is None:
            folder = Folder(path=path, uri=uri_or_path, settings=self.global_settings.request,
                            auto_start=self.global_settings.auto_start,
                            settings_error=self.global_settings.error)
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
        """Folder settings from workspace/configuration, layered over the initializationOptions."""
        merged = dict(self._raw_global)
        if isinstance(raw, dict):
            merged.update({k: v for k, v in raw.items() if v is not None})
        settings = parse_settings(merged)
        folder.settings, folder.auto_start, folder.settings_error = (
            settings.request, settings.auto_start, settings.error)

    def set_global(self, raw: Any) -> None:
        self._raw_global = dict(raw) if isinstance(raw, dict) else {}
        self.global_settings = parse_settings(self._raw_global)

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
