"""A sandbox's life: creating (or adopting one another window created that moment), starting,
replacing, stopping and removing its container. The caller holds the workspace's lock.

`warnings` collects what the one-time setup says, for the `run` that set the sandbox up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from berth import __version__, labels
from berth.agents import get_agent, missing_binary_message
from berth.config import SandboxConfig, split_port
from berth.container_setup import DOCKER_SOCKET, IDLE_ENTRYPOINT
from berth.engine import egress, identity, lookup, ports, resources, sessions, setup, templates
from berth.engine.connection import (
    call,
    create_container,
    path_exists,
    remove_container,
    translated,
)
from berth.engine.templates import Progress
from berth.errors import BadInput, BerthError, Conflict, EngineError, NotFound, TemplateProblem
from berth.models import Sandbox
from berth.network.relay import SANDBOX_ALIAS
from berth.network.rules import OPEN
from berth.workspace import default_sandbox_name, workspace_key

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

# Where network proxies are made while their sandboxes are created.
_BACKGROUND = ThreadPoolExecutor(max_workers=4, thread_name_prefix="berth-egress")


def create(api: docker.APIClient, workspace: str, config: SandboxConfig, progress: Progress,
           warnings: list[str], *, adopt: bool = True, keep_spare: bool = False,
           use_spare: bool = True, named: bool = False) -> tuple[Sandbox, bool]:
    """Create, start and set up the workspace's sandbox; whether this call created it. `named`: it
    is one asked for by its name (`config.name`), not the workspace's default one. With `adopt`,
    a name taken by this workspace's sandbox (made by another window at the same moment) means that
    one is used instead. A filtered sandbox takes the engine's spare network and proxy when there
    is one (`use_spare`); with `keep_spare` (a long-lived caller) a new spare is made afterwards."""
    agent = get_agent(config.agent)
    engine = identity.of(api)
    if config.mount_docker_socket and engine.socket is None:
        raise BadInput(
            f"Berth cannot know where the engine at {engine.endpoint.describe()} keeps its socket on "
            "its machine, so mountDockerSocket cannot mount it. Reach the engine as "
            "ssh://HOST/PATH/TO/SOCKET, or mount the socket as a volume (its path on the engine's "
            "machine: -v /var/run/docker.sock:/var/run/docker.sock). Nothing was created.",
            field="mountDockerSocket", value=True)
    image = templates.ensure_image(api, config.template, progress)
    name = config.name or default_sandbox_name(agent.name, workspace)
    # A filtered sandbox is created on its own network alone. Its proxy is the spare one, claimed
    # once the sandbox exists; else it is made and started meanwhile, on a thread of its own (it
    # takes as long as the sandbox's own start), and is running before this returns.
    token: str | None = None
    spare: egress.Spare | None = None
    proxy: Future[None] | None = None
    proxy_image = ""
    if config.network_policy != OPEN:
        proxy_image = egress.ensure_image(api, progress)
        # A spare proxy publishes no ports: a sandbox with ports gets a proxy that does.
        spare = egress.find_spare(api) if use_spare and not config.ports else None
        if spare is not None:
            token = spare.token
        else:
            token = egress.new_token()
            egress.collect_orphans(api)  # networks are a scarce resource: reclaim lost ones first
            egress.create_network(api, token, workspace)
            proxy = _BACKGROUND.submit(egress.make_proxy, api, proxy_image, token, workspace,
                                       egress.policy_of(config), ports=config.ports)
    # Until it is claimed, the spare is not this sandbox's to remove.
    own = token if spare is None else None
    progress("creating", f"Creating sandbox {name} from {config.template}")
    try:
        created = create_container(
            api, f"Creating sandbox from {config.template}",
            image=config.template,
            name=name,
            entrypoint=IDLE_ENTRYPOINT,
            user="0",
            working_dir=workspace,
            environment=setup.environment(config, agent, filtered=token is not None),
            labels=labels.sandbox_labels(workspace, workspace_key(workspace), config,
                                         templates.image_user(image), __version__, token,
                                         named=name if named else None),
            ports=resources.exposed(config, publish=token is None),
            host_config=api.create_host_config(
                mounts=[*setup.mounts(workspace, config, agent,
                                     engine.socket or DOCKER_SOCKET),
                        sessions.holder_mount(api, config.template)], privileged=False,
                network_mode=egress.names(token)[1] if token else None,
                # Raw packets are how one would try to route around the proxy.
                cap_drop=["NET_RAW"] if token else None,
                **resources.host_config(config, publish=token is None)),
            # Its proxy relays its published ports to it by this name.
            networking_config=api.create_networking_config({egress.names(token)[1]: (
                api.create_endpoint_config(aliases=[SANDBOX_ALIAS]))}) if token else None,
            detach=True,
        )
    except EngineError as exc:
        _abandon(api, own, proxy)
        if not engine.same_machine and "bind source path does not exist" in str(exc):
            raise _not_on_engine(engine, workspace) from None
        raise resources.engine_refusal(exc, config) from None
    except BaseException:
        _abandon(api, own, proxy)
        raise
    if created is None:
        _abandon(api, own, proxy)
    if created is None and not adopt:
        raise Conflict(f"The container name {name!r} is already used by another container; "
                       "choose another name.", field="name", value=name)
    if created is None:
        return _adopt(api, workspace, name, progress, warnings, named), False
    if not engine.same_machine:
        try:
            seen = _workspace_seen(api, created, workspace)
        except BaseException:
            remove_container(api, created, f"Removing the half-made sandbox {name}")
            _abandon(api, own, proxy)
            raise
        if not seen:
            remove_container(api, created, f"Removing the sandbox {name}, whose workspace is missing")
            _abandon(api, own, proxy)
            raise _not_on_engine(engine, workspace)
    try:
        claimed = spare is None or egress.claim_spare(api, spare)
    except BaseException:
        remove_container(api, created, f"Removing the half-made sandbox {name}")
        raise
    if spare is not None and claimed:
        # Written while the sandbox starts (its agent is not running yet; until then its proxy
        # allows nothing); done before this returns.
        proxy = _BACKGROUND.submit(egress.give_rules, api, spare, created,
                                   egress.policy_of(config))
    if not claimed:
        # Another Berth claimed that spare first: this sandbox gets a network and proxy of its own.
        remove_container(api, created, f"Removing the half-made sandbox {name}")
        return create(api, workspace, config, progress, warnings, adopt=adopt,
                      keep_spare=keep_spare, use_spare=False, named=named)
    sandbox = lookup.by_id(api, created)
    if sandbox is None:
        raise EngineError(f"Sandbox {name} vanished right after it was created.")
    try:
        started = start(api, sandbox, progress, warnings, proxy_started=token is not None)
        if proxy is not None:
            proxy.result()
    except BaseException:
        _discard(api, sandbox)
        _abandon(api, token, proxy)
        raise
    # Port helpers left by sandboxes removed outside Berth; off the create's own path.
    _BACKGROUND.submit(ports.collect_orphans, api)
    if spare is not None:
        _BACKGROUND.submit(_after_spare_taken, api, proxy_image, keep_spare)
    elif keep_spare and token is not None:
        _BACKGROUND.submit(egress.make_spare, api, proxy_image)
    return started, True


def _after_spare_taken(api: docker.APIClient, proxy_image: str, keep_spare: bool) -> None:
    """What a create on the spare leaves to later: lost networks reclaimed, and a new spare."""
    try:
        egress.collect_orphans(api)
    except BerthError as exc:
        log.warning("Could not look for orphaned network proxies: %s", exc.message)
    if keep_spare:
        egress.make_spare(api, proxy_image)


def _workspace_seen(api: docker.APIClient, container: str, workspace: str) -> bool:
    """Whether the engine's machine has this folder's files at its path: a file or folder of the
    folder here (never a link: where it points is no evidence) must be there too. A folder here
    with nothing but links cannot tell, and passes."""
    try:
        with os.scandir(workspace) as entries:
            names = sorted(e.name for e in entries
                           if not e.is_symlink() and (e.is_file() or e.is_dir()))
    except OSError:
        return True
    if not names:
        return True
    return path_exists(api, container, os.path.join(workspace, names[0]),
                       "Checking the workspace on the engine's machine")


def _not_on_engine(engine: identity.EngineIdentity, workspace: str) -> BadInput:
    return BadInput(
        f"The Docker engine at {engine.endpoint.describe()} runs on another machine (or VM), and "
        f"{workspace} there is not this folder: it is empty or missing on that machine. Berth "
        "mounts the workspace at the same path, so the folder must be on the engine's machine: "
        "open it there (VS Code Remote-SSH, or a terminal on that machine), or share it with the "
        "engine's VM at the same path (see docs/engines.md). Nothing was created.",
        field="workspace", value=workspace)


def _abandon(api: docker.APIClient, token: str | None, proxy: Future[None] | None) -> None:
    """Remove the egress made for a sandbox that was not made, once its proxy's making ended."""
    if token is None:
        return
    if proxy is not None:
        with contextlib.suppress(BaseException):
            proxy.result()
    egress.teardown(api, token)


