"""What kind of engine answers: Docker or Podman, rootful or rootless, on this machine or another one,
and where its socket is on its own machine. Read once per client (two small calls) and kept on it.

These decide what a sandbox needs to work the same everywhere: the socket a sandbox mounts is the
engine's real one, and a workspace that the engine cannot see at the same path is caught before the
agent gets an empty folder. (Who the agent runs as under a rootless engine is decided inside the
sandbox, from who owns the workspace there: container_setup.)
"""

from __future__ import annotations

import ipaddress
import platform
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from berth.engine.connection import call
from berth.engine.endpoint import DEFAULT_SOCKET, Endpoint, resolve

if TYPE_CHECKING:
    import docker


@dataclass(frozen=True)
class EngineIdentity:
    endpoint: Endpoint
    product: str
    version: str
    os: str
    arch: str
    podman: bool
    rootless: bool
    # The engine runs on this machine's kernel and is reached by a local socket or loopback: a
    # folder here is the same folder there.
    same_machine: bool
    # The engine's socket on the engine's own machine: what a sandbox mounts with mountDockerSocket;
    # None when Berth cannot know it (an engine reached over tcp; rootless Docker elsewhere).
    socket: str | None

    def describe(self) -> str:
        flavour = ", rootless" if self.rootless else ""
        return f"{self.product} {self.version} ({self.os}, {self.arch}{flavour})"

    def to_json(self) -> dict[str, Any]:
        return {**self.endpoint.to_json(), "product": self.product, "version": self.version,
                "os": self.os, "arch": self.arch, "podman": self.podman,
                "rootless": self.rootless, "sameMachine": self.same_machine,
                "socket": self.socket}


def of(api: docker.APIClient) -> EngineIdentity:
    known = getattr(api, "_berth_identity", None)
    if isinstance(known, EngineIdentity):
        return known
    found = _read(api)
    api._berth_identity = found  # type: ignore[attr-defined]
    return found


def _read(api: docker.APIClient) -> EngineIdentity:
    endpoint = resolve()
    version = call("Reading the engine's version", api.version)
    info = call("Reading the engine's information", api.info)
    components = [str(c.get("Name") or "") for c in version.get("Components") or []
                  if isinstance(c, dict)]
    platform = version.get("Platform")
    platform_name = str((platform.get("Name") if isinstance(platform, dict) else "") or "")
    podman = any("podman" in n.lower() for n in [*components, platform_name])
    security = [str(s) for s in info.get("SecurityOptions") or []]
    # Podman's own information says more than its Docker-compatible one (which omits rootless).
    libpod = _libpod_info(api) if podman else {}
    rootless = any("name=rootless" in s for s in security) or bool(
        ((libpod.get("host") or {}).get("security") or {}).get("rootless"))
    os_name = str(info.get("OperatingSystem") or version.get("Os") or "")
    product = "Podman" if podman else ("Docker Desktop" if "Docker Desktop" in os_name
                                       else "Docker Engine")
    same = _same_machine(endpoint, str(info.get("KernelVersion") or version.get("KernelVersion")
                                       or ""))
    return EngineIdentity(
        endpoint=endpoint, product=product, version=str(version.get("Version") or "?"),
        os=os_name, arch=str(version.get("Arch") or info.get("Architecture") or ""),
        podman=podman, rootless=rootless, same_machine=same,
        socket=_engine_socket(endpoint, libpod, same_machine=same, rootless=rootless))


def _same_machine(endpoint: Endpoint, kernel: str) -> bool:
    if kernel != platform.release():
        return False  # another machine, or a VM (Docker Desktop, colima, OrbStack, podman machine)
    if endpoint.socket_path:
        return True
    host = urlsplit(endpoint.host).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _engine_socket(endpoint: Endpoint, libpod: dict[str, Any], *, same_machine: bool,
                   rootless: bool) -> str | None:
    """The path of the engine's socket on the engine's machine, or None when it cannot be known."""
    if same_machine and endpoint.socket_path:
        return endpoint.socket_path
    # Podman in a VM (podman machine) or elsewhere says where its service listens there.
    remote = ((libpod.get("host") or {}).get("remoteSocket") or {})
    path = remote.get("path") if isinstance(remote, dict) else None
    if isinstance(path, str) and path.startswith("unix://"):
        path = path[len("unix://"):]
    if isinstance(path, str) and path.startswith("/"):
        return path
    if endpoint.scheme == "ssh":
        path = urlsplit(endpoint.host).path
        if path and path != "/":
            return path
    if endpoint.scheme in ("tcp", "http", "https") or rootless:
        # A daemon listening on tcp may have any socket, or none; rootless Docker's is in its
        # user's runtime folder on that machine.
        return None
    # Docker Desktop, colima, OrbStack, Rancher Desktop (a local socket into their VM) and a rootful
    # dockerd over ssh serve /var/run/docker.sock on the machine that runs the containers (Desktop's
    # own documented path for this).
    return DEFAULT_SOCKET


def _libpod_info(api: docker.APIClient) -> dict[str, Any]:
    """Podman's own `podman info`, through its API; {} when it cannot be read."""
    try:
        data = call("Reading Podman's information", lambda: api._result(
            api._get(api._url("/libpod/info")), json=True))
    except Exception:
        return {}
    return data if isinstance(data, dict) else {}
