"""Making a sandbox what its configuration says: what its container is created with (environment,
mounts), the one-time setup once it first runs, and the hand-over of the credentials volume to its
agent user. The scripts that run inside are berth.container_setup.
"""

from __future__ import annotations

import logging
import os
import subprocess
from typing import TYPE_CHECKING, Any

from berth import agent_hooks, host_trust
from berth.agents import Agent, get_agent, missing_binary_message
from berth.config import SandboxConfig
from berth.container_setup import (
    CLAIM_SCRIPT,
    DOCKER_SOCKET,
    HOST_CREDENTIALS_MOUNT,
    OWNER_MARKER,
    SETUP_DONE,
    SETUP_SCRIPT,
)
from berth.engine import egress, identity
from berth.engine.commands import run_command
from berth.engine.connection import path_exists, translated
from berth.errors import BadInput, NotFound, TemplateProblem
from berth.git_worktree import linked_worktree
from berth.models import Sandbox
from berth.workspace import workspace_key

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

SOCKET_WARNING = (
    "The Docker socket is mounted into this sandbox: the agent can control the host's Docker engine "
    "(start privileged containers, read every container, image and volume), which is root-equivalent "
    "access to this machine. It also defeats any network policy: the agent can start a container "
    "whose network nothing filters."
)


# -- what the container is created with -----------------------------------------------------------


def environment(config: SandboxConfig, agent: Agent, *, filtered: bool = False) -> list[str]:
    """The user's variables, then Berth's own where the user did not set the same one. A filtered
    sandbox's way out is its egress proxy, whatever proxy the host itself uses."""
    env = list(config.env)
    extra = agent.container_env() if config.keeps_login else []
    if filtered:
        extra += egress.environment()
    if config.host_certificates:
        host_trust.ca_bundle()  # no bundle is a bad request, before anything is created
        extra += host_trust.container_env(env + extra)
    extra += _git_identity_env()
    # Where root in the sandbox is the user on the host (rootless Docker; Docker Desktop for Linux)
    # the agent runs as uid 0, and Claude Code skips its permission prompts as root only when told
    # that it runs in a sandbox, which it does.
    extra.append("IS_SANDBOX=1")
    taken = set(config.env_names)
    return env + [item for item in extra if item.split("=", 1)[0] not in taken]


def root_is_user(api: docker.APIClient) -> bool:
    """Whether root in a sandbox is the user on the host: rootless Docker or Podman, and Docker
    Desktop (whose file sharing writes as the user whoever writes in the sandbox; on Linux it maps
    the user to root)."""
    engine = identity.of(api)
    return engine.rootless or engine.product == "Docker Desktop"


def mounts(workspace: str, config: SandboxConfig, agent: Agent,
           docker_socket: str = DOCKER_SOCKET) -> list[Any]:
    """The sandbox's mounts. `docker_socket`: the engine's socket on the engine's machine, mounted
    at the usual path inside (engine.identity finds it)."""
    from docker.types import Mount

    out = [Mount(target=workspace, source=workspace, type="bind", read_only=False)]
    # A linked worktree's repository, so git works inside (git_worktree says what, and why so).
    worktree = linked_worktree(workspace)
    for path, read_only in worktree.mounts() if worktree else ():
        out.append(Mount(target=path, source=path, type="bind", read_only=read_only))
    for spec in config.volumes:
        host, target, *mode = spec.split(":")
        out.append(Mount(target=target, source=host, type="bind", read_only=mode == ["ro"]))
    if config.mount_docker_socket:
        log.warning("%s (%s)", SOCKET_WARNING, workspace)
        out.append(Mount(target=DOCKER_SOCKET, source=docker_socket, type="bind"))
    if config.keeps_login and agent.state:
        out.append(Mount(target=agent.credentials_mount,
                         source=_credentials_volume(agent, config, workspace), type="volume"))
    elif config.credentials == "host":
        home = os.path.expanduser("~")
        for item in (".gitconfig", ".ssh"):
            if os.path.exists(os.path.join(home, item)):
                out.append(Mount(target=f"{HOST_CREDENTIALS_MOUNT}/{item}",
                                 source=os.path.join(home, item), type="bind", read_only=True))
    return out