def _adopt(api: docker.APIClient, workspace: str, name: str, progress: Progress,
           warnings: list[str], named: bool) -> Sandbox:
    """Another window or the CLI created this workspace's sandbox at the same moment: use it."""
    # The engine reserves a name before the container it names shows in its list: right after
    # a 409 the winner's container may not be listed yet. Look again briefly before calling the
    # name taken by a stranger (seen with three concurrent `run`s from separate processes).
    deadline = time.monotonic() + 5
    while not (holder := lookup.name_holder(api, name)):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    other = holder[1] if holder else None
    if other is None or other.workspace != workspace:
        raise Conflict(
            f"The container name {name!r} is already used by a container that is not this "
            "workspace's sandbox; choose another name.", field="name", value=name)
    if other.named != (name if named else None):
        said = ("this workspace's default sandbox: run it without a name" if other.named is None
                else f"this workspace's sandbox named {other.named!r}: run it with that name")
        raise Conflict(f"The container name {name!r} is {said}.", field="name", value=name)
    # Its creator starts and sets it up: wait for that rather than race it (starting a container
    # the engine is still registering fails with "No such container"). One still `created`
    # after the wait was left by a creator that died: it is started here.
    while other.status == "created" and time.monotonic() < deadline:
        time.sleep(0.05)
        other = lookup.refreshed(api, other)
    if other.status == "running":
        return setup.ensure_set_up(api, other, warnings)
    return start(api, other, progress, warnings)


