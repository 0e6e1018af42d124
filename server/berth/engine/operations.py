"""Engine: every operation the front ends (the stdio server and the CLI) ask of Berth, over docker-py.

One container per workspace by default (more when asked for by name), found by labels, never
anything else. Each operation reads top to bottom
here; the steps are in the modules beside this one (lookup, lifecycle, setup, commands, templates,
connection). Every method is blocking; the server calls them from its own worker threads.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from berth import user_config
from berth.builds.built import BuiltTemplate
from berth.config import ConfigRequest, parse_name
from berth.engine import (
    commands,
    egress,
    identity,
    lifecycle,
    lookup,
    ports,
    sessions,
    setup,
    template_build,
    templates,
)
from berth.engine.connection import Connection
from berth.engine.endpoint import Endpoint
from berth.engine.setup import SOCKET_WARNING
from berth.engine.templates import Progress
from berth.errors import Conflict, EngineSetup, EngineUnavailable, NotFound
from berth.models import ExecResult, RunResult, Sandbox, Status, out_of_memory_message
from berth.network.rules import Policy
from berth.selection import IDS, WORKSPACE, Selection
from berth.sessions import Session
from berth.trust import mount_warnings
from berth.workspace import default_sandbox_name

if TYPE_CHECKING:
    import docker

T = TypeVar("T")

ROOT_WORKSPACE_WARNING = (
    "The workspace is owned by root, so the sandbox's non-root agent user cannot write to it. "
    "Berth never changes your files' ownership: open a folder your own user owns."
)

# Sees the workspace's sandbox (None when it has none) and its environment before a create or
# recreate; refuses by raising a BerthError.
Guard = Callable[[Sandbox | None, Mapping[str, str]], None]


# Where a running sandbox's checks wait for the engine, side by side (see _run_locked).
_CHECKS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="berth-checks")


def _no_progress(phase: str, message: str) -> None:
    pass


class Engine:
    def __init__(self, client: docker.APIClient | None = None,
                 timeout: float | None = None, *, keep_spare: bool = False) -> None:
        self._connection = Connection(client, timeout)
        # A long-lived Berth (the server) keeps a spare network and proxy ready for the next
        # filtered sandbox (engine.egress); a one-shot CLI would wait for its making at exit.
        self.keep_spare = keep_spare
        self._locks_lock = threading.Lock()
        self._workspace_locks: dict[str, threading.Lock] = {}

    @property
    def api(self) -> docker.APIClient:
        return self._connection.api

    @property
    def endpoint(self) -> Endpoint:
        """The engine in use, as found now (engine.endpoint)."""
        return self._connection.endpoint

    def ping(self) -> bool:
        return self._connection.ping()

    def _workspace_lock(self, workspace: str) -> threading.Lock:
        with self._locks_lock:
            return self._workspace_locks.setdefault(workspace, threading.Lock())

    # -- the engine itself ------------------------------------------------------------------------

    def engine_info(self) -> dict[str, Any]:
        """Which engine Berth uses and what it is; `available` false (with `problem`) when it does
        not answer. A configuration that names no usable engine raises EngineSetup."""
        endpoint = self._connection.endpoint
        try:
            who = identity.of(self.api)
        except EngineSetup:
            raise
        except EngineUnavailable as exc:
            return {**endpoint.to_json(), "available": False, "problem": exc.message}
        return {**who.to_json(), "available": True}

    # -- finding sandboxes ----------------------------------------------------------------------

    def list(self) -> list[Sandbox]:
        return lookup.list_sandboxes(self.api)

    def find(self, workspace: str, name: str | None = None) -> Sandbox | None:
        return lookup.find(self.api, workspace, name)

    def require(self, workspace: str, name: str | None = None) -> Sandbox:
        """The workspace's sandbox (of that name); NotFound when it has none."""
        return Selection(workspace=workspace, name=name).one(self)

    def names(self, workspace: str) -> list[str]:
        """The names of the workspace's sandboxes asked for by name, oldest first."""
        return list(dict.fromkeys(s.named for s in lookup.of_workspace(self.api, workspace)
                                  if s.named))

    def select(self, which: Selection) -> list[Sandbox]:
        return which.sandboxes(self)

    def status(self, workspace: str, request: ConfigRequest | None = None,
               name: str | None = None) -> Status:
        """The status of the workspace's sandbox (of that name); drift from `request`, which is
        the folder's settings and so only compared with its default sandbox."""
        sandbox = self.find(workspace, name)
        seen = lookup.inspected(self.api, sandbox) if sandbox is not None else None
        if seen is None:
            return Status(workspace=workspace, state="absent", name=name)
        sandbox, container_env = seen
        drift = [] if request is None or name is not None else \
            _with_user_defaults(request).drift(sandbox.config, container_env)
        message = out_of_memory_message(sandbox, stopped=True) if sandbox.oom_killed else None
        return Status(workspace=workspace, state=sandbox.state, sandbox=sandbox, drift=drift,
                      message=message, name=name)

    # -- run ------------------------------------------------------------------------------------

    def run(self, workspace: str, request: ConfigRequest, agent_args: Iterable[str] = (), *,
            recreate: bool = False, progress: Progress = _no_progress,
            guard: Guard | None = None, tty: bool = True, name: str | None = None,
            drift_from: ConfigRequest | None = None, framed: bool = False) -> RunResult:
        """Create the workspace's sandbox if it has none, start it if stopped; never run the agent.
        With `name`, the workspace's sandbox of that name (created beside its default one).
        `drift_from`: what an existing sandbox is compared with, when not all of `request` (a named
        sandbox keeps what it was made with: only what the caller asks for now can drift).

        The result carries the argv that starts the agent in a new session and attaches it (`tty`:
        from a terminal; `framed`: from a client speaking the session holder's frames).
        A request that differs from the recorded configuration leaves the sandbox as it is and
        reports the drift, unless `recreate` asks to apply it. `guard` sees the sandbox (or None)
        and its environment before anything is created or recreated, and may refuse by raising.
        """
        agent_args = tuple(agent_args)
        request = _with_user_defaults(request)
        if name is not None:
            request = ConfigRequest({**request.fields, "name": parse_name(name)})
        api = self.api
        pulled: str | None = None
        fallback: str | None = None  # Berth's template, used since the default cannot be pulled
        while True:
            with self._workspace_lock(workspace):
                existing = self.find(workspace, name)
                # Environment values live only in the container itself: read them where they
                # matter.
                container_env = (lookup.container_env(api, existing) if existing is not None
                                 and (recreate or "env" in request.fields) else {})
                if guard is not None and (existing is None or recreate):
                    guard(existing, container_env)
                making = self._with_template(existing, request, recreate, fallback)
                missing = self._missing_template(existing, making, recreate, pulled)
                if missing is None:
                    return self._run_locked(workspace, making, agent_args, existing,
                                            container_env, recreate, progress, tty,
                                            named=name is not None,
                                            drift_from=drift_from or request, framed=framed)
            # A pull may take minutes: it happens with the workspace's lock released, so a `stop`
            # or `remove` of the same workspace never waits behind a download; then the run
            # starts over, since anything may have changed meanwhile.
            agent = making.resolve(existing.config if existing else None).agent
            got = template_build.pull_or_fallback(api, missing, agent,
                                                  user_config.load().recipes, progress)
            if got != missing:
                fallback = got
            pulled = got

    def _with_template(self, existing: Sandbox | None, request: ConfigRequest, recreate: bool,
                       fallback: str | None) -> ConfigRequest:
        """The request, with the template a sandbox about to be made gets when none was named: with
        templateSource `berth`, one Berth built; else the agent's default (pulled when missing) or,
        when that could not be pulled, `fallback`."""
        if (existing is not None and not recreate) or "template" in request.fields:
            return request
        config = request.resolve(existing.config if existing else None)
        if existing is not None and existing.agent == config.agent:
            return request  # a recreate keeps its template
        if config.template_source == "berth":
            chosen = template_build.own_template(self.api, config.agent,
                                                 user_config.load().recipes)
        elif fallback is not None:
            chosen = fallback
        else:
            return request
        return ConfigRequest({**request.fields, "template": chosen})

    # -- templates Berth builds -------------------------------------------------------------------

    def build_template(self, agents: list[str], *, tag: str | None = None,
                       base: str | None = None, host_certificates: bool | None = None,
                       progress: Progress = _no_progress,
                       cancel: template_build.Cancel | None = None,
                       no_cache: bool = False) -> BuiltTemplate:
        """`host_certificates` None: the config file's `hostCertificates` default."""
        config = user_config.load()
        if host_certificates is None:
            host_certificates = bool(config.defaults.get("hostCertificates", False))
        return template_build.build(self.api, config.recipes, agents, tag=tag,
                                    base=base, host_certificates=host_certificates,
                                    progress=progress, cancel=cancel, no_cache=no_cache)

    def templates(self) -> list[BuiltTemplate]:
        return template_build.templates(self.api)

    def update_templates(self, tags: list[str], *, host_certificates: bool | None = None,
                         progress: Progress = _no_progress,
                         cancel: template_build.Cancel | None = None,
                         ) -> list[tuple[BuiltTemplate, BuiltTemplate]]:
        return template_build.update(self.api, user_config.load().recipes, tags,
                                     host_certificates=host_certificates, progress=progress,
                                     cancel=cancel)

    def _missing_template(self, existing: Sandbox | None, request: ConfigRequest,
                          recreate: bool, pulled: str | None) -> str | None:
        """The template a create or recreate needs that the engine lacks (one image lookup), or
        None. An existing sandbox that is only started needs no image."""
        if existing is not None and not recreate:
            return None
        template = request.resolve(existing.config if existing else None).template
        if template == pulled:
            return None  # pulled just now; if it is gone again, ensure_image says so below
        return None if templates.image_or_none(
            self.api, template, f"Looking up template {template}") is not None else template

    def _run_locked(self, workspace: str, request: ConfigRequest, agent_args: tuple[str, ...],
                    existing: Sandbox | None, container_env: Mapping[str, str], recreate: bool,
                    progress: Progress, tty: bool, *, named: bool,
                    drift_from: ConfigRequest | None, framed: bool) -> RunResult:
        """`run`'s work once the workspace's lock is held and the template is on the engine."""
        api = self.api
        created = False
        warnings: list[str] = []
        setup_warnings: list[str] = []  # said by the setup of a sandbox this run sets up
        holder_found: str | None = None
        if existing is not None and recreate:
            config = request.resolve(existing.config.with_env_values(container_env))
            if "name" not in request.fields and \
                    existing.name == default_sandbox_name(existing.agent, workspace):
                # Berth's own name says the agent: another agent's sandbox gets its own default.
                config = dataclasses.replace(config, name=None)
            templates.ensure_image(api, config.template, progress)
            if (config.template, config.agent) != (existing.template, existing.agent):
                # A mistyped template must not cost the user the sandbox they have.
                templates.check_has_agent(api, config, progress, self._connection.timeout)
            existing, warnings = lifecycle.replace(api, workspace, existing, config, progress,
                                                   setup_warnings, keep_spare=self.keep_spare)
            created = True
        elif existing is None:
            existing, created = lifecycle.create(api, workspace, request.resolve(None),
                                                 progress, setup_warnings,
                                                 keep_spare=self.keep_spare, named=named)
        elif existing.status != "running":
            existing = lifecycle.start(api, existing, progress, setup_warnings)
        else:
            # A running sandbox's two checks (set up? its session holder there?) at once: with a
            # remote engine, each is a round trip.
            holder_check = (_CHECKS.submit(sessions.ensure_holder, api, existing)
                            if tty or framed else None)
            try:
                existing = setup.ensure_set_up(api, existing, setup_warnings)
            finally:
                holder_found = holder_check.result() if holder_check is not None else None
        drift = [] if created else (drift_from or request).drift(existing.config, container_env)
        if existing.config.mount_docker_socket:
            warnings.append(SOCKET_WARNING)
        warnings += mount_warnings(existing.config)
        if existing.user and os.stat(workspace).st_uid == 0:
            warnings.append(ROOT_WORKSPACE_WARNING)
        warnings += setup_warnings
        # Only a terminal (or a client hosting one) gets a session: a piped run needs no holder.
        holder = holder_found if holder_found is not None else (
            sessions.ensure_holder(api, existing) if tty or framed else "")
        return RunResult(sandbox=existing, drift=drift,
                         attach=commands.attach_argv(existing, holder, agent_args, tty=tty,
                                                     framed=framed),
                         shell=commands.shell_argv(existing, tty=tty), created=created,
                         warnings=warnings)

    # -- stop / remove --------------------------------------------------------------------------

    def stop(self, workspace: str) -> Sandbox:
        """The workspace's sandbox, stopped."""
        [sandbox] = self.stop_selected(Selection(workspace=workspace))
        return sandbox

    def stop_selected(self, which: Selection) -> list[Sandbox]:
        """The sandboxes selected, each stopped: exactly those, however else they could be found."""
        return self._each(which, lambda sandbox: lifecycle.stop(self.api, sandbox))

    def remove(self, which: Selection | None = None, *, workspace: str | None = None,
               ids: Iterable[str] | None = None, everything: bool = False) -> list[str]:
        """Remove the sandboxes selected (or given by keyword); the ids of those removed."""
        which = which or Selection.of(workspace=workspace, ids=None if ids is None else list(ids),
                                      everything=everything)
        outcomes = self._each(which, lambda sandbox: (sandbox.id, lifecycle.remove(self.api, sandbox)))
        if which.everything:
            # Nothing of Berth's is left running: the spare network proxy goes too.
            egress.remove_spares(self.api)
        return [sandbox_id for sandbox_id, removed in outcomes if removed]

    def _each(self, which: Selection, act: Callable[[Sandbox], T]) -> list[T]:
        """`act` on each sandbox selected, under its workspace's lock. A workspace's sandbox is
        found under the lock, so one being created right then is the one acted on."""
        if which.workspace is not None:
            with self._workspace_lock(which.workspace):
                return [act(sandbox) for sandbox in self.select(which)]
        out = []
        for sandbox in self.select(which):
            with self._workspace_lock(sandbox.workspace):
                out.append(act(sandbox))
        return out

    # -- inspect / exec / logs ------------------------------------------------------------------

    def inspect(self, which: Selection | None = None, *, workspace: str | None = None,
                ids: Iterable[str] | None = None) -> list[Sandbox]:
        which = which or Selection.of(workspace=workspace, ids=None if ids is None else list(ids),
                                      forms=(WORKSPACE, IDS))
        return self.select(which)

    def exec(self, which: Selection | str, argv: list[str]) -> ExecResult:
        """Run a user's command in the sandbox, as its agent user, in the workspace."""
        sandbox = _selection(which).one(self)
        if sandbox.status != "running":
            raise Conflict(f"The sandbox {sandbox.name} is {sandbox.status}, not running; "
                           "run it first.", value=sandbox.status)
        setup.claim_volume(self.api, sandbox)  # the command may be the agent, reading its login
        return commands.run_command(self.api, sandbox, argv, user=sandbox.user or None,
                                    reader=self._connection.command_api)

    def logs(self, which: Selection | str, tail: int | None = None) -> str:
        return commands.read_logs(self.api, _selection(which).one(self), tail)

    # -- network policy -------------------------------------------------------------------------

    def policy(self, which: Selection | str) -> tuple[Sandbox, Policy]:
        """The sandbox and the network policy it runs under now."""
        sandbox = _selection(which).one(self)
        return sandbox, egress.current(self.api, sandbox)

    def change_policy(self, which: Selection | str,
                      change: Callable[[Policy], Policy]) -> tuple[Sandbox, Policy]:
        """Change the sandbox's live rules; a running sandbox meets them from the next request."""
        sandbox = _selection(which).one(self)
        with self._workspace_lock(sandbox.workspace):
            sandbox = lookup.refreshed(self.api, sandbox)
            policy = change(egress.current(self.api, sandbox))
            return sandbox, egress.apply(self.api, sandbox, policy)

    # -- ports ----------------------------------------------------------------------------------

    def list_ports(self, which: Selection | str, progress: Progress = _no_progress
              ) -> tuple[Sandbox, list[dict[str, Any]], list[ports.Forward]]:
        """The running sandbox, the TCP ports it listens on, and those forwarded."""
        sandbox = _selection(which).one(self)
        listening = ports.listening(self.api, sandbox, ports.image(self.api, progress))
        return sandbox, listening, ports.forwards(self.api, sandbox)

    def forward_port(self, which: Selection | str, port: int, *, host_ip: str | None = None,
                     host_port: int | None = None, progress: Progress = _no_progress
                     ) -> tuple[Sandbox, ports.Forward]:
        """Forward the running sandbox's `port` to this machine, until it stops."""
        sandbox = _selection(which).one(self)
        with self._workspace_lock(sandbox.workspace):
            sandbox = lookup.refreshed(self.api, sandbox)
            return sandbox, ports.forward(self.api, sandbox, port, ports.image(self.api, progress),
                                          host_ip=host_ip, host_port=host_port)

    def unforward_port(self, which: Selection | str, port: int | None = None,
                       host_port: int | None = None) -> tuple[Sandbox, list[ports.Forward]]:
        sandbox = _selection(which).one(self)
        return sandbox, ports.unforward(self.api, sandbox, port, host_port)

    # -- sessions -------------------------------------------------------------------------------

    def sessions(self, which: Selection | str) -> tuple[Sandbox, list[Session]]:
        """The sandbox and its agents' sessions, oldest first (none when it is not running)."""
        sandbox = _selection(which).one(self)
        return sandbox, sessions.list_sessions(self.api, sandbox)

    def stop_session(self, which: Selection | str, session: str) -> tuple[Sandbox, list[Session]]:
        """End one session's agent; the sandbox and its sessions after it."""
        sandbox = _selection(which).one(self)
        return sandbox, sessions.stop_session(self.api, sandbox, session)

    def attach_session(self, which: Selection | str, session: str | None = None, *,
                       tty: bool = True, framed: bool = False) -> tuple[Sandbox, Session, list[str]]:
        """The argv that attaches `session` (None: the newest running one)."""
        sandbox = _selection(which).one(self)
        if session is None:
            running = [s for s in sessions.list_sessions(self.api, sandbox) if s.running]
            if not running:
                raise NotFound(f"No agent is running in the sandbox {sandbox.name}; `berth run` "
                               "starts one.", value=sandbox.name)
            found = running[-1]
        else:
            found = sessions.require_session(self.api, sandbox, session)
        holder = sessions.ensure_holder(self.api, sandbox)
        return sandbox, found, commands.session_attach_argv(sandbox, holder, found.id, tty=tty,
                                                            framed=framed)

    def blocked(self, which: Selection | str, tail: int | None = None) -> list[egress.Block]:
        """The requests the sandbox's proxy refused, oldest first."""
        return egress.blocked(self.api, _selection(which).one(self), tail)


def _selection(which: Selection | str) -> Selection:
    """A Selection as given, or a workspace's."""
    return which if isinstance(which, Selection) else Selection(workspace=which)


def _with_user_defaults(request: ConfigRequest) -> ConfigRequest:
    """What was asked for, over the defaults in the user's config file."""
    return request.over(ConfigRequest(user_config.load().defaults))
