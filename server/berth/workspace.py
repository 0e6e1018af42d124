"""Turning what a client calls a workspace (a path or a file: URI) into the sandbox's key."""

from __future__ import annotations

import hashlib
import os
import re
from urllib.parse import unquote, urlparse

from berth.errors import BadInput


def resolve_workspace(value: object) -> str:
    """The workspace's real path: absolute, symlinks resolved, an existing directory."""
    if not isinstance(value, str) or not value:
        raise BadInput(f"Workspace must be an absolute path or file: URI, got {value!r}.",
                       field="workspace")
    if "\x00" in value:
        raise BadInput(f"Workspace path contains a NUL character: {value!r}.", field="workspace")
    path = value
    if value.startswith("file:"):
        parsed = urlparse(value)
        if parsed.netloc not in ("", "localhost"):
            raise BadInput(f"Workspace URI must be on this machine, got {value!r}.",
                           field="workspace")
        path = unquote(parsed.path)
    elif re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+:", value):
        raise BadInput(f"Workspace must be a local folder, got {value!r}.", field="workspace")
    if not os.path.isabs(path):
        raise BadInput(f"Workspace must be an absolute path, got {value!r}.", field="workspace")
    real = os.path.realpath(path)
    if not os.path.isdir(real):
        raise BadInput(f"Workspace folder does not exist: {path!r}.", field="workspace",
                       value=path)
    return real


def workspace_key(real_path: str) -> str:
    """A short stable id for a workspace, safe in label filters and container names."""
    return hashlib.sha256(os.fsencode(real_path)).hexdigest()[:16]


def default_sandbox_name(agent: str, real_path: str) -> str:
    base = re.sub(r"[^a-zA-Z0-9_.-]+", "-", os.path.basename(real_path)).strip("-.") or "root"
    return f"berth-{agent}-{base[:40]}-{workspace_key(real_path)[:8]}"
