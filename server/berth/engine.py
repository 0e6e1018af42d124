"""Sandbox semantics over docker-py: one container per workspace, found by labels, never anything else.

Both front ends (the stdio server and the CLI) are thin layers over this class. Every method is
blocking; the server calls them from its own worker threads.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from berth import __version__, host_trust, labels, templates, user_config
from berth.agents import Agent, get_agent, missing_binary_message
from berth.config import ConfigRequest, SandboxConfig, env_map
from berth.container_setup import (
    CLAIM_SCRIPT,
    DOCKER_SOCKET,
    HOST_CREDENTIALS_MOUNT,
    IDLE_ENTRYPOINT,
    OWNER_MARKER,
    SETUP_DONE,
    SETUP_SCRIPT,
)
from berth.docker_client import call, connect, translated
from berth.errors import BadInput, BerthError, Conflict, EngineError, NotFound, TemplateProblem
from berth.models import ExecResult, RunResult, Sandbox, Status, iso_time
from berth.templates import Progress
from berth.trust import mount_warnings
from berth.workspace import default_sandbox_name, workspace_key

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

SOCKET_WARNING = (
    "The Docker socket is mounted into this sandbox: the agent can control the host's Docker engine "
    "(start privileged containers, read every container, image and volume), which is root-equivalent "
    "access to this machine."
)

# How long a user's command in the sandbox may run (`exec`).
COMMAND_TIMEOUT = 3600.0

ROOT_WORKSPACE_WARNING = (
    "The workspace is owned by root, so the sandbox's non-root agent user cannot write to it. "
    "Berth never changes your files' ownership: open a folder your own user owns."
)


def _no_progress(phase: str, message: str) -> None:
    pass


# Sees the workspace's sandbox (None when it has none) and its environment before a create or
# recreate; refuses by raising a BerthError.
Guard = Callable[[Sandbox | None, Mapping[str, str]], None]


class Engine:
    def __init__(self, client: docker.APIClient | None = None,
                 timeout: float | None = None) -> None:
        self._client = client
        self._timeout = timeout
        self._command_client: docker.APIClient | None = None
        self._client_lock = threading.Lock()
        self._locks_lock = threading.Lock()
        self._workspace_locks: dict[str, threading.Lock] = {}
        # What the current thread's `run` should tell the user besides its result (setup warnings).
        self._call = threading.local()

    # -- connection ---------------------------------------------------------------------------

    @property
    def api(self) -> docker.APIClient:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = connect(self._timeout)
        return self._client

    @property
    def command_api(self) -> docker.APIClient:
        """A client for a user's own commands (`exec`), which may rightly run for minutes; the
        engine timeout would cut them off. Only that request waits: each runs on its own thread."""
        if self._command_client is None:
            with self._client_lock:
                if self._command_client is None:
                    self._command_client = connect(COMMAND_TIMEOUT)
        return self._command_client

    def ping(self) -> bool:
        try:
            return bool(self.api.ping())
        except Exception:
            return False

    def _workspace_lock(self, workspace: str) -> threading.Lock:
        with self._locks_lock:
            return self._workspace_locks.setdefault(workspace, threading.Lock())

    # -- lookup -------------------------------------------------------------------------------

    def _summaries(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return call("Listing sandboxes", self.api.containers, all=True, filters=filters)

    def list(self) -> list[Sandbox]:
        sandboxes = [_sandbox(s) for s in self._summaries(labels.marker_filter())]
        return sorted((s for s in sandboxes if s), key=lambda s: s.created_at)

    def find(self, workspace: str) -> Sandbox | None:
        found = [s for s in map(_sandbox, self._summaries(
            labels.workspace_filter(workspace_key(workspace)))) if s and s.workspace == workspace]
        if not found:
            return None
        # Only a crash or an outside `docker` command can leave two; the running, newest one wins.
        return max(found, key=lambda s: (s.status == "running", s.created_at))

    def resolve_refs(self, refs: Iterable[str]) -> list[Sandbox]:
        """Berth sandboxes by id (or unique id prefix) or name; every ref is checked before any is used."""
        everything = self.list()
        out: list[Sandbox] = []
        for ref in refs:
            if not isinstance(ref, str) or not ref.strip():
                raise BadInput(f"Sandbox id or name must be a non-empty string, got {ref!r}.",
                               field="ids")
            ref = ref.strip().lstrip("/")
            matches = [s for s in everything if s.name == ref] or [
                s for s in everything if s.full_id.startswith(ref)]
            if not matches:
                raise NotFound(f"No Berth sandbox has the id or name {ref!r}.", value=ref)
            if len(matches) > 1:
                raise BadInput(f"Sandbox id {ref!r} is ambiguous: it matches "
                               f"{', '.join(s.id for s in matches)}.", field="ids", value=ref)
            if matches[0] not in out:
                out.append(matches[0])
        return out

    def require(self, workspace: str) -> Sandbox:
        sandbox = self.find(workspace)
        if sandbox is None:
            raise NotFound(f"The workspace {workspace} has no sandbox; run one first.",
                           value=workspace)
        return sandbox

    def status(self, workspace: str, request: ConfigRequest | None = None) -> Status:
        sandbox = self.find(workspace)
        if sandbox is not None:
            # The engine's container list lags its events: right after `die` (a `docker kill`, a
            # crashed main process) it still says running -- every time, on 20.10 -- and no later
            # event corrects it. Inspect reads the container itself, so a status computed on an
            # event shows the state that event announced.
            try:
                info = call(f"Inspecting sandbox {sandbox.name}", self.api.inspect_container,
                            sandbox.full_id)
                live = (info.get("State") or {}).get("Status")
                sandbox = dataclasses.replace(sandbox, status=live) if live else sandbox
            except NotFound:
                sandbox = None
        if sandbox is None:
            return Status(workspace=workspace, state="absent")
        drift = []
        if request is not None:
            container_env = env_map((info.get("Config") or {}).get("Env"))
            drift = _with_user_defaults(request).drift(sandbox.config, container_env)
        return Status(workspace=workspace, state=sandbox.state, sandbox=sandbox, drift=drift)

    # -- run / create -------------------------------------------------------------------------

    def run(self, workspace: str, request: ConfigRequest, agent_args: Iterable[str] = (), *,
            recreate: bool = False, progress: Progress = _no_progress,
            guard: Guard | None = None) -> RunResult:
        """Create the workspace's sandbox if it has none, start it if stopped; never run the agent.

        The result carries the argv that attaches the agent interactively. A request that differs
        from the recorded configuration leaves the sandbox as it is and reports the drift, unless
        `recreate` asks to apply it. `guard` sees the sandbox (or None) and its environment before
        anything is created or recreated, and may refuse by raising.
        """
        agent_args = tuple(agent_args)
        request = _with_user_defaults(request)
        self._call.warnings = []
        # A pull may take minutes: it happens before the workspace's lock is taken, so a `stop` or
        # `remove` of the same workspace never waits behind a download.
        self._pull_ahead(workspace, request, recreate, progress, guard)
        with self._workspace_lock(workspace):
            existing = self.find(workspace)
            # Environment values live only in the container itself: read them where they matter.
            container_env = (self._container_env(existing) if existing is not None
                             and (recreate or "env" in request.fields) else {})
            if guard is not None and (existing is None or recreate):
                guard(existing, container_env)
            created = False
            warnings: list[str] = []
            if existing is not None and recreate:
                config = request.resolve(existing.config.with_env_values(container_env))
                templates.ensure_image(self.api, config.template, progress)
                if (config.template, config.agent) != (existing.template, existing.agent):
                    # A mistyped template must not cost the user the sandbox they have.
                    templates.check_has_agent(self.api, config, progress, self._timeout)
                existing, warnings = self._replace(workspace, existing, config, progress)
                created = True
            elif existing is None:
                existing, created = self._create(workspace, request.resolve(None), progress)
            elif existing.status != "running":
                existing = self._start(existing, progress, first_start=existing.status == "created")
            else:
                existing = self._ensure_set_up(existing)
            drift = [] if created else request.drift(existing.config, container_env)
            if existing.config.mount_docker_socket:
                warnings.append(SOCKET_WARNING)
            warnings += mount_warnings(existing.config)
            if existing.user and os.stat(workspace).st_uid == 0:
                warnings.append(ROOT_WORKSPACE_WARNING)
            warnings += self._call.warnings
            return RunResult(sandbox=existing, drift=drift,
                             attach=self.attach_argv(existing, agent_args),
                             shell=self.shell_argv(existing), created=created, warnings=warnings)

    def _pull_ahead(self, workspace: str, request: ConfigRequest, recreate: bool,
                    progress: Progress, guard: Guard | None) -> None:
        """Make sure the engine has the template a create or recreate will need (pulling it if not).
        Done again under the lock, where it is one image lookup."""
        existing = self.find(workspace)
        if existing is not None and not recreate:
            return  # an existing sandbox is started, not created: it needs no image
        if guard is not None:
            # Nothing the user has not allowed is fetched either; the guard runs again under the lock.
            guard(existing, self._container_env(existing) if existing is not None else {})
        template = request.resolve(existing.config if existing else None).template
        templates.ensure_image(self.api, template, progress)

    def _replace(self, workspace: str, old: Sandbox, config: SandboxConfig,
                 progress: Progress) -> tuple[Sandbox, list[str]]:
        """Create the workspace's sandbox anew from `config`, then remove `old`.

        Until the new sandbox exists and is set up, `old` is left running; when the new one takes
        its name, `old` steps aside under another name and gets it back if anything fails, so a
        failed recreate leaves the same container, by the same name, in the same state.
        """
        name = config.name or default_sandbox_name(get_agent(config.agent).name, workspace)
        holder = self._summaries({"name": [f"^/{re.escape(name)}$"]})
        if holder and holder[0]["Id"] != old.full_id:
            raise Conflict(f"The container name {name!r} is already used by another container; "
                           f"choose another name (the sandbox {old.name} was left as it was).",
                           field="name", value=name)
        aside = None
        if name == old.name:
            aside = f"{old.name}.replaced-{old.id}"
            try:
                call(f"Renaming sandbox {old.name} to {aside}", self.api.rename, old.full_id, aside)
            except NotFound:
                aside = None  # removed meanwhile: there is nothing left to keep
        try:
            new, _ = self._create(workspace, config, progress, adopt=False)
        except BaseException:
            if aside is not None:
                self._take_name_back(old, aside)
            raise
        try:
            self._remove_container(old)
        except BerthError as exc:
            log.error("Could not remove the replaced sandbox %s: %s", aside or old.name, exc.message)
            return new, [f"The sandbox was recreated, but the old one ({aside or old.name}, "
                         f"{old.id}) could not be removed: {exc.message} Remove it with "
                         f"`berth rm {old.id}`."]
        return new, []

    def _take_name_back(self, old: Sandbox, aside: str) -> None:
        try:
            call(f"Renaming sandbox {aside} back to {old.name}", self.api.rename, old.full_id,
                 old.name)
        except BerthError as exc:
            log.error("The sandbox %s (%s) could not get its name %s back: %s", aside, old.id,
                      old.name, exc.message)

    def _create(self, workspace: str, config: SandboxConfig, progress: Progress, *,
                adopt: bool = True) -> tuple[Sandbox, bool]:
        """Create and start the sandbox. With `adopt`, a name taken by this workspace's sandbox
        (made by another window at the same moment) means that one is used instead."""
        agent = get_agent(config.agent)
        image = templates.ensure_image(self.api, config.template, progress)
        user = templates.image_user(image)
        name = config.name or default_sandbox_name(agent.name, workspace)
        progress("creating", f"Creating sandbox {name} from {config.template}")
        api = self.api
        from docker.errors import APIError

        conflict = False
        with translated(f"Creating sandbox from {config.template}"):
            try:
                created = api.create_container(
                    image=config.template,
                    name=name,
                    entrypoint=IDLE_ENTRYPOINT,
                    user="0",
                    working_dir=workspace,
                    environment=self._environment(config, agent),
                    labels=labels.sandbox_labels(workspace, workspace_key(workspace), config, user,
                                                 __version__),
                    host_config=api.create_host_config(
                        mounts=self._mounts(workspace, config, agent),
                        privileged=False,
                    ),
                    detach=True,
                )
            except APIError as exc:
                if exc.status_code != 409:
                    raise
                conflict = True
        if conflict and not adopt:
            raise Conflict(f"The container name {name!r} is already used by another container; "
                           "choose another name.", field="name", value=name)
        if conflict:
            return self._adopt_after_conflict(workspace, name, progress), False
        sandbox = self._by_id(created["Id"])
        if sandbox is None:
            raise EngineError(f"Sandbox {name} vanished right after it was created.")
        try:
            return self._start(sandbox, progress, first_start=True), True
        except BaseException:
            self._discard(sandbox)
            raise

    def _environment(self, config: SandboxConfig, agent: Agent) -> list[str]:
        """The user's variables, then Berth's own where the user did not set the same one."""
        env = list(config.env)
        extra = agent.container_env() if config.keeps_login else []
        if config.host_certificates:
            host_trust.ca_bundle()  # no bundle is a bad request, before anything is created
            extra += host_trust.container_env(env)
        extra += _git_identity_env()
        taken = set(config.env_names)
        return env + [item for item in extra if item.split("=", 1)[0] not in taken]

    def _container_env(self, sandbox: Sandbox) -> dict[str, str]:
        try:
            info = call(f"Inspecting sandbox {sandbox.name}", self.api.inspect_container,
                        sandbox.full_id)
        except NotFound:
            return {}
        return env_map((info.get("Config") or {}).get("Env"))

    def _adopt_after_conflict(self, workspace: str, name: str, progress: Progress) -> Sandbox:
        """Another window or the CLI created this workspace's sandbox at the same moment: use it."""
        # The engine reserves a name before the container it names shows in its list: right after
        # a 409 the winner's container may not be listed yet. Look again briefly before calling the
        # name taken by a stranger (seen with three concurrent `run`s from separate processes).
        deadline = time.monotonic() + 5
        while not (named := self._summaries({"name": [f"^/{re.escape(name)}$"]})):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        other = _sandbox(named[0]) if named else None
        if other is None or other.workspace != workspace:
            raise Conflict(
                f"The container name {name!r} is already used by a container that is not this "
                "workspace's sandbox; choose another name.", field="name", value=name)
        # Its creator starts and sets it up: wait for that rather than race it (starting a container
        # the engine is still registering fails with "No such container"). One still `created`
        # after the wait was left by a creator that died: it is started here.
        while other.status == "created" and time.monotonic() < deadline:
            time.sleep(0.05)
            other = self._refreshed(other)
        if other.status == "running":
            return self._ensure_set_up(other)
        return self._start(other, progress, first_start=other.status == "created")

    def _start(self, sandbox: Sandbox, progress: Progress, *, first_start: bool) -> Sandbox:
        progress("starting", f"Starting sandbox {sandbox.name}")
        try:
            with translated(f"Starting sandbox {sandbox.name}"):
                if sandbox.status == "paused":  # `docker pause` from outside; start would refuse
                    self.api.unpause(sandbox.full_id)
                else:
                    self.api.start(sandbox.full_id)
        except EngineError as exc:
            raise self._start_failure(sandbox, exc) from None
        if first_start:
            self._setup(sandbox)
            return self._refreshed(sandbox)
        return self._ensure_set_up(self._refreshed(sandbox))

    def _ensure_set_up(self, sandbox: Sandbox) -> Sandbox:
        """Set up a running sandbox whose one-time setup never finished: its creator was killed
        between starting it and setting it up (or another window is setting it up right now, which
        the setup script waits for). One request when it is set up, as it nearly always is."""
        try:
            if self._path_exists(sandbox, SETUP_DONE):
                self._claim_volume(sandbox)
                return sandbox
        except NotFound:
            pass
        self._setup(sandbox)
        return sandbox

    def _path_exists(self, sandbox: Sandbox, path: str) -> bool:
        """Whether `path` exists in the sandbox. HEAD is the engine's stat of a path in the
        container (~1 ms); GET would build a tar of it in a re-executed, chrooted helper process
        (~40 ms on Docker 20.10)."""
        api = self.api
        with translated(f"Checking sandbox {sandbox.name}"):
            # requests' own head(): docker-py's timeout is not applied to it unless passed here.
            response = api.head(api._url("/containers/{0}/archive", sandbox.full_id),
                                params={"path": path}, timeout=api.timeout)
            if response.status_code == 404:
                return False
            api._raise_for_status(response)
        return True

    def _claim_volume(self, sandbox: Sandbox) -> None:
        """Hand the shared credentials volume to this sandbox's agent user when another sandbox's
        (running as another uid) had it last: agents write their login mode 600. One HEAD when this
        sandbox has it already, as it nearly always does."""
        volume = _volume_mount(sandbox)
        if not volume:
            return
        if self._path_exists(sandbox, f"{volume}/{OWNER_MARKER}{sandbox.id}"):
            return
        result = self._exec(sandbox, ["/bin/sh", "-c", CLAIM_SCRIPT, "berth-claim", volume,
                                      sandbox.user or "root", sandbox.id], user="0")
        if result.exit_code != 0:
            log.warning("Handing the credentials volume to sandbox %s failed: %s", sandbox.name,
                        (result.stderr or result.stdout).strip()[:300])

    def _start_failure(self, sandbox: Sandbox, exc: EngineError) -> BerthError:
        text = exc.message
        if "exec format error" in text:
            return TemplateProblem(
                f"The template {sandbox.template} is built for another CPU architecture than the "
                "Docker engine's and cannot run here.", value=sandbox.template)
        if '"/bin/sh"' in text and "no such file" in text:
            return TemplateProblem(missing_binary_message(get_agent(sandbox.agent)),
                                   value=sandbox.template)
        return exc

    def _setup(self, sandbox: Sandbox) -> None:
        agent = get_agent(sandbox.agent)
        config = sandbox.config
        hostcred = HOST_CREDENTIALS_MOUNT if config.credentials == "host" else ""
        if config.host_certificates:
            with translated(f"Copying the host's CA certificates into sandbox {sandbox.name}"):
                self.api.put_archive(sandbox.full_id, "/",
                                     host_trust.ca_bundle_archive(host_trust.ca_bundle()))
        owner = os.stat(sandbox.workspace)
        result = self._exec(sandbox, ["/bin/sh", "-c", SETUP_SCRIPT, "berth-setup", sandbox.user,
                                      _volume_mount(sandbox), hostcred, agent.binary,
                                      str(owner.st_uid), str(owner.st_gid),
                                      "1" if config.host_certificates else "", sandbox.id,
                                      *agent.setup_specs()], user="0")
        for line in result.stderr.splitlines():
            if line.startswith("berth-setup: warning: "):
                text = line.split(": ", 2)[2]
                log.warning("Sandbox %s: %s", sandbox.name, text)
                # The `run` that set it up returns these with its own warnings.
                getattr(self._call, "warnings", []).append(
                    f"Setting up sandbox {sandbox.name}: {text}.")
        if result.exit_code != 0:
            if result.exit_code == 127 or result.exit_code == 126:
                raise TemplateProblem(missing_binary_message(agent), value=sandbox.template)
            raise TemplateProblem(
                f"Setting up the sandbox failed (exit {result.exit_code}): "
                f"{(result.stderr or result.stdout).strip()[:300]}", value=sandbox.template)

    def _mounts(self, workspace: str, config: SandboxConfig, agent: Agent) -> list[Any]:
        from docker.types import Mount

        mounts = [Mount(target=workspace, source=workspace, type="bind", read_only=False)]
        for spec in config.volumes:
            host, target, *mode = spec.split(":")
            mounts.append(Mount(target=target, source=host, type="bind", read_only=mode == ["ro"]))
        if config.mount_docker_socket:
            log.warning("%s (%s)", SOCKET_WARNING, workspace)
            mounts.append(Mount(target=DOCKER_SOCKET, source=DOCKER_SOCKET, type="bind"))
        if config.keeps_login and agent.state:
            mounts.append(Mount(target=agent.credentials_mount,
                                source=credentials_volume(agent, config, workspace),
                                type="volume"))
        elif config.credentials == "host":
            home = os.path.expanduser("~")
            for item in (".gitconfig", ".ssh"):
                if os.path.exists(os.path.join(home, item)):
                    mounts.append(Mount(target=f"{HOST_CREDENTIALS_MOUNT}/{item}",
                                        source=os.path.join(home, item), type="bind",
                                        read_only=True))
        return mounts

    # -- stop / remove ------------------------------------------------------------------------

    def stop(self, workspace: str) -> Sandbox:
        with self._workspace_lock(workspace):
            sandbox = self.require(workspace)
            if sandbox.status in ("running", "restarting", "paused"):
                call(f"Stopping sandbox {sandbox.name}", self.api.stop, sandbox.full_id, timeout=10)
            return self._refreshed(sandbox)

    def remove(self, *, workspace: str | None = None, ids: Iterable[str] | None = None,
               everything: bool = False) -> list[str]:
        if everything:
            targets = self.list()
        elif ids is not None:
            targets = self.resolve_refs(ids)
        elif workspace is not None:
            with self._workspace_lock(workspace):
                sandbox = self.require(workspace)
                self._remove_container(sandbox)
                return [sandbox.id]
        else:
            raise BadInput("Say which sandboxes to remove: a workspace, ids, or all.")
        removed = []
        for sandbox in targets:
            with self._workspace_lock(sandbox.workspace):
                if self._remove_container(sandbox):
                    removed.append(sandbox.id)
        return removed

    def _remove_container(self, sandbox: Sandbox) -> bool:
        """Remove one Berth container; named volumes (the credentials) and bind mounts stay."""
        if not labels.is_berth(sandbox.labels):
            raise Conflict(f"Container {sandbox.name} is not a Berth sandbox; it was left alone.")
        import docker.errors

        try:
            with translated(f"Removing sandbox {sandbox.name}"):
                try:
                    self.api.remove_container(sandbox.full_id, force=True, v=True)
                except docker.errors.NotFound:
                    return False
                except docker.errors.APIError as exc:
                    if exc.status_code == 409 and "already in progress" in str(exc):
                        return True
                    raise
        except NotFound:
            return False
        return True

    def _discard(self, sandbox: Sandbox) -> None:
        try:
            self._remove_container(sandbox)
        except BerthError as exc:
            log.error("Could not remove the half-made sandbox %s: %s", sandbox.name, exc.message)

    # -- inspect / exec / logs ----------------------------------------------------------------

    def inspect(self, *, workspace: str | None = None,
                ids: Iterable[str] | None = None) -> list[Sandbox]:
        if ids is not None:
            return self.resolve_refs(ids)
        if workspace is not None:
            return [self.require(workspace)]
        raise BadInput("Say which sandboxes to inspect: a workspace or ids.")

    def exec(self, workspace: str, argv: list[str]) -> ExecResult:
        sandbox = self.require(workspace)
        if sandbox.status != "running":
            raise Conflict(f"The sandbox {sandbox.name} is {sandbox.status}, not running; "
                           "run it first.", value=sandbox.status)
        self._claim_volume(sandbox)  # the command may be the agent, reading its login
        return self._exec(sandbox, argv, user=sandbox.user or None, long=True)

    def _exec(self, sandbox: Sandbox, argv: list[str], user: str | None,
              long: bool = False) -> ExecResult:
        api = self.api
        with translated(f"Running a command in sandbox {sandbox.name}"):
            exec_id = api.exec_create(sandbox.full_id, argv, user=user or "",
                                      workdir=sandbox.workspace)["Id"]
            out, err = (self.command_api if long else api).exec_start(exec_id, demux=True)
            code = api.exec_inspect(exec_id).get("ExitCode")
        return ExecResult(
            exit_code=code if isinstance(code, int) else -1,
            stdout=(out or b"").decode("utf-8", "replace"),
            stderr=(err or b"").decode("utf-8", "replace"),
        )

    def logs(self, workspace: str, tail: int | None = None) -> str:
        sandbox = self.require(workspace)
        raw = call(f"Reading the logs of sandbox {sandbox.name}", self.api.logs, sandbox.full_id,
                   stdout=True, stderr=True, tail="all" if tail is None else tail)
        return raw.decode("utf-8", "replace")

    # -- argv for attaching interactively -----------------------------------------------------

    def attach_argv(self, sandbox: Sandbox, agent_args: Iterable[str] = ()) -> list[str]:
        agent = get_agent(sandbox.agent)
        if not agent.binary:  # `shell`: the words after it are a command for the login shell
            args = list(agent_args)
            return self.shell_argv(sandbox) + (["-c", " ".join(args)] if args else [])
        return [*self._exec_prefix(sandbox), agent.binary, *agent.default_args, *agent_args]

    def shell_argv(self, sandbox: Sandbox) -> list[str]:
        return [*self._exec_prefix(sandbox), "/bin/sh", "-c",
                'exec "$(command -v bash || command -v sh)" -l "$@"', "sh"]

    def _exec_prefix(self, sandbox: Sandbox) -> list[str]:
        # The docker CLI finds the engine the way Berth does, except for an explicit DOCKER_HOST.
        host = os.environ.get("DOCKER_HOST")
        argv = ["docker", *(["-H", host] if host else []), "exec", "-it"]
        if sandbox.user:
            argv += ["-u", sandbox.user]
        return [*argv, "-w", sandbox.workspace, sandbox.full_id[:12]]

    def _by_id(self, container_id: str) -> Sandbox | None:
        summary = self._summaries({"id": [container_id]})
        return _sandbox(summary[0]) if summary else None

    def _refreshed(self, sandbox: Sandbox) -> Sandbox:
        fresh = self._by_id(sandbox.full_id)
        if fresh is None:
            raise NotFound(f"The sandbox {sandbox.name} was removed while Berth was using it.")
        return fresh


