"""Berth's egress relay: the one process in a filtered sandbox's proxy container.

It takes the sandbox's HTTP proxy requests (CONNECT for HTTPS and any other TCP, absolute-form URLs
for plain HTTP), decides each with the very rules the server shows (berth.network.rules: one code
path, no translation into another proxy's pattern language), logs what it refuses as one JSON line,
and relays what it allows with splice(2), so the bytes of a download never pass through Python.

Rules: /etc/berth/rules.json (a Policy's JSON, written by Berth with put_archive), else the
BERTH_RULES environment variable it was created with. The file is looked at (one stat) for every new
connection, so a change applies to the next request after Berth's write returned. Runs as nobody,
with the Python standard library only (docs/network.md, "The proxy").
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import json
import os
import resource
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from berth.errors import BerthError
from berth.network.rules import Policy, is_ipv4

PORT = 3128
RULES_FILE = "/etc/berth/rules.json"
# A published port of the sandbox (BERTH_FORWARDS): the proxy listens on FORWARD_BASE + n, the one the
# engine publishes, and relays to the sandbox, which its network knows by SANDBOX_ALIAS.
FORWARD_BASE = 40000
SANDBOX_ALIAS = "berth-sandbox"
HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
MAX_CONNECTIONS = 500
# What one splice moves at most.
CHUNK = 1 << 20
# A pipe starts at the kernel's default size and grows to BULK_PIPE once a direction has moved
# GROW_AFTER bytes (a download): pipe pages count against a limit per uid across the whole host, and
# every proxy runs as nobody, so only the few bulk transfers of a moment get large ones.
GROW_AFTER = 4 << 20
BULK_PIPE = 1 << 20
# What a name may resolve to for a request made by name: not the proxy itself, nor the link-local
# range (cloud metadata services). An address the user allowed by number is theirs to reach.
_NEVER_BY_NAME = (ipaddress.IPv4Network("127.0.0.0/8"), ipaddress.IPv4Network("0.0.0.0/8"),
                  ipaddress.IPv4Network("169.254.0.0/16"))
# Not passed on: hop-by-hop headers, and Host, which is written from the URL the policy decided on
# (a host behind a shared front end routes by it).
_DROPPED_HEADERS = {"connection", "proxy-connection", "keep-alive", "proxy-authorization", "te",
                    "trailer", "upgrade", "host"}
# The longest host name, in the log.
_LOGGED_HOST = 253


class Refused(Exception):
    """A request the relay answers itself: its status line and a sentence for the client."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Request:
    method: str
    host: str
    port: int
    # What goes to the host first: the request rewritten for it (plain HTTP), or nothing (CONNECT).
    forward: bytes