def start(api: docker.APIClient, sandbox: Sandbox, progress: Progress,
          warnings: list[str], *, proxy_started: bool = False) -> Sandbox:
    """Start (or unpause) the sandbox, and its network proxy first (unless `proxy_started`: the
    creator starts it); set it up when this is its first start, or when its setup never
    finished."""
    first_start = sandbox.status == "created"
    progress("starting", f"Starting sandbox {sandbox.name}")
    if sandbox.status not in ("created", "paused"):
        ports.remove_all(api, sandbox)  # forwards of its last run, if it was stopped outside Berth
    if not proxy_started:
        egress.start(api, sandbox, progress)
    try:
        with translated(f"Starting sandbox {sandbox.name}"):
            if sandbox.status == "paused":  # `docker pause` from outside; start would refuse
                api.unpause(sandbox.full_id)
            else:
                api.start(sandbox.full_id)
    except EngineError as exc:
        raise _start_failure(sandbox, exc) from None
    if first_start:
        setup.set_up(api, sandbox, warnings)
        return lookup.refreshed(api, sandbox)
    return setup.ensure_set_up(api, lookup.refreshed(api, sandbox), warnings)


def _start_failure(sandbox: Sandbox, exc: EngineError) -> BerthError:
    refused = resources.engine_refusal(exc, sandbox.config)
    if refused is not exc:
        return refused
    text = exc.message
    if "exec format error" in text:
        return TemplateProblem(
            f"The template {sandbox.template} is built for another CPU architecture than the "
            "Docker engine's and cannot run here.", value=sandbox.template)
    if '"/bin/sh"' in text and "no such file" in text:
        return TemplateProblem(missing_binary_message(get_agent(sandbox.agent)),
                               value=sandbox.template)
    return exc


