"""A filtered sandbox's only way out: its own internal network, and a proxy container on that network
and on the engine's default bridge.

The sandbox is attached to its internal network alone, which the engine gives no route and no outside
name resolution: whatever the agent does, even as root, the proxy is the one host it can reach. The
proxy (berth.network.relay, in the image of berth.network.proxy_image) decides each request with the
policy (berth.network.rules) and logs what it refuses. The rules the sandbox was created with are
recorded on it like every setting; the whole policy, with the rules added since, lives in the proxy
container (RULES), written by Berth, out of the agent's reach, and kept across stop, start and engine
restarts. The proxy and network carry the sandbox's egress token and Berth's labels, and are removed
with the sandbox.

Making a network and starting a proxy on it takes longer than creating the sandbox itself, so a
long-lived Berth (the server) keeps one spare pair ready, made after a filtered sandbox is created:
a network and a running proxy that allows nothing, named SPARE_PREFIX + token. The next filtered
sandbox is created on that network and claims the proxy by renaming it (the engine lets only one
rename win), then writes its rules into it.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import itertools
import json
import logging
import os
import re
import secrets
import tarfile
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from berth import labels
from berth.config import SandboxConfig, split_port
from berth.engine import templates
from berth.engine.connection import call, image_or_none, translated
from berth.engine.resources import ports_problem
from berth.engine.templates import Progress
from berth.errors import BadInput, BerthError, Conflict, EngineError, NotFound, TemplateProblem
from berth.models import Sandbox
from berth.network import proxy_image
from berth.network.relay import FORWARD_BASE, RULES_FILE
from berth.network.rules import Policy, parse_patterns

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

RULES = RULES_FILE
# How long a new proxy may take to listen (seconds).
PROXY_START_WAIT = 20.0
# The largest rules passed to a new proxy in its environment (bytes); larger ones go in as a file.
_RULES_IN_ENV = 64 * 1024
# Where the first proxies (tinyproxy, before the relay) kept the rules added live.
_OLD_LIVE_RULES = "/etc/berth/live.json"
OUTSIDE_NETWORK = "bridge"
PROXY_URL = f"http://{proxy_image.ALIAS}:{proxy_image.PORT}"
NO_PROXY = "localhost,127.0.0.1,::1"
# A proxy whose sandbox is gone is removed once it is this old (seconds): see collect_orphans.
ORPHAN_AGE = 120.0
# The name of a spare proxy, ready for the next filtered sandbox: see claim_spare.
SPARE_PREFIX = "berth-proxy-spare-"
# Where internal networks come from once the engine's own pools are used up (BERTH_EGRESS_SUBNETS).
FALLBACK_SUBNETS = "10.213.0.0/16"
# The host gets no address on a sandbox's network: an internal network still gives it one, through
# which the sandbox would reach whatever the host listens on (a local proxy, dockerd on tcp, sshd).
NETWORK_OPTIONS = {"com.docker.network.bridge.inhibit_ipv4": "true"}
# What a log line's host may be to be shown: the agent writes the request line, and could put
# terminal escapes there.
_SHOWABLE_HOST = re.compile(r"^[a-z0-9.-]{1,253}$")


def policy_info(sandbox: Sandbox, policy: Policy) -> dict[str, Any]:
    """The protocol's PolicyInfo (also `berth policy show --json`)."""
    return {"workspace": sandbox.workspace, "sandbox": sandbox.id, **policy.to_json(),
            "dockerSocket": sandbox.config.mount_docker_socket}


def token_of(sandbox: Sandbox) -> str | None:
    return sandbox.labels.get(labels.EGRESS) or None


def names(token: str) -> tuple[str, str]:
    """The proxy container's name and the network's."""
    return f"berth-proxy-{token}", f"berth-net-{token}"


def new_token() -> str:
    return secrets.token_hex(6)


def environment() -> list[str]:
    """What tells the sandbox's tools to use the proxy (both spellings: curl reads only lower-case
    http_proxy; Node 24 honours them with NODE_USE_ENV_PROXY)."""
    out = []
    for name, value in (("HTTP_PROXY", PROXY_URL), ("HTTPS_PROXY", PROXY_URL),
                        ("NO_PROXY", NO_PROXY)):
        out += [f"{name}={value}", f"{name.lower()}={value}"]
    return out + ["NODE_USE_ENV_PROXY=1"]


