"""Agent attention: from a hook running `berth-notify` in the sandbox to the editor's
sandbox/didChangeAgentState, in the main folder's sandbox (an open folder, whose log the server
follows). Timed from just before the `docker exec` that runs the hook; the floor is that exec
running `true`, so what Berth adds is the difference."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from harness import Bench
from report import Row, median_at_most

LIMIT_MS = 200.0


def _exec_ms(api: Any, container: str, argv: list[str]) -> float:
    t0 = time.perf_counter()
    exec_id = api.exec_create(container, argv, user="agent")["Id"]
    api.exec_start(exec_id)
    return (time.perf_counter() - t0) * 1000


async def attention(b: Bench) -> None:
    await b.ensure_main()
    s = b.session
    api = b.docker.api
    loop = asyncio.get_running_loop()
    b.say("attention: berth-notify in the sandbox -> sandbox/didChangeAgentState")
    delays, floor = [], []
    for i in range(b.reps(15, 4)):
        floor.append(await loop.run_in_executor(None, _exec_ms, api, b.main_id, ["true"]))
        start = len(s.notifications)
        t0 = time.perf_counter()
        await loop.run_in_executor(None, _exec_ms, api, b.main_id,
                                   ["/usr/local/bin/berth-notify", "bench", "waitingForInput",
                                    f"question {i}"])
        note = await s.wait_notification(
            lambda n, i=i: n.method == "sandbox/didChangeAgentState"
            and n.params.get("message") == f"question {i}", start=start)
        delays.append((note.t - t0) * 1000)
    b.rows.append(Row("agent attention (hook -> notification)", delays, "docker exec of `true`",
                      floor, f"<= {LIMIT_MS:.0f} ms", median_at_most(delays, LIMIT_MS),
                      note="from just before the exec that runs the hook"))