def replace(api: docker.APIClient, workspace: str, old: Sandbox, config: SandboxConfig,
            progress: Progress, warnings: list[str], *, keep_spare: bool = False
            ) -> tuple[Sandbox, list[str]]:
    """Create the workspace's sandbox anew from `config`, then remove `old`.

    Until the new sandbox exists and is set up, `old` is left running (stopped first only when
    the new one publishes a host port it holds); when the new one takes its name, `old` steps
    aside under another name and gets it back if anything fails, so a failed recreate leaves the
    same container, by the same name, in the same state. An old one
    that cannot be removed at the end is not a failure: returned beside the new one, it is a warning.
    """
    name = config.name or default_sandbox_name(get_agent(config.agent).name, workspace)
    holder = lookup.name_holder(api, name)
    if holder and holder[0] != old.full_id:
        raise Conflict(f"The container name {name!r} is already used by another container; "
                       f"choose another name (the sandbox {old.name} was left as it was).",
                       field="name", value=name)
    # Host ports the new sandbox publishes that the old one holds: it lets go of them first, and
    # runs again with them if the new one cannot be made.
    release = old.state == "running" and bool(_host_ports(old.config) & _host_ports(config))
    if release:
        stop(api, old)
    aside = None
    if name == old.name:
        aside = f"{old.name}.replaced-{old.id}"
        try:
            call(f"Renaming sandbox {old.name} to {aside}", api.rename, old.full_id, aside)
        except NotFound:
            aside = None  # removed meanwhile: there is nothing left to keep
    try:
        new, _ = create(api, workspace, config, progress, warnings, adopt=False,
                        keep_spare=keep_spare, named=old.named is not None)
    except BaseException:
        if aside is not None:
            _take_name_back(api, old, aside)
        if release:
            _start_again(api, old, progress)
        raise
    try:
        remove(api, old)
    except BerthError as exc:
        log.error("Could not remove the replaced sandbox %s: %s", aside or old.name, exc.message)
        return new, [f"The sandbox was recreated, but the old one ({aside or old.name}, "
                     f"{old.id}) could not be removed: {exc.message} Remove it with "
                     f"`berth rm {old.id}`."]
    return new, []


def _host_ports(config: SandboxConfig) -> set[int]:
    return {split_port(spec)[1] for spec in config.ports}


def _start_again(api: docker.APIClient, old: Sandbox, progress: Progress) -> None:
    try:
        start(api, lookup.refreshed(api, old), progress, [])
    except BerthError as exc:
        log.error("The sandbox %s (%s) stopped to free its ports could not start again: %s",
                  old.name, old.id, exc.message)


def _take_name_back(api: docker.APIClient, old: Sandbox, aside: str) -> None:
    try:
        call(f"Renaming sandbox {aside} back to {old.name}", api.rename, old.full_id, old.name)
    except BerthError as exc:
        log.error("The sandbox %s (%s) could not get its name %s back: %s", aside, old.id,
                  old.name, exc.message)


def stop(api: docker.APIClient, sandbox: Sandbox) -> Sandbox:
    """Stop the sandbox (at once: its main process ends on SIGTERM); it as it is now."""
    if sandbox.status in ("running", "restarting", "paused"):
        call(f"Stopping sandbox {sandbox.name}", api.stop, sandbox.full_id, timeout=10)
    egress.stop(api, sandbox)
    ports.remove_all(api, sandbox)
    return lookup.refreshed(api, sandbox)


def remove(api: docker.APIClient, sandbox: Sandbox) -> bool:
    """Remove one Berth container; named volumes (the credentials) and bind mounts stay. False when
    it was gone already."""
    if not labels.is_berth(sandbox.labels):
        raise Conflict(f"Container {sandbox.name} is not a Berth sandbox; it was left alone.")
    ports.remove_all(api, sandbox)
    removed = remove_container(api, sandbox.full_id, f"Removing sandbox {sandbox.name}")
    egress.remove_quietly(api, sandbox)
    return removed


def _discard(api: docker.APIClient, sandbox: Sandbox) -> None:
    try:
        remove(api, sandbox)
    except BerthError as exc:
        log.error("Could not remove the half-made sandbox %s: %s", sandbox.name, exc.message)