def policy_of(config: SandboxConfig, live: dict[str, Any] | None = None) -> Policy:
    live = live or {}
    return Policy(config.network_policy, config.agent,
                  allow=parse_patterns(list(config.allow_hosts), "allowHosts"),
                  deny=parse_patterns(list(config.deny_hosts), "denyHosts"),
                  live_allow=parse_patterns(live.get("allow", []), "allow"),
                  live_deny=parse_patterns(live.get("deny", []), "deny"))


# -- the proxy image -------------------------------------------------------------------------------


def ensure_image(api: docker.APIClient, progress: Progress) -> str:
    """The proxy image's tag, built from the OS archive the first time: on BERTH_PROXY_BASE, else on
    the OS image Berth builds templates on (template_build.os_base)."""
    hint = ("Set BERTH_PROXY_BASE to a Debian or Ubuntu image this engine has, or let Berth make "
            "its base from Debian's archive: `berth template build shell`, as root (docs/templates.md).")
    base = proxy_image.configured_base()
    if not base:
        from berth import user_config
        from berth.builds import plan
        from berth.engine import template_build

        recipes = user_config.load().recipes
        # A proxy image built before on either base is used as it is: no pull, no debootstrap.
        for candidate in (recipes.base.image, f"{plan.BASE_REPOSITORY}:{recipes.base.suite}"):
            tag = proxy_image.tag(candidate)
            if image_or_none(api, tag, "Looking up the network proxy image") is not None:
                return tag
        try:
            base = template_build.os_base(api, recipes, progress)[0]
        except TemplateProblem as exc:
            raise TemplateProblem(f"Berth builds its network proxy on {recipes.base.image}, which "
                                  f"it could not get: {exc.message} {hint}",
                                  value=recipes.base.image) from None
    tag = proxy_image.tag(base)
    if image_or_none(api, tag, "Looking up the network proxy image") is not None:
        return tag
    try:
        templates.ensure_image(api, base, progress)
    except TemplateProblem as exc:
        raise TemplateProblem(f"Berth builds its network proxy from {base}, which this engine does "
                              f"not have and could not pull. {hint}", value=base) from exc
    progress("creating", f"Building the network proxy image from {base}")
    last = ""
    with translated("Building the network proxy image"):
        for chunk in api.build(fileobj=io.BytesIO(proxy_image.context()), custom_context=True,
                               tag=tag, buildargs={"BASE": base}, rm=True, forcerm=True,
                               decode=True, labels={labels.MARKER_EGRESS: "true",
                                                    PROXY_BASE_LABEL: base}):
            if "error" in chunk:
                raise TemplateProblem(f"Berth could not build its network proxy from {base}: "
                                      f"{str(chunk['error']).strip()} {hint}", value=base)
            text = str(chunk.get("stream", "")).strip()
            if text:
                last = text
                if text.startswith("Step "):  # not apt's every line
                    progress("creating", f"Building the network proxy: {text[:120]}")
    if image_or_none(api, tag, "Looking up the network proxy image") is None:
        raise TemplateProblem(f"Berth could not build its network proxy from {base} ({last}). "
                              f"{hint}", value=base)
    return tag


# -- making, starting, stopping and removing a sandbox's egress ------------------------------------


