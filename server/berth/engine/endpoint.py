"""Which Docker engine Berth talks to, found exactly as the docker CLI finds it: DOCKER_HOST (with
DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), else the context DOCKER_CONTEXT names, else the current context
of the CLI's config.json, else the default socket. A context brings its TLS material.

The same answer gives the command line for the agent's terminal (`docker --context NAME` or
`docker -H HOST` with its TLS flags), so that the terminal reaches the engine the server reaches even
when the terminal's environment differs from the server's.

A setup mistake (a DOCKER_HOST docker cannot parse, a context that does not exist, TLS files missing,
no ssh client for an ssh:// engine) is an EngineSetup error naming the variable or file to fix: it is
not the engine being down, and "Start Docker" would send the user the wrong way.

docker-py 7.2 resolves contexts too (ContextAPI.kwargs_from_context), but not as the CLI does: a
context that does not exist silently means the default engine, TLS material counts only when ca, cert
and key are all there (and a context with SkipTLSVerify alone gets plain HTTP), contexts are looked
for beside config.json, relative to the current folder when there is none, and DOCKER_CERT_PATH alone
turns TLS on. So the CLI's rules (docker/cli: cli/command/cli.go resolveContextName, context/docker
load.go tlsConfig, cli/flags options.go) are followed here, on docker-py's TLSConfig and parse_host.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from berth.errors import EngineSetup

if TYPE_CHECKING:
    from collections.abc import Mapping

    from docker.tls import TLSConfig

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_HOST = "unix://" + DEFAULT_SOCKET


@dataclass(frozen=True)
class Endpoint:
    host: str
    # Where the choice came from: DOCKER_HOST, DOCKER_CONTEXT, config (config.json's currentContext)
    # or default.
    source: str
    context: str | None = None
    tls: TLSConfig | None = field(default=None, compare=False)
    # The CLI's TLS flags for a DOCKER_HOST with TLS (a context's TLS is the context's own).
    tls_flags: tuple[str, ...] = ()
    # DOCKER_CONFIG when set: the CLI must read the same contexts.
    config_dir: str | None = None
    # The folder a context was read from (DOCKER_CONFIG, else ~/.docker).
    config_root: str | None = None

    @property
    def scheme(self) -> str:
        return self.host.split("://", 1)[0] if "://" in self.host else "unix"

    @property
    def socket_path(self) -> str | None:
        """The engine's socket on this machine, for a unix:// engine."""
        if self.scheme != "unix":
            return None
        return self.host.split("://", 1)[1] if "://" in self.host else self.host

    @property
    def remote(self) -> bool:
        """Reached over the network (ssh, tcp): its files are another machine's, or may be."""
        return self.scheme in ("ssh", "tcp", "http", "https")

    def describe(self) -> str:
        """The engine as a user would name it: the context and its address."""
        host = shown(self.host)
        if self.source == "DOCKER_HOST":
            return f"{host} (DOCKER_HOST)"
        if self.context and self.context != "default":
            return f"{host} (context {self.context})"
        return f"{host} (the default)"

    def cli_args(self) -> list[str]:
        """The docker CLI's global options that reach this engine, whatever the CLI's environment:
        a context by its name in the configuration folder Berth read it from."""
        if self.context and self.context != "default":
            return ["--config", self.config_root or _config_root(self.config_dir, os.environ),
                    "--context", self.context]
        config = ["--config", self.config_dir] if self.config_dir else []
        return [*config, "-H", self.host, *self.tls_flags]

    def to_json(self) -> dict[str, Any]:
        return {"host": shown(self.host), "context": self.context, "source": self.source,
                "description": self.describe()}


def shown(host: str) -> str:
    """An address fit to show: any password in it masked."""
    parts = urlsplit(host) if "://" in host else None
    if parts is None or parts.password is None:
        return host
    return host.replace(f":{parts.password}@", ":***@", 1)


def resolve(environ: Mapping[str, str] | None = None) -> Endpoint:
    env = os.environ if environ is None else environ
    config_dir = env.get("DOCKER_CONFIG") or None
    host = env.get("DOCKER_HOST")
    if host:
        return _checked(_from_docker_host(host, env, config_dir))
    name = env.get("DOCKER_CONTEXT")
    source = "DOCKER_CONTEXT"
    if not name:
        name, source = _current_context(_config_root(config_dir, env)), "config"
    if not name or name == "default":
        return Endpoint(DEFAULT_HOST, "default", "default", config_dir=config_dir)
    return _checked(_from_context(name, source, config_dir, _config_root(config_dir, env)))


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or os.path.expanduser("~")


def _config_root(config_dir: str | None, env: Mapping[str, str]) -> str:
    return config_dir or os.path.join(_home(env), ".docker")


