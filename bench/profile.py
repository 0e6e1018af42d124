#!/usr/bin/env python3
"""Profile berth-server with py-spy while it serves one bench scenario, over the same pipes.

    python bench/profile.py create          # sandbox/run on new folders (10 creates)
    python bench/profile.py list --fill 200 # sandbox/list with 200 sandboxes
    python bench/profile.py run             # sandbox/run on a running sandbox
    python bench/profile.py kill            # docker kill -> status (the propagation path)

py-spy samples every thread of the server, idle time included (`--idle`), so time spent waiting on
the engine shows up under the docker-py call that waits. Prints the functions with the most
inclusive wall time in the server's threads that did work, and keeps the raw collapsed stacks (and a
speedscope file) in bench/results/. Needs py-spy from bench/requirements.txt and ptrace rights.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import argparse  # noqa: E402
import asyncio  # noqa: E402
import collections  # noqa: E402
import contextlib  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import run as bench  # noqa: E402  (re-executes in the project's venv when needed)

PY_SPY = str(Path(sys.executable).parent / "py-spy")


async def scenario(b: bench.Bench, name: str, n: int, fill: int) -> None:
    s = b.session
    if name == "list" and fill > 1:
        b.say(f"creating {fill - 1} more sandboxes")
        template = b.engine.raw_list(
            f"{bench.berth_labels.WORKSPACE_KEY}={bench.workspace_key(b.ws)}")[0]["Labels"]
        labels = {k: v for k, v in template.items() if not k.startswith(bench.BENCH_LABEL)}
        await asyncio.get_running_loop().run_in_executor(None, b.engine.fill, labels, 0, fill - 1)
        await s.quiesce(1.0)
    spy = subprocess.Popen([PY_SPY, "record", "--pid", str(s.pid), "--idle", "--threads",
                            "--rate", "1000", "--format", "raw", "--output",
                            str(bench.RESULTS / f"profile-{name}.txt")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    await asyncio.sleep(1.0)  # py-spy attaches
    t0 = time.perf_counter()
    for i in range(n):
        if name == "create":
            await s.request("sandbox/run", {"workspace": b.folder(f"profile-{i}")})
        elif name == "list":
            await s.request("sandbox/list", {})
        elif name == "run":
            await s.request("sandbox/run", {})
        elif name == "kill":
            start = len(s.notifications)
            subprocess.run(["docker", "kill", b.main_id], stdout=subprocess.DEVNULL, check=True)
            try:
                await s.wait_notification(b.is_status(b.ws, "stopped"), start=start, timeout=3)
            except TimeoutError:
                b.say("no `stopped` notification within 3 s")
            b.engine.api.start(b.main_id)
            await s.quiesce(0.3)
    busy = time.perf_counter() - t0
    await asyncio.sleep(0.2)
    spy.send_signal(signal.SIGINT)
    _, err = await asyncio.get_running_loop().run_in_executor(None, spy.communicate)
    if spy.returncode not in (0, -2):
        print(err.decode(errors="replace")[-2000:], file=sys.stderr)
    b.say(f"{n} x {name} took {busy * 1000:.0f} ms in the client")


def summarize(path: Path, top: int) -> None:
    """Inclusive samples per function, over the stacks of threads that were not idling."""
    idle_leaves = ("_worker (concurrent/futures/thread.py", "select (selectors.py",
                   "_CappedStdin.readline", "wait (threading.py", "EpollSelector.select")
    # Plumbing every stack passes through: left out of the function list.
    plumbing = ("threading.py", "asyncio/", "concurrent/futures", "socket.py", "http/client.py",
                "urllib3/", "requests/", "<module>", "selectors.py")
    inclusive: collections.Counter[str] = collections.Counter()
    per_thread: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not frames or any(frames[-1].startswith(leaf) for leaf in idle_leaves):
            continue
        if "berth-events" in frames[0] and "EventWatcher._run" in stack and "readinto" in stack:
            continue  # the watcher waiting for the next event
        n = int(count)
        total += n
        per_thread[frames[0]] += n
        for frame in set(frames[1:]):
            if not any(p in frame for p in plumbing):
                inclusive[frame] += n
    print(f"\n{total} busy samples (1 ms each) by thread:")
    for thread, n in per_thread.most_common(8):
        print(f"  {n:6d}  {thread}")
    print(f"\ntop {top} functions by inclusive samples (wall time, waits on the engine included):")
    for frame, n in inclusive.most_common(top):
        print(f"  {n:6d}  {100 * n / max(total, 1):5.1f}%  {frame}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=("create", "list", "run", "kill"))
    parser.add_argument("-n", type=int, default=0, help="repetitions (default depends on scenario)")
    parser.add_argument("--fill", type=int, default=200, help="sandboxes for `list`")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--server-path", metavar="DIR")
    args = parser.parse_args()
    n = args.n or {"create": 10, "list": 100, "run": 200, "kill": 9}[args.scenario]
    ns = argparse.Namespace(quick=False, phases=[], server_path=args.server_path, only=None)
    b = bench.Bench(ns)
    try:
        async def go() -> None:
            await b.main()  # starts the session with one running sandbox; runs no phase
            b.session = await b.spawn(bench.BERTH_SERVER)  # a fresh one for the profile
            s = b.session
            await s.request("initialize", b.init_params(b.ws))
            s.notify("initialized", {})
            await s.wait_notification(b.is_status(b.ws))
            await s.quiesce(0.5)
            try:
                await scenario(b, args.scenario, n, args.fill)
            finally:
                await b.close(s)

        asyncio.run(go())
    finally:
        for pid in list(bench.CHILDREN):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        b.cleanup()
    out = bench.RESULTS / f"profile-{args.scenario}.txt"
    if out.exists():
        summarize(out, args.top)
        print(f"\nraw collapsed stacks: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
