"""Ports: a port forwarded on demand (sandbox/forwardPort) against the same port published at
creation (`ports`), on the same sandbox, and how soon the server notices a new port.

One sandbox of the offline template, `open` (so the engine publishes its port itself), created with
`ports` for port 8000, then forwarded port 8000 too: busybox httpd serves a 256 MiB file and a small
one on 0.0.0.0:8000. The bench process is the client of both (plain sockets, one 1 MiB buffer), so
its own cost is on both sides. Detection: the main folder's sandbox (an open folder, whose ports the
server follows) starts a server on a new port; the time from just before that `docker exec` to the
`sandbox/didChangePorts` naming the port.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from typing import Any

from harness import Bench
from report import Row, median_at_most

PORT = 8000
BIG_MIB = 256
DETECT_LIMIT_MS = 2000.0
THROUGHPUT_RATIO = 0.8
FIRST_BYTE_ADDED_MS = 5.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _exec(api: Any, container: str, script: str) -> None:
    exec_id = api.exec_create(container, ["sh", "-c", script], user="agent")["Id"]
    api.exec_start(exec_id)
    assert api.exec_inspect(exec_id)["ExitCode"] == 0, script


def _get(port: int, path: str, buffer: bytearray) -> tuple[float, float, int]:
    """(seconds to the first byte, seconds in all, bytes) of one HTTP/1.0 GET on 127.0.0.1."""
    view = memoryview(buffer)
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        n = s.recv_into(view)
        first = time.perf_counter() - t0
        total = n
        while n:
            n = s.recv_into(view)
            total += n
    return first, time.perf_counter() - t0, total


async def ports(b: Bench) -> None:
    await forwarded_against_published(b)
    await detection(b)


async def forwarded_against_published(b: Bench) -> None:
    s = b.session
    api = b.docker.api
    loop = asyncio.get_running_loop()
    published = _free_port()
    ws = b.folder("ports")
    made = await s.request("sandbox/run", {"workspace": ws, "networkPolicy": "open",
                                           "ports": [f"{published}:{PORT}"]})
    _exec(api, made["id"], f"mkdir -p /tmp/www && head -c {BIG_MIB << 20} /dev/zero > "
                           f"/tmp/www/big && echo hi > /tmp/www/small && "
                           f"httpd -p 0.0.0.0:{PORT} -h /tmp/www")
    forward = await s.request("sandbox/forwardPort", {"workspace": ws, "port": PORT})
    forwarded = forward["hostPort"]
    b.say(f"a {BIG_MIB} MiB download and small requests: forwarded (127.0.0.1:{forwarded}) vs "
          f"published (127.0.0.1:{published}), alternating")
    buffer = bytearray(1 << 20)

    def speed(port: int) -> float:
        _, took, size = _get(port, "/big", buffer)
        assert size > BIG_MIB << 20, size
        return size / (1 << 20) / took

    via, plain = [], []
    await loop.run_in_executor(None, speed, published)  # page cache warm
    for _ in range(b.reps(5, 2)):
        plain.append(await loop.run_in_executor(None, speed, published))
        via.append(await loop.run_in_executor(None, speed, forwarded))
    b.rows.append(Row("download through a forwarded port", via, "published port, same sandbox",
                      plain, f"ratio >= {THROUGHPUT_RATIO}",
                      statistics.median(via) >= THROUGHPUT_RATIO * statistics.median(plain),
                      unit="MiB/s"))

    def first_bytes(port: int, n: int) -> list[float]:
        return [_get(port, "/small", buffer)[0] * 1000 for _ in range(n)]

    n = b.reps(40, 10)
    plain_ms, via_ms = [], []
    for _ in range(n // 10):
        plain_ms += await loop.run_in_executor(None, first_bytes, published, 10)
        via_ms += await loop.run_in_executor(None, first_bytes, forwarded, 10)
    added = statistics.median(via_ms) - statistics.median(plain_ms)
    b.rows.append(Row("first byte through a forwarded port", via_ms, "published port", plain_ms,
                      f"median + <= {FIRST_BYTE_ADDED_MS:.0f} ms", added <= FIRST_BYTE_ADDED_MS,
                      note=f"median added {added:.2f} ms (connect, request, first byte)"))
    await s.request("sandbox/remove", {"workspace": ws})


async def detection(b: Bench) -> None:
    await b.ensure_main()
    s = b.session
    api = b.docker.api
    loop = asyncio.get_running_loop()
    b.say("detection: a server started in the main folder's sandbox -> sandbox/didChangePorts")
    delays = []
    for i in range(b.reps(5, 2)):
        port = 9100 + i
        start = len(s.notifications)
        t0 = time.perf_counter()
        await loop.run_in_executor(None, _exec, api, b.main_id,
                                   f"mkdir -p /tmp/d{i} && httpd -p 127.0.0.1:{port} -h /tmp/d{i}")
        note = await s.wait_notification(
            lambda n, port=port: n.method == "sandbox/didChangePorts"
            and any(p["port"] == port for p in n.params.get("listening", [])), start=start)
        delays.append((note.t - t0) * 1000)
    b.rows.append(Row("new port noticed (sandbox/didChangePorts)", delays, target=f"<= "
                      f"{DETECT_LIMIT_MS / 1000:.0f} s", passed=median_at_most(delays,
                                                                                DETECT_LIMIT_MS),
                      note="from just before the exec that starts the server"))