def _current_context(root: str) -> str | None:
    path = os.path.join(root, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EngineSetup(f"The docker CLI's configuration {path} cannot be read ({exc}); fix or "
                          "remove it, or set DOCKER_HOST.", setting=path) from None
    name = data.get("currentContext") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else None


def _from_docker_host(host: str, env: Mapping[str, str], config_dir: str | None) -> Endpoint:
    """DOCKER_HOST with the CLI's TLS variables: DOCKER_TLS_VERIFY (TLS, the server checked against
    DOCKER_CERT_PATH/ca.pem) or DOCKER_TLS (TLS, unchecked); cert.pem and key.pem there when both
    exist. DOCKER_CERT_PATH alone does nothing, as for the CLI."""
    verify = bool(env.get("DOCKER_TLS_VERIFY"))
    if not (verify or env.get("DOCKER_TLS")):
        return Endpoint(host, "DOCKER_HOST", None, None, (), config_dir)
    from docker.tls import TLSConfig

    folder = env.get("DOCKER_CERT_PATH") or os.path.join(_home(env), ".docker")
    ca, cert, key = (os.path.join(folder, n) for n in ("ca.pem", "cert.pem", "key.pem"))
    if verify and not os.path.isfile(ca):
        raise EngineSetup(f"DOCKER_TLS_VERIFY is set, so the engine's certificate is checked against "
                          f"{ca}, which does not exist; put the engine's CA there (or set "
                          "DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem), or "
                          "unset DOCKER_TLS_VERIFY.", setting="DOCKER_CERT_PATH")
    pair = (cert, key) if os.path.isfile(cert) and os.path.isfile(key) else None
    tls = TLSConfig(client_cert=pair, ca_cert=ca if verify else None, verify=verify)
    flags = ("--tlsverify", "--tlscacert", ca) if verify else ("--tls",)
    if pair:
        flags += ("--tlscert", cert, "--tlskey", key)
    return Endpoint(host, "DOCKER_HOST", None, tls, flags, config_dir)


def _from_context(name: str, source: str, config_dir: str | None, config_root: str) -> Endpoint:
    import hashlib

    root = os.path.join(config_root, "contexts")
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = os.path.join(root, "meta", digest, "meta.json")
    where = "DOCKER_CONTEXT" if source == "DOCKER_CONTEXT" else "the docker CLI's current context"
    try:
        with open(meta, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise EngineSetup(f"The Docker context {name!r} ({where}) does not exist. `docker context "
                          "ls` lists the contexts; choose one with `docker context use NAME` or "
                          "DOCKER_CONTEXT.", setting=where) from None
    except (OSError, ValueError) as exc:
        raise EngineSetup(f"The Docker context {name!r} ({where}) cannot be read: {meta}: {exc}.",
                          setting=where) from None
    endpoints = data.get("Endpoints") if isinstance(data, dict) else None
    docker_endpoint = endpoints.get("docker") if isinstance(endpoints, dict) else None
    if not isinstance(docker_endpoint, dict):
        docker_endpoint = {}
    host = docker_endpoint.get("Host")
    if not isinstance(host, str) or not host:
        raise EngineSetup(f"The Docker context {name!r} ({where}) has no Docker endpoint; "
                          f"`docker context inspect {name}` shows it.", setting=where)
    tls = _context_tls(os.path.join(root, "tls", digest, "docker"),
                       skip_verify=bool(docker_endpoint.get("SkipTLSVerify")))
    return Endpoint(host, source, name, tls, (), config_dir, config_root)


def _context_tls(folder: str, *, skip_verify: bool) -> TLSConfig | None:
    """A context's TLS, as the CLI reads it: TLS when it has TLS material or SkipTLSVerify; the
    server checked unless SkipTLSVerify, against ca.pem when there is one, else the system's CAs;
    a client certificate when both cert.pem and key.pem are there."""
    from docker.tls import TLSConfig

    def present(name: str) -> str | None:
        path = os.path.join(folder, name)
        return path if os.path.isfile(path) else None

    ca, cert, key = present("ca.pem"), present("cert.pem"), present("key.pem")
    if not (ca or cert or key or skip_verify):
        return None
    return TLSConfig(client_cert=(cert, key) if cert and key else None,
                     ca_cert=ca if ca and not skip_verify else None, verify=not skip_verify)


@functools.lru_cache(maxsize=8)
def _have_ssh(path: str) -> bool:
    """Whether `ssh` is on this PATH (asked once per PATH: the engine is found on every use)."""
    return shutil.which("ssh", path=path or None) is not None


def _checked(endpoint: Endpoint) -> Endpoint:
    """The address is one docker can use; ssh:// needs the ssh client."""
    from docker.errors import DockerException
    from docker.utils import parse_host

    named = ("DOCKER_HOST" if endpoint.source == "DOCKER_HOST"
             else f"the Docker context {endpoint.context!r}")
    if endpoint.scheme == "ssh":
        parts = urlsplit(endpoint.host)
        if parts.password is not None:
            raise EngineSetup(f"{named} has a password in its ssh:// address, which ssh cannot use "
                              "(and Berth will not show): use a key or ssh-agent.", setting=named)
        try:
            port = parts.port
        except ValueError:
            port = -1
        problem = ("names no host" if not parts.hostname else
                   "has a port that is not a number" if port == -1 else
                   f"has an extra query {parts.query!r}" if parts.query else
                   f"has an extra fragment {parts.fragment!r}" if parts.fragment else "")
        if problem:
            raise EngineSetup(f"{named} is {shown(endpoint.host)}, which {problem}; write "
                              "ssh://[USER@]HOST[:PORT][/SOCKET].", setting=named)
        if not _have_ssh(os.environ.get("PATH", "")):
            raise EngineSetup(f"{named} is {shown(endpoint.host)}, which needs the OpenSSH client (`ssh`) "
                              "on PATH; install it (Debian/Ubuntu: openssh-client).", setting=named)
        return endpoint
    try:
        parse_host(endpoint.host, tls=endpoint.tls is not None)
    except (DockerException, ValueError):
        raise EngineSetup(f"{named} is {shown(endpoint.host)!r}, which docker cannot use; write "
                          "unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST.",
                          setting=named) from None
    return endpoint
