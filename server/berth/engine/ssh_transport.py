"""An engine at ssh://[USER@]HOST[:PORT][/SOCKET], reached through the system's OpenSSH client, as the
docker CLI reaches it: `ssh HOST docker system dial-stdio` relays one connection to the remote engine.

docker-py's own ssh support is not used: it needs paramiko (a compiled dependency) even when told to
use the ssh client, and with the client it starts a new ssh process for every request, with no timeout
on its reads. Here each pooled HTTP connection is one ssh process whose stdin and stdout are one end of
a socket pair, so the connection is a real socket: keep-alive reuses it for request after request,
reads are bounded by the client's timeout, and a hijacked exec stream works as on a unix socket.
OpenSSH's own connection sharing (ControlMaster) makes each further connection a channel of the first
one rather than a new login.

ssh runs with BatchMode: the server has no terminal to ask a password or a host key question on, so the
user's keys (or agent) and known_hosts must already allow the login, as for `docker -H ssh://...`.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import tempfile
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import docker

# docker-py's base URL for an adapter of Berth's own: anything but "http+docker://ssh", so that
# hijacked streams are read from the socket the way they are for a unix socket.
BASE_URL = "http+docker://berth-ssh"
# How long the shared ssh connection outlives its last use.
_CONTROL_PERSIST = "120"


def ssh_argv(host_url: str, connect_timeout: float) -> list[str]:
    """The ssh command line relaying one connection to the engine at `host_url`."""
    parts = urlsplit(host_url)
    argv = ["ssh", "-T", "-x", "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={max(1, int(connect_timeout))}",
            # A dropped network ends the connection (and the events stream on it) within ~45 s.
            "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3"]
    control = _control_dir()
    if control:
        argv += ["-o", "ControlMaster=auto", "-o", f"ControlPath={control}/%C",
                 "-o", f"ControlPersist={_CONTROL_PERSIST}"]
    if parts.username:
        argv += ["-l", parts.username]
    if parts.port:
        argv += ["-p", str(parts.port)]
    remote = ["docker"]
    if parts.path and parts.path != "/":
        # ssh://host/run/podman/podman.sock: the engine's socket on that machine, as the CLI takes it.
        remote += ["--host", "unix://" + parts.path]
    remote += ["system", "dial-stdio"]
    return [*argv, "--", str(parts.hostname), shlex.join(remote)]


def _control_dir() -> str | None:
    """A folder only this user can enter, for ssh's shared-connection sockets; None when there is
    none (ssh then makes a connection per pooled connection, which still works)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    path = os.path.join(base, f"berth-ssh-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    st = os.lstat(path)
    import stat

    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    # A unix socket's path is limited to 107 bytes; %C is 40.
    return path if len(path) < 60 else None


class SshFailure:
    """The last words of an ssh process that failed, for the error the user sees."""

    def __init__(self) -> None:
        self.text = ""
        self._lock = threading.Lock()
        self._ended = threading.Event()

    def record(self, text: str) -> None:
        text = text.strip()
        if text:
            with self._lock:
                self.text = text.splitlines()[-1][:300]
        self._ended.set()

    def wait(self, timeout: float) -> str:
        """The failure's text, waiting up to `timeout` for a failing ssh to say it."""
        self._ended.wait(timeout)
        return self.text


def _make_connection_class() -> type:
    import urllib3.connection

    class SshConnection(urllib3.connection.HTTPConnection):
        def __init__(self, argv: list[str], failure: SshFailure, timeout: float) -> None:
            super().__init__("localhost", timeout=timeout)
            self._argv = argv
            self._failure = failure
            self._proc: subprocess.Popen[bytes] | None = None
            self.timeout = timeout

        def connect(self) -> None:
            ours, theirs = socket.socketpair()
            try:
                # Its own session: a Ctrl-C in the user's terminal is for Berth, not for ssh.
                proc = subprocess.Popen(self._argv, stdin=theirs, stdout=theirs,
                                        stderr=subprocess.PIPE, start_new_session=True)
            except OSError:
                ours.close()
                raise
            finally:
                theirs.close()
            self._proc = proc
            threading.Thread(target=_collect, args=(proc, self._failure), daemon=True,
                             name="berth-ssh-stderr").start()
            ours.settimeout(self.timeout)
            self.sock = ours

        def close(self) -> None:
            super().close()
            proc, self._proc = self._proc, None
            if proc is not None and proc.poll() is None:
                # Our end is closed, so ssh sees the end of its input and exits by itself; the
                # terminate only hurries one that is stuck on a dead network.
                proc.terminate()

    return SshConnection


def _collect(proc: subprocess.Popen[bytes], failure: SshFailure) -> None:
    assert proc.stderr is not None
    data = proc.stderr.read()
    proc.stderr.close()
    code = proc.wait()
    if code not in (0, -15):
        failure.record(data.decode("utf-8", "replace") or f"ssh exited with status {code}")


def _make_adapter_class() -> type:
    import urllib3
    from docker.transport.basehttpadapter import BaseHTTPAdapter

    connection_class = _make_connection_class()

    class SshPool(urllib3.connectionpool.HTTPConnectionPool):
        def __init__(self, argv: list[str], failure: SshFailure, timeout: float,
                     maxsize: int) -> None:
            super().__init__("localhost", timeout=timeout, maxsize=maxsize)
            self._argv = argv
            self._failure = failure
            self.timeout = timeout

        def _new_conn(self) -> Any:
            return connection_class(self._argv, self._failure, self.timeout)

    class SshAdapter(BaseHTTPAdapter):
        def __init__(self, argv: list[str], timeout: float, max_pool_size: int = 10) -> None:
            self.failure = SshFailure()
            self._pool = SshPool(argv, self.failure, timeout, max_pool_size)
            self.pools = urllib3._collections.RecentlyUsedContainer(1)
            super().__init__()

        def get_connection(self, url: Any, proxies: Any = None) -> Any:
            return self._pool

        def get_connection_with_tls_context(self, request: Any, verify: Any, proxies: Any = None,
                                            cert: Any = None) -> Any:
            return self._pool

        def request_url(self, request: Any, proxies: Any) -> str:
            return request.path_url

        def close(self) -> None:
            super().close()
            self._pool.close()

    return SshAdapter


_adapter_class: type | None = None


def client(host_url: str, timeout: float, version: str = "auto") -> docker.APIClient:
    """An APIClient for the engine at ssh:// `host_url`, on pooled ssh connections."""
    import docker
    from docker.constants import MINIMUM_DOCKER_API_VERSION as MINIMUM_API

    global _adapter_class
    if _adapter_class is None:
        _adapter_class = _make_adapter_class()
    # Built for a socket that is never used, then given the ssh adapter in its place: docker-py
    # has no way to pass an adapter of one's own.
    api = docker.APIClient(base_url="unix:///berth-unused.sock", version=MINIMUM_API,
                           timeout=timeout)
    adapter = _adapter_class(ssh_argv(host_url, timeout), timeout)
    api.mount("http+docker://", adapter)
    api._custom_adapter = adapter
    api.base_url = BASE_URL
    try:
        api._version = api._retrieve_server_version() if version == "auto" else version
    except Exception as exc:
        said = adapter.failure.wait(2.0)
        adapter.close()
        if said:
            raise ConnectionError(f"ssh {urlsplit(host_url).hostname}: {said}") from exc
        raise
    return api
