"""A template build, planned: the Dockerfile, its build arguments, its context and its labels.

Pure: the versions come resolved (builds.registry) and the base chosen (engine.template_build), so
the same inputs always give the same Dockerfile and the same key. The key is what `berth template
build` compares with the key of the image already tagged: equal keys mean nothing changed and nothing
is built.
"""

from __future__ import annotations

import hashlib
import io
import json
import shlex
import tarfile
from dataclasses import dataclass, field

from berth.builds.recipe import AgentRecipe, BaseRecipe

REPOSITORY = "berth.local/template"
BASE_REPOSITORY = "berth.local/base"

# Labels on a template Berth built (never secrets: names, versions, a date).
LABEL_PREFIX = "dev.berth.template."
AGENTS = LABEL_PREFIX + "agents"          # claude,codex
VERSIONS = LABEL_PREFIX + "versions"      # {"claude": "2.1.332", "node": "24.21.0", ...}
PINS = LABEL_PREFIX + "pins"              # {"claude": "2.1.300"}: versions asked for, kept by update
BASE = LABEL_PREFIX + "base"              # the image the build started from
BASE_SOURCE = LABEL_PREFIX + "base-source"  # named | official | debootstrap
BUILT = LABEL_PREFIX + "built"            # UTC, ISO 8601
KEY = LABEL_PREFIX + "key"                # the plan's key
# The tag it was built for: an image is Berth's template only under that tag (an image built FROM
# one inherits every label, and must not pass for it).
TAG = LABEL_PREFIX + "tag"
HOST_CERTIFICATES = LABEL_PREFIX + "host-certificates"  # true: built trusting this machine's CAs
# On a base Berth made with debootstrap.
BASE_MARKER = "dev.berth.base"


@dataclass(frozen=True)
class Download:
    """A tarball from the npm registry, with the integrity the registry states for it."""

    url: str
    sha512: str  # hex; required (builds.registry.tarball)


@dataclass(frozen=True)
class Resolved:
    """What the registry said the build installs."""

    registry: str
    versions: dict[str, str] = field(default_factory=dict)   # agent name -> npm version
    node: str = ""
    npm: str = ""
    node_tarball: Download | None = None
    npm_tarball: Download | None = None


@dataclass(frozen=True)
class Plan:
    tag: str
    agents: tuple[str, ...]
    base: str
    base_id: str
    base_source: str
    dockerfile: str
    # One human name per Dockerfile instruction: the legacy builder reports "Step N/M", and a failed
    # step is named to the user by this.
    steps: tuple[str, ...]
    labels: dict[str, str]
    certificates: bytes | None
    key: str

    def context(self) -> bytes:
        """The build context, as the tar the engine's build endpoint takes."""
        files = {"Dockerfile": self.dockerfile.encode()}
        if self.certificates is not None:
            files["certs/berth-host-ca.crt"] = self.certificates
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as tar:
            for name, data in sorted(files.items()):
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        return out.getvalue()


def default_tag(agents: list[str] | tuple[str, ...]) -> str:
    return f"{REPOSITORY}:{'-'.join(sorted(agents))}"


def make(*, tag: str, base: BaseRecipe, agents: list[AgentRecipe], resolved: Resolved,
         base_image: str, base_id: str, base_source: str, pins: dict[str, str],
         certificates: bytes | None, built: str) -> Plan:
    steps: list[tuple[str, str]] = []

    def add(instruction: str, name: str) -> None:
        steps.append((instruction, name))

    add(f"FROM {base_image}", f"starting from the base {base_image}")
    add("ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
        "setting the environment")
    if certificates is not None:
        add("COPY certs/ /usr/local/share/ca-certificates/",
            "copying this machine's CA certificates")
    packages = sorted(set(base.packages).union(*(a.packages for a in agents)))
    add("RUN " + _os_packages(base, packages),
        f"installing OS packages with apt-get ({' '.join(packages)})")
    npm_agents = [a for a in agents if a.npm]
    if npm_agents:
        assert resolved.node_tarball and resolved.npm_tarball
        add("RUN " + _node(resolved), f"installing Node {resolved.node} and npm {resolved.npm} "
                                      f"from {resolved.registry}")
        add("ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
            "setting the environment")
        specs = [f"{a.npm}@{resolved.versions[a.name]}" for a in npm_agents]
        add("RUN " + _agents(resolved.registry, specs, [a.binary for a in npm_agents if a.binary]),
            f"installing the agents (npm install -g {' '.join(specs)})")
    add("RUN " + _user(base), f"adding the user {base.user} (uid {base.uid}) with sudo")
    add(f"USER {base.user}", "setting the user")
    add(f"WORKDIR /home/{base.user}", "setting the working directory")
    add(f"ENV HOME=/home/{base.user}", "setting the environment")
    add('CMD ["/bin/bash"]', "setting the command")
    dockerfile = ("# Written by `berth template build`: the recipes are in berth/builds/recipes.\n"
                  + "\n".join(i for i, _ in steps) + "\n")
    names = tuple(n for _, n in steps)
    versions = dict(resolved.versions)
    if npm_agents:
        versions.update(node=resolved.node, npm=resolved.npm)
    digest = hashlib.sha256()
    for part in (dockerfile, base_id, json.dumps(versions, sort_keys=True),
                 json.dumps(sorted(pins.items()))):
        digest.update(part.encode() + b"\0")
    if certificates is not None:
        digest.update(hashlib.sha256(certificates).digest())
    key = digest.hexdigest()[:24]
    labels = {
        AGENTS: ",".join(a.name for a in agents),
        VERSIONS: json.dumps(versions, sort_keys=True, separators=(",", ":")),
        PINS: json.dumps(pins, sort_keys=True, separators=(",", ":")),
        BASE: base_image,
        BASE_SOURCE: base_source,
        BUILT: built,
        KEY: key,
        TAG: tag,
        HOST_CERTIFICATES: "true" if certificates is not None else "false",
    }
    return Plan(tag=tag, agents=tuple(a.name for a in agents), base=base_image, base_id=base_id,
                base_source=base_source, dockerfile=dockerfile, steps=names, labels=labels,
                certificates=certificates, key=key)


