"""Recipes: what a template Berth builds holds, as data.

The built-in recipes are the TOML files in recipes/ (one shared base, one per agent). A user's config
file changes or extends them under [recipes.base] and [recipes.NAME] (berth.user_config keeps that
table as it was written; it is validated here): lists of packages are added to the built-in ones,
other fields replace them, and a recipe for an agent of the user's own is a new file's worth of
fields. Everything here is pure: no engine, no network.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from berth.errors import BadInput

# Debian package names (policy 5.6.1), npm package names (scoped or not), and versions as npm and
# the recipes write them. Everything here ends up in a Dockerfile's shell lines (quoted there too):
# nothing else passes. Matched whole (fullmatch): `$` alone would let a final newline through.
_APT_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]{1,62}")
NPM_PACKAGE = re.compile(r"(@[a-z0-9][a-z0-9._~-]{0,100}/)?[a-z0-9][a-z0-9._~-]{0,100}")
VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,30}")
_SUITE = re.compile(r"[a-z][a-z0-9-]{1,30}")
# http(s), a host and a path; no credentials (they would be kept in the image), no quotes or spaces.
URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/+@-]*)?")
IMAGE = re.compile(r"[a-z0-9][a-z0-9._/-]{0,200}(:[0-9]{1,5}/[a-z0-9._/-]+)?"
                   r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?")
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_PROGRAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


@dataclass(frozen=True)
class AgentRecipe:
    name: str
    binary: str
    # The npm package, or "" (the shell, or an agent whose packages come from the OS archive).
    npm: str = ""
    # A pinned version of the npm package; "" is its newest (`latest`).
    version: str = ""
    node: int = 0
    packages: tuple[str, ...] = ()
    source: str = "built-in"


@dataclass(frozen=True)
class BaseRecipe:
    image: str
    suite: str
    mirror: str
    packages: tuple[str, ...]
    node: str
    npm: str
    user: str
    uid: int
    # The npm registry agents and Node come from; "" is npm's own setting on this machine.
    npm_registry: str = ""
    # Whether the user's config set the mirror: only then are an official image's sources replaced.
    mirror_set: bool = False


@dataclass(frozen=True)
class Recipes:
    base: BaseRecipe
    agents: Mapping[str, AgentRecipe] = field(default_factory=dict)

    def agent(self, name: str) -> AgentRecipe:
        try:
            return self.agents[name]
        except KeyError:
            known = ", ".join(sorted(self.agents))
            raise BadInput(f"Berth has no recipe for the agent {name!r}; it builds templates for: "
                           f"{known} (add a recipe of your own under [recipes.{name}] in your "
                           "config file).", field="agents", value=name) from None


def built_in() -> Recipes:
    folder = resources.files("berth.builds") / "recipes"
    base_data = tomllib.loads((folder / "base.toml").read_text())
    agents = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".toml") and item.name != "base.toml":
            name = item.name.removesuffix(".toml")
            agents[name] = _agent(name, tomllib.loads(item.read_text()), None, "built-in")
    return Recipes(_base(base_data), agents)


def merged(user: Mapping[str, Any] | None, path: str = "config") -> Recipes:
    """The built-in recipes changed by a user's [recipes] table (as parsed from their TOML)."""
    recipes = built_in()
    if not user:
        return recipes
    if not isinstance(user, Mapping):
        raise _error(path, ["recipes"], "must be a table of recipes ([recipes.NAME])")
    base = recipes.base
    agents = dict(recipes.agents)
    for name, spec in user.items():
        if not isinstance(spec, Mapping):
            raise _error(path, ["recipes", name], "must be a table")
        if name == "base":
            base = _user_base(base, spec, path)
        else:
            if not _NAME.fullmatch(name):
                raise _error(path, ["recipes", name], "a recipe's name must be lower-case letters, "
                                                      "digits, '-' or '_'")
            agents[name] = _agent(name, spec, agents.get(name), path)
    return Recipes(base, agents)


