#!/usr/bin/env python3
"""Profile berth-server with py-spy while it serves one bench scenario, over the same pipes.

    python bench/hotspots.py create          # sandbox/run on new folders (10 creates)
    python bench/hotspots.py list --fill 200 # sandbox/list with 200 sandboxes
    python bench/hotspots.py run             # sandbox/run on a running sandbox
    python bench/hotspots.py kill            # docker kill -> status (the propagation path)

py-spy samples every thread of the server, idle time included (`--idle`), so time spent waiting on
the engine shows up under the docker-py call that waits. Prints the functions with the most
inclusive wall time in the server's threads that did work, and keeps the raw collapsed stacks in
bench/results/. Needs py-spy from bench/requirements.txt and ptrace rights.
(Not `profile.py`: that name would shadow Python's own `profile` module for every bench script.)
"""

from __future__ import annotations

from environment import RESULTS  # first: re-runs this script in the project's .venv if needed

# isort: split
import argparse
import asyncio
import collections
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness import NOTIFICATION_TIMEOUT, Bench

PY_SPY = str(Path(sys.executable).parent / "py-spy")


async def scenario(b: Bench, name: str, n: int, fill: int) -> None:
    s = b.session
    if name == "list" and fill > 1:
        b.say(f"creating {fill - 1} more sandboxes")
        await asyncio.get_running_loop().run_in_executor(
            None, b.docker.fill, b.main_template_labels(), 0, fill - 1)
        await s.quiesce(1.0)
    spy = subprocess.Popen([PY_SPY, "record", "--pid", str(s.pid), "--idle", "--threads",
                            "--rate", "1000", "--format", "raw", "--output",
                            str(RESULTS / f"profile-{name}.txt")],
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
                await s.wait_notification(b.is_status(b.ws, "stopped"), start=start,
                                          timeout=NOTIFICATION_TIMEOUT)
            except TimeoutError:
                b.say(f"no `stopped` notification within {NOTIFICATION_TIMEOUT:.0f} s")
            b.docker.api.start(b.main_id)
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
    b = Bench(quick=False, server_path=args.server_path)
    try:
        async def go() -> None:
            await b.open()  # the main folder and its running sandbox
            await b.close(b.session)
            b.session = s = await b.open_session()  # a fresh server for the profile
            try:
                await scenario(b, args.scenario, n, args.fill)
            finally:
                await b.close(s)

        asyncio.run(go())
    finally:
        b.kill_children()
        b.cleanup()
    out = RESULTS / f"profile-{args.scenario}.txt"
    if out.exists():
        summarize(out, args.top)
        print(f"\nraw collapsed stacks: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
