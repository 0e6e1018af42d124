"""Sandbox configuration: parsing and validating what users ask for, and layering it.

A request is what a caller explicitly asked for (CLI flags, editor settings, request params); fields it
leaves out are not part of it. Only explicit fields are compared against a sandbox's recorded
configuration, so `berth run claude` on an existing sandbox does not report drift for flags it never gave.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from typing import Any

from berth.agents import DEFAULT_AGENT, get_agent
from berth.errors import BadInput
from berth.network.rules import parse_patterns, parse_policy_name

CREDENTIAL_MODES = ("sandbox", "isolated", "host", "none")
# Docker's own rule for container names.
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")
_ENV_KEY_RE = re.compile(r"^[^=\s\x00]+$")
_ENV_NAME_PREFIX = re.compile(r"[A-Za-z0-9_.-]*")
_IMAGE_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._/:@+-]{0,254}$")
_VOLUME_MODES = {"ro": "ro", "readonly": "ro", "rw": "rw"}


# -- validating given values ---------------------------------------------------------------------

_HOST_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A name shown in an error about a variable that is not set: conventional names only, since a bare
# entry may be a pasted token that happens to fit the name rules (`ghp_...` does).
_SHOWABLE_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,39}$")


def parse_env(items: Any, field_name: str = "env",
              environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Validate `KEY=VALUE` entries; a bare `KEY` takes this machine's value of KEY (as `docker run -e
    KEY` does), so a key never has to be written down. Messages name the key, never the value."""
    if isinstance(items, Mapping):
        for k, v in items.items():
            # JSON true, null, lists would become Python's spelling of them ("True", "['x']").
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise BadInput(f"The value of environment variable {_short(str(k))!r} must be a "
                               f"string or a number, got {_kind(v)}.", field=field_name)
        items = [f"{k}={v}" for k, v in items.items()]
    if not isinstance(items, (list, tuple)):
        raise BadInput(f"'{field_name}' must be a list of KEY=VALUE strings, got {_kind(items)}.",
                       field=field_name)
    environ = os.environ if environ is None else environ
    seen: set[str] = set()
    out = []
    for item in items:
        if not isinstance(item, str):
            raise BadInput(f"Each '{field_name}' entry must be a KEY=VALUE string, "
                           f"got {_kind(item)}.", field=field_name)
        if "=" not in item and _HOST_VAR_RE.match(item):
            if item not in environ:
                shown = repr(item) if _SHOWABLE_NAME_RE.match(item) else f"in entry {len(out) + 1}"
                raise BadInput(f"Environment variable {shown} is not set on this machine, so its "
                               "value cannot be passed to the sandbox (an entry without '=' passes "
                               "this machine's value).", field=field_name)
            item = f"{item}={environ[item]}"
        key, sep, value = item.partition("=")
        # Without a well-formed `=`, where the name ends and a secret begins is unknown (a slip
        # like `TOKEN:value` or `TOKEN value`): only a leading name-like part is ever shown.
        # A whole entry that looks like a name may be a pasted secret itself: then nothing is.
        shown = _ENV_NAME_PREFIX.match(item).group(0)[:60]
        if not sep:
            start = f" (it starts {shown!r})" if shown and shown != item else ""
            raise BadInput(f"Environment entry {len(out) + 1}{start} is not of the form "
                           "KEY=VALUE or a variable name.", field=field_name)
        if not key:
            raise BadInput("Environment entry has an empty variable name (it starts with '=').",
                           field=field_name)
        if not _ENV_KEY_RE.match(key):
            raise BadInput(f"Environment variable name starting {shown!r} contains white space or "
                           "a NUL character.", field=field_name)
        if "\x00" in value:
            raise BadInput(f"The value of environment variable {key!r} contains a NUL character.",
                           field=field_name)
        if key in seen:
            raise BadInput(f"Environment variable {key!r} is given twice.", field=field_name)
        seen.add(key)
        out.append(f"{key}={value}")
    return tuple(out)