def create_network(api: docker.APIClient, token: str, workspace: str | None) -> None:
    """The internal network a sandbox about to be created with `token` is attached to alone.

    From the engine's own address pools; once those are used up (about 30 networks with the
    defaults), from FALLBACK_SUBNETS in /28s, which Berth picks itself, skipping those in use."""
    network = names(token)[1]
    what = f"Creating network {network}"
    try:
        call(what, api.create_network, network, driver="bridge", internal=True,
             labels=_tags(token, workspace), check_duplicate=True, options=NETWORK_OPTIONS)
        return
    except (NotFound, EngineError) as exc:
        if "address pool" not in exc.message:
            raise
        exhausted = exc
    from docker.types import IPAMConfig, IPAMPool

    for subnet in _fallback_subnets(token):
        try:
            call(what, api.create_network, network, driver="bridge", internal=True,
                 labels=_tags(token, workspace), check_duplicate=True, options=NETWORK_OPTIONS,
                 ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)]))
            return
        except (NotFound, EngineError) as exc:
            if "overlap" not in exc.message:
                raise
    raise EngineError(f"{exhausted.message}; and every subnet Berth tried in "
                      f"{_fallback_range()} is in use. Set BERTH_EGRESS_SUBNETS to a free range "
                      "(an IPv4 network such as 10.213.0.0/16), or remove unused Docker networks.")


def _fallback_range() -> str:
    return os.environ.get("BERTH_EGRESS_SUBNETS", "").strip() or FALLBACK_SUBNETS


def _fallback_subnets(token: str, tries: int = 64) -> list[str]:
    """/28s of the fallback range (a sandbox and its proxy need two addresses), starting at one
    the token picks, so concurrent creates seldom try the same one first."""
    try:
        network = ipaddress.IPv4Network(_fallback_range(), strict=False)
    except ValueError:
        raise BadInput(f"BERTH_EGRESS_SUBNETS {_fallback_range()!r} is not an IPv4 network such "
                       "as 10.213.0.0/16.", value=_fallback_range()) from None
    if network.prefixlen > 28:
        raise BadInput(f"BERTH_EGRESS_SUBNETS {_fallback_range()!r} is smaller than one /28.",
                       value=_fallback_range())
    count = 2 ** (28 - network.prefixlen)
    start = int(token, 16) % count
    base = int(network.network_address)
    return [str(ipaddress.IPv4Network((base + ((start + i) % count) * 16, 28)))
            for i in range(min(tries, count))]


def forwards(ports: tuple[str, ...]) -> list[dict[str, Any]]:
    """A filtered sandbox's published ports, as its proxy serves them: the engine publishes no port
    of a container on an internal network, so the proxy (on the outside network too) publishes
    each and relays it to the sandbox. Each gets a port of the proxy's own, as the proxy runs with
    no capabilities and cannot listen below 1024."""
    out = []
    for n, spec in enumerate(ports):
        ip, host, container = split_port(spec)
        out.append({"listen": FORWARD_BASE + n, "port": container, "hostIp": ip,
                    "hostPort": host})
    return out


def make_proxy(api: docker.APIClient, image: str, token: str, workspace: str | None,
               policy: Policy, name: str | None = None, ports: tuple[str, ...] = ()) -> None:
    """The running proxy of the network `token`, with `policy`, publishing the sandbox's `ports`.
    Started on the internal network, then joined to the outside one: faster than starting it on
    both (the engine publishes its ports once it joins)."""
    proxy, network = names(token)
    proxy = name or proxy
    rules = json.dumps(policy.to_json())
    # Through the environment, quicker than a file written into a container not yet started; but
    # one variable holds at most 128 KiB, and a policy of many long host names can pass that.
    in_env = len(rules) <= _RULES_IN_ENV
    environment = {"BERTH_RULES": rules} if in_env else {}
    relayed = forwards(ports)
    if relayed:
        environment["BERTH_FORWARDS"] = json.dumps(
            [{"listen": f["listen"], "port": f["port"]} for f in relayed])
    made = call(f"Creating the network proxy {proxy}", api.create_container,
                image=image, name=proxy, labels=_tags(token, workspace), detach=True,
                environment=environment,
                ports=[f["listen"] for f in relayed] or None,
                networking_config=api.create_networking_config({
                    network: api.create_endpoint_config(aliases=[proxy_image.ALIAS])}),
                host_config=api.create_host_config(
                    port_bindings={f["listen"]: (f["hostIp"], f["hostPort"]) for f in relayed}
                    or None,
                    network_mode=network, cap_drop=["ALL"], security_opt=["no-new-privileges"],
                    # Two threads a connection (relay.MAX_CONNECTIONS), and some room.
                    pids_limit=1100, mem_limit="128m", privileged=False,
                    # A new namespace inherits the host's forwarding; the proxy must never route a packet
                    # the sandbox crafts for an outside address.
                    sysctls={"net.ipv4.ip_forward": "0"},
                    log_config={"type": "json-file", "config": {"max-size": "5m", "max-file": "2"}}))
    if not in_env:
        _write_rules(api, made["Id"], policy)
    call(f"Starting the network proxy {proxy}", api.start, proxy)
    try:
        call(f"Connecting the network proxy {proxy} to the outside",
             api.connect_container_to_network, proxy, OUTSIDE_NETWORK)
    except EngineError as exc:
        # Not left running without a way out (a restart would find it and use it).
        with contextlib.suppress(BerthError):
            call(f"Removing the network proxy {proxy}", api.remove_container, made["Id"],
                 force=True)
        raise ports_problem(exc, ports) or exc from None
    _wait_listening(api, made["Id"], proxy)