def _os_packages(base: BaseRecipe, packages: list[str]) -> str:
    sources = ""
    if base.mirror_set:
        # The user's mirror replaces the base image's own sources (a corporate or local archive).
        line = shlex.quote(f"deb {base.mirror} {base.suite} main")
        sources = f"rm -f /etc/apt/sources.list.d/*; echo {line} > /etc/apt/sources.list; "
    return (
        "set -eu; "
        "command -v apt-get >/dev/null || { echo 'berth: the base has no apt-get: Berth builds "
        "templates on Debian or Ubuntu bases' >&2; exit 1; }; "
        + sources +
        "apt-get update -q; "
        # apt-get update succeeds even when it reached no archive: say so here, plainly.
        "ls /var/lib/apt/lists/*Packages* >/dev/null 2>&1 || { echo 'berth: apt-get update "
        "reached no package archive (the lines above say why)' >&2; exit 100; }; "
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
        + " ".join(map(shlex.quote, packages)) + "; "
        "update-ca-certificates >/dev/null; "
        "apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin")


def _node(resolved: Resolved) -> str:
    node, npm = resolved.node_tarball, resolved.npm_tarball
    assert node and npm
    q = shlex.quote
    return (
        "set -eu; mkdir -p /tmp/berth-node; cd /tmp/berth-node; "
        f"curl -fsSL --retry 2 -o node.tgz {q(node.url)}; "
        f"curl -fsSL --retry 2 -o npm.tgz {q(npm.url)}; "
        f"echo {q(node.sha512 + '  node.tgz')} | sha512sum -c --quiet; "
        f"echo {q(npm.sha512 + '  npm.tgz')} | sha512sum -c --quiet; "
        "tar -xzf node.tgz; install -m 0755 package/bin/node /usr/local/bin/node; "
        "mkdir -p /usr/local/lib/node_modules/npm; "
        "tar -xzf npm.tgz -C /usr/local/lib/node_modules/npm --strip-components=1 "
        "--no-same-owner; "
        "ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; "
        "ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx; "
        "cd /; rm -rf /tmp/berth-node; "
        "npm config set -g cafile /etc/ssl/certs/ca-certificates.crt; "
        f"npm config set -g registry {q(resolved.registry)}; "
        "npm config set -g fund false; npm config set -g audit false; "
        "npm config set -g update-notifier false; "
        f"test \"$(node --version)\" = {q('v' + resolved.node)}; "
        f"test \"$(npm --version)\" = {q(resolved.npm)}")


def _agents(registry: str, specs: list[str], binaries: list[str]) -> str:
    q = shlex.quote
    found = "".join(f"command -v {q(b)} >/dev/null || {{ echo {q('berth: npm installed no ' + b)} "
                    ">&2; exit 1; }; " for b in binaries)
    return (f"set -eu; npm install -g --no-fund --no-audit --registry={q(registry)} "
            + " ".join(map(q, specs)) + "; "
            "npm cache clean --force >/dev/null 2>&1; rm -rf /root/.npm /tmp/*; " + found.rstrip())


def _user(base: BaseRecipe) -> str:
    user, uid = shlex.quote(base.user), int(base.uid)
    # Some bases already have a user or group with this uid (ubuntu, node): it makes way, so that
    # the agent's files are owned as Berth's uid mapping expects.
    return (
        "set -eu; "
        f"other=$(getent passwd {uid} | cut -d: -f1 || true); "
        f"if [ -n \"$other\" ] && [ \"$other\" != {user} ]; then userdel -r \"$other\" "
        "2>/dev/null || userdel \"$other\"; fi; "
        f"group=$(getent group {uid} | cut -d: -f1 || true); "
        f"if [ -n \"$group\" ] && [ \"$group\" != {user} ]; then groupdel \"$group\"; fi; "
        f"getent group {user} >/dev/null || groupadd -g {uid} {user}; "
        f"id -u {user} >/dev/null 2>&1 || useradd -m -u {uid} -g {uid} -d /home/{user} "
        f"-s /bin/bash {user}; "
        f"echo {shlex.quote(base.user + ' ALL=(ALL) NOPASSWD:ALL')} > /etc/sudoers.d/{user}; "
        f"chmod 0440 /etc/sudoers.d/{user}")
