"""The session holder Berth copies into each sandbox (berth-session.c beside this file, built static
by scripts/build-session-tool.sh into bin/, one file per machine architecture).

Its path in the sandbox names its content, so a Berth with another build never runs an older copy,
and an unchanged one is copied only once per container.
"""

from __future__ import annotations

import functools
import hashlib
import io
import tarfile
from pathlib import Path

from berth.errors import EngineError

_HERE = Path(__file__).resolve().parent
# The engine's architecture names (`docker version`'s Arch) -> the build's (`uname -m`).
_ARCH = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
INSTALL_DIR = "/usr/local/lib/berth"


def binary(engine_arch: str) -> bytes:
    """The holder built for the engine's architecture."""
    return _read(_ARCH.get(engine_arch, engine_arch))


@functools.cache
def _read(arch: str) -> bytes:
    path = _HERE / "bin" / f"berth-session-{arch}"
    try:
        return path.read_bytes()
    except OSError:
        raise EngineError(
            f"Berth's session holder is not built for this engine's architecture ({arch}): "
            f"{path} is missing. scripts/build-session-tool.sh builds it (scripts/setup.sh runs it "
            "for this machine's own architecture).", value=arch) from None


def build_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def folder_in_sandbox(data: bytes) -> str:
    """Where this build lives in a sandbox: a folder of its own (a volume's mount point in new
    sandboxes, engine.sessions), so another build's never hides it."""
    return f"{INSTALL_DIR}/{build_id(data)}"


def path_in_sandbox(data: bytes) -> str:
    return f"{folder_in_sandbox(data)}/berth-session"


def archive(data: bytes, path: str) -> bytes:
    """A tar that puts the holder at `path` (relative to where it is unpacked), root's and executable
    by every user; the engine makes the folders above it where they are missing."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(path.lstrip("/"))
        info.size, info.mode, info.uid, info.gid = len(data), 0o755, 0, 0
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