def parse_agent_specs(specs: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """`claude`, `codex@0.171.0` as (name, pinned version or ""), in order, each once."""
    out: list[tuple[str, str]] = []
    for spec in specs:
        if not isinstance(spec, str):
            raise BadInput(f"An agent must be a name like 'claude' or 'claude@2.1.0', got {spec!r}.",
                           field="agents")
        name, at, version = spec.strip().partition("@")
        if not _NAME.fullmatch(name) or (at and not VERSION.fullmatch(version)):
            raise BadInput(f"{spec!r} is not an agent name with an optional @version "
                           "(like 'claude' or 'claude@2.1.0').", field="agents", value=spec[:80])
        if any(n == name for n, _ in out):
            raise BadInput(f"The agent {name!r} is named twice.", field="agents", value=name)
        out.append((name, version))
    return out


# -- parsing ---------------------------------------------------------------------------------------


def _base(data: Mapping[str, Any]) -> BaseRecipe:
    os_, node, user = data["os"], data["node"], data["user"]
    return BaseRecipe(image=os_["image"], suite=os_["suite"], mirror=os_["mirror"],
                      packages=tuple(os_["packages"]), node=str(node["version"]),
                      npm=str(node["npm"]), user=user["name"], uid=int(user["uid"]))


# The user's keys, their attributes, and what each may hold.
_BASE_FIELDS = {"image": ("image", IMAGE), "suite": ("suite", _SUITE),
                "mirror": ("mirror", URL), "node": ("node", VERSION), "npm": ("npm", VERSION),
                "user": ("user", _USER), "npmRegistry": ("npm_registry", URL)}


def _user_base(base: BaseRecipe, spec: Mapping[str, Any], path: str) -> BaseRecipe:
    at = ["recipes", "base"]
    changes: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "packages":
            changes["packages"] = base.packages + _packages(value, path, [*at, key])
        elif key == "uid":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value < 65535:
                raise _error(path, [*at, key], "must be a number from 1 to 65534")
            changes["uid"] = value
        elif key in _BASE_FIELDS:
            attr, pattern = _BASE_FIELDS[key]
            changes[attr] = _string(value, pattern, path, [*at, key])
            if key == "mirror":
                changes["mirror_set"] = True
        else:
            known = ", ".join(sorted([*_BASE_FIELDS, "packages", "uid"]))
            raise _error(path, [*at, key], f"unknown field {key!r}; expected one of: {known}")
    return replace(base, **changes)


_AGENT_FIELDS = ("binary", "npm", "version", "node", "packages")


def _agent(name: str, spec: Mapping[str, Any], base: AgentRecipe | None,
           path: str) -> AgentRecipe:
    at = ["recipes", name]
    for key in spec:
        if key not in _AGENT_FIELDS:
            raise _error(path, [*at, key], f"unknown field {key!r}; expected one of: "
                                           f"{', '.join(_AGENT_FIELDS)}")
    if base is None and "binary" not in spec:
        raise _error(path, at, "a new recipe needs 'binary' (the agent's program)")
    recipe = base or AgentRecipe(name=name, binary="")
    changes: dict[str, Any] = {"source": path}
    for key, value in spec.items():
        here = [*at, key]
        if key == "binary":
            changes["binary"] = _string(value, _PROGRAM, path, here) if value != "" else ""
        elif key == "npm":
            changes["npm"] = _string(value, NPM_PACKAGE, path, here) if value else ""
        elif key == "version":
            changes["version"] = _string(value, VERSION, path, here) if value else ""
        elif key == "node":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1000:
                raise _error(path, here, "must be a Node major version, like 20")
            changes["node"] = value
        elif key == "packages":
            # The user's packages come on top of the recipe's own.
            prior = recipe.packages if base is not None and path != "built-in" else ()
            changes["packages"] = prior + _packages(value, path, here)
    return replace(recipe, **changes)


def _packages(value: Any, path: str, at: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _error(path, at, "must be a list of package names")
    bad = [v for v in value if not _APT_PACKAGE.fullmatch(v)]
    if bad:
        raise _error(path, at, f"{bad[0][:80]!r} is not a Debian package name")
    return tuple(value)


def _string(value: Any, pattern: re.Pattern[str], path: str, at: list[str]) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _error(path, at, f"{str(value)[:80]!r} is not allowed here")
    return value


def _error(path: str, keys: list[str], problem: str) -> BadInput:
    return BadInput(f"{path}: {'.'.join(keys)}: {problem}.", field="config")
