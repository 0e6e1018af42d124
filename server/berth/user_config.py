"""The user's own config file: their agents and their defaults.

`$XDG_CONFIG_HOME/berth/config.toml` (else `~/.config/berth/config.toml`). It is input, never state:
Berth only reads it. It lies outside every workspace, so a sandbox cannot write it, and what it says is
trusted like a CLI flag. Read again whenever it changes, so the CLI, the server and every editor see the
same agents.

    [defaults]                  # the configuration fields every sandbox starts from
    agent = "codex"
    credentials = "sandbox"
    hostCertificates = true

    [agents.claude]             # change a built-in agent: only the fields given
    template = "registry.example.com/claude:2"

    [recipes.base]              # what `berth template build` puts in every template (builds/)
    packages = ["postgresql-client"]

    [recipes.claude]            # pin an agent's version in the templates Berth builds
    version = "2.1.332"

    [agents.aider]              # or add one
    binary = "aider"
    template = "my/aider:latest"
    args = ["--yes-always"]
    state = ["~/.aider"]
    keys = ["OPENAI_API_KEY"]
"""

from __future__ import annotations

import os
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from berth.agents import BUILT_IN, Agent
from berth.builds import recipe
from berth.errors import BadInput

_AGENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,30}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class UserConfig:
    path: str | None
    agents: dict[str, Agent]
    # Validated configuration fields (protocol names), the bottom layer under settings and flags.
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # The template recipes: the built-in ones with the user's [recipes] over them.
    recipes: recipe.Recipes = field(default_factory=recipe.built_in)


def config_path() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "berth", "config.toml")


_cache: dict[str, tuple[tuple[int, int], UserConfig]] = {}
_DEFAULT = UserConfig(None, dict(BUILT_IN))
_lock = threading.Lock()


def load() -> UserConfig:
    """The merged configuration; a missing file is no error. Re-read when the file changes."""
    path = config_path()
    try:
        st = os.stat(path)
    except OSError:
        return _DEFAULT
    stamp = (st.st_mtime_ns, st.st_size)
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise BadInput(f"Cannot read {path}: {exc.strerror}.", field="config") from None
    parsed = parse(data.decode("utf-8", "replace"), path)
    with _lock:
        _cache[path] = (stamp, parsed)
    return parsed


def parse(text: str, path: str) -> UserConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: {exc}.", field="config") from None
    where = _Locator(text, path)
    for key in data:
        if key not in ("defaults", "agents", "recipes"):
            raise where.error([key], f"unknown section {key!r}; expected [defaults], "
                                     "[agents.NAME] or [recipes.NAME]")
    agents = dict(BUILT_IN)
    raw_agents = data.get("agents", {})
    if not isinstance(raw_agents, dict):
        raise where.error(["agents"], "must be a table of agents ([agents.NAME])")
    for name, spec in raw_agents.items():
        agents[name] = _agent(name, spec, agents.get(name), where)
    defaults = _defaults(data.get("defaults", {}), agents, where)
    try:
        recipes = recipe.merged(data.get("recipes"), path)
    except BadInput as exc:
        # Name the line, as for the other sections: the message's first part is `path: keys`.
        keys = exc.message.removeprefix(f"{path}: ").split(":", 1)[0].split(".")
        raise where.error(keys, exc.message.split(": ", 2)[-1].rstrip(".")) from None
    return UserConfig(path, agents, defaults, recipes)


