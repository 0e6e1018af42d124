"""Berth on other transports: the engine over ssh (through OpenSSH) and over tcp with TLS, each
measured against docker-py making the same calls over the same transport, interleaved, in the same run.

- ssh: the main engine through an OpenSSH server on 127.0.0.1 (a key made here); the floor is
  docker-py's own ssh transport (paramiko, one connection kept for every call), and for scale
  docker-py with use_ssh_client (the ssh program, a new one for every call).
- tcp+TLS: a second dockerd (its own network namespace, certificates made here); the floor is
  docker-py with the same TLS material.

The engines are the tests' own (tests/support/engines.py). The docker-py floor runs in a process of its
own (bench/engine_floor.py) with paramiko from bench/.floor-libs, installed there on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from environment import BERTH_SERVER, HERE, IMAGE, ROOT
from harness import Bench
from report import Row, ratio_at_most
from rpc import Client
from timing import request_ms

sys.path.insert(0, str(ROOT / "tests"))
from support.engines import client_env, load_image, second_dockerd, ssh_engine  # noqa: E402

FLOOR_LIBS = HERE / ".floor-libs"
PARAMIKO = "paramiko==5.1.0"
# The target over ssh; over tcp+TLS the figures are reported against the target of the same
# rows over the local socket (docs/performance.md).
RATIOS = {"ssh": 1.5, "tcp+TLS": 2.0}
# What sandbox/run on a running sandbox checks in it besides listing (engine.sessions, setup).
RUN_PATHS = ("/etc/berth-setup.done", "/bin/sh")


class Floor:
    """bench/engine_floor.py, asked one call at a time."""

    def __init__(self, base_url: str, env: dict[str, str], *, ssh_client: bool = False) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, str(HERE / "engine_floor.py"), base_url,
             *(["--ssh-client"] if ssh_client else [])],
            env={**client_env(env), "PYTHONPATH": str(FLOOR_LIBS)}, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)

    def ms(self, *words: str) -> float:
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(" ".join(words) + "\n")
        self._proc.stdin.flush()
        answer = self._proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"the docker-py floor ended ({self._proc.wait()})")
        return float(answer)

    def close(self) -> None:
        self._proc.kill()
        self._proc.wait()


def ensure_paramiko() -> None:
    if not (FLOOR_LIBS / "paramiko").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(FLOOR_LIBS),
                        PARAMIKO], check=True)


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="berth-bench-engines-"))
    try:
        yield path
    finally:
        subprocess.run(["rm", "-rf", str(path)], check=False)


async def _session(b: Bench, env: dict[str, str], workspace: str) -> Client:
    environ = {**client_env(env), **{k: v for k, v in b.env.items() if k == "PYTHONPATH"}}
    client = await Client.spawn(BERTH_SERVER, env=environ, stderr=b.server_log,
                                config_answer=lambda item: ({"template": IMAGE,
                                                             "networkPolicy": "open"}
                                                            if item.get("section") == "berth"
                                                            else {}))
    b.children.add(client.pid)
    await client.request("initialize", b.init_params(workspace))
    client.notify("initialized", {})
    await client.wait_notification(b.is_status(workspace))
    return client


async def _transport(b: Bench, name: str, env: dict[str, str], floors: dict[str, Floor],
                     reps: int) -> None:
    workspace = b.folder(f"engines-{name.replace('+', '-')}")
    s = await _session(b, env, workspace)
    try:
        first = await s.request("sandbox/run", {})
        sandbox = first["id"]
        await s.quiesce(0.5)
        main = floors["docker-py"]
        berth_list, floor_list, berth_run, floor_run = [], [], [], []
        for _ in range(3):  # warm both
            await s.request("sandbox/list", {})
            await s.request("sandbox/run", {})
            main.ms("list")
            main.ms("run", sandbox, *RUN_PATHS)
        for _ in range(reps):
            berth_list.append((await request_ms(s, "sandbox/list", {}))[0])
            floor_list.append(main.ms("list"))
            took, result = await request_ms(s, "sandbox/run", {})
            assert not result["created"] and result["state"] == "running", result
            berth_run.append(took)
            floor_run.append(main.ms("run", sandbox, *RUN_PATHS))
            await asyncio.sleep(0.02)
        limit = RATIOS[name]
        b.rows.append(Row(f"{name}: list (sandbox/list)", berth_list,
                          f"docker-py over {name}: the same list", floor_list,
                          f"ratio <= {limit:g}", ratio_at_most(berth_list, floor_list, limit)))
        b.rows.append(Row(f"{name}: run on running sandbox (sandbox/run)", berth_run,
                          f"docker-py over {name}: the same 3 calls", floor_run,
                          f"ratio <= {limit:g}", ratio_at_most(berth_run, floor_run, limit)))
        per_call = floors.get("docker-py, ssh program per call")
        if per_call is not None:
            spawned = [per_call.ms("list") for _ in range(max(3, reps // 3))]
            b.rows.append(Row(f"{name}: list (sandbox/list), for scale", berth_list,
                              "docker-py use_ssh_client: a new ssh per call", spawned,
                              "(none)"))
        await s.request("sandbox/remove", {})
    finally:
        await b.close(s)


async def engines(b: Bench) -> None:
    reps = b.reps(40, 5)
    loop = asyncio.get_running_loop()
    b.say("engines: installing paramiko for docker-py's ssh floor (bench/.floor-libs)")
    await loop.run_in_executor(None, ensure_paramiko)
    with _scratch() as tmp:
        b.say("engines: the main engine over ssh, through OpenSSH on 127.0.0.1")
        with ssh_engine(tmp / "ssh") as ssh:
            # docker-py reads the ssh config's host, user and key, but puts port 22 on an address
            # without one, over the config's Port: the port is given here.
            address = f"ssh://{ssh.alias}:{ssh.port}"
            floors = {
                "docker-py": Floor(address, ssh.env),
                "docker-py, ssh program per call": Floor(address, ssh.env, ssh_client=True),
            }
            try:
                await _transport(b, "ssh", ssh.env, floors, reps)
            finally:
                for floor in floors.values():
                    floor.close()
        b.say("engines: a second dockerd over tcp with TLS")
        with second_dockerd(tmp / "tls") as second:
            await loop.run_in_executor(None, load_image, second.env, IMAGE)
            floors = {"docker-py": Floor(second.tls_host, second.tls_env)}
            try:
                await _transport(b, "tcp+TLS", second.tls_env, floors, reps)
            finally:
                for floor in floors.values():
                    floor.close()
    b.extra["engines_transports"] = ["ssh", "tcp+TLS"]