def read_env_file(path: str) -> list[str]:
    """`--env-file`: KEY=VALUE lines (or a bare KEY, taking this machine's value), `#` comments and
    blank lines allowed, as `docker run --env-file` reads them. Errors name the file and line."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise BadInput(f"Env file {path!r} does not exist.", field="envFile", value=path) from None
    except UnicodeDecodeError:
        raise BadInput(f"Env file {path!r} is not UTF-8 text.", field="envFile", value=path) from None
    except OSError as exc:
        raise BadInput(f"Cannot read env file {path!r}: {exc.strerror}.", field="envFile",
                       value=path) from None
    out = []
    for n, line in enumerate(lines, 1):
        text = line.lstrip()
        if not text or text.startswith("#"):
            continue
        try:
            out += parse_env([text.rstrip() if "=" not in text else text])
        except BadInput as exc:
            raise BadInput(f"Env file {path!r}, line {n}: {exc.message}", field="envFile",
                           value=path) from None
    return out


def merge_env(*layers: tuple[str, ...]) -> tuple[str, ...]:
    """Environment entries of several sources; a later source's value of a key wins."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(env_map(layer))
    return tuple(f"{k}={v}" for k, v in merged.items())


def parse_volume(spec: Any) -> str:
    """Validate `HOST:CONTAINER[:ro|:readonly|:rw]`; returns it normalised (`readonly` becomes `ro`)."""
    if not isinstance(spec, str):
        raise BadInput(f"A volume must be a HOST:CONTAINER[:ro] string, got {_kind(spec)}.",
                       field="volumes")
    if "\x00" in spec or "\n" in spec:
        raise BadInput(f"Volume {_short(spec)!r} contains a NUL or newline character.",
                       field="volumes", value=spec)
    try:
        spec.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of a path: Docker would mount U+FFFD instead
        raise BadInput(f"Volume {_short(spec)!r} is not valid UTF-8, which Docker cannot mount.",
                       field="volumes") from None
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise BadInput(
            f"Volume {spec!r} is not of the form HOST:CONTAINER[:ro] "
            "(paths containing ':' cannot be mounted).", field="volumes", value=spec)
    host, container = parts[0], parts[1]
    mode = _VOLUME_MODES.get(parts[2]) if len(parts) == 3 else "rw"
    if mode is None:
        raise BadInput(f"Volume {spec!r} has unknown mode {parts[2]!r}; use ro, readonly or rw.",
                       field="volumes", value=spec)
    if not host:
        raise BadInput(f"Volume {spec!r} has an empty host path.", field="volumes", value=spec)
    if not os.path.isabs(host):
        raise BadInput(f"Volume host path {host!r} must be absolute.", field="volumes", value=spec)
    if not os.path.exists(host):
        raise BadInput(f"Volume host path {host!r} does not exist.", field="volumes", value=spec)
    if not container or not container.startswith("/"):
        raise BadInput(f"Volume container path {container!r} must be absolute.",
                       field="volumes", value=spec)
    if os.path.normpath(container) == "/":
        raise BadInput(f"Volume {spec!r} cannot be mounted over the container's root.",
                       field="volumes", value=spec)
    host = os.path.normpath(host)
    container = os.path.normpath(container)
    return f"{host}:{container}:ro" if mode == "ro" else f"{host}:{container}"


def parse_volumes(items: Any) -> tuple[str, ...]:
    if not isinstance(items, (list, tuple)):
        raise BadInput(f"'volumes' must be a list of HOST:CONTAINER[:ro] strings, "
                       f"got {_kind(items)}.", field="volumes")
    out = tuple(parse_volume(item) for item in items)
    targets = [v.split(":")[1] for v in out]
    for target in targets:
        if targets.count(target) > 1:
            raise BadInput(f"Container path {target!r} is the target of two volumes.",
                           field="volumes")
    return out


def _parse_bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise BadInput(f"'{key}' must be true or false, got {value!r}.", field=key)
    return value


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[Any, str], str]:
    def parse(value: Any, key: str) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise BadInput(f"'{key}' {_short(value)!r} is not a valid {what}.", field=key,
                           value=value if isinstance(value, str) else None)
        return value
    return parse


def parse_name(value: Any, key: str = "name") -> str:
    """A sandbox's name: its container's name, by Docker's rules."""
    return _matching(_NAME_RE, "sandbox name (a letter or digit, then letters, digits, '_', "
                               "'.' or '-')")(value, key)


