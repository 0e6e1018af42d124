"""The egress proxy's image recipe: Python from the OS archive on a Debian or Ubuntu base, and Berth's
relay (berth.network.relay) with the rules code it shares with the server.

Berth builds the image itself the first time a filtered sandbox is made (engine.egress), from the
image BERTH_PROXY_BASE names (any Debian-like image the engine has), else from the OS image Berth
builds templates on: `debian:bookworm-slim`, or where no registry can be reached, one Berth makes from
the OS archive (engine.template_build.os_base). The tag
carries a hash of the recipe and of the relay's sources, so a changed relay is a new image and an old
one is never reused.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from functools import cache
from pathlib import Path

REPOSITORY = "berth-egress-proxy"
PORT = 3128
# The name the sandbox reaches its proxy by, on the sandbox's own network.
ALIAS = "berth-proxy"
# Where the relay's sources go in the image.
HOME = "/opt/berth-relay"

DOCKERFILE = f"""\
ARG BASE
FROM ${{BASE}}
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p /etc/berth /run/berth-portal && chown nobody:nogroup /etc/berth /run/berth-portal
COPY berth/ {HOME}/berth/
USER nobody
WORKDIR {HOME}
ENV PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT ["python3", "-m", "berth.network.relay"]
"""

_PACKAGE = Path(__file__).resolve().parent.parent  # server/berth
# The relay and what it imports (the rules, decisions and presets, and Berth's error type), and the
# port helpers' portal, which runs from the same image.
_SOURCES = ("__init__.py", "errors.py", "network/__init__.py", "network/rules.py",
            "network/presets.py", "network/relay.py", "network/portal.py")


@cache
def _files() -> dict[str, bytes]:
    files = {"Dockerfile": DOCKERFILE.encode()}
    for name in _SOURCES:
        files[f"berth/{name}"] = (_PACKAGE / name).read_bytes()
    return files


def configured_base() -> str:
    """The base BERTH_PROXY_BASE names, or ""."""
    return os.environ.get("BERTH_PROXY_BASE", "").strip()



def tag(base: str) -> str:
    digest = hashlib.sha256(base.encode())
    for name, data in sorted(_files().items()):
        digest.update(f"\0{name}\0".encode() + data)
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def context() -> bytes:
    """The build context, as the tar the engine's build endpoint takes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in sorted(_files().items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()
