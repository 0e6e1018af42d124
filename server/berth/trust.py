"""The trust boundary: sandbox settings that came from files the sandbox itself can write.

The agent runs with its own permission prompts off, against the workspace mounted read-write; a cloned
repository arrives with files of its own. So a setting read from inside the workspace (its
`.vscode/settings.json`, or whatever a client reports as the workspace's own settings) may never widen
what a sandbox reaches (a host folder, the engine's socket, the host's keys or environment, another
image) unless the user saw the exact value and allowed it. Settings from places the sandbox cannot
write (user or machine settings, the user's config file, CLI flags, a request's own params) are the
user's word and need no question.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from berth.config import ConfigRequest, SandboxConfig, env_map, split_port
from berth.container_setup import DOCKER_SOCKET
from berth.errors import EngineSetup, NeedsConsent

log = logging.getLogger(__name__)

# The VS Code settings file inside a folder: the one place every editor's user may have Berth
# settings that the agent can rewrite. Read by the server itself, so a client that passes it along
# without saying where it came from (neoconf.nvim does) cannot launder it into trusted settings.
WORKSPACE_SETTINGS_FILE = os.path.join(".vscode", "settings.json")


@dataclass(frozen=True)
class ConsentItem:
    """One value the workspace's own settings ask for, to be shown to the user as it is."""

    field: str
    value: Any
    note: str
    id: str
    # For an environment entry of the workspace's own: its value, never shown or sent anywhere.
    expect: str | None = None
    source: str = "the workspace's settings"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "field": self.field, "value": self.value, "note": self.note}

    def describe(self) -> str:
        shown = self.value if isinstance(self.value, str) else json.dumps(self.value)
        return f"{self.field} {shown} ({self.note})" if self.note else f"{self.field} {shown}"


@dataclass(frozen=True)
class WorkspaceValues:
    """What a folder's own files set, already validated: fields as in a ConfigRequest, plus the
    env names given bare (which take the server's own value: a host secret, perhaps)."""

    request: ConfigRequest
    bare_env: frozenset[str] = frozenset()
    source: str = "the workspace's settings"


def consent_items(workspace: str, effective: ConfigRequest, trusted: ConfigRequest | None,
                  from_workspace: WorkspaceValues | None) -> list[ConsentItem]:
    """The values of `effective` that only the workspace's own settings ask for.

    `trusted` is what the user's own settings say (None when the client cannot tell: then every
    value the workspace's files also set counts as theirs).
    """
    if from_workspace is None:
        return []
    ws = from_workspace.request.fields
    mine = trusted.fields if trusted is not None else {}
    eff = effective.fields
    items: list[ConsentItem] = []

    def add(field: str, value: Any, identity: str, note: str, expect: str | None = None) -> None:
        digest = hashlib.sha256(f"{workspace}\0{field}\0{identity}".encode()).hexdigest()[:24]
        items.append(ConsentItem(field, value, note, digest, expect, from_workspace.source))

    for field in ("template", "templateSource", "credentials", "mountDockerSocket",
                  "hostCertificates", "gpus"):
        if field in eff and field in ws and ws[field] == eff[field] and mine.get(field) != eff[field]:
            note = _scalar_note(field, eff[field])
            if note is not None:
                add(field, eff[field], json.dumps(eff[field]), note)
    pids = eff.get("pidsLimit")
    if pids is not None and ws.get("pidsLimit") == pids:
        own = mine.get("pidsLimit") or _user_default("pidsLimit")
        if pids == -1 or (own != -1 and pids > own):
            # A looser process limit than the user's own is the fork bomb's way to the host.
            add("pidsLimit", pids, str(pids),
                "no limit on processes: a fork bomb in the sandbox can exhaust this machine"
                if pids == -1 else f"more processes than your own limit ({own})")
    agent = eff.get("agent")
    if agent is not None and ws.get("agent") == agent and agent != (mine.get("agent")
                                                                  or _user_default("agent")):
        # Another agent brings its own login (its credentials volume), its own image unless a
        # template is set, and its own API hosts through the network policy.
        add("agent", agent, agent, _agent_note(agent))
    policy = eff.get("networkPolicy")
    if policy is not None and ws.get("networkPolicy") == policy:
        own = mine.get("networkPolicy") or _user_default_policy()
        if _OPENNESS[policy] > _OPENNESS[own]:
            add("networkPolicy", policy, policy, _POLICY_NOTES[policy])
    if "allowHosts" in eff and "allowHosts" in ws:
        for host in eff["allowHosts"]:
            if host in ws["allowHosts"] and host not in mine.get("allowHosts", ()):
                add("allowHosts", host, host, "a host the agent may then reach")
    if "ports" in eff and "ports" in ws:
        for spec in eff["ports"]:
            if spec in ws["ports"] and spec not in mine.get("ports", ()):
                add("ports", spec, spec, port_note(spec))
    if "volumes" in eff and "volumes" in ws:
        for spec in eff["volumes"]:
            if spec in ws["volumes"] and spec not in mine.get("volumes", ()):
                add("volumes", spec, spec, volume_note(spec))
    if "env" in eff and "env" in ws:
        ws_env, my_env = env_map(ws["env"]), env_map(mine.get("env", ()))
        for key, value in env_map(eff["env"]).items():
            if ws_env.get(key) != value or my_env.get(key) == value:
                continue
            if key in from_workspace.bare_env:
                add("env", key, f"{key}\0host", f"your own value of {key}, from Berth's environment")
            else:
                # The value is the workspace's own, not a secret of the user's, but values are
                # never put in messages: the hash makes a changed value a new question.
                add("env", key, f"{key}={value}", "a value the workspace's settings set", value)
    return items