def parse_head(head: bytes) -> Request:
    """A proxy request's head (up to and without the blank line) as what to reach and what to send.

    Only the standard forms: `CONNECT host:port` and `METHOD http://host[:port]/path`. A user part
    (`user@host`), a fragment-only or origin-form target, or anything not ASCII is refused."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise Refused("400 Bad Request", "the request is not ASCII") from None
    line, _, rest = text.partition("\r\n")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise Refused("400 Bad Request", "the request line is not METHOD TARGET HTTP/1.x")
    method, target, version = parts
    if method == "CONNECT":
        host, sep, port = target.rpartition(":")
        if not sep or not port.isdigit():
            raise Refused("400 Bad Request", "CONNECT needs HOST:PORT")
        return Request(method, _host(host), _port(port), b"")
    if not target.lower().startswith("http://"):
        raise Refused("400 Bad Request", "a proxy request names an http:// URL, or uses CONNECT")
    authority, path = _split_url(target[len("http://"):])
    host, sep, port = authority.rpartition(":") if ":" in authority else (authority, "", "80")
    if sep and not port.isdigit():
        raise Refused("400 Bad Request", "the URL's port is not a number")
    lines = [h for h in rest.split("\r\n") if h]
    named = {n.strip().lower() for h in lines if h.split(":", 1)[0].strip().lower() == "connection"
             for n in h.split(":", 1)[-1].split(",")}
    headers = [h for h in lines if h.split(":", 1)[0].strip().lower() not in _DROPPED_HEADERS | named]
    # One request per connection: the next request on a kept-alive connection could be for another
    # host, and the bytes of this one are relayed without being read.
    forward = "\r\n".join([f"{method} {path} {version}", f"Host: {authority}", *headers,
                            "Connection: close", "", ""])
    return Request(method, _host(host), _port(port), forward.encode("ascii"))


def _split_url(rest: str) -> tuple[str, str]:
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, path = rest[:cut], rest[cut:] or "/"
    if "@" in authority or "#" in path:
        raise Refused("400 Bad Request", "a URL with a user part or a fragment is not relayed")
    return authority, path if path.startswith("/") else "/" + path


def _host(host: str) -> str:
    if not host or len(host) > _LOGGED_HOST or not host.isprintable() or any(
            c in host for c in "@/[] \t"):
        raise Refused("400 Bad Request", "the target is not a host name or IPv4 address")
    return host.lower()


def _port(text: str) -> int:
    if len(text) > 5:
        raise Refused("400 Bad Request", "the port is not from 1 to 65535")
    port = int(text)
    if not 1 <= port <= 65535:
        raise Refused("400 Bad Request", "the port is not from 1 to 65535")
    return port


class Rules:
    """The policy now: re-read when the rules file changed (by inode, change and modification
    time and size, since Berth's write replaces the file). While a write is under way the file may
    be incomplete: the rules before it hold until it parses."""

    def __init__(self, path: str = RULES_FILE, initial: str | None = None,
                 log: Callable[[dict[str, object]], None] = lambda _: None) -> None:
        self._path, self._log = path, log
        self._seen: tuple[int, ...] | None = None
        self._lock = threading.Lock()
        self.policy = Policy("locked", "", preset_hosts=())  # nothing at all until rules arrive
        if initial and not os.path.exists(path):
            with contextlib.suppress(OSError, ValueError, BerthError):
                self.policy = Policy.from_json(json.loads(initial))
                # Kept where Berth reads and writes them from now on.
                with open(path + ".new", "w") as f:
                    f.write(initial)
                os.replace(path + ".new", path)

    def current(self) -> Policy:
        try:
            st = os.stat(self._path)
        except OSError:
            return self.policy
        # The engine's upload replaces the file and sets its time from the archive (whole seconds);
        # the change time is the kernel's own, so two writes within a second differ too.
        seen = (st.st_ino, st.st_ctime_ns, st.st_mtime_ns, st.st_size)
        if seen != self._seen:
            with self._lock:
                if seen != self._seen:
                    self._load(seen)
        return self.policy

    def _load(self, seen: tuple[int, ...]) -> None:
        try:
            with open(self._path, encoding="utf-8") as f:
                policy = Policy.from_json(json.load(f))
        except (OSError, ValueError, BerthError):
            return
        self.policy, self._seen = policy, seen
        self._log({"rules": policy.name, "allow": len(policy.allows()), "deny": len(policy.denies())})


class Relay:
    def __init__(self, rules: Rules, log: Callable[[dict[str, object]], None]) -> None:
        self.rules, self.log = rules, log
        self._active = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def serve(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError as exc:
                if exc.errno in (errno.EBADF, errno.EINVAL):
                    return  # the listener was closed
                time.sleep(0.05)  # out of descriptors for a moment: the open connections end
                continue
            if not self._active.acquire(blocking=False):
                _answer(client, Refused("503 Service Unavailable", "too many connections"))
                client.close()
                continue
            threading.Thread(target=self._connection, args=(client,), daemon=True).start()

    def _connection(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        pipes: list[int] = []
        try:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            client.settimeout(HEAD_TIMEOUT)
            head, early = _read_head(client)
            request = parse_head(head)
            decision = self.rules.current().decide(request.host, request.port)
            if not decision.allowed:
                self.log({"blocked": {"host": request.host, "port": request.port,
                                      "rule": decision.rule}})
                raise Refused("403 Forbidden", f"blocked by the sandbox's network policy "
                                               f"({decision.rule}); to allow it: berth policy "
                                               f"allow {request.host}:{request.port}")
            upstream = _open(request.host, request.port)
            # Made before the answer: out of descriptors, the client hears so, not a dead tunnel.
            try:
                pipes = [*os.pipe(), *os.pipe()]
            except OSError as exc:
                raise Refused("503 Service Unavailable", f"the proxy is busy ({exc})") from None
            if request.method == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream.sendall(request.forward)
            if early:
                upstream.sendall(early)
            client.settimeout(None)
            self._relay(client, upstream, pipes, tunnel=request.method == "CONNECT")
        except Refused as refused:
            _answer(client, refused)
        except OSError:
            pass  # the client went away, or timed out sending its request
        except Exception as exc:  # noqa: BLE001 - one odd request must not cost the others
            self.log({"error": f"{type(exc).__name__}: {exc}"[:300]})
            _answer(client, Refused("500 Internal Server Error", "the proxy failed on this request"))
        finally:
            for s in (client, upstream):
                if s is not None:
                    s.close()
            for fd in pipes:
                os.close(fd)
            self._active.release()

    def _relay(self, client: socket.socket, upstream: socket.socket, pipes: list[int],
               tunnel: bool) -> None:
        """Both directions at once. A tunnel ends when both sides have finished sending; a plain
        HTTP exchange when the host has answered (it was asked to close)."""
        up = threading.Thread(target=pump, args=(client, upstream, pipes[0], pipes[1]),
                              daemon=True)
        up.start()
        pump(upstream, client, pipes[2], pipes[3])
        if not tunnel:
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)  # wakes the other direction's blocked splice
        up.join()

    def serve_forward(self, listener: socket.socket, port: int) -> None:
        """A published port: each connection relayed to the sandbox's `port`, as it comes (the rules
        are about what the sandbox reaches, and this is the user reaching the sandbox)."""
        while True:
            try:
                client, _ = listener.accept()
            except OSError as exc:
                if exc.errno in (errno.EBADF, errno.EINVAL):
                    return
                time.sleep(0.05)
                continue
            if not self._active.acquire(blocking=False):
                client.close()
                continue
            threading.Thread(target=self._forward, args=(client, port), daemon=True).start()

    def _forward(self, client: socket.socket, port: int) -> None:
        upstream: socket.socket | None = None
        pipes: list[int] = []
        try:
            upstream = socket.create_connection((SANDBOX_ALIAS, port), timeout=CONNECT_TIMEOUT)
            upstream.settimeout(None)
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pipes = [*os.pipe(), *os.pipe()]
            self._relay(client, upstream, pipes, tunnel=True)
        except OSError:
            pass  # nothing listens there (yet): the client sees the connection closed, as with -p
        finally:
            for s in (client, upstream):
                if s is not None:
                    s.close()
            for fd in pipes:
                os.close(fd)
            self._active.release()


def forwards_from(text: str | None) -> list[tuple[int, int]]:
    """BERTH_FORWARDS: [{"listen": N, "port": P}, ...] as (listen, port) pairs."""
    if not text:
        return []
    return [(int(f["listen"]), int(f["port"])) for f in json.loads(text)]


def _read_head(client: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > HEAD_LIMIT:
            raise Refused("431 Request Header Fields Too Large", "the request head is too long")
        chunk = client.recv(16384)
        if not chunk:
            raise OSError("closed before the request was complete")
        data += chunk
    head, _, early = data.partition(b"\r\n\r\n")
    return head, early


def _open(host: str, port: int) -> socket.socket:
    """A connection to the host, resolved here, outside the sandbox."""
    try:
        by_name = not is_ipv4(host)
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused("502 Bad Gateway", f"{host} could not be resolved ({exc})") from None
    last: OSError | None = None
    for *_, address in infos:
        if by_name and any(ipaddress.IPv4Address(address[0]) in n for n in _NEVER_BY_NAME):
            last = OSError(f"{host} resolves to {address[0]}, which is not relayed")
            continue
        try:
            upstream = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            last = exc
            continue
        upstream.settimeout(None)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return upstream
    raise Refused("502 Bad Gateway", f"{host}:{port} could not be reached ({last})")


def pump(src: socket.socket, dst: socket.socket, read: int, write: int) -> None:
    """src to dst until src has no more, by splice(2) through the pipe (read, write); then dst is
    told so. No SPLICE_F_MORE: it would hold back each last small segment (a TLS handshake's) for
    the kernel's 200 ms."""
    moved, grown = 0, False
    try:
        s, d = src.fileno(), dst.fileno()
        while n := os.splice(s, write, CHUNK, flags=os.SPLICE_F_MOVE):
            moved += n
            while n:
                n -= os.splice(read, d, n, flags=os.SPLICE_F_MOVE)
            if not grown and moved >= GROW_AFTER:
                grown = True
                with contextlib.suppress(OSError):  # the uid's pipe budget is spent: stays small
                    fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, BULK_PIPE)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


def _answer(client: socket.socket, refused: Refused) -> None:
    body = f"Berth: {refused.reason}.\n".encode()
    with contextlib.suppress(OSError):
        client.sendall(f"HTTP/1.1 {refused.status}\r\nContent-Type: text/plain\r\nContent-Length: "
                       f"{len(body)}\r\nConnection: close\r\n\r\n".encode() + body)


def main() -> None:
    lock = threading.Lock()

    def log(record: dict[str, object]) -> None:
        with lock:
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()

    # PID 1 gets no default signal handling: stop at once when the engine says so.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    threading.stack_size(256 * 1024)
    # Six descriptors a connection (two sockets, two pipes): the soft limit may be 1024.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rules = Rules(initial=os.environ.get("BERTH_RULES"), log=log)
    listener = socket.create_server(("0.0.0.0", PORT), backlog=512)
    relay = Relay(rules, log)
    for listen, port in forwards_from(os.environ.get("BERTH_FORWARDS")):
        forward = socket.create_server(("0.0.0.0", listen), backlog=128)
        threading.Thread(target=relay.serve_forward, args=(forward, port), daemon=True).start()
    rules.current()
    log({"listening": PORT})
    relay.serve(listener)


if __name__ == "__main__":
    main()
