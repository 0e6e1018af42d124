"""One bench run's state and its server session: the run's folder and id, the servers it spawns (and
kills if interrupted), the long-lived session on a folder whose sandbox runs, and the cleanup."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from berth import labels
from docker_floor import RawDocker, sandbox_filter
from environment import BENCH_LABEL, BERTH_SERVER, IMAGE, RESULTS, TMP_PREFIX
from report import Row
from rpc import EDITOR_CAPABILITIES, Client, Notification

STATUS = "sandbox/didChangeStatus"
# The `berth` settings, given as an editor gives them: in initializationOptions and again as the
# answer to workspace/configuration (an answer replaces the initializationOptions, as VS Code's does).
# The open policy: the long-lived sandbox and the rows about it measure Berth without a network proxy
# (network.py measures what a policy costs).
SETTINGS = {"template": IMAGE, "networkPolicy": "open"}
NOTIFICATION_TIMEOUT = 3.0  # seconds a status change may take to arrive; later counts as lost


def settings_answer(item: dict[str, Any]) -> dict[str, Any]:
    return dict(SETTINGS) if item.get("section") == "berth" else {}


class Bench:
    def __init__(self, *, quick: bool, server_path: str | None) -> None:
        self.quick = quick
        self.server_path = server_path
        self.run_id = f"{os.getpid()}-{int(time.time())}"
        self.root = os.path.realpath(tempfile.mkdtemp(prefix=TMP_PREFIX))
        self.docker = RawDocker(self.run_id, self.root)
        self.rows: list[Row] = []
        self.extra: dict[str, Any] = {}
        self.bare_rss: list[float] = []  # the bare server's RSS, the floor of both memory rows
        self.children: set[int] = set()  # server pids, killed if the bench is interrupted
        RESULTS.mkdir(exist_ok=True)
        self.server_log = open(RESULTS / "server.log", "w")  # noqa: SIM115
        self.env = dict(os.environ)
        self.env.pop("BERTH_LOG_LEVEL", None)
        if server_path:
            self.env["PYTHONPATH"] = os.pathsep.join(
                [str(Path(server_path).resolve()), *filter(None, [os.environ.get("PYTHONPATH")])])
            self.extra["server_path"] = str(Path(server_path).resolve())

    # -- helpers ----------------------------------------------------------------------------------

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def count(self, event: str) -> None:
        """Count something that happened to the run (reported in latest.json's `extra`)."""
        self.extra[event] = self.extra.get(event, 0) + 1

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def folder(self, name: str) -> str:
        path = os.path.join(self.root, name)
        os.makedirs(path, exist_ok=True)
        # An editor user's folder, not root's (root's folders earn a warning and skip the uid setup).
        os.chown(path, 1000, 1000)
        return path

    @staticmethod
    def is_status(workspace: str, state: str | None = None) -> Callable[[Notification], bool]:
        return lambda n: (n.method == STATUS and n.params.get("workspace") == workspace
                          and (state is None or n.params.get("state") == state))

    # -- servers ----------------------------------------------------------------------------------

    def init_params(self, workspace: str) -> dict[str, Any]:
        uri = Path(workspace).as_uri()
        return {
            "processId": os.getpid(),
            "clientInfo": {"name": "berth-bench"},
            "rootUri": uri,
            "workspaceFolders": [{"uri": uri, "name": os.path.basename(workspace)}],
            "capabilities": EDITOR_CAPABILITIES,
            "initializationOptions": {"berth": SETTINGS},
        }

    async def spawn(self, argv: list[str]) -> Client:
        client = await Client.spawn(argv, env=self.env, stderr=self.server_log,
                                    config_answer=settings_answer)
        self.children.add(client.pid)
        return client

    async def close(self, client: Client) -> None:
        await client.close()
        self.children.discard(client.pid)

    def kill_children(self) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    async def open_session(self) -> Client:
        """A berth-server on the main folder, initialized, its first status in, quiet."""
        s = await self.spawn(BERTH_SERVER)
        await s.request("initialize", self.init_params(self.ws))
        s.notify("initialized", {})
        await s.wait_notification(self.is_status(self.ws))
        await s.quiesce(0.5)
        return s

    # -- the main session and its sandbox ---------------------------------------------------------

    async def open(self) -> None:
        """Remove an earlier run's leftovers, start the long-lived session and its sandbox."""
        stale = self.docker.ours(any_run=True)
        if stale:
            self.say(f"removing {len(stale)} container(s) left by an earlier bench run")
            self.docker.remove(stale)
        others = len(self.docker.sandboxes())
        if others:
            self.say(f"note: {others} Berth sandbox(es) not made by the bench exist; lists include them")
        self.extra["foreign_sandboxes"] = others

        self.ws = self.folder("main")
        self.main_filter = sandbox_filter(self.ws)
        self.say(f"server session on {self.ws}")
        self.session = s = await self.open_session()
        # The first create in a fresh engine also makes the credentials volume; not measured.
        first = await s.request("sandbox/run", {})
        assert first["created"], first
        self.main_id = self.main_sandbox()["Id"]
        await s.wait_notification(self.is_status(self.ws, "running"))
        await s.quiesce(0.5)

    def main_sandbox(self) -> dict[str, Any]:
        """The main folder's sandbox, as the engine lists it."""
        return self.docker.sandboxes(self.main_filter)[0]

    def main_template_labels(self) -> dict[str, str]:
        """The main sandbox's Berth labels, less the bench's own: what a filler sandbox copies."""
        return {k: v for k, v in self.main_sandbox()["Labels"].items()
                if k.startswith(labels.PREFIX) and not k.startswith(BENCH_LABEL)
                and k != labels.EGRESS}  # fillers have no network proxy of their own

    async def ensure_main(self) -> None:
        """Another Berth client on this engine (a test run's `remove --all`) may have removed the
        bench's sandbox: make it again rather than fail, and say so."""
        found = self.docker.sandboxes(self.main_filter)
        if found and found[0]["State"] == "running":
            return
        if found:  # stopped from outside (an engine restart stops every container)
            self.say("the bench's sandbox was stopped from outside the bench; starting it")
            self.count("main_sandbox_restarted")
        else:
            self.say("the bench's sandbox was removed from outside the bench; recreating it")
            self.count("main_sandbox_recreated")
        start = len(self.session.notifications)
        await self.session.request("sandbox/run", {"workspace": self.ws})
        self.main_id = self.main_sandbox()["Id"]
        with contextlib.suppress(TimeoutError):
            await self.session.wait_notification(self.is_status(self.ws, "running"), start=start,
                                                 timeout=NOTIFICATION_TIMEOUT)
        await self.session.quiesce(0.3)

    def cleanup(self) -> None:
        try:
            ids = self.docker.ours()
            if ids:
                self.say(f"removing the {len(ids)} container(s) the bench made")
                self.docker.remove(ids)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