# How much each network policy lets through: a workspace may ask for less than the user's own, never
# for more without consent.
_OPENNESS = {"locked": 0, "balanced": 1, "open": 2}
_POLICY_NOTES = {
    "open": "no network restriction: the agent can send anything anywhere",
    "balanced": "package registries and code hosts besides the agent's own API",
    "locked": "only the agent's own API",
}


def _user_default_policy() -> str:
    value = _user_default("networkPolicy")
    return value if value in _OPENNESS else SandboxConfig().network_policy


def _user_default(field: str) -> Any:
    """The user's own default for a field: their config file's [defaults], else Berth's."""
    from berth import user_config

    value = user_config.load().defaults.get(field)
    return value if value is not None else SandboxConfig().to_json().get(field)


def _agent_note(name: str) -> str:
    from berth.agents import get_agent
    from berth.errors import BerthError

    try:
        title = get_agent(name).title
    except BerthError:  # the effective settings' parse reports a bad name
        return "another agent"
    return f"runs {title}: with your login for it, its image and the hosts its API needs"


def _scalar_note(field: str, value: Any) -> str | None:
    """What allowing a scalar setting means, or None when that value widens nothing."""
    if field == "template":
        return "an image the workspace chose: it runs with your workspace and the agent's login"
    if field == "templateSource":
        return ("a template built on this engine by `berth template build` instead of Docker's "
                "(it may trust this machine's CA certificates)" if value == "berth" else None)
    if field == "credentials":
        return ("your ~/.ssh and ~/.gitconfig, read-only" if value == "host" else None)
    if field == "mountDockerSocket":
        return ("the Docker engine's socket: root-equivalent access to this machine"
                if value else None)
    if field == "hostCertificates":
        return ("your CA certificates and proxy settings (a proxy address may carry a password)"
                if value else None)
    if field == "gpus":
        return "this machine's GPUs, through the engine's GPU runtime"
    return None


def port_note(spec: str) -> str:
    """What publishing this port opens, for the consent question."""
    ip, host, container = split_port(spec)
    if ipaddress.ip_address(ip).is_loopback:
        return f"the sandbox's port {container} on this machine's port {host}, for local programs"
    return (f"the sandbox's port {container} on port {host} of {ip}: reachable from other "
            "machines on that network")


def engine_socket_paths() -> set[str]:
    """Paths that are the engine's socket: the default ones, the local one in use, and the one an
    ssh:// address names on the engine's machine."""
    from berth.engine.endpoint import resolve  # the engine package imports this module

    paths = {DOCKER_SOCKET, "/run/docker.sock"}
    try:
        endpoint = resolve()
    except EngineSetup:
        endpoint = None
    if endpoint is not None and endpoint.socket_path:
        paths.add(endpoint.socket_path)
    if endpoint is not None and endpoint.scheme == "ssh":
        # ssh://HOST/PATH: the engine's socket on that machine, where a volume's path is read.
        from urllib.parse import urlsplit

        remote = urlsplit(endpoint.host).path
        if remote and remote != "/":
            paths.add(remote)
    return {os.path.realpath(p) for p in paths} | paths


