#!/usr/bin/env python3
"""Berth's performance bench: every figure beside its floor, on the real Docker engine, in one run.

    python bench/run.py            # the whole bench, a few minutes
    python bench/run.py --quick    # fewer repetitions and 50 instead of 200 sandboxes (a smoke test)

See bench/README.md for what each row measures. Results go to bench/results/latest.json (and .md).
"""

from __future__ import annotations

# first: re-runs this script in the project's .venv if needed
from environment import IMAGE, OFFLINE_BASE, ROOT

# isort: split
import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attention
import branches
import engines
import network
import ports
import propagation
import sandbox_requests
import sessions
import startup
import templates
from harness import Bench
from report import machine, report

# --only names -> the measurements, in the order they run.
PHASES = {
    "run": sandbox_requests.run_on_running,
    "cold": startup.cold_start,
    "create": sandbox_requests.create,
    "propagation": propagation.propagation,
    "list": sandbox_requests.lists,
    "network": network.network,
    "branches": branches.branches,
    "ports": ports.ports,
    "attention": attention.attention,
    "sessions": sessions.sessions,
    "templates": templates.templates,
    "engines": engines.engines,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="few repetitions, at most 50 sandboxes: a smoke test of the bench")
    parser.add_argument("--only", metavar="PHASES",
                        help=f"comma-separated subset of the phases: {','.join(PHASES)}")
    parser.add_argument("--server-path", metavar="DIR",
                        help="run berth-server from a scratch copy of server/ (DIR holds berth/), "
                             "to measure a prototype fix with the same bench")
    args = parser.parse_args()
    args.phases = args.only.split(",") if args.only else list(PHASES)
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s) {', '.join(sorted(unknown))}; choose from {', '.join(PHASES)}")
    if args.server_path and not (Path(args.server_path) / "berth" / "__init__.py").exists():
        parser.error(f"--server-path {args.server_path}: no berth/ package there")
    return args


def ensure_templates(phases: list[str]) -> None:
    images = subprocess.run(["docker", "images", "-q", IMAGE], capture_output=True, text=True)
    if not images.stdout.strip():
        print(f"{IMAGE} missing; building the test templates", flush=True)
        subprocess.run([str(ROOT / "tests" / "images" / "build.sh")], check=True)
    if "network" in phases:
        # curl for the network phase, and the debootstrapped base the proxy is built on; cached.
        subprocess.run(["bash", str(ROOT / "tests" / "images" / "real" / "build.sh")], check=True)
    base = subprocess.run(["docker", "images", "-q", OFFLINE_BASE], capture_output=True, text=True)
    if base.stdout.strip():
        os.environ.setdefault("BERTH_PROXY_BASE", OFFLINE_BASE)


async def measure(bench: Bench, phases: list[str]) -> None:
    await bench.open()  # the long-lived server session and its running sandbox
    try:
        for phase in phases:
            await PHASES[phase](bench)
    finally:
        await bench.close(bench.session)


def main() -> int:
    args = parse_args()

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    ensure_templates(args.phases)

    t0 = time.perf_counter()
    bench = Bench(quick=args.quick, server_path=args.server_path)
    # Agent branches' worktrees go in the bench's own folder, removed with it (the servers it
    # spawns get `bench.env`).
    bench.env["BERTH_WORKTREES"] = os.path.join(bench.root, "worktrees")
    info = machine(bench.docker.api)
    bench.say(f"{info['nproc']} cores ({info['cpu']}), kernel {info['kernel']}, "
              f"Docker {info['docker']}; work folder {bench.root}")
    failed = False
    try:
        asyncio.run(measure(bench, args.phases))
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        failed = True
    except BaseException:
        failed = True
        raise
    finally:
        bench.kill_children()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # cleanup must finish
        try:
            bench.cleanup()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if bench.rows:
            report(bench.rows, info, time.perf_counter() - t0, quick=bench.quick,
                   extra=bench.extra, server_path=bench.server_path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
