"""Agent sessions: what running the agent through Berth's session holder costs a terminal, against
the same command run by a plain `docker exec` (what Berth ran before sessions), both through the
docker CLI as an editor's terminal runs them, in the main folder's sandbox.

- start: `docker exec -i ... <holder> new --attach -- sh -c 'echo ready'` until its output and exit,
  against `docker exec -i ... sh -c 'echo ready'`: the holder's fork, socket and pty on top.
- attach: attaching a running session until its first byte (the screen replayed), against the same
  plain exec: what coming back to a detached agent costs.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

from berth import session_tool
from berth.engine.sessions import engine_arch
from harness import Bench
from report import Row, ratio_at_most

RATIO = 1.3


def _timed(argv: list[str], until: bytes) -> float:
    """From spawning `argv` to `until` in its output (read as it comes)."""
    t0 = time.perf_counter()
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        seen = b""
        while until not in seen:
            chunk = proc.stdout.read1(65536)
            if not chunk:
                raise RuntimeError(f"{argv} ended without {until!r}: {seen[-200:]!r}")
            seen += chunk
        elapsed = (time.perf_counter() - t0) * 1000
        proc.stdin.close()
        proc.wait(30)
    return elapsed


async def sessions(b: Bench) -> None:
    await b.ensure_main()
    api = b.docker.api
    holder = session_tool.path_in_sandbox(session_tool.binary(engine_arch(api)))
    prefix = ["docker", "exec", "-i", "-u", "agent", b.main_id[:12]]
    plain = [*prefix, "sh", "-c", "echo ready"]
    loop = asyncio.get_running_loop()
    b.say("sessions: an agent started and attached through the session holder vs a plain exec")
    started, floor = [], []
    for _ in range(b.reps(12, 4)):
        floor.append(await loop.run_in_executor(None, _timed, plain, b"ready"))
        started.append(await loop.run_in_executor(
            None, _timed, [*prefix, holder, "new", "--agent", "bench", "--attach", "--", "sh", "-c",
                           "echo ready"], b"ready"))
    b.rows.append(Row("session: start the agent and see its first output", started,
                      "plain docker exec", floor, f"<= {RATIO}x", ratio_at_most(started, floor, RATIO),
                      note="docker CLI, as a terminal runs it"))

    session = subprocess.run([*prefix, holder, "new", "--agent", "bench", "--", "sh", "-c",
                              "echo waiting; exec cat"], capture_output=True, text=True,
                             check=True).stdout.strip()
    attached, floor = [], []
    try:
        for _ in range(b.reps(12, 4)):
            floor.append(await loop.run_in_executor(None, _timed, plain, b"ready"))
            attached.append(await loop.run_in_executor(
                None, _timed, [*prefix, holder, "attach", session], b"waiting"))
    finally:
        subprocess.run([*prefix, holder, "stop", session], capture_output=True, check=False)
    b.rows.append(Row("session: attach a running agent (its screen back)", attached,
                      "plain docker exec", floor, f"<= {RATIO}x", ratio_at_most(attached, floor, RATIO),
                      note="docker CLI, until the replayed screen's first line"))
