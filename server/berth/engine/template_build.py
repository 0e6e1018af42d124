"""Building templates on the engine: the base, the build, the check, the tag; and finding them.

A build names each step it takes; a failed step is named in the error with the end of its output,
and leaves nothing tagged: the image is built untagged, checked by running each agent's binary, and
only then given its tag (an older image of that tag stays until then). An up-to-date template (same
key: same recipe, base and versions) is not built again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shlex
import socket
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from berth import host_trust, labels
from berth.builds import debootstrap, plan, registry
from berth.builds.built import BuiltTemplate, from_labels
from berth.builds.recipe import IMAGE, AgentRecipe, Recipes, parse_agent_specs
from berth.engine.connection import call, image_or_none, pull, translated
from berth.engine.sessions import engine_arch
from berth.engine.templates import Progress, ensure_image
from berth.errors import BadInput, EngineError, NotFound, TemplateProblem
from berth.sessions import plain_text

if TYPE_CHECKING:
    import docker

# The engine's architecture (Go's names, as `docker version` says them; uname's too) -> the npm
# package carrying Node for it.
_NODE_ARCH = {"amd64": "x64", "x86_64": "x64", "arm64": "arm64", "aarch64": "arm64",
              "ppc64le": "ppc64", "s390x": "s390x"}
_STEP_LINE = re.compile(r"^Step (\d+)/(\d+) : ")
# A build step may print nothing for minutes (npm); the engine is asked again only after this long.
_BUILD_READ_TIMEOUT = 1800.0
# Each agent's --version, run offline in the new image, must answer within this.
_CHECK_SECONDS = 60


class Cancel:
    """Set from another thread to end a build: shuts its connection down, which ends it on the
    engine. Never blocks: a build step may send nothing for minutes, and a plain close would wait
    for its next byte (the reader holds the response's lock)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._closers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def set(self) -> None:
        self._event.set()
        with self._lock:
            closers = list(self._closers)
        for close in closers:
            close()

    def is_set(self) -> bool:
        return self._event.is_set()

    def on_set(self, close: Callable[[], None]) -> None:
        with self._lock:
            self._closers.append(close)
        if self._event.is_set():
            close()


def build(api: docker.APIClient, recipes: Recipes, agent_specs: list[str], *,
          tag: str | None = None, base: str | None = None, host_certificates: bool,
          pins: dict[str, str] | None = None, progress: Progress,
          cancel: Cancel | None = None, no_cache: bool = False) -> BuiltTemplate:
    """Build (or find up to date) a template holding these agents; its description. `no_cache`
    builds every step again, even when the template is up to date (the base is kept)."""
    cancel = cancel or Cancel()
    wanted = parse_agent_specs(agent_specs)
    if not wanted:
        raise BadInput("Name at least one agent to build a template for (like 'claude').",
                       field="agents")
    chosen = [recipes.agent(name) for name, _ in wanted]
    # Pins asked for here are recorded (update keeps them); a recipe's own version is read again
    # at each build, so removing it from the config file unpins.
    pins = {**(pins or {}), **{name: v for name, v in wanted if v}}
    tag = tag or plan.default_tag([name for name, _ in wanted])
    _check_tag(tag)
    arch = engine_arch(api)
    certificates = _certificates() if host_certificates else None

    resolved = resolve(recipes, chosen, pins, arch, progress)
    _stop_if(cancel)
    base_image, base_id, base_source = _base(api, recipes, base, arch, progress, cancel)
    _stop_if(cancel)
    built = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    the_plan = plan.make(tag=tag, base=recipes.base, agents=chosen, resolved=resolved,
                         base_image=base_image, base_id=base_id, base_source=base_source,
                         pins=pins, certificates=certificates, built=built)
    current = _template(api, tag)
    if current is not None and current.key == the_plan.key and not no_cache:
        progress("building", f"{tag} is up to date: {current.describe()}")
        return dataclasses.replace(current, up_to_date=True)

    image_id = _build(api, the_plan, progress, cancel, host_certificates, no_cache)
    previous = current.id if current is not None else ""
    try:
        _stop_if(cancel)
        _check(api, image_id, chosen, the_plan, progress)
        _stop_if(cancel)
        repo, _, version = tag.rpartition(":")
        call(f"Tagging {tag}", api.tag, image_id, repo, version, force=True)
    except BaseException:
        _drop(api, image_id)
        raise
    found = _template(api, tag)
    if found is None:
        raise EngineError(f"{tag} was built but the engine does not list it.", value=tag)
    if previous and previous != found.id:
        _drop(api, previous)  # the image it replaces, unless a sandbox still uses it
    progress("building", f"Built {tag}: {found.describe()}")
    return found


def templates(api: docker.APIClient) -> list[BuiltTemplate]:
    """Every template Berth built on this engine, newest first (one per tag)."""
    with translated("Listing templates"):
        images = api.images(filters={"label": plan.AGENTS})
    out = []
    for image in images:
        for tag in image.get("RepoTags") or []:
            found = from_labels(tag, image.get("Id", ""), image.get("Labels"),
                                int(image.get("Size") or 0), float(image.get("Created") or 0))
            if found is not None:
                out.append(found)
    return sorted(out, key=lambda t: (t.created, t.tag), reverse=True)


def for_agent(api: docker.APIClient, agent: str) -> str | None:
    """The tag of a template Berth built holding `agent`, under Berth's own repository (never one a
    user tagged as theirs): its own one if any, else the newest."""
    held = [t for t in templates(api) if agent in t.agents
            and t.tag.startswith(plan.REPOSITORY + ":")]
    own = plan.default_tag([agent])
    for t in held:
        if t.tag == own:
            return t.tag
    return held[0].tag if held else None


def node_package(arch: str) -> str:
    """The npm package carrying Node for an engine of this architecture."""
    return f"node-linux-{_NODE_ARCH.get(arch, arch)}"


def own_template(api: docker.APIClient, agent: str, recipes: Recipes) -> str:
    """templateSource `berth`: the template Berth built holding `agent`; when there is none, the
    error offers the build (when Berth has a recipe for it)."""
    built = for_agent(api, agent)
    if built is not None:
        return built
    if agent in recipes.agents:
        raise TemplateProblem(
            f"Berth has built no template for {agent} on this engine, and templateSource is "
            f"'berth'. Build one with: berth template build {agent}", value=agent, build=[agent])
    raise TemplateProblem(
        f"Berth has built no template for {agent} on this engine (templateSource is 'berth'), and "
        f"has no recipe to build one: add [recipes.{agent}] to your config file, or set a "
        "template.", value=agent)


def pull_or_fallback(api: docker.APIClient, image: str, agent: str, recipes: Recipes,
                     progress: Progress) -> str:
    """The template to use for `image`, the default of `agent` that the engine lacks: `image`
    pulled; else, when it cannot be pulled, a template Berth built holding the agent; else the
    error offers the build (its data's `build` names the agents, for clients to offer a button).
    A template the user set for a built-in agent ([agents.NAME] template) is never replaced."""
    from berth.agents import BUILT_IN

    try:
        ensure_image(api, image, progress)
        return image
    except TemplateProblem as exc:
        builtin = BUILT_IN.get(agent)
        if builtin is not None and image != builtin.default_template:
            raise
        built = for_agent(api, agent)
        if built is not None:
            progress("creating", f"{image} cannot be pulled: using {built}, which Berth built")
            return built
        if agent not in recipes.agents:
            raise
        raise TemplateProblem(
            f"{exc.message.rstrip('.')}.\nBerth can build a template for {agent} itself, from an "
            f"OS package archive and npm, with no container registry: berth template build {agent}",
            value=image, build=[agent]) from None


def update(api: docker.APIClient, recipes: Recipes, tags: list[str], *,
           host_certificates: bool | None = None, progress: Progress,
           cancel: Cancel | None = None) -> list[tuple[BuiltTemplate, BuiltTemplate]]:
    """Rebuild templates Berth built (the named ones, else all) with their agents' current versions
    (pinned ones stay), trusting this machine's CAs as each was built unless `host_certificates`
    says otherwise; each as (before, after)."""
    have = {t.tag: t for t in templates(api)}
    for tag in tags:
        if tag not in have:
            raise NotFound(f"{tag!r} is not a template Berth built (`berth template ls`).",
                           value=tag)
    chosen = [have[t] for t in tags] if tags else list(have.values())
    if not chosen:
        raise NotFound("Berth has built no template on this engine yet "
                       "(`berth template build AGENT`).")
    out = []
    for old in chosen:
        progress("building", f"Updating {old.tag} ({old.describe()})")
        base = old.base if old.base_source == "named" else None
        certs = old.host_certificates if host_certificates is None else host_certificates
        new = build(api, recipes, list(old.agents), tag=old.tag, base=base,
                    host_certificates=certs, pins=old.pins, progress=progress, cancel=cancel)
        out.append((old, new))
    return out


# -- the steps -------------------------------------------------------------------------------------


def resolve(recipes: Recipes, chosen: list[AgentRecipe], pins: dict[str, str], arch: str,
             progress: Progress) -> plan.Resolved:
    where = registry.npm_registry(recipes.base.npm_registry)
    npm_agents = [a for a in chosen if a.npm]
    if not npm_agents:
        return plan.Resolved(registry=where)
    step = "resolving versions from the npm registry"
    progress("building", f"Asking {where} for the current versions")
    versions = {a.name: registry.package_version(where, a.npm, pins.get(a.name) or a.version, step)
                for a in npm_agents}
    node_pkg = node_package(arch)
    node = registry.newest_of_line(where, node_pkg, recipes.base.node, step)
    npm = registry.newest_of_line(where, "npm", recipes.base.npm, step)
    major = int(node.split(".")[0])
    for agent in npm_agents:
        if agent.node > major:
            raise TemplateProblem(f"{step}: {agent.name} needs Node {agent.node} or newer, and the "
                                  f"base recipe's Node is {node} ([recipes.base] node).",
                                  step=step, value=agent.name)
    return plan.Resolved(registry=where, versions=versions, node=node, npm=npm,
                         node_tarball=plan.Download(*registry.tarball(where, node_pkg, node, step)),
                         npm_tarball=plan.Download(*registry.tarball(where, "npm", npm, step)))


def _base(api: docker.APIClient, recipes: Recipes, named: str | None, arch: str,
          progress: Progress, cancel: Cancel) -> tuple[str, str, str]:
    """(image, its id, how it was had): the named image, else the recipe's OS (os_base)."""
    if named:
        if not IMAGE.fullmatch(named):
            raise BadInput(f"{named[:200]!r} is not an image reference like 'debian:bookworm-slim'.",
                           field="base", value=named[:200])
        return named, _have_or_pull(api, named, progress, cancel, required=True), "named"
    return os_base(api, recipes, progress, cancel, arch)


def os_base(api: docker.APIClient, recipes: Recipes, progress: Progress,
            cancel: Cancel | None = None, arch: str | None = None) -> tuple[str, str, str]:
    """The recipe's OS as an image on the engine: the official image when the engine has it, else
    Berth's own made from the OS archive earlier, else the official one pulled, else Berth's own
    made now with debootstrap (kept on the engine as berth.local/base:<suite>). As (image, its id,
    `official` or `debootstrap`)."""
    cancel = cancel or Cancel()
    arch = arch or engine_arch(api)
    official = recipes.base.image
    found = image_or_none(api, official, f"Looking up {official}")
    if found is not None:
        return official, found["Id"], "official"
    own = f"{plan.BASE_REPOSITORY}:{recipes.base.suite}"
    found = image_or_none(api, own, f"Looking up {own}")
    if found is not None and ((found.get("Config") or {}).get("Labels") or {}).get(
            plan.BASE_MARKER) == recipes.base.mirror:
        return own, found["Id"], "debootstrap"
    pulled = _have_or_pull(api, official, progress, cancel, required=False)
    if pulled:
        return official, pulled, "official"
    step = f"making the base from the OS archive (debootstrap {recipes.base.suite})"
    why = debootstrap.can_run(arch)
    if why:
        raise TemplateProblem(
            f"{step}: the engine cannot pull {official}, and {why}. Name a Debian or Ubuntu "
            "image this engine has with --base, or make the base once as root, keeping your "
            "config: sudo --preserve-env=HOME,XDG_CONFIG_HOME,DOCKER_HOST berth template build "
            "shell", step=step, value=official)
    progress("building", f"{official} cannot be pulled: making {own} from "
                         f"{recipes.base.mirror} with debootstrap (a minute or so)")
    tar, cleanup = debootstrap.make_rootfs_tar(recipes.base.suite, recipes.base.mirror, arch,
                                               step, lambda m: progress("building", m),
                                               cancelled=cancel.is_set)
    try:
        _stop_if(cancel)
        progress("building", f"Importing {own} into the engine")
        repo, _, version = own.rpartition(":")
        call(f"{step}: importing it", api.import_image_from_file, tar, repository=repo,
             tag=version, changes=['CMD ["/bin/bash"]',
                                   f'LABEL {plan.BASE_MARKER}="{recipes.base.mirror}"'])
    finally:
        cleanup()
    found = image_or_none(api, own, f"Looking up {own}")
    if found is None:
        raise EngineError(f"{step}: the engine imported nothing.", step=step)
    return own, found["Id"], "debootstrap"


def _have_or_pull(api: docker.APIClient, image: str, progress: Progress, cancel: Cancel, *,
                  required: bool) -> str:
    """The image's id, pulled when missing; "" when it cannot be had and is not `required`."""
    found = image_or_none(api, image, f"Looking up {image}")
    if found is not None:
        return str(found["Id"])
    step = f"getting the base image {image}"
    progress("building", f"Pulling {image}")
    try:
        with translated(f"Pulling {image}"):
            for line in pull(api, image):
                _stop_if(cancel)
                if "error" in line:
                    raise TemplateProblem(str(line["error"]).strip())
        found = image_or_none(api, image, f"Looking up {image}")
        if found is None:
            raise TemplateProblem("the engine has no such image after the pull")
        return str(found["Id"])
    except (TemplateProblem, EngineError, NotFound) as exc:
        if exc.data.get("cancelled"):
            raise
        if required:
            raise TemplateProblem(f"{step}: this engine does not have it and could not pull it "
                                  f"({exc.message}).", step=step, value=image) from None
        progress("building", f"{image} cannot be pulled ({exc.message[:160]})")
        return ""


def _build(api: docker.APIClient, the_plan: plan.Plan, progress: Progress, cancel: Cancel,
           host_certificates: bool, no_cache: bool) -> str:
    """The untagged image's id. A failed step raises, named, with the end of its output."""
    params: dict[str, Any] = {"rm": "1", "forcerm": "1", "pull": "0",
                              "nocache": "1" if no_cache else "0",
                              "labels": json.dumps(the_plan.labels)}
    if host_certificates:
        # The proxy variables are build arguments Docker predefines: used by the build's steps,
        # never kept in the image.
        proxies = host_trust.proxy_variables()
        if proxies:
            params["buildargs"] = json.dumps(proxies)
    # The classic builder adds LABEL steps of its own for the `labels` parameter (one per label on
    # some engines): the steps past the plan's are those, and the total is the engine's own.
    names = list(the_plan.steps)
    total = len(names)
    step_no, tail = 0, deque[str](maxlen=200)
    image_id = ""
    response = None
    try:
        with translated(f"Building {the_plan.tag}"):
            response = api._post(api._url("/build"), data=the_plan.context(), params=params,
                                 headers={"Content-Type": "application/x-tar"}, stream=True,
                                 timeout=max(api.timeout or 0, _BUILD_READ_TIMEOUT))
            cancel.on_set(_shutdown(api, response))
            api._raise_for_status(response)
            for chunk in api._stream_helper(response, decode=True):
                _stop_if(cancel)
                if "error" in chunk:
                    raise _failed(the_plan, names, step_no, str(chunk["error"]), list(tail))
                if isinstance(chunk.get("aux"), dict) and chunk["aux"].get("ID"):
                    image_id = str(chunk["aux"]["ID"])
                for line in str(chunk.get("stream", "")).splitlines():
                    line = line.rstrip()
                    m = _STEP_LINE.match(line)
                    if m:
                        step_no, total = int(m[1]), int(m[2])
                        while len(names) < total:
                            names.append("recording what the template holds (its labels)")
                        tail.clear()
                        if step_no <= len(the_plan.steps) or step_no == len(the_plan.steps) + 1:
                            progress("building", f"[{step_no}/{total}] {names[step_no - 1]}")
                    elif line and not line.startswith((" ---> ", "Removing intermediate")):
                        tail.append(line)
    except Exception:
        # A cancel closes the connection under the read: whatever that raised, it is the cancel.
        if cancel.is_set():
            raise _cancelled(the_plan.tag) from None
        raise
    finally:
        if response is not None:
            response.close()
    if cancel.is_set():  # the stream ends quietly when its socket is shut down
        raise _cancelled(the_plan.tag)
    if not image_id:
        raise _failed(the_plan, names, step_no, "the engine reported no image", list(tail))
    return image_id


def _shutdown(api: docker.APIClient, response: Any) -> Callable[[], None]:
    def shut() -> None:
        with contextlib.suppress(Exception):
            api._get_raw_response_socket(response).shutdown(socket.SHUT_RDWR)
    return shut


def _check(api: docker.APIClient, image_id: str, chosen: list[AgentRecipe],
           the_plan: plan.Plan, progress: Progress) -> None:
    """Each agent's binary answers --version in the new image, with no network."""
    binaries = [a.binary for a in chosen if a.binary]
    if not binaries:
        return
    step = "checking that each agent runs (--version, offline)"
    progress("building", f"Checking {', '.join(binaries)} in the new image")
    # Each program's own exit status decides (not a pipe's last command's).
    script = "set -e; " + "; ".join(
        f"v=$(timeout {_CHECK_SECONDS} {shlex.quote(b)} --version </dev/null 2>&1) || "
        f"{{ echo {shlex.quote(b + ' --version failed:')} \"$v\"; exit 1; }}; "
        f"echo {shlex.quote('== ' + b + ': ')}\"$(printf '%s' \"$v\" | head -n 1)\""
        for b in binaries)
    what = f"{step} in {the_plan.tag}"
    probe = call(what, api.create_container, image=image_id, entrypoint=["/bin/sh", "-c", script],
                 labels={labels.MARKER: "true", labels.PROBE: "true"}, network_disabled=True,
                 host_config=api.create_host_config(network_mode="none"))["Id"]
    try:
        call(what, api.start, probe)
        code = call(what, api.wait, probe, timeout=_CHECK_SECONDS * len(binaries) + 30)
        out = plain_text(call(what, api.logs, probe).decode("utf-8", "replace")).strip()
    finally:
        call(what, api.remove_container, probe, force=True)
    if code.get("StatusCode") != 0:
        raise TemplateProblem(f"Building {the_plan.tag} failed at {step}: "
                              f"{out[-600:] or 'no output'}. Nothing was tagged.",
                              step=step, value=the_plan.tag)
    for line in out.splitlines():
        progress("building", line.removeprefix("== "))


def _failed(the_plan: plan.Plan, names: list[str], step_no: int, error: str,
            tail: list[str]) -> TemplateProblem:
    step = names[step_no - 1] if 0 < step_no <= len(names) else "starting"
    m = re.search(r"returned a non-zero code: (\d+)", error)
    why = f"it exited with code {m[1]}" if m else error.strip()[:300]
    hint = ""
    text = "\n".join(tail)
    if "SELF_SIGNED_CERT" in text or "self-signed certificate" in text or \
            "unable to get local issuer" in text or "certificate verify failed" in text:
        hint = ("\nThe registry's certificate is not trusted inside the build: behind a "
                "TLS-inspecting proxy, build with --host-certificates.")
    lines = _telling(tail)
    output = ("\n  " + "\n  ".join(lines)) if lines else ""
    return TemplateProblem(
        f"Building {the_plan.tag} failed at step {step_no}/{len(names)}, {step}: {why}."
        f"{output}{hint}\nNothing was tagged.", step=step, value=the_plan.tag)


# Lines that say what went wrong, in apt's, npm's, curl's and Berth's own words.
_TELLING = re.compile(r"^(E:|W:|Err:|npm (error|ERR!)|curl: |berth: |sha512sum: |.*\bFAILED\b)")


def _telling(tail: list[str]) -> list[str]:
    """What a failed step printed that says why: its error lines (at most 10), else its last 8."""
    clean = [text[:300] for line in tail if (text := plain_text(line).strip())]
    # apt says why on the line after its `Err:` line.
    picked = list(dict.fromkeys(line for i, line in enumerate(clean) if _TELLING.match(line)
                                or (i and clean[i - 1].startswith("Err:"))))
    return picked[:10] if picked else clean[-8:]


def _cancelled(tag: str) -> TemplateProblem:
    return TemplateProblem(f"The build of {tag} was cancelled; nothing was tagged.",
                           value=tag, cancelled=True)


def _stop_if(cancel: Cancel) -> None:
    if cancel.is_set():
        raise TemplateProblem("The build was cancelled; nothing was tagged.", cancelled=True)


def _template(api: docker.APIClient, tag: str) -> BuiltTemplate | None:
    image = image_or_none(api, tag, f"Looking up {tag}")
    if image is None:
        return None
    return from_labels(tag, image.get("Id", ""), (image.get("Config") or {}).get("Labels"),
                       int(image.get("Size") or 0))


def _drop(api: docker.APIClient, image_id: str) -> None:
    """Remove an image this build made and did not tag; its cached layers stay for the next build."""
    from docker.errors import APIError

    with contextlib.suppress(APIError, OSError):
        api.remove_image(image_id, noprune=True)


# repository (a registry with a port allowed), then a tag.
_TAG = re.compile(r"[a-z0-9][a-z0-9._-]*(:[0-9]{1,5})?(/[a-z0-9._-]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def _check_tag(tag: str) -> None:
    if len(tag) > 255 or not _TAG.fullmatch(tag):
        raise BadInput(f"{tag!r} is not an image tag like 'berth.local/template:claude' "
                       "(repository:tag, lower-case repository).", field="tag", value=tag[:200])


def _certificates() -> bytes:
    with open(host_trust.ca_bundle(), "rb") as f:
        return f.read()