# On the proxy image: the base it was built on.
PROXY_BASE_LABEL = labels.PREFIX + "egress-proxy-base"


def _base_of(api: docker.APIClient, proxy_id: str) -> str:
    with contextlib.suppress(Exception):
        image = api.inspect_image(api.inspect_container(proxy_id)["Image"])
        return str(((image.get("Config") or {}).get("Labels") or {}).get(PROXY_BASE_LABEL) or "?")
    return "?"


def _wait_listening(api: docker.APIClient, proxy_id: str, name: str) -> None:
    """Returns once the new proxy's relay listens (its first log line says so): a proxy that
    cannot run would otherwise leave its sandbox cut off with no word why."""
    deadline = time.monotonic() + PROXY_START_WAIT
    for attempt in itertools.count():
        out = call(f"Reading the log of the network proxy {name}", api.logs, proxy_id,
                   stdout=True, stderr=True)
        if b'{"listening"' in out:
            return
        ended = attempt % 10 == 9 and not call(
            f"Looking at the network proxy {name}", api.inspect_container,
            proxy_id)["State"]["Running"]
        if ended or time.monotonic() > deadline:
            said = out.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise EngineError(f"The network proxy {name} did not start"
                              f"{' (it exited)' if ended else ''}: "
                              f"{' | '.join(said) or 'it said nothing'} (its image: Berth's relay "
                              f"on {_base_of(api, proxy_id)}; see docs/network.md).")
        time.sleep(0.02)


def _tags(token: str, workspace: str | None) -> dict[str, str]:
    tags = {labels.MARKER_EGRESS: "true", labels.EGRESS: token}
    return tags if workspace is None else {**tags, labels.WORKSPACE: workspace}


# -- the spare -------------------------------------------------------------------------------------

# Until a sandbox claims it, a spare allows nothing.
_NOTHING = Policy("locked", "", preset_hosts=())
_SPARE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Spare:
    id: str
    token: str


def find_spare(api: docker.APIClient) -> Spare | None:
    """A running spare to claim, if there is one (one engine call)."""
    found = [Spare(c["Id"], (c.get("Labels") or {}).get(labels.EGRESS, ""))
             for c in _spares(api, running=True)]
    found = [s for s in found if s.token]
    # Two Berths creating at once seldom pick the same one.
    return secrets.choice(found) if found else None


def claim_spare(api: docker.APIClient, spare: Spare) -> bool:
    """Make the spare the proxy of a sandbox already created on its network; False when another
    Berth claimed it first. Called after that sandbox exists, so no orphan collector ever sees
    the claimed proxy without its sandbox. Until give_rules, it still allows nothing."""
    try:
        call("Claiming a spare network proxy", api.rename, spare.id, names(spare.token)[0])
    except BerthError as exc:
        log.debug("The spare network proxy %s was taken: %s", spare.token, exc.message)
        return False
    return True


def evict(api: docker.APIClient, spare: Spare, owner: str) -> None:
    """Every other sandbox on a spare `owner` claimed: a Berth that lost the claim and is removing
    its own, or one that died between creating on the spare's network and claiming it. The network
    is the owner's alone."""
    for other in call("Listing sandboxes", api.containers, all=True,
                      filters=labels.marker_filter(f"{labels.EGRESS}={spare.token}")):
        if other["Id"] != owner:
            log.warning("Removing sandbox %s from the network its proxy's claimer owns",
                        other["Id"][:12])
            with contextlib.suppress(NotFound):
                call("Removing a sandbox left on a claimed network", api.remove_container,
                     other["Id"], force=True)


