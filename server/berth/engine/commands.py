"""Running things in a sandbox: a command through the engine's exec API, the container's own log,
and the `docker exec` argv with which a terminal attaches the agent or a shell interactively.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from berth.agent_hooks import codex_launch
from berth.agents import get_agent
from berth.engine.connection import call, translated
from berth.models import ExecResult, Sandbox

if TYPE_CHECKING:
    import docker


def run_command(api: docker.APIClient, sandbox: Sandbox, argv: list[str], user: str | None,
                reader: docker.APIClient | None = None,
                environment: dict[str, str] | None = None) -> ExecResult:
    """`argv` as `user` (None: the container's) in the workspace, its output collected whole.
    `reader` waits for the output when the command may run longer than the engine timeout."""
    with translated(f"Running a command in sandbox {sandbox.name}"):
        exec_id = api.exec_create(sandbox.full_id, argv, user=user or "",
                                  workdir=sandbox.workspace, environment=environment)["Id"]
        out, err = (reader or api).exec_start(exec_id, demux=True)
        code = api.exec_inspect(exec_id).get("ExitCode")
    return ExecResult(
        exit_code=code if isinstance(code, int) else -1,
        stdout=(out or b"").decode("utf-8", "replace"),
        stderr=(err or b"").decode("utf-8", "replace"),
    )


def read_logs(api: docker.APIClient, sandbox: Sandbox, tail: int | None = None) -> str:
    raw = call(f"Reading the logs of sandbox {sandbox.name}", api.logs, sandbox.full_id,
               stdout=True, stderr=True, tail="all" if tail is None else tail)
    return raw.decode("utf-8", "replace")


# -- argv for attaching interactively (run by the client, in a terminal) ---------------------------


def attach_argv(sandbox: Sandbox, agent_args: Iterable[str] = (), *, tty: bool = True) -> list[str]:
    """Runs the agent with its default arguments, then `agent_args`. `tty`: the caller has a
    terminal (`docker exec -it`; without one docker refuses -t, so it is `-i` only)."""
    agent = get_agent(sandbox.agent)
    if not agent.binary:  # `shell`: the words after it are a command for the login shell
        args = list(agent_args)
        return shell_argv(sandbox, tty=tty) + (["-c", " ".join(args)] if args else [])
    # Codex hears of Berth's `notify` program on its command line (agent_hooks.codex_launch).
    launch = codex_launch(agent.binary) if agent.name == "codex" else [agent.binary]
    return [*_exec_prefix(sandbox, tty), *launch, *agent.default_args, *agent_args]


def shell_argv(sandbox: Sandbox, *, tty: bool = True) -> list[str]:
    """An interactive login shell: bash where the template has it, else sh."""
    return [*_exec_prefix(sandbox, tty), "/bin/sh", "-c",
            'exec "$(command -v bash || command -v sh)" -l "$@"', "sh"]


def _exec_prefix(sandbox: Sandbox, tty: bool) -> list[str]:
    # The docker CLI finds the engine the way Berth does, except for an explicit DOCKER_HOST.
    host = os.environ.get("DOCKER_HOST")
    argv = ["docker", *(["-H", host] if host else []), "exec", "-it" if tty else "-i"]
    # The terminal's own TERM and COLORTERM, from the environment `docker` runs in (the editor's
    # terminal, the user's shell); left unset there, they stay unset (docker's TERM=xterm).
    argv += ["-e", "TERM", "-e", "COLORTERM"]
    if sandbox.user:
        argv += ["-u", sandbox.user]
    return [*argv, "-w", sandbox.workspace, sandbox.full_id[:12]]
