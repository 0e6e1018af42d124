"""Egress rules: host patterns, the policy a sandbox runs under, and what it decides for a host.

Pure logic, shared by every front end and by the proxy itself (network.relay decides each request with
it, from a Policy's JSON). Standard library only: it runs in the proxy's image too. A pattern is
`example.com` (that host), `*.example.com` (any name under it, not the name itself) or an IPv4 address,
each with an optional `:port`. An allow rule without a port opens the web ports (80, 443); any other
port needs a rule naming it. A deny rule without a port closes every port. Deny wins.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from berth.errors import BadInput
from berth.network import presets

OPEN, BALANCED, LOCKED = "open", "balanced", "locked"
POLICIES = (OPEN, BALANCED, LOCKED)
WEB_PORTS = (80, 443)

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST_RE = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_MAX_PATTERNS = 500
# Hosts as the proxy's expressions can match them: labels of letters, digits and dashes.
_PROXY_HOST_RE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")


@dataclass(frozen=True, order=True)
class HostPattern:
    host: str  # lower case, no trailing dot
    wildcard: bool = False  # `*.host`: any name under host, not host itself
    port: int | None = None

    @property
    def text(self) -> str:
        name = f"*.{self.host}" if self.wildcard else self.host
        return name if self.port is None else f"{name}:{self.port}"

    def covers_host(self, host: str) -> bool:
        return host.endswith("." + self.host) if self.wildcard else host == self.host

    def allows(self, host: str, port: int) -> bool:
        ports = WEB_PORTS if self.port is None else (self.port,)
        return port in ports and self.covers_host(host)

    def denies(self, host: str, port: int) -> bool:
        return (self.port is None or self.port == port) and self.covers_host(host)

    def __str__(self) -> str:
        return self.text


def parse_pattern(text: object, field_name: str = "allowHosts") -> HostPattern:
    """`example.com`, `*.example.com` or an IPv4 address, with an optional `:port`."""
    if not isinstance(text, str):
        raise BadInput(f"A host pattern must be a string such as 'example.com' or "
                       f"'*.example.com:8443', got {type(text).__name__}.", field=field_name)
    shown = text[:100]
    raw = text.strip().lower()
    if not raw or any(c in raw for c in "/@?# \t"):
        raise BadInput(f"Host pattern {shown!r} is not of the form HOST[:PORT], such as "
                       "'example.com', '*.example.com' or 'db.example.com:5432'.",
                       field=field_name, value=shown)
    port: int | None = None
    if raw.count(":") == 1:
        raw, _, port_text = raw.partition(":")
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise BadInput(f"Host pattern {shown!r} has port {port_text!r}; a port is a number "
                           "from 1 to 65535.", field=field_name, value=shown)
        port = int(port_text)
    elif ":" in raw:
        raise BadInput(f"Host pattern {shown!r} is not of the form HOST[:PORT] (IPv6 addresses "
                       "are not supported).", field=field_name, value=shown)
    wildcard = raw.startswith("*.")
    host = raw[2:] if wildcard else raw
    host = host.rstrip(".")
    if "*" in host:
        raise BadInput(f"Host pattern {shown!r} may have '*' only as its first label, as in "
                       "'*.example.com'.", field=field_name, value=shown)
    if is_ipv4(host):
        if wildcard:
            raise BadInput(f"Host pattern {shown!r} puts '*.' before an address.",
                           field=field_name, value=shown)
    elif len(host) > 253 or not _HOST_RE.fullmatch(host):
        raise BadInput(f"Host pattern {shown!r} is not a host name, '*.' and a host name, or an "
                       "IPv4 address.", field=field_name, value=shown)
    elif wildcard and "." not in host:
        raise BadInput(f"Host pattern {shown!r} would match a whole top-level domain; name the "
                       "domain under it.", field=field_name, value=shown)
    return HostPattern(host, wildcard, port)


def parse_patterns(items: object, field_name: str) -> tuple[HostPattern, ...]:
    if not isinstance(items, (list, tuple)):
        raise BadInput(f"'{field_name}' must be a list of host patterns such as 'example.com', "
                       f"'*.example.com' or 'db.example.com:5432'.", field=field_name)
    if len(items) > _MAX_PATTERNS:
        raise BadInput(f"'{field_name}' has {len(items)} patterns; at most {_MAX_PATTERNS} are "
                       "allowed.", field=field_name)
    out: list[HostPattern] = []
    for item in items:
        pattern = parse_pattern(item, field_name)
        if pattern not in out:
            out.append(pattern)
    return tuple(out)


def parse_policy_name(value: object, field_name: str = "networkPolicy") -> str:
    if value not in POLICIES:
        raise BadInput(f"Unknown network policy {str(value)[:60]!r}; expected one of: "
                       f"{', '.join(POLICIES)}.", field=field_name)
    return str(value)


def is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str  # the rule that decided, for a person: "deny *.example.com", "no allow rule"


@dataclass(frozen=True)
class Policy:
    """What a filtered sandbox may reach: its preset, the rules it was created with (from settings
    or flags), and the rules added since (`berth policy allow/deny`, the editor's Allow)."""

    name: str
    agent: str
    allow: tuple[HostPattern, ...] = ()
    deny: tuple[HostPattern, ...] = ()
    live_allow: tuple[HostPattern, ...] = ()
    live_deny: tuple[HostPattern, ...] = ()
    # The preset as written down (in the proxy: the Berth that wrote the rules knew the presets),
    # else this Berth's presets for the policy and agent.
    preset_hosts: tuple[HostPattern, ...] | None = None

    @classmethod
    def from_json(cls, data: object) -> Policy:
        """The inverse of to_json (the proxy's rules file)."""
        if not isinstance(data, dict):
            raise BadInput("Network rules must be a JSON object.")
        lists = {key: parse_patterns(data.get(key, []), key)
                 for key in ("preset", "allow", "deny", "liveAllow", "liveDeny")}
        return cls(parse_policy_name(data.get("policy")), str(data.get("agent", "")),
                   allow=lists["allow"], deny=lists["deny"], live_allow=lists["liveAllow"],
                   live_deny=lists["liveDeny"], preset_hosts=lists["preset"])

    @property
    def filtered(self) -> bool:
        return self.name != OPEN

    def preset(self) -> tuple[HostPattern, ...]:
        if self.preset_hosts is not None:
            return self.preset_hosts
        return tuple(parse_pattern(p, "preset") for p in presets.hosts(self.name, self.agent))

    def allows(self) -> tuple[HostPattern, ...]:
        return _unique((*self.preset(), *self.allow, *self.live_allow))

    def denies(self) -> tuple[HostPattern, ...]:
        return _unique((*self.deny, *self.live_deny))

    def decide(self, host: str, port: int) -> Decision:
        if not self.filtered:
            return Decision(True, "open policy")
        if not _PROXY_HOST_RE.fullmatch(host.lower()):
            # What the proxy's patterns never match (a trailing dot, `_`): refused, whatever rule.
            return Decision(False, "not a host name the proxy accepts")
        host = host.lower()
        for pattern in self.denies():
            if pattern.denies(host, port):
                return Decision(False, f"deny {pattern.text}")
        for pattern in self.allows():
            if pattern.allows(host, port):
                return Decision(True, f"allow {pattern.text}")
        if any(p.covers_host(host) for p in self.allows()):
            return Decision(False, f"no allow rule for port {port}")
        return Decision(False, f"not in the {self.name} policy or any allow rule")

    def with_allowed(self, patterns: Iterable[HostPattern]) -> Policy:
        """Live rules after `policy allow`: each pattern allowed, and no longer denied live."""
        new = tuple(patterns)
        return replace(self, live_allow=_unique((*self.live_allow, *new)),
                        live_deny=tuple(p for p in self.live_deny if p not in new))

    def with_denied(self, patterns: Iterable[HostPattern]) -> Policy:
        new = tuple(patterns)
        return replace(self, live_deny=_unique((*self.live_deny, *new)),
                        live_allow=tuple(p for p in self.live_allow if p not in new))

    def reset(self) -> Policy:
        return replace(self, live_allow=(), live_deny=())

    def to_json(self) -> dict[str, object]:
        return {
            "policy": self.name,
            "agent": self.agent,
            "preset": [p.text for p in self.preset()],
            "allow": [p.text for p in self.allow],
            "deny": [p.text for p in self.deny],
            "liveAllow": [p.text for p in self.live_allow],
            "liveDeny": [p.text for p in self.live_deny],
        }


def _unique(patterns: Iterable[HostPattern]) -> tuple[HostPattern, ...]:
    return tuple(dict.fromkeys(patterns))