def give_rules(api: docker.APIClient, spare: Spare, owner: str, policy: Policy) -> None:
    """A claimed spare's rules: its sandbox's (`owner`'s) policy; and its network, the owner's
    alone."""
    evict(api, spare, owner)
    _write_rules(api, spare.id, policy)


def make_spare(api: docker.APIClient, image: str) -> None:
    """One running spare on the engine (the server calls this after a filtered create)."""
    with _SPARE_LOCK:
        if find_spare(api) is not None:
            return
        token = new_token()
        try:
            create_network(api, token, None)
            # Named a spare only once it reaches the outside: what is claimed works at once.
            making = f"berth-proxy-making-{token}"
            make_proxy(api, image, token, None, _NOTHING, name=making)
            call("Readying the spare network proxy", api.rename, making, SPARE_PREFIX + token)
        except BerthError as exc:
            log.warning("Could not make a spare network proxy: %s", exc.message)
            with contextlib.suppress(BerthError):
                teardown(api, token)


def remove_spares(api: docker.APIClient) -> None:
    try:
        for proxy in _spares(api, running=False):
            token = (proxy.get("Labels") or {}).get(labels.EGRESS)
            if token:
                teardown(api, token)
    except BerthError as exc:
        log.error("Could not remove the spare network proxy: %s", exc.message)


def _spares(api: docker.APIClient, running: bool) -> list[dict[str, Any]]:
    filters: dict[str, Any] = {"label": [f"{labels.MARKER_EGRESS}=true"], "name": [SPARE_PREFIX]}
    if running:
        filters["status"] = ["running"]
    return call("Listing spare network proxies", api.containers, all=not running, filters=filters)


def start(api: docker.APIClient, sandbox: Sandbox, progress: Progress) -> None:
    """The proxy running with the sandbox's current rules (written again, so the presets are this
    Berth's); before the sandbox starts, so it never runs without its proxy. A proxy made from
    another proxy image (another Berth's relay) is made anew, with its rules: the sandbox then runs
    behind this Berth's relay, fixes included."""
    token = token_of(sandbox)
    if token is None:
        return
    proxy = _proxy(api, token, sandbox)
    policy = policy_of(sandbox.config, _read_live(api, proxy["Id"]))
    image = ensure_image(api, progress)
    if proxy.get("Image") != image:
        _remake(api, sandbox, proxy, image, policy)
        return
    _write_rules(api, proxy["Id"], policy)
    if proxy["State"] != "running":
        try:
            call(f"Starting the network proxy of {sandbox.name}", api.start, proxy["Id"])
        except EngineError as exc:
            raise ports_problem(exc, sandbox.config.ports) or exc from None


def _remake(api: docker.APIClient, sandbox: Sandbox, proxy: dict[str, Any], image: str,
            policy: Policy) -> None:
    """The sandbox's proxy made anew from `image`, running, with `policy`."""
    log.info("Replacing the network proxy of %s (%s) with one from %s", sandbox.name,
             proxy.get("Image"), image)
    call(f"Removing the old network proxy of {sandbox.name}", api.remove_container,
         proxy["Id"], force=True)
    make_proxy(api, image, token_of(sandbox) or "", sandbox.workspace, policy,
               ports=sandbox.config.ports)


def stop(api: docker.APIClient, sandbox: Sandbox) -> None:
    token = token_of(sandbox)
    if token is None:
        return
    for proxy in _proxies(api, token):
        if proxy["State"] in ("running", "restarting", "paused"):
            call(f"Stopping the network proxy of {sandbox.name}", api.stop, proxy["Id"], timeout=2)


