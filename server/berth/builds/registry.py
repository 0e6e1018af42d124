"""Which versions a build installs: asked of the npm registry before the build starts.

Resolving here, not with `@latest` inside the build, is what makes builds repeatable and cheap: the
exact versions are build arguments, so the engine's cache is reused while nothing changed, and a new
release is a new build (`berth template update`). A package that does not exist fails here, naming
it, before anything is built.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from berth.builds.recipe import URL, VERSION
from berth.errors import BadInput, TemplateProblem

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
_TIMEOUT = 30
_ABBREVIATED = "application/vnd.npm.install-v1+json"
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def npm_registry(configured: str = "") -> str:
    """The registry: the recipe's, else npm's own setting for this user (never a project's .npmrc:
    the folder Berth runs in may be a cloned repository), else npmjs.org. Checked: it ends up in the
    build's shell lines and the template's npm config."""
    if configured:
        return _checked(configured, "[recipes.base] npmRegistry")
    env = os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY")  # noqa: SIM112
    if env:
        return _checked(env, "npm_config_registry")
    npm = shutil.which("npm")
    if npm:
        try:
            out = subprocess.run([npm, "config", "get", "registry", "--location=user"],
                                 capture_output=True, text=True, timeout=15, check=False,
                                 cwd=os.path.expanduser("~")).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        if out.startswith(("http://", "https://")):
            return _checked(out, "npm's registry setting (npm config get registry)")
    return DEFAULT_REGISTRY


def _checked(url: str, where: str) -> str:
    url = url.strip().rstrip("/") + "/"
    if not URL.fullmatch(url.rstrip("/")) and not URL.fullmatch(url):
        raise BadInput(f"The npm registry {url[:200]!r} from {where} is not a plain http(s) URL "
                       "(no credentials, quotes or spaces; npm's own login is not needed for a "
                       "public mirror).", field="npmRegistry", value=url[:200])
    return url


def package_version(registry: str, package: str, wanted: str, step: str) -> str:
    """The exact version of `package` to install: `wanted` when it exists, else its newest."""
    tag = wanted or "latest"
    doc = _get(registry, f"{_quote(package)}/{urllib.parse.quote(tag, safe='')}", step,
               f"{package}@{tag}")
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        raise TemplateProblem(f"{step}: the npm registry {registry} gave no usable version for "
                              f"{package}@{tag}.", step=step, value=f"{package}@{tag}")
    return version


def tarball(registry: str, package: str, version: str, step: str) -> tuple[str, str]:
    """The URL of `package@version`'s tarball and its sha512 (hex), as the registry states them.
    Required: Berth downloads these itself (npm checks what it installs on its own)."""
    what = f"{package}@{version}"
    doc = _get(registry, f"{_quote(package)}/{urllib.parse.quote(version, safe='')}", step, what)
    dist = doc.get("dist") if isinstance(doc, dict) else None
    url = dist.get("tarball") if isinstance(dist, dict) else None
    # https, unless the registry itself is plain http (a local mirror).
    secure = url.startswith("https://") if isinstance(url, str) else False
    if not isinstance(url, str) or not URL.fullmatch(url) or not (
            secure or registry.startswith("http://")):
        raise TemplateProblem(f"{step}: the npm registry {registry} gave no usable tarball URL "
                              f"for {what}.", step=step, value=what)
    integrity = dist.get("integrity") if isinstance(dist, dict) else None
    digest = sha512_hex(integrity) if isinstance(integrity, str) else ""
    if not digest:
        raise TemplateProblem(f"{step}: the npm registry {registry} states no sha512 for {what}, "
                              "so its download could not be checked.", step=step, value=what)
    return url, digest


def sha512_hex(integrity: str) -> str:
    """npm's `sha512-<base64>` (one of several space-separated) as hex; "" when none is valid."""
    for item in integrity.split():
        algo, _, digest = item.partition("-")
        if algo != "sha512":
            continue
        try:
            raw = base64.b64decode(digest, validate=True)
        except ValueError:
            continue
        if len(raw) == 64:
            return raw.hex()
    return ""


def newest_of_line(registry: str, package: str, line: str, step: str) -> str:
    """The newest release of `package` whose version starts with `line` (`24`, `24.21`, or exact)."""
    doc = _get(registry, _quote(package), step, package, accept=_ABBREVIATED)
    versions = doc.get("versions") if isinstance(doc, dict) else None
    prefix = line.split(".")
    best: tuple[int, int, int] | None = None
    for version in versions or {}:
        m = _SEMVER.fullmatch(version)
        if m and version.split(".")[:len(prefix)] == prefix:
            key = (int(m[1]), int(m[2]), int(m[3]))
            best = key if best is None or key > best else best
    if best is None:
        raise TemplateProblem(f"{step}: the npm registry {registry} has no release {line} of "
                              f"{package}.", step=step, value=f"{package}@{line}")
    return ".".join(map(str, best))


def _quote(package: str) -> str:
    # Scoped names keep their @ and have the slash escaped, as npm's own client asks.
    return urllib.parse.quote(package, safe="@")


def _get(registry: str, path: str, step: str, what: str, accept: str = "application/json") -> Any:
    url = registry + path
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "berth"})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT, context=_tls()) as answer:
            return json.loads(answer.read(64 * 1024 * 1024))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise TemplateProblem(f"{step}: the npm registry {registry} has no package or version "
                                  f"{what}.", step=step, value=what) from None
        raise TemplateProblem(f"{step}: the npm registry {registry} answered {exc.code} "
                              f"{exc.reason} for {what}.", step=step, value=what) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TemplateProblem(f"{step}: cannot reach the npm registry {registry} ({reason}). "
                              "Set the registry in your config file ([recipes.base] npmRegistry) "
                              "or npm's own (`npm config set registry URL`).",
                              step=step, value=registry) from None


def _tls() -> ssl.SSLContext:
    """This machine's trust, with the CA file Node is told of (a proxy's CA is often only there)."""
    context = ssl.create_default_context()
    for var in ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"):
        path = os.environ.get(var)
        if path and os.path.isfile(path):
            with contextlib.suppress(ssl.SSLError, OSError):
                context.load_verify_locations(cafile=path)
    return context
