"""Berth's sandbox requests against raw docker-py: sandbox/run on a running sandbox and on a new
folder, sandbox/list at 1, 50 and 200 sandboxes (and, for scale, the docker CLI's list)."""

from __future__ import annotations

import asyncio

import memory
from berth import labels
from harness import Bench
from report import Row, median_at_most, ratio_at_most
from timing import command_ms, request_ms, timed


async def run_on_running(b: Bench) -> None:
    await b.ensure_main()
    b.say("run on an already-running sandbox")
    s, raw_list = b.session, b.docker.sandboxes
    berth, raw = [], []
    for _ in range(3):  # warm both paths
        await s.request("sandbox/run", {})
        raw_list(b.main_filter)
    for _ in range(b.reps(15, 5)):
        took, result = await request_ms(s, "sandbox/run", {})
        assert not result["created"] and result["status"] == "running", result
        berth.append(took)
        raw.append(timed(raw_list, b.main_filter)[0])
        await asyncio.sleep(0.02)
    b.rows.append(Row("run on running sandbox (sandbox/run)", berth,
                      "1 raw label-filtered list", raw, "median <= 30 ms", median_at_most(berth, 30)))


async def creates(b: Bench, kind: str, policy: str) -> tuple[list[float], list[float]]:
    """sandbox/run on new folders with `policy`, alternating with raw create+start: (Berth's ms,
    the floor's ms)."""
    s = b.session
    berth, raw = [], []
    for i in range(b.reps(7, 2)):
        ws = b.folder(f"{kind}-berth-{i}")
        start = len(s.notifications)
        took, result = await request_ms(s, "sandbox/run", {"workspace": ws, "networkPolicy": policy})
        assert result["created"] and result["networkPolicy"] == policy, result
        berth.append(took)
        await s.wait_notification(b.is_status(ws, "running"), start=start)
        await s.quiesce(0.3)
        raw_ws = b.folder(f"{kind}-raw-{i}")
        raw.append(timed(b.docker.create_start, raw_ws, f"berth-bench-{kind}-{b.run_id}-{i}")[0])
        await asyncio.sleep(0.3)
    return berth, raw


async def create(b: Bench) -> None:
    b.say("create: sandbox/run (open network) on a new folder vs raw docker-py create+start")
    # The open policy: this row is the sandbox alone; network.py measures one with a policy.
    berth, raw = await creates(b, "create", "open")
    s = b.session
    b.rows.append(Row("create (sandbox/run, new folder, open)", berth, "raw create+start", raw,
                      "ratio <= 1.5", ratio_at_most(berth, raw, 1.5)))
    # Those sandboxes would inflate the list sizes: remove them now.
    ids = [cid for cid in b.docker.ours() if cid != b.main_id]
    await asyncio.get_running_loop().run_in_executor(None, b.docker.remove, ids)
    await s.quiesce(0.5)


async def lists(b: Bench) -> None:
    await b.ensure_main()
    s, raw_list = b.session, b.docker.sandboxes
    template_labels = b.main_template_labels()
    sizes = (1, 50) if b.quick else (1, 50, 200)
    made = 0
    loop = asyncio.get_running_loop()
    for size in sizes:
        have = len(raw_list())
        if size > have:
            b.say(f"creating {size - have} more sandboxes")
            took = await loop.run_in_executor(None, b.docker.fill, template_labels, made, size - have)
            made += size - have
            b.extra[f"fill_{size}_seconds"] = round(took, 1)
            await s.quiesce(1.0)
        b.say(f"list with {size} sandbox(es)")
        berth, raw, cli, rss = [], [], [], []
        for _ in range(3):
            await s.request("sandbox/list", {})
            raw_list()
        for i in range(b.reps(15, 5)):
            took, result = await request_ms(s, "sandbox/list", {})
            berth.append(took)
            rss.append(memory.rss_mib(s.pid))
            took, listed = timed(raw_list)
            raw.append(took)
            if i < b.reps(7, 3):
                cli.append(await command_ms("docker", "ps", "-a", "--filter",
                                            f"label={labels.MARKER}=true"))
        assert len(result) == len(listed), (len(result), len(listed))
        n = len(result)
        b.extra[f"list_{size}_count"] = n
        name = f"list {n} sandbox{'es' if n != 1 else ''} (sandbox/list)"
        b.rows.append(Row(name, berth, "1 raw containers() call", raw, "ratio <= 2",
                          ratio_at_most(berth, raw, 2)))
        b.rows.append(Row("  same, vs the docker CLI", berth, "docker ps -a --filter", cli, "(none)"))
        if size == sizes[-1]:
            peak = memory.peak_mib(s.pid)
            b.extra["rss_peak_mib"] = round(peak, 1)
            b.rows.append(memory.loaded_row(n, rss, b.bare_rss, peak))