def _parse_credentials(value: Any, key: str) -> str:
    if value not in CREDENTIAL_MODES:
        raise BadInput(f"Unknown credentials mode {_short(value)!r}; expected one of: "
                       f"{', '.join(CREDENTIAL_MODES)}.", field=key)
    return str(value)


# Where a sandbox's template comes from when none is named: Docker's templates first (Berth's own
# when Docker's cannot be had), or Berth's own (`berth template build`) first.
TEMPLATE_SOURCES = ("docker", "berth")


def _parse_template_source(value: Any, key: str) -> str:
    if value not in TEMPLATE_SOURCES:
        raise BadInput(f"Unknown template source {_short(value)!r}; expected one of: "
                       f"{', '.join(TEMPLATE_SOURCES)}.", field=key)
    return str(value)


def _parse_agent(value: Any, key: str) -> str:
    return get_agent(value).name


def _parse_volumes(value: Any, key: str) -> tuple[str, ...]:
    return parse_volumes(value)


def _parse_hosts(value: Any, key: str) -> tuple[str, ...]:
    return tuple(p.text for p in parse_patterns(value, key))


# -- resources and ports ---------------------------------------------------------------------------

# What a sandbox may run at once when nothing else is said: room for an agent, its language servers
# and a parallel build, while a fork bomb hits the limit long before the host's own.
DEFAULT_PIDS_LIMIT = 4096
# Docker's own floor for a memory limit.
_MIN_MEMORY = 6 * 1024 * 1024
_MEMORY_RE = re.compile(r"^(\d+(?:\.\d+)?) ?([bkmgt]?)(?:i?b)?$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_GPUS_RE = re.compile(r"^(all|[1-9][0-9]{0,2}|device=[A-Za-z0-9_.:-]+(?:,[A-Za-z0-9_.:-]+)*)$")
_PORT_RE = re.compile(r"^(?:(?P<ip>\[[0-9A-Fa-f:.]+\]|[0-9.]+):)?(?P<host>[0-9]{1,5}):"
                      r"(?P<container>[0-9]{1,5})(?:/(?P<proto>[A-Za-z]+))?$")


def _parse_cpus(value: Any, key: str) -> float:
    """`--cpus`: how many CPUs' worth of time the sandbox may use, as `docker run --cpus`."""
    try:
        cpus = float(value) if isinstance(value, (int, float, str)) and not isinstance(
            value, bool) else None
    except ValueError:
        cpus = None
    if cpus is None or not 0.01 <= cpus <= 1024:
        raise BadInput(f"'{key}' {_shown(value)} is not a number of CPUs from 0.01 up "
                       "(such as 2 or 0.5).", field=key)
    return round(cpus, 2)


def memory_bytes(text: str) -> int:
    """A memory size as docker takes it (`512m`, `2g`, `1.5GiB`, bytes) in bytes."""
    match = _MEMORY_RE.match(text.strip())
    if match is None:
        raise ValueError(text)
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _parse_memory(value: Any, key: str) -> str:
    """`--memory`: the sandbox's memory limit, kept in the shortest exact form (`2048m` is `2g`)."""
    try:
        size = memory_bytes(str(value)) if isinstance(value, (int, str)) and not isinstance(
            value, bool) else None
    except ValueError:
        size = None
    if size is None:
        raise BadInput(f"'{key}' {_shown(value)} is not a memory size (such as 512m or 4g).",
                       field=key)
    if size < _MIN_MEMORY:
        raise BadInput(f"'{key}' {_shown(value)} is below Docker's smallest memory limit, 6m.",
                       field=key)
    for unit in "tgmk":
        if size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def _parse_pids_limit(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not (
            value == -1 or 1 <= value <= 4_194_304):
        raise BadInput(f"'{key}' {_shown(value)} is not a number of processes from 1 up "
                       "(or -1 for no limit).", field=key)
    return value


def _parse_gpus(value: Any, key: str) -> str:
    """`--gpus`: `all`, a count, or `device=ID[,ID...]`, as `docker run --gpus` takes them."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _GPUS_RE.match(text):
        raise BadInput(f"'{key}' {_shown(value)} is not all, a number of GPUs or "
                       "device=ID[,ID...].", field=key)
    return text


def parse_port(spec: Any, key: str = "ports") -> str:
    """`[HOST_IP:]HOST_PORT:CONTAINER_PORT`, kept as `HOST_IP:HOST_PORT:CONTAINER_PORT`: the host
    side is this machine's loopback unless an address is given (0.0.0.0 only when asked)."""
    if not isinstance(spec, str):
        raise BadInput(f"A port must be a [HOST_IP:]HOST_PORT:CONTAINER_PORT string, got "
                       f"{_kind(spec)}.", field=key)
    match = _PORT_RE.match(spec.strip())
    if match is None:
        raise BadInput(f"Port {_short(spec)!r} is not of the form [HOST_IP:]HOST_PORT:"
                       "CONTAINER_PORT (such as 8080:3000 or 0.0.0.0:8080:3000).", field=key,
                       value=_short(spec))
    proto = (match.group("proto") or "tcp").lower()
    if proto != "tcp":
        raise BadInput(f"Port {spec!r}: only TCP ports are published, not {proto}.", field=key,
                       value=spec)
    ip = match.group("ip") or "127.0.0.1"
    try:
        address = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        raise BadInput(f"Port {spec!r}: {ip!r} is not an IP address of this machine.",
                       field=key, value=spec) from None
    for part in ("host", "container"):
        if not 1 <= int(match.group(part)) <= 65535:
            raise BadInput(f"Port {spec!r}: {part} port {match.group(part)} is not from 1 to "
                           "65535.", field=key, value=spec)
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"{shown}:{int(match.group('host'))}:{int(match.group('container'))}"


def parse_ports(items: Any, key: str = "ports") -> tuple[str, ...]:
    if not isinstance(items, (list, tuple)):
        raise BadInput(f"'{key}' must be a list of [HOST_IP:]HOST_PORT:CONTAINER_PORT strings, "
                       f"got {_kind(items)}.", field=key)
    out = tuple(parse_port(item, key) for item in items)
    hosts = [p.rsplit(":", 1)[0] for p in out]
    for host in hosts:
        if hosts.count(host) > 1:
            raise BadInput(f"Host address {host} is given for two ports.", field=key, value=host)
    return out


def split_port(spec: str) -> tuple[str, int, int]:
    """A recorded port as (host address without brackets, host port, container port)."""
    rest, container = spec.rsplit(":", 1)
    ip, host = rest.rsplit(":", 1)
    return ip.strip("[]"), int(host), int(container)


def _parse_ports(value: Any, key: str) -> tuple[str, ...]:
    return parse_ports(value, key)


# -- the configuration fields ----------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One configuration field: its protocol name (settings, params, labels, drift), its SandboxConfig
    attribute, how a given value is validated, its default, and where it goes."""

    key: str
    attr: str
    parse: Callable[[Any, str], Any]  # (value, key) -> the validated value; BadInput otherwise
    default: Any
    recorded: bool  # in the recorded configuration (label, inspect); `name` is the container's own
    user_default: bool  # settable in the user's config file, under [defaults]
    blank_is_unset: bool  # "" means "not set", as editors send an empty string setting
    drifts: bool  # a requested value unlike the sandbox's is drift (what makes it recreated)


def _field(key: str, parse: Callable[[Any, str], Any], default: Any, *, recorded: bool = True,
           user_default: bool = False, blank_is_unset: bool = False,
           drifts: bool = True) -> Any:
    """A row of the field table: a SandboxConfig attribute, with the rest as its metadata."""
    return field(default=default, metadata={"berth": {
        "key": key, "parse": parse, "recorded": recorded, "user_default": user_default,
        "blank_is_unset": blank_is_unset, "drifts": drifts}})


@dataclass(frozen=True)
class SandboxConfig:
    """A sandbox's complete configuration, as recorded on its container at creation. Its attributes
    are the field table: each says its protocol name, parser and default (`_field`), and FIELDS
    (below) drives parsing, layering, the recorded form and drift from them.

    `env` holds `KEY=VALUE` entries when the values are known (a request, or a recorded configuration
    completed from the container's own environment), and bare `KEY` names when read from labels:
    values may be secrets, so labels, statuses and messages only ever carry the names.
    """

    agent: str = _field("agent", _parse_agent, DEFAULT_AGENT, user_default=True)
    template: str = _field("template", _matching(_IMAGE_RE, "image reference"), "",
                           user_default=True, blank_is_unset=True)
    # Neither recorded nor drift: it only decides which template a new sandbox gets, which is.
    template_source: str = _field("templateSource", _parse_template_source, "docker",
                                  recorded=False, user_default=True, drifts=False)
    env: tuple[str, ...] = _field("env", parse_env, ())
    volumes: tuple[str, ...] = _field("volumes", _parse_volumes, ())
    mount_docker_socket: bool = _field("mountDockerSocket", _parse_bool, False)
    credentials: str = _field("credentials", _parse_credentials, "sandbox", user_default=True)
    host_certificates: bool = _field("hostCertificates", _parse_bool, False, user_default=True)
    # Egress (berth.network): the policy is fixed at creation; the rules are those it was created
    # with, and rules added since live in its proxy (engine.egress).
    network_policy: str = _field("networkPolicy", parse_policy_name, "balanced", user_default=True)
    allow_hosts: tuple[str, ...] = _field("allowHosts", _parse_hosts, ())
    deny_hosts: tuple[str, ...] = _field("denyHosts", _parse_hosts, ())
    # Published at creation; the host side is this machine's loopback unless an address is given.
    ports: tuple[str, ...] = _field("ports", _parse_ports, ())
    # Resources: None is no limit. The pids limit always has one unless -1 is asked for.
    cpus: float | None = _field("cpus", _parse_cpus, None, user_default=True)
    memory: str | None = _field("memory", _parse_memory, None, user_default=True,
                                blank_is_unset=True)
    pids_limit: int = _field("pidsLimit", _parse_pids_limit, DEFAULT_PIDS_LIMIT, user_default=True)
    gpus: str | None = _field("gpus", _parse_gpus, None, blank_is_unset=True)
    name: str | None = _field("name", parse_name, None, recorded=False,
                              blank_is_unset=True)

    @property
    def keeps_login(self) -> bool:
        """Whether the agent's login is kept in a credentials volume (shared or the workspace's)."""
        return self.credentials in ("sandbox", "isolated")

    @property
    def env_names(self) -> list[str]:
        return [item.split("=", 1)[0] for item in self.env]

    def to_json(self) -> dict[str, Any]:
        """The recorded form (labels, inspect): environment names only, never values."""
        return {f.key: _recorded_form(f, getattr(self, f.attr)) for f in FIELDS if f.recorded}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], name: str | None = None) -> SandboxConfig:
        # Berth 0.1 recorded env values too: they are dropped on reading, never shown again.
        return cls(**{f.attr: _from_recorded(f, data.get(f.key, f.default))
                      for f in FIELDS if f.recorded}, name=name)

    def with_env_values(self, container_env: Mapping[str, str]) -> SandboxConfig:
        """This recorded configuration with its variables' values, read from the container."""
        return replace(self, env=tuple(f"{k}={container_env[k]}" for k in self.env_names
                                       if k in container_env))


FIELDS: tuple[Field, ...] = tuple(Field(attr=f.name, default=f.default, **f.metadata["berth"])
                                  for f in dataclass_fields(SandboxConfig))
_BY_KEY = {f.key: f for f in FIELDS}


def _recorded_form(f: Field, value: Any) -> Any:
    """A value as recorded and compared: plain JSON, environment entries by name only."""
    if f.attr == "env":
        return [item.split("=", 1)[0] for item in value]
    return list(value) if isinstance(value, tuple) else value


def _from_recorded(f: Field, value: Any) -> Any:
    if f.attr == "env":
        return tuple(str(item).split("=", 1)[0] for item in value)
    if value is None or f.default is None:
        return value
    return type(f.default)(value)


@dataclass(frozen=True)
class ConfigRequest:
    """The configuration fields a caller explicitly asked for, validated, keyed by protocol name."""

    fields: Mapping[str, Any] = field(default_factory=dict)

    def over(self, base: ConfigRequest) -> ConfigRequest:
        """This request layered over `base`: fields given here win."""
        return ConfigRequest({**base.fields, **self.fields})

    def resolve(self, recorded: SandboxConfig | None = None) -> SandboxConfig:
        """The full configuration: requested fields over `recorded` (or the defaults)."""
        base = recorded or SandboxConfig()
        values = {f.attr: self.fields.get(f.key, getattr(base, f.attr)) for f in FIELDS}
        # The recorded template is the recorded agent's: another agent starts from its own.
        if "template" not in self.fields and (recorded is None or recorded.agent != values["agent"]):
            values["template"] = get_agent(values["agent"]).default_template
        return SandboxConfig(**values)

    def drift(self, recorded: SandboxConfig,
              container_env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Each explicitly requested field whose value differs from the recorded one.

        Environment values are compared with `container_env` (the container's own environment: the
        only place they are kept) and reported by name only, under `changed`.
        """
        out = []
        for f in FIELDS:
            if f.key not in self.fields or not f.drifts:
                continue
            want, have = self.fields[f.key], _recorded_form(f, getattr(recorded, f.attr))
            if f.key == "env":
                out += _env_drift(env_map(want), have, container_env or {})
                continue
            # Lists are sets here: the same volumes or hosts in another order are no change.
            same = sorted(want) == sorted(have) if isinstance(f.default, tuple) else want == have
            if not same:
                out.append({"field": f.key, "recorded": have,
                            "requested": _recorded_form(f, want)})
        return out


def _env_drift(want: dict[str, str], recorded: list[str],
               container_env: Mapping[str, str]) -> list[dict[str, Any]]:
    changed = sorted(k for k in want if k in recorded and container_env.get(k) != want[k])
    if set(want) == set(recorded) and not changed:
        return []
    return [{"field": "env", "recorded": sorted(recorded), "requested": sorted(want),
             "changed": changed}]


def env_map(entries: Any) -> dict[str, str]:
    """`KEY=VALUE` entries (a container's `Config.Env`) as a mapping; malformed ones are skipped."""
    return dict(e.split("=", 1) for e in entries or () if isinstance(e, str) and "=" in e)


def describe_drift(item: Mapping[str, Any]) -> str:
    """One drift entry for a person: environment variables by name, never by value."""
    if item["field"] == "env":
        rec, req = set(item["recorded"]), set(item["requested"])
        parts = [f"{k} (value changed)" for k in item.get("changed", [])]
        parts += [f"{k} (added)" for k in sorted(req - rec)]
        parts += [f"{k} (removed)" for k in sorted(rec - req)]
        return "env: " + ", ".join(parts)
    return (f"{item['field']}: recorded {json.dumps(item['recorded'])}, "
            f"requested {json.dumps(item['requested'])}")


def parse_request(raw: Mapping[str, Any], *, strict: bool = True,
                  ignore: tuple[str, ...] = ()) -> ConfigRequest:
    """Validate the configuration fields in `raw`.

    strict: any key that is not a configuration field (or in `ignore`) is an error, as for request
    params. Settings pass strict=False: editors send every `berth.*` setting, known or not.
    A null value means "not given", which is how editors send an unset setting.
    """
    if not isinstance(raw, Mapping):
        raise BadInput(f"Parameters must be a JSON object, got {_kind(raw)}.")
    given: dict[str, Any] = {}
    for key, value in raw.items():
        f = _BY_KEY.get(key)
        if f is not None:
            if value is None or (f.blank_is_unset and value == ""):
                continue
            given[key] = f.parse(value, key)
        elif strict and key not in ignore:
            raise BadInput(f"Unknown parameter {_short(key)!r}.", field=str(key)[:80])
    return ConfigRequest(given)


def parse_agent_args(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(a, str) for a in value):
        raise BadInput(f"'agentArgs' must be a list of strings, got {_kind(value)}.",
                       field="agentArgs")
    if any("\x00" in a for a in value):
        raise BadInput("'agentArgs' contains a NUL character.", field="agentArgs")
    return tuple(value)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    """A given value as a message quotes it: strings quoted, numbers and the rest as they are."""
    return repr(_short(value)) if isinstance(value, str) else _short(value)


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
