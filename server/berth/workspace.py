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
        try:
            parsed = urlparse(value)
        except ValueError:  # e.g. "file://[": an unbalanced IPv6 host
            raise BadInput(f"Workspace URI {value!r} is malformed.", field="workspace") from None
        if parsed.netloc not in ("", "localhost"):
            raise BadInput(f"Workspace URI must be on this machine, got {value!r}.",
                           field="workspace")
        # surrogateescape: a %-escaped byte that is not UTF-8 names that byte (refused below),
        # not U+FFFD, which would name another folder.
        path = unquote(parsed.path, errors="surrogateescape")
    elif re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+:", value):
        raise BadInput(f"Workspace must be a local folder, got {value!r}.", field="workspace")
    if not os.path.isabs(path):
        raise BadInput(f"Workspace must be an absolute path, got {value!r}.", field="workspace")
    try:
        os.fsencode(path)
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte: no file has that name
        raise BadInput(f"Workspace path {value.encode('utf-8', 'backslashreplace').decode()!r} "
                       "cannot name a file.", field="workspace") from None
    real = os.path.realpath(path)
    if not os.path.isdir(real):
        raise BadInput(f"Workspace folder does not exist: {path!r}.", field="workspace",
                       value=path)
    try:
        real.encode("utf-8")
    except UnicodeEncodeError:
        # Python carries undecodable bytes as lone surrogates; Docker's API is UTF-8 JSON and would
        # turn them into U+FFFD, naming a folder that does not exist (or, worse, another one).
        raise BadInput(f"Workspace path {real!r} is not valid UTF-8, which Docker cannot mount; "
                       "rename the folder.", field="workspace",
                       value=real.encode("utf-8", "backslashreplace").decode()) from None
    return real


def workspace_key(real_path: str) -> str:
    """A short stable id for a workspace, safe in label filters and container names."""
    return hashlib.sha256(os.fsencode(real_path)).hexdigest()[:16]


def default_sandbox_name(agent: str, real_path: str) -> str:
    base = re.sub(r"[^a-zA-Z0-9_.-]+", "-", os.path.basename(real_path)).strip("-.") or "root"
    return f"berth-{agent}-{base[:40]}-{workspace_key(real_path)[:8]}"