def _sandbox(summary: dict[str, Any]) -> Sandbox | None:
    """A Sandbox from the engine's container list entry, or None for anything not Berth's."""
    lab = summary.get("Labels") or {}
    if not labels.is_berth(lab) or not lab.get(labels.WORKSPACE):
        return None
    names = summary.get("Names") or []
    name = names[0].lstrip("/") if names else summary["Id"][:12]
    return Sandbox(
        id=summary["Id"][:12],
        full_id=summary["Id"],
        name=name,
        workspace=lab[labels.WORKSPACE],
        agent=lab.get(labels.AGENT, ""),
        template=lab.get(labels.TEMPLATE, summary.get("Image", "")),
        status=summary.get("State", "unknown"),
        created_at=iso_time(summary.get("Created", 0)),
        user=lab.get(labels.USER, ""),
        config=labels.recorded_config(lab, name),
        labels=dict(lab),
    )


def credentials_volume(agent: Agent, config: SandboxConfig, workspace: str) -> str:
    """The agent's shared volume, or with `isolated` one of this workspace's own."""
    if config.credentials == "isolated":
        return f"{agent.credentials_volume}-{workspace_key(workspace)}"
    return agent.credentials_volume


def _volume_mount(sandbox: Sandbox) -> str:
    """Where the sandbox's credentials volume is mounted, or '' when it has none."""
    if not sandbox.config.keeps_login:
        return ""
    try:
        agent = get_agent(sandbox.agent)
    except BadInput:  # an agent the user's config no longer defines
        return ""
    return agent.credentials_mount if agent.state else ""


def _with_user_defaults(request: ConfigRequest) -> ConfigRequest:
    """What was asked for, over the defaults in the user's config file."""
    return request.over(ConfigRequest(user_config.load().defaults))


def _git_identity_env() -> list[str]:
    """The host's git identity, so the agent's commits carry the user's name."""
    env = []
    for key, names in (("user.name", ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")),
                       ("user.email", ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"))):
        try:
            value = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True,
                                   timeout=5, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return []
        if value:
            env += [f"{name}={value}" for name in names]
    return env
