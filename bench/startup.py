"""Starting the server, against a bare pygls server: spawn to `initialize` result, `initialized` to the
first status (against one raw call, warm and from a cold process), the bench client's own round trip,
and the idle memory."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import memory
from environment import BARE_SERVER, BERTH_SERVER
from harness import Bench
from report import Row, ratio_at_most
from timing import ms, request_ms, timed


async def cold_start(b: Bench) -> None:
    await b.ensure_main()
    b.say("cold start and first status (berth-server and the bare pygls server, alternating)")
    reps = b.reps(10, 3)
    cold, first, rss_idle = [], [], []
    bare_cold, bare_rss, echo = [], [], []
    for i in range(reps + 1):  # the first round warms the page cache and is dropped
        c = await b.spawn(BERTH_SERVER)
        _, t_init, _ = await c.request_timed("initialize", b.init_params(b.ws))
        t_initialized = c.notify("initialized", {})
        note = await c.wait_notification(b.is_status(b.ws))
        assert note.params["state"] == "running", note.params
        await c.quiesce(0.3)
        rss = memory.rss_mib(c.pid)
        await b.close(c)

        bare = await b.spawn(BARE_SERVER)
        _, t_bare, _ = await bare.request_timed("initialize", b.init_params(b.ws))
        bare.notify("initialized", {})
        for _ in range(5):
            took, _ = await request_ms(bare, "bench/echo", {})
            if i:
                echo.append(took)
        await asyncio.sleep(0.3)
        brss = memory.rss_mib(bare.pid)
        await b.close(bare)
        if i:
            cold.append(ms(c.t_spawn, t_init))
            first.append(ms(t_initialized, note.t))
            rss_idle.append(rss)
            bare_cold.append(ms(bare.t_spawn, t_bare))
            bare_rss.append(brss)

    # One raw label-filtered call on a connected client, and the same from a cold process
    # (import docker, connect with version negotiation, one call), which the server also pays.
    warm = [timed(b.docker.sandboxes, b.main_filter)[0] for _ in range(reps)]
    code = ("import time; t=time.perf_counter(); import docker; "
            "c=docker.APIClient(version='auto'); "
            f"c.containers(all=True, filters={b.main_filter!r}); "
            "print((time.perf_counter()-t)*1000)")
    cold_raw = []
    for _ in range(b.reps(5, 2)):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=b.env)
        cold_raw.append(float(out.stdout.strip()))

    b.bare_rss = bare_rss
    b.rows.append(Row("cold start: spawn -> initialize result", cold,
                      "bare pygls server", bare_cold, "ratio <= 1.3", ratio_at_most(cold, bare_cold, 1.3)))
    b.rows.append(Row("first status: initialized -> didChangeStatus", first,
                      "1 raw label-filtered list", warm, "(none)"))
    b.rows.append(Row("  same, vs a cold raw call", first,
                      "import docker+connect+list", cold_raw, "(none)"))
    b.rows.append(Row("client+pipe round trip (bench/echo)", echo, "", [], "(info)",
                      note="the bench client's own cost: bare server, empty request"))
    b.rows.append(memory.idle_row(rss_idle, bare_rss))
