"""The engine side of the bench, in raw docker-py: the floors, the filler sandboxes, the cleanup.

This is deliberately not Berth's `berth.engine.Engine`, nor a copy of it. Berth's engine is measured
where users meet it, behind `berth-server`, which the bench spawns and speaks to over stdio. What is
here is the other side of each ratio, the least machinery that does the same job (one label-filtered
`containers()` call, a bare create+start), plus two things Berth's engine must not be used for: filling
the engine with 200 sandboxes fast (no setup exec, 8 threads), and removing the bench's own containers,
some of which are not Berth sandboxes at all (Berth's `remove` rightly refuses those). Only the label
scheme is Berth's own (`berth.labels`), so the filters are the very ones the server uses.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
from berth import labels
from berth.container_setup import IDLE_ENTRYPOINT
from berth.workspace import workspace_key
from docker.types import Mount
from environment import BENCH_LABEL, IMAGE, RUN_LABEL, TMP_PREFIX

EVERY_SANDBOX = labels.marker_filter()


def sandbox_filter(workspace: str) -> dict[str, list[str]]:
    """The label filter Berth finds a folder's sandbox by."""
    return labels.workspace_filter(workspace_key(workspace))


class RawDocker:
    def __init__(self, run_id: str, root: str) -> None:
        self.api = docker.APIClient(version="auto", timeout=60)
        self.run_id = run_id
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bench-engine")

    def bench_labels(self) -> dict[str, str]:
        return {BENCH_LABEL: "1", RUN_LABEL: self.run_id}

    def sandboxes(self, filters: dict[str, list[str]] = EVERY_SANDBOX) -> list[dict[str, Any]]:
        """One raw label-filtered list: the floor of sandbox/run on a running sandbox and of
        sandbox/list."""
        return self.api.containers(all=True, filters=filters)

    def create_start(self, workspace: str, name: str) -> str:
        """What Berth's create boils down to: create with a bind-mounted folder, then start."""
        created = self.api.create_container(
            image=IMAGE, name=name, entrypoint=IDLE_ENTRYPOINT, user="0", working_dir=workspace,
            labels=self.bench_labels(), detach=True,
            host_config=self.api.create_host_config(
                mounts=[Mount(target=workspace, source=workspace, type="bind", read_only=False)]))
        self.api.start(created["Id"])
        return created["Id"]

    def fill(self, template_labels: dict[str, str], start: int, count: int) -> float:
        """`count` cheap sandboxes Berth lists as its own: a real sandbox's labels, other folders.
        Returns the seconds it took."""
        def one(i: int) -> None:
            workspace = f"{self.root}/fill/{i:04d}"
            lab = dict(template_labels)
            lab[labels.WORKSPACE] = workspace
            lab[labels.WORKSPACE_KEY] = workspace_key(workspace)
            lab.update(self.bench_labels())
            created = self.api.create_container(
                image=IMAGE, name=f"berth-bench-{self.run_id}-{i:04d}",
                entrypoint=IDLE_ENTRYPOINT, user="0", labels=lab, detach=True)
            self.api.start(created["Id"])

        t0 = time.perf_counter()
        list(self.pool.map(one, range(start, start + count)))
        return time.perf_counter() - t0

    def start_server(self, image: str, script: str) -> str:
        """A container on the engine's default bridge, outside every sandbox, running `script`."""
        created = self.api.create_container(image=image, command=["sh", "-c", script],
                                            user="agent", labels=self.bench_labels(), detach=True)
        self.api.start(created["Id"])
        return created["Id"]

    def proxy_of(self, sandbox: str) -> str:
        """The network proxy container of a filtered sandbox (by its egress label)."""
        token = self.api.inspect_container(sandbox)["Config"]["Labels"][labels.EGRESS]
        [proxy] = self.api.containers(filters={"label": [f"{labels.EGRESS}={token}",
                                                         f"{labels.MARKER_EGRESS}=true"]})
        return proxy["Id"]

    def memory_mib(self, container: str) -> float:
        """A container's memory as its cgroup counts it, less the page cache (its working set)."""
        stats = self.api.stats(container, stream=False)["memory_stats"]
        cache = stats.get("stats", {}).get("inactive_file", stats.get("stats", {}).get("cache", 0))
        return (stats["usage"] - cache) / (1024 * 1024)

    def egress_networks(self) -> list[str]:
        """The networks Berth made for sandboxes of the bench's folder."""
        return [n["Id"] for n in self.api.networks(filters={"label": [f"{labels.MARKER_EGRESS}=true"]})
                if (n.get("Labels") or {}).get(labels.WORKSPACE, "").startswith(self.root + "/")]

    def ours(self, any_run: bool = False) -> list[str]:
        """Ids of every container this bench made (or, with any_run, any bench run made): its own
        label, or a Berth sandbox it had the server create (their workspaces all live under the
        bench's temporary folder)."""
        ids = {c["Id"] for c in self.api.containers(
            all=True, filters={"label": [f"{BENCH_LABEL}=1" if any_run
                                         else f"{RUN_LABEL}={self.run_id}"]})}
        prefix = os.path.join(tempfile.gettempdir(), TMP_PREFIX) if any_run else self.root + "/"
        proxies = self.api.containers(all=True,
                                      filters={"label": [f"{labels.MARKER_EGRESS}=true"]})
        helpers = self.api.containers(all=True, filters={"label": [labels.HELPER]})
        for c in [*self.sandboxes(), *proxies, *helpers]:
            if (c.get("Labels") or {}).get(labels.WORKSPACE, "").startswith(prefix):
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
        # The port helpers' volumes (engine.ports), of sandboxes of the bench's folder.
        for volume in self.api.volumes(filters={"label": [labels.HELPER_OF]}).get("Volumes") or []:
            if (volume.get("Labels") or {}).get(labels.WORKSPACE, "").startswith(self.root + "/"):
                try:
                    self.api.remove_volume(volume["Name"], force=True)
                except docker.errors.APIError as exc:
                    print(f"  could not remove volume {volume['Name']}: {exc}", file=sys.stderr)
        for network in self.egress_networks():
            try:
                self.api.remove_network(network)
            except docker.errors.APIError as exc:
                print(f"  could not remove network {network[:12]}: {exc}", file=sys.stderr)