def _credentials_volume(agent: Agent, config: SandboxConfig, workspace: str) -> str:
    """The agent's shared volume, or with `isolated` one of this workspace's own."""
    if config.credentials == "isolated":
        return f"{agent.credentials_volume}-{workspace_key(workspace)}"
    return agent.credentials_volume


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


# -- what is done in the running container ---------------------------------------------------------


def set_up(api: docker.APIClient, sandbox: Sandbox, warnings: list[str]) -> None:
    """The one-time setup, right after the first start; what it warns about joins `warnings` (the
    `run` that set the sandbox up returns them with its own)."""
    agent = get_agent(sandbox.agent)
    config = sandbox.config
    hostcred = HOST_CREDENTIALS_MOUNT if config.credentials == "host" else ""
    if config.host_certificates:
        with translated(f"Copying the host's CA certificates into sandbox {sandbox.name}"):
            api.put_archive(sandbox.full_id, "/",
                            host_trust.ca_bundle_archive(host_trust.ca_bundle()))
    owner = os.stat(sandbox.workspace)
    result = run_command(api, sandbox, ["/bin/sh", "-c", SETUP_SCRIPT, "berth-setup", sandbox.user,
                                        _volume_mount(sandbox), hostcred, agent.binary,
                                        str(owner.st_uid), str(owner.st_gid),
                                        "1" if config.host_certificates else "", sandbox.id,
                                        *agent.setup_specs()], user="0",
                         environment={"BERTH_ROOT_IS_USER": "1" if root_is_user(api) else "",
                                      "BERTH_NOTIFY": agent_hooks.NOTIFY_SCRIPT,
                                      "BERTH_CLAUDE_HOOKS": agent_hooks.claude_hooks_json()})
    for line in result.stderr.splitlines():
        if line.startswith("berth-setup: warning: "):
            text = line.split(": ", 2)[2]
            log.warning("Sandbox %s: %s", sandbox.name, text)
            warnings.append(f"Setting up sandbox {sandbox.name}: {text}.")
    if result.exit_code != 0:
        if result.exit_code == 127 or result.exit_code == 126:
            raise TemplateProblem(missing_binary_message(agent), value=sandbox.template)
        raise TemplateProblem(
            f"Setting up the sandbox failed (exit {result.exit_code}): "
            f"{(result.stderr or result.stdout).strip()[:300]}", value=sandbox.template)


def ensure_set_up(api: docker.APIClient, sandbox: Sandbox, warnings: list[str]) -> Sandbox:
    """Set up a running sandbox whose one-time setup never finished: its creator was killed
    between starting it and setting it up (or another window is setting it up right now, which
    the setup script waits for). One request when it is set up, as it nearly always is."""
    try:
        if path_exists(api, sandbox.full_id, SETUP_DONE, f"Checking sandbox {sandbox.name}"):
            claim_volume(api, sandbox)
            return sandbox
    except NotFound:
        pass
    set_up(api, sandbox, warnings)
    return sandbox


def claim_volume(api: docker.APIClient, sandbox: Sandbox) -> None:
    """Hand the shared credentials volume to this sandbox's agent user when another sandbox's
    (running as another uid) had it last: agents write their login mode 600. One HEAD when this
    sandbox has it already, as it nearly always does."""
    volume = _volume_mount(sandbox)
    if not volume:
        return
    if path_exists(api, sandbox.full_id, f"{volume}/{OWNER_MARKER}{sandbox.id}",
                   f"Checking sandbox {sandbox.name}"):
        return
    result = run_command(api, sandbox, ["/bin/sh", "-c", CLAIM_SCRIPT, "berth-claim", volume,
                                        sandbox.user or "root", sandbox.id], user="0")
    if result.exit_code != 0:
        log.warning("Handing the credentials volume to sandbox %s failed: %s", sandbox.name,
                    (result.stderr or result.stdout).strip()[:300])


def _volume_mount(sandbox: Sandbox) -> str:
    """Where the sandbox's credentials volume is mounted, or '' when it has none."""
    if not sandbox.config.keeps_login:
        return ""
    try:
        agent = get_agent(sandbox.agent)
    except BadInput:  # an agent the user's config no longer defines
        return ""
    return agent.credentials_mount if agent.state else ""
