"""Forwarding a running sandbox's ports on demand, and noticing which ports it listens on.

Two kinds of helper container, both from the network proxy's image (Python's standard library only),
both as nobody with no capabilities, sharing one Docker volume (the *portal volume*) that the sandbox
itself never mounts:

- the **portal** (`serve`) joins the sandbox's network namespace (`network_mode: container:<sandbox>`),
  so it reaches what the sandbox listens on, loopback included (a dev server bound to 127.0.0.1). It
  listens on a Unix socket in the portal volume, never on the network: a connection there names a
  port in its first line and is relayed to that port of the sandbox's loopback. It also prints the
  sandbox's listening TCP ports (read from /proc/net/tcp, which is the namespace's) as one JSON line
  whenever they change; the server follows that log.
- a **forward** (`publish`), one per forwarded port, sits on the engine's default bridge with one
  port published by the engine (`HOST_IP:HOST_PORT`), and relays each connection to the portal's
  socket. The engine publishes it wherever it publishes ports (Docker Desktop's too), so nothing here
  depends on reaching a container's address from the host.

Both relay with splice(2) (berth.network.relay.pump): the bytes never pass through Python.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time

from berth.network.relay import pump

# Where the portal volume is mounted in both helpers, and the portal's socket in it.
MOUNT = "/run/berth-portal"
SOCKET = MOUNT + "/portal.sock"
# A forward's own port, the one the engine publishes.
FORWARD_PORT = 40000
# How often the portal looks at the listening ports: detection within a second.
POLL = 0.5
# The socket buffers of the portal's Unix connections.
UNIX_BUFFER = 4 << 20
# More listening ports than this are reported as the first ones only.
MAX_PORTS = 200
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp
# The engine's own name server on a user-defined network listens here, in every container's namespace.
_ENGINE_DNS = "127.0.0.11"
_REQUEST_LIMIT = 16


def listening(tables: list[str]) -> list[dict[str, object]]:
    """The listening TCP ports in /proc/net/tcp and tcp6 texts: [{"port", "address"}], by port,
    one entry per port (its first address: a wildcard when it has one)."""
    found: dict[int, str] = {}
    for text in tables:
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 4 or fields[3] != _LISTEN or ":" not in fields[1]:
                continue
            hex_address, _, hex_port = fields[1].rpartition(":")
            try:
                port = int(hex_port, 16)
                address = _address(hex_address)
            except ValueError:
                continue
            if address == _ENGINE_DNS:
                continue
            if port not in found or address in ("0.0.0.0", "::"):
                found[port] = address
    return [{"port": p, "address": found[p]} for p in sorted(found)[:MAX_PORTS]]


def _address(hex_address: str) -> str:
    """An address as /proc/net/tcp writes it (host byte order, 32-bit words) in the usual form."""
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    if len(raw) == 16:
        words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        text = socket.inet_ntop(socket.AF_INET6, words)
        return text[len("::ffff:"):] if text.startswith("::ffff:") and "." in text else text
    raise ValueError(hex_address)


def _read_tables() -> list[str]:
    out = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(path) as f:
            out.append(f.read())
    return out


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    for sock in (client, upstream):
        if sock.family == socket.AF_UNIX:
            # The default Unix socket buffers (about 200 KiB) hold a bulk transfer back.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UNIX_BUFFER)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UNIX_BUFFER)
    pipes = [*os.pipe(), *os.pipe()]
    try:
        up = threading.Thread(target=pump, args=(client, upstream, pipes[0], pipes[1]),
                              daemon=True)
        up.start()
        pump(upstream, client, pipes[2], pipes[3])
        up.join()
    finally:
        for fd in pipes:
            os.close(fd)


def _connect_local(port: int) -> socket.socket:
    """The sandbox's own port: on its IPv4 loopback, else IPv6's (a server bound to ::1 only)."""
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return socket.create_connection(("::1", port), timeout=5)


def _portal_connection(client: socket.socket) -> None:
    upstream = None
    try:
        client.settimeout(5)
        # Byte by byte: what follows the line is the client's, relayed as it is.
        line = b""
        while not line.endswith(b"\n"):
            byte = client.recv(1)
            if not byte or len(line) >= _REQUEST_LIMIT:
                return
            line += byte
        port = int(line)
        if not 1 <= port <= 65535:
            return
        upstream = _connect_local(port)
        for s in (client, upstream):
            s.settimeout(None)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _relay(client, upstream)
    except (OSError, ValueError):
        pass  # nothing listens there: the forward's client sees the connection closed
    finally:
        client.close()
        if upstream is not None:
            upstream.close()


def _accept_forever(listener: socket.socket, handle: object) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            time.sleep(0.05)  # out of descriptors for a moment
            continue
        threading.Thread(target=handle, args=(client,), daemon=True).start()


def serve() -> None:
    """The portal: the socket, and the listening ports as JSON lines on stdout."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(SOCKET)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(SOCKET)
    listener.listen(128)
    threading.Thread(target=_accept_forever, args=(listener, _portal_connection),
                     daemon=True).start()
    last = None
    while True:
        now = listening(_read_tables())
        if now != last:
            sys.stdout.write(json.dumps({"listening": now}) + "\n")
            sys.stdout.flush()
            last = now
        time.sleep(POLL)


def publish(port: int) -> None:
    """A forward: FORWARD_PORT, relayed to the sandbox's `port` through the portal's socket."""
    listener = socket.create_server(("0.0.0.0", FORWARD_PORT), backlog=128)
    request = f"{port}\n".encode()

    def forward(client: socket.socket) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream.connect(SOCKET)
            upstream.sendall(request)
            _relay(client, upstream)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()

    sys.stdout.write(json.dumps({"forwarding": port}) + "\n")
    sys.stdout.flush()
    _accept_forever(listener, forward)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    threading.stack_size(256 * 1024)
    if sys.argv[1:2] == ["serve"]:
        serve()
    elif sys.argv[1:2] == ["publish"] and len(sys.argv) == 3:
        publish(int(sys.argv[2]))
    else:
        sys.exit("usage: portal serve | portal publish PORT")


if __name__ == "__main__":
    main()