def volume_note(spec: str) -> str:
    """What mounting this host path hands the sandbox, for the consent question and warnings."""
    host = spec.split(":", 1)[0]
    real = os.path.realpath(host)
    sockets = engine_socket_paths()
    home = os.path.realpath(os.path.expanduser("~"))
    mode = "read-only" if spec.endswith(":ro") else "read-write"
    if real in sockets or host in sockets:
        return "the Docker engine's socket: root-equivalent access to this machine"
    if real == "/":
        return f"the host's whole file system, with the Docker engine's socket, {mode}"
    if any(s.startswith(real.rstrip("/") + "/") for s in sockets):
        return f"contains the Docker engine's socket: root-equivalent access to this machine; {mode}"
    if real == home or home.startswith(real.rstrip("/") + "/"):
        return f"your home folder, {mode}" if real == home else f"contains your home folder, {mode}"
    return f"a host folder, {mode}"


def mount_warnings(config: SandboxConfig) -> list[str]:
    """Warnings for mounts that hand over the engine, the host's root or the user's home, whoever
    asked for them: the user may have meant it, but must see it every time."""
    out = []
    for spec in config.volumes:
        note = volume_note(spec)
        if "Docker engine's socket" in note:
            out.append(f"The volume {spec} mounts the Docker engine's socket into this sandbox: the "
                       "agent can control the host's Docker engine, which is root-equivalent access "
                       "to this machine.")
        elif note.startswith(("the host's whole", "your home", "contains your home")):
            out.append(f"The volume {spec} mounts {note.split(',')[0]} into this sandbox: the agent "
                       "can read (and unless :ro, change) everything there.")
    return out


def require_consent(items: Sequence[ConsentItem], accepted: Sequence[str], source: str
                    ) -> Callable[[Any, Mapping[str, str]], None] | None:
    """A guard for Engine.run: called (under the workspace's lock) when a sandbox is about to be
    created or recreated, it refuses values the user has not allowed. A value the sandbox being
    recreated already has was allowed when it was made."""
    if not items:
        return None

    def guard(existing: Any, container_env: Mapping[str, str]) -> None:
        missing = [i for i in items if i.id not in accepted
                   and not (existing is not None and _recorded(i, existing.config, container_env))]
        if missing:
            raise NeedsConsent(consent_message(missing, source),
                               items=[i.to_json() for i in missing])
    return guard


def consent_message(items: Sequence[ConsentItem], source: str) -> str:
    return (f"The workspace's own settings ({source}) ask for what only you may allow, so nothing "
            f"was created: {'; '.join(i.describe() for i in items)}. Those files can be written by "
            "the agent in the sandbox and come with every cloned repository. Allow them in the "
            "editor's prompt, or set them in your user settings.")


def _recorded(item: ConsentItem, config: SandboxConfig, container_env: Mapping[str, str]) -> bool:
    if item.field == "volumes":
        return item.value in config.volumes
    if item.field == "allowHosts":
        return item.value in config.allow_hosts
    if item.field == "ports":
        return item.value in config.ports
    if item.field == "env":
        have = container_env.get(item.value) if item.value in config.env_names else None
        return have is not None and (item.expect is None or have == item.expect)
    recorded = config.to_json().get(item.field)
    return recorded == item.value


# -- the workspace's own settings file --------------------------------------------------------

_COMMENT_RE = re.compile(r'("(?:[^"\\]|\\.)*")|//[^\n]*|/\*.*?\*/', re.S)
_TRAILING_COMMA_RE = re.compile(r'("(?:[^"\\]|\\.)*")|,(\s*[}\]])')


def read_settings_file(folder: str) -> dict[str, Any] | None:
    """The `berth.*` settings in the folder's `.vscode/settings.json` (JSON with comments), keyed
    without the prefix; None when there is no such file or it holds none."""
    path = os.path.join(folder, WORKSPACE_SETTINGS_FILE)
    try:
        # A bounded read of a file the agent controls: it could be a FIFO or a huge file.
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 20)
    except OSError:
        return None
    text = _COMMENT_RE.sub(lambda m: m.group(1) or "", text)
    text = _TRAILING_COMMA_RE.sub(lambda m: m.group(1) or m.group(2), text)
    try:
        data = json.loads(text)
    except ValueError:
        # VS Code ignores a file it cannot parse too; nothing there applies.
        log.debug("Unparsable %s in %s", WORKSPACE_SETTINGS_FILE, folder)
        return None
    if not isinstance(data, dict):
        return None
    out: dict[str, Any] = {}
    nested = data.get("berth")
    if isinstance(nested, dict):
        out.update(nested)
    out.update({k[len("berth."):]: v for k, v in data.items()
                if isinstance(k, str) and k.startswith("berth.")})
    return out or None