def collect_orphans(api: docker.APIClient) -> None:
    """Remove the proxies and networks of sandboxes removed by something other than Berth (`docker
    rm`). Only those older than ORPHAN_AGE: a younger one may belong to a sandbox another process
    is creating right now. A running spare belongs to no sandbox yet and is kept; one stopped (by an
    engine restart) is collected.

    Proxies and networks are listed before the sandboxes: a spare claimed after its listing was
    claimed by a sandbox that already exists (claim_spare), so the sandbox listing shows it."""
    marker = {"label": [f"{labels.MARKER_EGRESS}=true"]}
    now = time.time()
    made: dict[str, float] = {}  # token -> when its newest proxy or network was made
    spare: set[str] = set()
    for proxy in call("Listing network proxies", api.containers, all=True, filters=marker):
        token = (proxy.get("Labels") or {}).get(labels.EGRESS)
        if token:
            made[token] = max(made.get(token, 0.0), float(proxy.get("Created") or now))
            if proxy.get("State") == "running" and any(
                    n.lstrip("/").startswith(SPARE_PREFIX) for n in proxy.get("Names") or ()):
                spare.add(token)
    for network in call("Listing networks", api.networks, filters=marker):
        token = (network.get("Labels") or {}).get(labels.EGRESS)
        if token:
            made[token] = max(made.get(token, 0.0), iso_seconds(network.get("Created"), now))
    sandboxes = call("Listing sandboxes", api.containers, all=True,
                     filters=labels.marker_filter())
    alive = {(c.get("Labels") or {}).get(labels.EGRESS) for c in sandboxes} | spare
    for token, when in made.items():
        if token not in alive and now - when > ORPHAN_AGE:
            try:
                teardown(api, token)
            except BerthError as exc:
                log.warning("Could not remove the orphaned network proxy %s: %s", token,
                            exc.message)


def iso_seconds(text: object, default: float) -> float:
    """An engine timestamp (`2026-11-27T17:51:17.98288Z`, nanoseconds) as seconds since the epoch."""
    from datetime import datetime

    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$",
                     text) if isinstance(text, str) else None
    if match is None:
        return default
    zone = "+00:00" if match.group(2) == "Z" else match.group(2)
    try:
        return datetime.fromisoformat(match.group(1) + zone).timestamp()
    except ValueError:
        return default


def teardown(api: docker.APIClient, token: str) -> None:
    """Remove what Berth made for the egress `token` (only what carries its labels)."""
    for proxy in _proxies(api, token):
        with contextlib.suppress(NotFound):
            call("Removing the network proxy", api.remove_container, proxy["Id"], force=True)
    for network in call("Listing networks", api.networks,
                        filters={"label": [f"{labels.MARKER_EGRESS}=true",
                                           f"{labels.EGRESS}={token}"]}):
        with contextlib.suppress(NotFound):
            call(f"Removing network {network['Name']}", api.remove_network, network["Id"])


def remove_quietly(api: docker.APIClient, sandbox: Sandbox) -> None:
    token = token_of(sandbox)
    if token is None:
        return
    try:
        teardown(api, token)
    except BerthError as exc:
        log.error("Could not remove the network proxy of %s: %s", sandbox.name, exc.message)


# -- the rules -------------------------------------------------------------------------------------


def current(api: docker.APIClient, sandbox: Sandbox) -> Policy:
    """The sandbox's policy as it applies now: recorded rules and those added since."""
    token = token_of(sandbox)
    if token is None:
        return policy_of(sandbox.config)
    return policy_of(sandbox.config, _read_live(api, _proxy(api, token, sandbox)["Id"]))


def apply(api: docker.APIClient, sandbox: Sandbox, policy: Policy) -> Policy:
    """Make `policy`'s live rules the sandbox's: the proxy decides the next request with them."""
    token = token_of(sandbox)
    if token is None:
        raise Conflict(f"The sandbox {sandbox.name} has the open network policy: nothing filters "
                       "its traffic, so there are no rules to change. Recreate it with another "
                       "policy (berth run --recreate --network-policy balanced).",
                       field="networkPolicy", value="open")
    proxy = _proxy(api, token, sandbox)
    if proxy["State"] == "running" and proxy.get("Image") != (
            image := ensure_image(api, lambda *_: None)):
        # Another Berth's relay would not read these rules: this Berth's takes its place now.
        _remake(api, sandbox, proxy, image, policy)
        return policy
    _write_rules(api, proxy["Id"], policy)
    return policy


