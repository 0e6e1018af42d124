"""Network policies: what a policy costs. Creating a filtered sandbox against raw create+start; a large
download and small requests through the proxy against the same from an open sandbox; the proxy's
memory.

The download server is a container on the engine's default bridge (python3's http.server in the real
agent template, serving a sparse 1 GiB file), outside every sandbox. Two sandboxes of the real
template (it has curl) download from it: an `open` one directly, a `balanced` one through its proxy
(allowed the server's address and port). curl reports its own speed and times, so the exec around it
is on neither side.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from harness import Bench
from report import Row, median_at_most, ratio_at_most
from sandbox_requests import creates

REAL = "berth-test/agents:1"
PORT = 8000
BIG = "/tmp/big"
SIZE = "1G"
PROXY_MEMORY_LIMIT_MIB = 30


def _exec(api: Any, container: str, script: str, user: str = "") -> str:
    exec_id = api.exec_create(container, ["sh", "-c", script], user=user)["Id"]
    out = api.exec_start(exec_id).decode()
    code = api.exec_inspect(exec_id)["ExitCode"]
    assert code == 0, (script, code, out)
    return out


async def create_with_policy(b: Bench) -> None:
    b.say("create with a policy: sandbox/run (balanced) on a new folder vs raw create+start")
    berth, raw = await creates(b, "policy", "balanced")
    b.rows.append(Row("create with a policy (balanced)", berth, "raw create+start", raw,
                      "ratio <= 1.6", ratio_at_most(berth, raw, 1.6)))


async def through_the_proxy(b: Bench) -> None:
    api = b.docker.api
    s = b.session
    server = b.docker.start_server(REAL, f"cd /tmp && truncate -s {SIZE} {BIG} && "
                                         f"echo hi > /tmp/small && exec python3 -m http.server {PORT}")
    address = api.inspect_container(server)["NetworkSettings"]["IPAddress"]
    _exec(api, server, f"for i in $(seq 100); do python3 -c 'import urllib.request as u; "
                       f"u.urlopen(\"http://127.0.0.1:{PORT}/small\")' && exit 0; sleep 0.1; done;"
                       " exit 1")
    b.say(f"download server at {address}:{PORT}; making an open and a balanced sandbox")
    loop = asyncio.get_running_loop()
    sandboxes = {}
    for policy in ("open", "balanced"):
        ws = b.folder(f"net-{policy}")
        result = await s.request("sandbox/run", {"workspace": ws, "template": REAL,
                                                 "networkPolicy": policy})
        sandboxes[policy] = result
    await s.request("sandbox/changePolicy", {"workspace": sandboxes["balanced"]["workspace"],
                                             "allow": [f"{address}:{PORT}"]})
    # The server makes its next spare network and proxy after a filtered create: timed alongside,
    # that would measure the engine's work, not the relay's.
    await loop.run_in_executor(None, _spare_ready, api)
    direct = "curl --noproxy '*' -sS -o /dev/null"
    proxied = "curl -sS -o /dev/null"
    ids = {p: r["id"] for p, r in sandboxes.items()}

    def speed(policy: str) -> float:
        curl = direct if policy == "open" else proxied
        out = _exec(api, ids[policy], f"{curl} -w '%{{speed_download}}' http://{address}:{PORT}/big",
                    user="agent")
        return float(out) / (1024 * 1024)  # MiB/s

    def latencies(policy: str, n: int, tunnel: bool = False) -> list[float]:
        curl = direct if policy == "open" else proxied + (" -p" if tunnel else "")
        out = _exec(api, ids[policy], f"for i in $(seq {n}); do {curl} -w '%{{time_total}}\\n' "
                                      f"http://{address}:{PORT}/small; done", user="agent")
        return [float(x) * 1000 for x in out.split()]

    b.say("download of a 1 GiB file: through the proxy vs direct, alternating")
    via, plain = [], []
    for _ in range(b.reps(5, 2)):
        plain.append(await loop.run_in_executor(None, speed, "open"))
        via.append(await loop.run_in_executor(None, speed, "balanced"))
    row = Row("download through the proxy", via, "direct, open sandbox", plain,
              "ratio >= 0.9", statistics.median(via) >= 0.9 * statistics.median(plain), unit="MiB/s")
    b.rows.append(row)

    b.say("small requests: through the proxy vs direct")
    n = b.reps(40, 10)
    plain_ms = await loop.run_in_executor(None, latencies, "open", n)
    via_ms = await loop.run_in_executor(None, latencies, "balanced", n)
    added = statistics.median(via_ms) - statistics.median(plain_ms)
    b.rows.append(Row("request through the proxy", via_ms, "direct, open sandbox", plain_ms,
                      "median + <= 5 ms", added <= 5.0,
                      note=f"median added {added:.2f} ms per request"))
    # Through a CONNECT tunnel, as every HTTPS request goes: the client keeps its side open, so a
    # relay that holds back small segments would show here (a TLS handshake pays it per hop).
    tunnel_ms = await loop.run_in_executor(None, latencies, "balanced", n, True)
    added = statistics.median(tunnel_ms) - statistics.median(plain_ms)
    b.rows.append(Row("request through a tunnel (CONNECT)", tunnel_ms, "direct, open sandbox",
                      plain_ms, "median + <= 5 ms", added <= 5.0,
                      note=f"median added {added:.2f} ms per request"))

    proxy = b.docker.proxy_of(ids["balanced"])
    working = b.docker.memory_mib(proxy)
    b.rows.append(Row("proxy memory (after the download)", [working], target=f"<= "
                      f"{PROXY_MEMORY_LIMIT_MIB} MiB", passed=median_at_most([working],
                                                                             PROXY_MEMORY_LIMIT_MIB),
                      unit="MiB", note="the proxy container's cgroup usage less its page cache"))


def _spare_ready(api: Any, timeout: float = 60.0) -> None:
    from berth.engine import egress

    deadline = time.monotonic() + timeout
    while egress.find_spare(api) is None:
        if time.monotonic() > deadline:
            raise RuntimeError("the server made no spare network proxy")
        time.sleep(0.1)


async def network(b: Bench) -> None:
    await create_with_policy(b)
    await through_the_proxy(b)
