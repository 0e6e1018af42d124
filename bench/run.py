#!/usr/bin/env python3
"""Berth's performance bench: every figure beside its floor, on the real Docker engine, in one run.

    python bench/run.py            # the whole bench, a few minutes
    python bench/run.py --quick    # fewer repetitions and 50 instead of 200 sandboxes (a smoke test)

See bench/README.md for what each row measures. Results go to bench/results/latest.json (and .md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = ROOT / ".venv"

try:  # the bench needs the project's venv (docker-py, pygls, berth); re-run there if started outside
    import berth  # noqa: F401
    import docker  # noqa: F401
except ImportError:
    venv_python = VENV / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(venv_python), [str(venv_python), os.path.abspath(sys.argv[0]), *sys.argv[1:]])
    raise

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import docker  # noqa: E402
from docker.types import Mount  # noqa: E402

sys.path.insert(0, str(HERE))
import contextlib  # noqa: E402

from berth import labels as berth_labels  # noqa: E402
from berth.container_setup import IDLE_ENTRYPOINT  # noqa: E402
from berth.workspace import workspace_key  # noqa: E402
from rpc import EDITOR_CAPABILITIES, Client, rss_kib  # noqa: E402

IMAGE = "berth-test/claude:1"
STATUS = "sandbox/didChangeStatus"
BENCH_LABEL = "dev.berth.bench"  # on every container the bench itself creates, =1
RUN_LABEL = "dev.berth.bench.run"  # which bench run created it
MARKER_FILTER = f"{berth_labels.MARKER}=true"
TMP_PREFIX = "berth-bench-"
PROPAGATION_TIMEOUT = 3.0  # seconds a kill may take to show up as a notification
RESULTS = HERE / "results"

BERTH_SERVER = ([str(VENV / "bin" / "berth-server")] if (VENV / "bin" / "berth-server").exists()
                else [sys.executable, "-m", "berth.lsp.app"])
BARE_SERVER = [sys.executable, str(HERE / "bare_server.py")]

# --only names -> Bench methods, in the order they run.
PHASES = {"run": "run_on_running", "cold": "cold_start", "create": "create",
          "propagation": "propagation", "list": "lists"}

# Processes the bench spawned, killed by pid if the bench is interrupted.
CHILDREN: set[int] = set()


# -- results ----------------------------------------------------------------------------------

@dataclass
class Row:
    name: str
    samples: list[float]
    floor_name: str = ""
    floor: list[float] = field(default_factory=list)
    target: str = ""
    passed: bool | None = None
    unit: str = "ms"
    note: str = ""
    missing: int = 0  # repetitions that never produced the figure (e.g. a notification lost)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def floor_median(self) -> float | None:
        return statistics.median(self.floor) if self.floor else None

    @property
    def ratio(self) -> float | None:
        f, m = self.floor_median, self.median
        return m / f if f and m is not None else None

    def verdict(self) -> str:
        return "-" if self.passed is None else ("PASS" if self.passed else "MISS")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "unit": self.unit, "n": len(self.samples),
            "missing": self.missing, "min": min(self.samples, default=None),
            "median": self.median, "max": max(self.samples, default=None),
            "samples": self.samples, "floor_name": self.floor_name or None,
            "floor_median": self.floor_median, "floor_samples": self.floor or None,
            "ratio": self.ratio, "target": self.target or None, "passed": self.passed,
            "note": self.note or None,
        }


def fmt(value: float | None, unit: str = "ms") -> str:
    if value is None:
        return "-"
    if unit == "MiB":
        return f"{value:.1f}"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def table(rows: list[Row], markdown: bool = False) -> str:
    head = ["figure", "unit", "n", "min", "median", "max", "floor", "floor median", "ratio",
            "target", "result"]
    lines = [[r.name, r.unit, f"{len(r.samples)}" + (f"+{r.missing} lost" if r.missing else ""),
              fmt(min(r.samples, default=None), r.unit), fmt(r.median, r.unit),
              fmt(max(r.samples, default=None), r.unit), r.floor_name or "-", fmt(r.floor_median, r.unit),
              f"{r.ratio:.2f}x" if r.ratio is not None else "-", r.target or "-", r.verdict()]
             for r in rows]
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(head)]
    right = {1, 2, 3, 4, 5, 7, 8}

    def render(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([render(head), render(["-" * w for w in widths]), *map(render, lines)])


def machine(api: docker.APIClient) -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "")
    except OSError:
        pass
    from importlib.metadata import version

    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model or platform.processor() or "?",
        "kernel": platform.release(),
        "os": _os_name(),
        "docker": api.version().get("Version", "?"),
        "python": platform.python_version(),
        "pygls": version("pygls"),
        "docker-py": version("docker"),
    }


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


# -- the engine side: raw floors, filler containers, cleanup ----------------------------------

class Engine:
    def __init__(self, run_id: str, root: str) -> None:
        self.api = docker.APIClient(version="auto", timeout=60)
        self.run_id = run_id
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bench-engine")

    def bench_labels(self) -> dict[str, str]:
        return {BENCH_LABEL: "1", RUN_LABEL: self.run_id}

    def raw_list(self, *extra: str) -> list[dict[str, Any]]:
        return self.api.containers(all=True, filters={"label": [MARKER_FILTER, *extra]})

    def raw_create_start(self, workspace: str, name: str) -> str:
        """What Berth's create boils down to: create with a bind-mounted folder, then start."""
        created = self.api.create_container(
            image=IMAGE, name=name, entrypoint=IDLE_ENTRYPOINT, user="0", working_dir=workspace,
            labels=self.bench_labels(), detach=True,
            host_config=self.api.create_host_config(
                mounts=[Mount(target=workspace, source=workspace, type="bind", read_only=False)]))
        self.api.start(created["Id"])
        return created["Id"]

    def fill(self, template_labels: dict[str, str], start: int, count: int) -> float:
        """`count` cheap sandboxes Berth lists as its own: a real sandbox's labels, other folders."""
        def one(i: int) -> None:
            workspace = f"{self.root}/fill/{i:04d}"
            lab = dict(template_labels)
            lab[berth_labels.WORKSPACE] = workspace
            lab[berth_labels.WORKSPACE_KEY] = workspace_key(workspace)
            lab.update(self.bench_labels())
            created = self.api.create_container(
                image=IMAGE, name=f"berth-bench-{self.run_id}-{i:04d}",
                entrypoint=IDLE_ENTRYPOINT, user="0", labels=lab, detach=True,
                )
            self.api.start(created["Id"])

        t0 = time.perf_counter()
        list(self.pool.map(one, range(start, start + count)))
        return time.perf_counter() - t0

    def ours(self, any_run: bool = False) -> list[str]:
        """Ids of every container this bench made: its own label, or a Berth sandbox it had the
        server create (their workspaces all live under the bench's temporary folder)."""
        ids = {c["Id"] for c in self.api.containers(
            all=True, filters={"label": [f"{BENCH_LABEL}=1" if any_run
                                         else f"{RUN_LABEL}={self.run_id}"]})}
        prefix = os.path.join(tempfile.gettempdir(), TMP_PREFIX) if any_run else self.root + "/"
        for c in self.raw_list():
            if (c.get("Labels") or {}).get(berth_labels.WORKSPACE, "").startswith(prefix):
                ids.add(c["Id"])
        return sorted(ids)

    def remove(self, ids: list[str]) -> None:
        def one(cid: str) -> None:
            try:
                self.api.remove_container(cid, force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                if "already in progress" not in str(exc):
                    print(f"  could not remove {cid[:12]}: {exc}", file=sys.stderr)

        list(self.pool.map(one, ids))


class EventRecorder:
    """The raw floor for propagation: docker-py `events()` on a thread, each event timestamped."""

    def __init__(self) -> None:
        self.api = docker.APIClient(version="auto", timeout=60)
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._cond = threading.Condition()
        self._ready = threading.Event()
        self._stream: Any = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="bench-events", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("raw event subscriber did not start")

    def _run(self) -> None:
        # Re-subscribes (with `since`, so nothing is missed) if the engine restarts under the bench.
        since: float | None = None
        while not self._stopped:
            try:
                if since is None:
                    since = time.time()
                self._stream = self.api.events(
                    decode=True, since=f"{since:.9f}",
                    filters={"type": ["container"], "label": [MARKER_FILTER]})
                self._ready.set()
                for event in self._stream:
                    t = time.perf_counter()
                    since = max(since, event.get("timeNano", 0) / 1e9)
                    with self._cond:
                        self.events.append((t, event))
                        self._cond.notify_all()
            except Exception:
                pass
            if not self._stopped:
                time.sleep(0.2)
                self.api = docker.APIClient(version="auto", timeout=60)

    def wait(self, cid: str, action: str, after: float, timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, event in self.events:
                    if t >= after and event.get("id") == cid and (
                            event.get("Action") or event.get("status")) == action:
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no raw {action} event for {cid[:12]}")
                self._cond.wait(left)

    def stop(self) -> None:
        self._stopped = True
        with contextlib.suppress(Exception):
            self._stream.close()


# -- the server side ---------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.run_id = f"{os.getpid()}-{int(time.time())}"
        self.root = os.path.realpath(tempfile.mkdtemp(prefix=TMP_PREFIX))
        self.engine = Engine(self.run_id, self.root)
        self.rows: list[Row] = []
        self.extra: dict[str, Any] = {}
        RESULTS.mkdir(exist_ok=True)
        self.server_log = open(RESULTS / "server.log", "w")  # noqa: SIM115
        self.env = dict(os.environ)
        self.env.pop("BERTH_LOG_LEVEL", None)
        if args.server_path:
            self.env["PYTHONPATH"] = os.pathsep.join(
                [str(Path(args.server_path).resolve()), *filter(None, [os.environ.get("PYTHONPATH")])])
            self.extra["server_path"] = str(Path(args.server_path).resolve())

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def folder(self, name: str) -> str:
        path = os.path.join(self.root, name)
        os.makedirs(path, exist_ok=True)
        # An editor user's folder, not root's (root's folders earn a warning and skip the uid setup).
        os.chown(path, 1000, 1000)
        return path

    def init_params(self, workspace: str) -> dict[str, Any]:
        uri = Path(workspace).as_uri()
        return {
            "processId": os.getpid(),
            "clientInfo": {"name": "berth-bench"},
            "rootUri": uri,
            "workspaceFolders": [{"uri": uri, "name": os.path.basename(workspace)}],
            "capabilities": EDITOR_CAPABILITIES,
            "initializationOptions": {"berth": {"template": IMAGE}},
        }

    async def spawn(self, argv: list[str]) -> Client:
        client = await Client.spawn(argv, env=self.env, stderr=self.server_log)
        CHILDREN.add(client.pid)
        return client

    async def close(self, client: Client) -> None:
        await client.close()
        CHILDREN.discard(client.pid)

    @staticmethod
    def is_status(workspace: str, state: str | None = None):  # noqa: ANN205
        return lambda n: (n.method == STATUS and n.params.get("workspace") == workspace
                          and (state is None or n.params.get("state") == state))

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    # -- phases ---------------------------------------------------------------------------------

    async def main(self) -> None:
        stale = self.engine.ours(any_run=True)
        if stale:
            self.say(f"removing {len(stale)} container(s) left by an earlier bench run")
            self.engine.remove(stale)
        others = len(self.engine.raw_list())
        if others:
            self.say(f"note: {others} Berth sandbox(es) not made by the bench exist; lists include them")
        self.extra["foreign_sandboxes"] = others

        self.ws = self.folder("main")
        self.say(f"server session on {self.ws}")
        self.session = await self.spawn(BERTH_SERVER)
        s = self.session
        await s.request("initialize", self.init_params(self.ws))
        s.notify("initialized", {})
        await s.wait_notification(self.is_status(self.ws))
        await s.quiesce(0.5)
        self.idle_session_rss = rss_kib(s.pid)
        # The first create in a fresh engine also makes the credentials volume; not measured.
        first = await s.request("sandbox/run", {})
        assert first["created"], first
        self.main_id = self.engine.raw_list(
            f"{berth_labels.WORKSPACE_KEY}={workspace_key(self.ws)}")[0]["Id"]
        await s.wait_notification(self.is_status(self.ws, "running"))
        await s.quiesce(0.5)

        try:
            for phase in self.args.phases:
                await getattr(self, PHASES[phase])()
        finally:
            await self.close(s)

    async def run_on_running(self) -> None:
        await self.ensure_main()
        self.say("run on an already-running sandbox")
        s, api = self.session, self.engine
        key = f"{berth_labels.WORKSPACE_KEY}={workspace_key(self.ws)}"
        berth, raw = [], []
        for _ in range(3):  # warm both paths
            await s.request("sandbox/run", {})
            api.raw_list(key)
        for _ in range(self.reps(15, 5)):
            t_sent, t_answer, result = await s.request_timed("sandbox/run", {})
            assert not result["created"] and result["status"] == "running", result
            berth.append((t_answer - t_sent) * 1000)
            t0 = time.perf_counter()
            api.raw_list(key)
            raw.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.02)
        self.rows.append(Row("run on running sandbox (sandbox/run)", berth,
                             "1 raw label-filtered list", raw, "median <= 30 ms",
                             statistics.median(berth) <= 30))

    async def cold_start(self) -> None:
        await self.ensure_main()
        self.say("cold start and first status (berth-server and the bare pygls server, alternating)")
        reps = self.reps(10, 3)
        cold, first, rss_idle = [], [], []
        bare_cold, bare_rss, echo = [], [], []
        for i in range(reps + 1):  # the first round warms the page cache and is dropped
            c = await self.spawn(BERTH_SERVER)
            _, t_init, _ = await c.request_timed("initialize", self.init_params(self.ws))
            t_initialized = c.notify("initialized", {})
            note = await c.wait_notification(self.is_status(self.ws))
            assert note.params["state"] == "running", note.params
            await c.quiesce(0.3)
            rss = rss_kib(c.pid)[0] / 1024
            await self.close(c)

            b = await self.spawn(BARE_SERVER)
            _, t_bare, _ = await b.request_timed("initialize", self.init_params(self.ws))
            b.notify("initialized", {})
            for _ in range(5):
                t_sent, t_answer, _ = await b.request_timed("bench/echo", {})
                if i:
                    echo.append((t_answer - t_sent) * 1000)
            await asyncio.sleep(0.3)
            brss = rss_kib(b.pid)[0] / 1024
            await self.close(b)
            if i:
                cold.append((t_init - c.t_spawn) * 1000)
                first.append((note.t - t_initialized) * 1000)
                rss_idle.append(rss)
                bare_cold.append((t_bare - b.t_spawn) * 1000)
                bare_rss.append(brss)

        # One raw label-filtered call on a connected client, and the same from a cold process
        # (import docker, connect with version negotiation, one call), which the server also pays.
        key = f"{berth_labels.WORKSPACE_KEY}={workspace_key(self.ws)}"
        warm = []
        for _ in range(reps):
            t0 = time.perf_counter()
            self.engine.raw_list(key)
            warm.append((time.perf_counter() - t0) * 1000)
        code = ("import time; t=time.perf_counter(); import docker; "
                "c=docker.APIClient(version='auto'); "
                f"c.containers(all=True, filters={{'label': [{MARKER_FILTER!r}, {key!r}]}}); "
                "print((time.perf_counter()-t)*1000)")
        cold_raw = []
        for _ in range(self.reps(5, 2)):
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True, env=self.env)
            cold_raw.append(float(out.stdout.strip()))

        self.rows.append(Row("cold start: spawn -> initialize result", cold,
                             "bare pygls server", bare_cold, "ratio <= 1.3",
                             statistics.median(cold) <= 1.3 * statistics.median(bare_cold)))
        self.rows.append(Row("first status: initialized -> didChangeStatus", first,
                             "1 raw label-filtered list", warm, "(none)"))
        self.rows.append(Row("  same, vs a cold raw call", first,
                             "import docker+connect+list", cold_raw, "(none)"))
        self.rows.append(Row("client+pipe round trip (bench/echo)", echo, "", [], "(info)",
                             note="the bench client's own cost: bare server, empty request"))
        self.rows.append(Row("RSS idle (after first status)", rss_idle, "bare pygls server",
                             bare_rss, "(none)", unit="MiB"))

    async def create(self) -> None:
        self.say("create: sandbox/run on a new folder vs raw docker-py create+start")
        s, api = self.session, self.engine
        berth, raw = [], []
        for i in range(self.reps(7, 2)):
            ws = self.folder(f"create-berth-{i}")
            start = len(s.notifications)
            t_sent, t_answer, result = await s.request_timed("sandbox/run", {"workspace": ws})
            assert result["created"], result
            berth.append((t_answer - t_sent) * 1000)
            await s.wait_notification(self.is_status(ws, "running"), start=start)
            await s.quiesce(0.3)
            raw_ws = self.folder(f"create-raw-{i}")
            t0 = time.perf_counter()
            api.raw_create_start(raw_ws, f"berth-bench-raw-{self.run_id}-{i}")
            raw.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.3)
        self.rows.append(Row("create (sandbox/run, new folder)", berth,
                             "raw create+start", raw, "ratio <= 1.5",
                             statistics.median(berth) <= 1.5 * statistics.median(raw)))
        # Those sandboxes would inflate the list sizes: remove them now.
        ids = [cid for cid in api.ours() if cid != self.main_id]
        await asyncio.get_running_loop().run_in_executor(None, api.remove, ids)
        await s.quiesce(0.5)

    async def propagation(self) -> None:
        self.say("status propagation: docker kill -> didChangeStatus vs a raw event subscriber")
        s, api = self.session, self.engine
        recorder = EventRecorder()
        recorder.start()
        loop = asyncio.get_running_loop()
        to_note, to_raw, behind = [], [], []
        reps, missing = self.reps(9, 3), 0
        try:
            for _ in range(reps):
                await self.ensure_main()
                start = len(s.notifications)
                t_kill = time.perf_counter()
                proc = await asyncio.create_subprocess_exec(
                    "docker", "kill", self.main_id, stdout=asyncio.subprocess.DEVNULL)
                await proc.wait()
                try:
                    t_raw = await loop.run_in_executor(None, recorder.wait, self.main_id, "die",
                                                       t_kill, 10)
                except TimeoutError:  # the engine itself restarted under the bench: not a sample
                    self.say("no raw die event (engine restarted?); repetition skipped")
                    self.extra["propagation_skipped"] = self.extra.get("propagation_skipped", 0) + 1
                    continue
                to_raw.append((t_raw - t_kill) * 1000)
                try:
                    note = await s.wait_notification(self.is_status(self.ws, "stopped"),
                                                     start=start, timeout=PROPAGATION_TIMEOUT)
                    to_note.append((note.t - t_kill) * 1000)
                    behind.append((note.t - t_raw) * 1000)
                except TimeoutError:
                    missing += 1
                start = len(s.notifications)
                await loop.run_in_executor(None, api.api.start, self.main_id)
                # After a missed `stopped` the server still says running: nothing to wait for.
                with contextlib.suppress(TimeoutError):
                    await s.wait_notification(self.is_status(self.ws, "running"), start=start,
                                              timeout=PROPAGATION_TIMEOUT)
                await s.quiesce(0.3)
        finally:
            recorder.stop()
        lost = (f"{missing} of {reps} kills never produced a `stopped` notification "
                f"(waited {PROPAGATION_TIMEOUT:.0f} s each)") if missing else ""
        self.rows.append(Row("propagation: docker kill -> notification", to_note,
                             "kill -> raw 'die' event", to_raw, "(see next row)",
                             missing=missing, note=lost))
        self.rows.append(Row("  notification behind raw event", behind, "", [],
                             "median <= 50 ms",
                             not missing and statistics.median(behind) <= 50, missing=missing))

    async def ensure_main(self) -> None:
        """Another Berth client on this engine (a test run's `remove --all`) may have removed the
        bench's sandbox: make it again rather than fail, and say so."""
        found = self.engine.raw_list(f"{berth_labels.WORKSPACE_KEY}={workspace_key(self.ws)}")
        if found and found[0]["State"] == "running":
            return
        if found:  # stopped from outside (an engine restart stops every container)
            self.say("the bench's sandbox was stopped from outside the bench; starting it")
            self.extra["main_sandbox_restarted"] = self.extra.get("main_sandbox_restarted", 0) + 1
        else:
            self.say("the bench's sandbox was removed from outside the bench; recreating it")
            self.extra["main_sandbox_recreated"] = self.extra.get("main_sandbox_recreated", 0) + 1
        start = len(self.session.notifications)
        await self.session.request("sandbox/run", {"workspace": self.ws})
        self.main_id = self.engine.raw_list(
            f"{berth_labels.WORKSPACE_KEY}={workspace_key(self.ws)}")[0]["Id"]
        with contextlib.suppress(TimeoutError):
            await self.session.wait_notification(self.is_status(self.ws, "running"), start=start,
                                                 timeout=PROPAGATION_TIMEOUT)
        await self.session.quiesce(0.3)

    async def lists(self) -> None:
        await self.ensure_main()
        s, api = self.session, self.engine
        template = api.raw_list(f"{berth_labels.WORKSPACE_KEY}={workspace_key(self.ws)}")[0]
        template_labels = {k: v for k, v in template["Labels"].items()
                           if k.startswith(berth_labels.PREFIX) and not k.startswith(BENCH_LABEL)}
        sizes = (1, 50) if self.quick else (1, 50, 200)
        made = 0
        loop = asyncio.get_running_loop()
        for size in sizes:
            have = len(api.raw_list())
            if size > have:
                self.say(f"creating {size - have} more sandboxes")
                took = await loop.run_in_executor(None, api.fill, template_labels, made,
                                                  size - have)
                made += size - have
                self.extra[f"fill_{size}_seconds"] = round(took, 1)
                await s.quiesce(1.0)
            self.say(f"list with {size} sandbox(es)")
            berth, raw, cli, rss = [], [], [], []
            for _ in range(3):
                await s.request("sandbox/list", {})
                api.raw_list()
            for i in range(self.reps(15, 5)):
                t_sent, t_answer, result = await s.request_timed("sandbox/list", {})
                berth.append((t_answer - t_sent) * 1000)
                rss.append(rss_kib(s.pid)[0] / 1024)
                t0 = time.perf_counter()
                listed = api.raw_list()
                raw.append((time.perf_counter() - t0) * 1000)
                if i < self.reps(7, 3):
                    t0 = time.perf_counter()
                    proc = await asyncio.create_subprocess_exec(
                        "docker", "ps", "-a", "--filter", f"label={MARKER_FILTER}",
                        stdout=asyncio.subprocess.DEVNULL)
                    await proc.wait()
                    cli.append((time.perf_counter() - t0) * 1000)
            assert len(result) == len(listed), (len(result), len(listed))
            n = len(result)
            self.extra[f"list_{size}_count"] = n
            name = f"list {n} sandbox{'es' if n != 1 else ''} (sandbox/list)"
            self.rows.append(Row(name, berth, "1 raw containers() call", raw, "ratio <= 2",
                                 statistics.median(berth) <= 2 * statistics.median(raw)))
            self.rows.append(Row("  same, vs the docker CLI", berth, "docker ps -a --filter", cli,
                                 "(none)"))
            if size == sizes[-1]:
                hwm = rss_kib(s.pid)[1] / 1024
                self.extra["rss_peak_mib"] = round(hwm, 1)
                bare = next((r.floor for r in self.rows if r.name.startswith("RSS idle")), [])
                self.rows.append(Row(f"RSS with {n} sandboxes (after lists)", rss,
                                     "bare pygls server", bare, "<= 120 MiB",
                                     statistics.median(rss) <= 120, unit="MiB",
                                     note=f"peak VmHWM {hwm:.1f} MiB"))

    def cleanup(self) -> None:
        try:
            ids = self.engine.ours()
            if ids:
                self.say(f"removing the {len(ids)} container(s) the bench made")
                self.engine.remove(ids)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def report(bench: Bench, info: dict[str, Any], seconds: float) -> None:
    prototype = f" [server from {bench.args.server_path}]" if bench.args.server_path else ""
    header = (f"Berth bench{prototype}, {info['date']}: {info['nproc']} cores ({info['cpu']}), "
              f"kernel {info['kernel']}, {info['os']}, Docker {info['docker']}, "
              f"Python {info['python']}, pygls {info['pygls']}, docker-py {info['docker-py']}")
    print()
    print(header)
    print(table(bench.rows))
    notes = [f"{r.name.strip()}: {r.note}" for r in bench.rows if r.note]
    for note in notes:
        print(f"  note: {note}")
    print(f"total {seconds:.0f} s")
    misses = [r.name.strip() for r in bench.rows if r.passed is False]
    print("targets: " + ("all pass" if not misses else "MISS: " + "; ".join(misses)))
    data = {"machine": info, "seconds": round(seconds, 1), "quick": bench.quick,
            "rows": [r.to_json() for r in bench.rows], "extra": bench.extra}
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(f"{header}\n\n{table(bench.rows, markdown=True)}\n")
    print(f"wrote {RESULTS / 'latest.json'} and latest.md")


def main() -> int:
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

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    images = subprocess.run(["docker", "images", "-q", IMAGE], capture_output=True, text=True)
    if not images.stdout.strip():
        print(f"{IMAGE} missing; building the test templates", flush=True)
        subprocess.run([str(ROOT / "tests" / "images" / "build.sh")], check=True)

    t0 = time.perf_counter()
    bench = Bench(args)
    info = machine(bench.engine.api)
    bench.say(f"{info['nproc']} cores ({info['cpu']}), kernel {info['kernel']}, "
              f"Docker {info['docker']}; work folder {bench.root}")
    failed = False
    try:
        asyncio.run(bench.main())
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        failed = True
    except BaseException:
        failed = True
        raise
    finally:
        for pid in list(CHILDREN):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # cleanup must finish
        try:
            bench.cleanup()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if bench.rows:
            report(bench, info, time.perf_counter() - t0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