def _agent(name: str, spec: Any, base: Agent | None, where: _Locator) -> Agent:
    at = ["agents", name]
    if not _AGENT_NAME.match(name):
        raise where.error(at, f"agent name {name!r} must be lower-case letters, digits, '-' or '_'")
    if not isinstance(spec, dict):
        raise where.error(at, "must be a table")
    known = {"title", "binary", "template", "args", "state", "env", "keys"}
    for key in spec:
        if key not in known:
            raise where.error([*at, key], f"unknown field {key!r}; expected one of: "
                                          f"{', '.join(sorted(known))}")
    if base is None:
        for required in ("binary", "template"):
            if required not in spec:
                raise where.error(at, f"a new agent needs '{required}'")
    changes: dict[str, Any] = {"source": where.path}
    for key, value in spec.items():
        here = [*at, key]
        if key in ("title", "binary", "template"):
            if not isinstance(value, str) or not value.strip() or "\x00" in value:
                raise where.error(here, "must be a non-empty string")
            changes[{"template": "default_template"}.get(key, key)] = value.strip()
        elif key in ("args", "keys"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise where.error(here, "must be a list of strings")
            if key == "keys" and (bad := [v for v in value if not _ENV_NAME.match(v)]):
                raise where.error(here, f"{bad[0]!r} is not a variable name")
            changes["default_args" if key == "args" else "keys"] = tuple(value)
        elif key == "state":
            changes["state"] = _state_paths(value, here, where)
        elif key == "env":
            if not isinstance(value, dict) or not all(
                    isinstance(v, str) and _ENV_NAME.match(k) for k, v in value.items()):
                raise where.error(here, "must be a table of VARIABLE = \"value\" strings")
            changes["env"] = tuple(value.items())
    if base is None:
        base = Agent(name=name, title=name, binary="", default_template="", default_args=())
    return replace(base, **changes)


def _state_paths(value: Any, here: list[str], where: _Locator) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(here, "must be a list of paths in the agent's home, like \"~/.aider\"")
    out = []
    for item in value:
        rel = item[2:] if item.startswith("~/") else item
        parts = rel.split("/")
        if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise where.error(here, f"{item!r} must be a folder inside the home, like \"~/.aider\"")
        out.append(rel)
    return tuple(out)


def _defaults(raw: Any, agents: dict[str, Agent], where: _Locator) -> dict[str, Any]:
    from berth.config import FIELDS, parse_request

    if not isinstance(raw, dict):
        raise where.error(["defaults"], "must be a table")
    allowed = [f.key for f in FIELDS if f.user_default]
    for key in raw:
        if key not in allowed:
            raise where.error(["defaults", key], f"unknown field {key!r}; expected one of: "
                                                 f"{', '.join(allowed)}")
    if "agent" in raw and raw["agent"] not in agents:
        raise where.error(["defaults", "agent"], f"unknown agent {raw['agent']!r}; expected one "
                                                 f"of: {', '.join(sorted(agents))}")
    checked = {k: v for k, v in raw.items() if k != "agent"}
    try:
        fields = dict(parse_request(checked).fields)
    except BadInput as exc:
        raise where.error(["defaults", str(exc.data.get("field", ""))], exc.message) from None
    if "agent" in raw:
        fields["agent"] = raw["agent"]
    return fields


class _Locator:
    """Names the line of a table or key, for errors that point the user at it."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self._lines = text.splitlines()

    def error(self, keys: list[str], problem: str) -> BadInput:
        line = self._line(keys)
        at = f", line {line}" if line else ""
        return BadInput(f"{self.path}{at}: {'.'.join(keys)}: {problem}.", field="config")

    def _line(self, keys: list[str]) -> int | None:
        header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(
            rf"(?:{re.escape(k)}|\"{re.escape(k)}\")" for k in keys[:-1]) + r"\s*\]") if len(
            keys) > 1 else None
        key = re.compile(rf"^\s*(?:{re.escape(keys[-1])}|\"{re.escape(keys[-1])}\")\s*=")
        table = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(
            rf"(?:{re.escape(k)}|\"{re.escape(k)}\")" for k in keys) + r"\s*\]")
        inside = header is None
        for n, line in enumerate(self._lines, 1):
            if table.match(line):
                return n
            if header is not None and header.match(line):
                inside = True
                continue
            if inside and line.lstrip().startswith("["):
                inside = header is None
            if inside and key.match(line):
                return n
        return None