@dataclass(frozen=True)
class Block:
    time: str
    host: str
    port: int
    rule: str

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "host": self.host, "port": self.port, "rule": self.rule}


def parse_block(line: str) -> Block | None:
    """A refused request from one line of the proxy's log (`<engine timestamp> <relay JSON>`):
    host, port and the rule that refused it, as the proxy decided then."""
    when, _, text = line.partition(" ") if line[:4].isdigit() else ("", "", line)
    if '"blocked"' not in text:
        return None
    try:
        record = json.loads(text).get("blocked")
        host, port, rule = record["host"], record["port"], record["rule"]
    except (ValueError, AttributeError, KeyError, TypeError):
        return None
    # The agent writes the request line: only a host name is shown (no terminal escapes).
    if not (isinstance(host, str) and _SHOWABLE_HOST.fullmatch(host) and isinstance(port, int)
            and isinstance(rule, str)):
        return None
    return Block(when, host, port, rule[:200])


def blocked(api: docker.APIClient, sandbox: Sandbox, tail: int | None = None) -> list[Block]:
    """The requests the sandbox's proxy refused, oldest first (the last `tail` of them)."""
    token = token_of(sandbox)
    if token is None:
        return []
    proxy = _proxy(api, token, sandbox)
    raw = call(f"Reading the network log of {sandbox.name}", api.logs, proxy["Id"],
               stdout=True, stderr=True, timestamps=True)
    out = [b for b in (parse_block(line)
                       for line in raw.decode("utf-8", "replace").splitlines()) if b]
    return out[-tail:] if tail else out


def follow(api: docker.APIClient, sandbox: Sandbox, since: float) -> Any:
    """The proxy's log from `since` (seconds since the epoch) on, as a stream of lines that ends
    when the proxy stops; close() ends it early."""
    token = token_of(sandbox)
    if token is None:
        raise NotFound(f"The sandbox {sandbox.name} has no network proxy.")
    proxy = _proxy(api, token, sandbox)
    return call(f"Following the network log of {sandbox.name}", api.logs, proxy["Id"],
                stdout=True, stderr=True, timestamps=True, stream=True, follow=True, since=since)


# -- inside the proxy container --------------------------------------------------------------------


def _proxies(api: docker.APIClient, token: str) -> list[dict[str, Any]]:
    return call("Listing network proxies", api.containers, all=True,
                filters={"label": [f"{labels.MARKER_EGRESS}=true", f"{labels.EGRESS}={token}"]})


def _proxy(api: docker.APIClient, token: str, sandbox: Sandbox) -> dict[str, Any]:
    found = _proxies(api, token)
    if not found:
        raise NotFound(f"The network proxy of sandbox {sandbox.name} is gone, so the sandbox has "
                       "no way out. Recreate the sandbox (berth run --recreate) to get a new one.")
    return found[0]


def _write_rules(api: docker.APIClient, proxy: str, policy: Policy) -> None:
    """The whole policy into the proxy (it stats the file for every new connection). The engine
    replaces the file, so the relay never takes a half-written one for the new rules."""
    data = (json.dumps(policy.to_json(), indent=1) + "\n").encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo(os.path.basename(RULES))
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    if not call("Writing the network rules", api.put_archive, proxy, os.path.dirname(RULES),
                out.getvalue()):
        raise EngineError("The engine did not take the network rules.")


def _read_live(api: docker.APIClient, proxy: str) -> dict[str, Any]:
    """The rules added since creation, from the proxy's rules file."""
    for path, keys in ((RULES, ("liveAllow", "liveDeny")), (_OLD_LIVE_RULES, ("allow", "deny"))):
        try:
            stream, _ = call("Reading the network rules", api.get_archive, proxy, path)
        except NotFound:
            continue
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile(tar.getmembers()[0])
            data = json.loads(member.read()) if member else {}
        if not isinstance(data, dict):
            return {}
        return {"allow": data.get(keys[0], []), "deny": data.get(keys[1], [])}
    return {}
