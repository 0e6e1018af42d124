"""Running things in a sandbox: a command through the engine's exec API, the container's own log,
and the `docker exec` argv with which a terminal starts or attaches an agent's session, or a shell.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from berth.agent_hooks import codex_launch
from berth.agents import get_agent
from berth.engine.connection import call, translated
from berth.engine.endpoint import resolve
from berth.errors import EngineSetup
from berth.models import ExecResult, Sandbox

if TYPE_CHECKING:
    import docker


def run_command(api: docker.APIClient, sandbox: Sandbox, argv: list[str], user: str | None,
                reader: docker.APIClient | None = None,
                environment: dict[str, str] | None = None,
                workdir: str | None = None) -> ExecResult:
    """`argv` as `user` (None: the container's) in `workdir` (default: the workspace), its output
    collected whole. `reader` waits for the output when the command may run longer than the engine
    timeout."""
    with translated(f"Running a command in sandbox {sandbox.name}"):
        exec_id = api.exec_create(sandbox.full_id, argv, user=user or "",
                                  workdir=workdir or sandbox.workspace,
                                  environment=environment)["Id"]
        out, err = (reader or api).exec_start(exec_id, demux=True)
        code = api.exec_inspect(exec_id).get("ExitCode")
    return ExecResult(
        exit_code=code if isinstance(code, int) else -1,
        stdout=(out or b"").decode("utf-8", "replace"),
        stderr=(err or b"").decode("utf-8", "replace"),
    )


def run_bounded(api: docker.APIClient, sandbox: Sandbox, argv: list[str], user: str | None, *,
                limit: int, deadline: float) -> ExecResult:
    """`argv` as `run_command` runs it (in `/`), for a program whose output the agent could make
    endless (Berth's own, in a sandbox where the agent may replace it): at most `limit` bytes of
    each stream are kept, and reading stops after `deadline` seconds (the exec is then left to
    end by itself; its exit code is -1)."""
    with translated(f"Running a command in sandbox {sandbox.name}"):
        exec_id = api.exec_create(sandbox.full_id, argv, user=user or "", workdir="/")["Id"]
        chunks: dict[int, list[bytes]] = {0: [], 1: []}
        sizes = [0, 0]
        ends = time.monotonic() + deadline
        finished = True
        for pair in api.exec_start(exec_id, stream=True, demux=True):
            for i, part in enumerate(pair):
                if part and sizes[i] < limit:
                    chunks[i].append(part[:limit - sizes[i]])
                    sizes[i] += len(chunks[i][-1])
            if time.monotonic() > ends:
                finished = False
                break
        code = api.exec_inspect(exec_id).get("ExitCode") if finished else -1
    return ExecResult(exit_code=code if isinstance(code, int) else -1,
                      stdout=b"".join(chunks[0]).decode("utf-8", "replace"),
                      stderr=b"".join(chunks[1]).decode("utf-8", "replace"))


def read_logs(api: docker.APIClient, sandbox: Sandbox, tail: int | None = None) -> str:
    raw = call(f"Reading the logs of sandbox {sandbox.name}", api.logs, sandbox.full_id,
               stdout=True, stderr=True, tail="all" if tail is None else tail)
    return raw.decode("utf-8", "replace")


# -- argv for attaching interactively (run by the client, in a terminal) ---------------------------


def attach_argv(sandbox: Sandbox, holder: str, agent_args: Iterable[str] = (), *, tty: bool = True,
                framed: bool = False) -> list[str]:
    """Starts the agent, with its default arguments and then `agent_args`, as a new session held by
    `holder` (the session holder's path in the sandbox), and attaches it. `tty`: the caller has a
    terminal (`docker exec -it`; without one docker refuses -t, so it is `-i` only); `framed`: the
    caller speaks the holder's frames (an editor's pseudo-terminal, berth.session_tool). With
    neither (a script piping into `berth run`), the agent runs directly, no session: its input and
    output stay plain streams, with no terminal to echo or redraw them."""
    if not tty and not framed:
        return [*_exec_prefix(sandbox, False), *agent_command(sandbox, agent_args)]
    return [*_exec_prefix(sandbox, tty and not framed), holder, "new", "--agent", sandbox.agent,
            "--attach", *(["--framed"] if framed else []), "--", *agent_command(sandbox, agent_args)]


def session_attach_argv(sandbox: Sandbox, holder: str, session: str, *, tty: bool = True,
                        framed: bool = False) -> list[str]:
    """Attaches the session `session` (a running one's screen, an exited one's last output)."""
    return [*_exec_prefix(sandbox, tty and not framed), holder, "attach",
            *(["--framed"] if framed else []), session]


def agent_command(sandbox: Sandbox, agent_args: Iterable[str] = ()) -> list[str]:
    """The agent's command line in the sandbox."""
    agent = get_agent(sandbox.agent)
    if not agent.binary:  # `shell`: the words after it are a command for the login shell
        args = list(agent_args)
        return [*_LOGIN_SHELL, *(["-c", " ".join(args)] if args else [])]
    # Codex hears of Berth's `notify` program on its command line (agent_hooks.codex_launch).
    launch = codex_launch(agent.binary) if agent.name == "codex" else [agent.binary]
    return [*launch, *agent.default_args, *agent_args]


# bash where the template has it, else sh
_LOGIN_SHELL = ["/bin/sh", "-c", 'exec "$(command -v bash || command -v sh)" -l "$@"', "sh"]


def shell_argv(sandbox: Sandbox, *, tty: bool = True) -> list[str]:
    """An interactive login shell: bash where the template has it, else sh."""
    return [*_exec_prefix(sandbox, tty), *_LOGIN_SHELL]


def engine_cli_args() -> list[str]:
    """The docker CLI's options for the engine in use; none when its configuration is broken (the
    server's own calls then say why)."""
    try:
        return resolve().cli_args()
    except EngineSetup:
        return []


def _exec_prefix(sandbox: Sandbox, tty: bool) -> list[str]:
    # The engine Berth uses, named on the command line: the terminal's environment may differ from
    # the server's (another DOCKER_HOST or context) and must not lead to another engine.
    argv = ["docker", *engine_cli_args(), "exec", "-it" if tty else "-i"]
    # The terminal's own TERM and COLORTERM, from the environment `docker` runs in (the editor's
    # terminal, the user's shell); left unset there, they stay unset (docker's TERM=xterm).
    argv += ["-e", "TERM", "-e", "COLORTERM"]
    if sandbox.user:
        argv += ["-u", sandbox.user]
    return [*argv, "-w", sandbox.workspace, sandbox.full_id[:12]]
