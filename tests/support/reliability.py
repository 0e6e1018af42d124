"""Shared pieces of the reliability tests: the server harness, an engine proxy whose connections can be
cut or stalled, dockerd control, and tree hashing.

The reliability tests import it as `support.reliability`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

from support.images import CLAUDE
from support.lsp import Session, start_session, stop_session, uri  # noqa: F401 - for the tests

TEMPLATE = {"template": CLAUDE}
# BERTH_ENGINE_TIMEOUT for servers and engines behind a proxy that stalls: short, so a test is quick.
BOUND = 3.0
# The JSON-RPC codes of Berth's own error kinds; -32603 (internal error) is never acceptable.
CLEAN_CODES = {-32602, -32001, -32002, -32003, -32004, -32005}


def assert_clean_error(exc, *, codes=CLEAN_CODES) -> None:
    """A JSON-RPC error a user can read: one of Berth's codes, a message, no traceback."""
    assert exc.code in codes, (exc.code, exc.message)
    assert exc.message and isinstance(exc.message, str)
    for bad in ("Traceback", 'File "', "unexpected", "\n  "):
        assert bad not in exc.message, exc.message


def server_pid(session: Session) -> int:
    return session.pid


# -- an engine proxy ----------------------------------------------------------------------------


class EngineProxy:
    """A unix socket forwarding to the real engine, whose connections a test can cut or stall.

    cut():             drop every open connection (the event stream included), as a flaky link would.
    refuse():          while set, new connections are accepted and closed at once: the engine is
                       unreachable.
    stall(re):         requests whose path matches are swallowed (never forwarded, never answered).
    fail(re):          requests whose path matches are answered at once with an HTTP 500 of the
                       proxy's own (never forwarded), as an engine refusing the operation would.
    black_hole(re):    established connections whose last request matched go silent: nothing the
                       engine sends reaches the client any more, and no FIN either (a half-open
                       link, as after a laptop's sleep or a NAT dropping the flow).
    """

    FAILURE = b'{"message": "refused by the test proxy"}'

    def __init__(self, path: str, target: str = "/var/run/docker.sock") -> None:
        self.path = path
        self.target = target
        self.url = f"unix://{path}"
        self._refusing = threading.Event()
        self._stall: re.Pattern[bytes] | None = None
        self._fail: re.Pattern[bytes] | None = None
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self.stalled: list[bytes] = []
        self.failed: list[bytes] = []
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(64)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="engine-proxy").start()

    def refuse(self, on: bool = True) -> None:
        if on:
            self._refusing.set()
        else:
            self._refusing.clear()

    def stall(self, pattern: str | None) -> None:
        self._stall = re.compile(pattern.encode()) if pattern else None

    def fail(self, pattern: str | None) -> None:
        self._fail = re.compile(pattern.encode()) if pattern else None

    def black_hole(self, pattern: str) -> int:
        """Silence the established connections whose last request path matches; how many."""
        compiled = re.compile(pattern.encode())
        with self._lock:
            hit = [link for link in self._links if link.path and compiled.search(link.path)]
        for link in hit:
            link.silenced = True
        return len(hit)

    def cut(self) -> int:
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close()
        return len(links)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        self.cut()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._refusing.is_set():
                client.close()
                continue
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                continue
            link = _Link(client, upstream)
            with self._lock:
                self._links.append(link)
            threading.Thread(target=self._from_client, args=(link,), daemon=True).start()
            threading.Thread(target=self._from_engine, args=(link,), daemon=True).start()

    def _from_client(self, link: _Link) -> None:
        stalled = False
        try:
            while True:
                data = link.client.recv(65536)
                if not data:
                    break
                line = re.match(rb"[A-Z]+ (\S+) HTTP/", data)
                if line:
                    link.path = line.group(1)
                    if self._fail is not None and self._fail.search(link.path):
                        self.failed.append(link.path)
                        link.client.sendall(
                            b"HTTP/1.1 500 Internal Server Error\r\n"
                            b"Content-Type: application/json\r\n"
                            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                            % (len(self.FAILURE), self.FAILURE))
                        break
                    if self._stall is not None and self._stall.search(link.path):
                        stalled = True
                        self.stalled.append(link.path)
                if stalled:
                    continue  # swallowed: the caller waits for an answer that never comes
                link.upstream.sendall(data)
        except OSError:
            pass
        finally:
            link.close()

    def _from_engine(self, link: _Link) -> None:
        try:
            while True:
                data = link.upstream.recv(65536)
                if not data:
                    break
                if link.silenced:
                    continue  # read and dropped: the client hears nothing, not even a FIN
                link.client.sendall(data)
        except OSError:
            pass
        finally:
            if not link.silenced:
                link.close()


class _Link:
    """One client connection through the proxy and its own connection to the engine."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.path: bytes | None = None  # the path of the last request seen on it
        self.silenced = False

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


# -- dockerd ------------------------------------------------------------------------------------

DOCKERD_START = "setsid dockerd >/tmp/dockerd.log 2>&1 </dev/null &"


def _alive(pid: int) -> bool:
    """True unless the process is gone or a zombie (dockerd's parent may be slow to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def dockerd_pid() -> int | None:
    out = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout.split()
    live = [int(p) for p in out if _alive(int(p))]
    return live[0] if live else None


def engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def stop_dockerd(timeout: float = 60) -> None:
    pid = dockerd_pid()
    assert pid is not None, "dockerd is not running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        assert time.monotonic() < deadline, f"dockerd {pid} did not exit in {timeout}s"
        time.sleep(0.1)


def start_dockerd(timeout: float = 90) -> None:
    """Start dockerd exactly as the machine's set-up does, and wait for `docker info` to answer."""
    deadline = time.monotonic() + timeout
    while not engine_answers():
        if dockerd_pid() is None:
            subprocess.run(DOCKERD_START, shell=True, check=True)
        assert time.monotonic() < deadline, "dockerd did not come back; see /tmp/dockerd.log"
        time.sleep(0.3)


# -- hashing what must never change -------------------------------------------------------------


def tree_hash(root: str | Path) -> dict[str, str]:
    """Every entry under root (not following symlinks): type, mode, owner and content or target."""
    out: dict[str, str] = {}
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath, name)
            st = os.lstat(path)
            rel = os.fsdecode(path.relative_to(root))
            meta = f"{stat.S_IFMT(st.st_mode)}:{stat.S_IMODE(st.st_mode):o}:{st.st_uid}:{st.st_gid}"
            if stat.S_ISLNK(st.st_mode):
                meta += ":" + os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                meta += ":" + hashlib.sha256(path.read_bytes()).hexdigest()
            out[rel] = meta
    st = os.lstat(root)
    out["."] = f"{stat.S_IMODE(st.st_mode):o}:{st.st_uid}:{st.st_gid}"
    return out


def env_for(proxy: EngineProxy) -> dict[str, str]:
    """A server's environment: the engine behind `proxy`, with engine calls bounded by BOUND."""
    return {"DOCKER_HOST": proxy.url, "BERTH_ENGINE_TIMEOUT": str(BOUND)}
