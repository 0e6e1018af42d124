"""A policy as the egress proxy's two filter lists (tinyproxy, `FilterURLs`, extended regexes).

The proxy chains two tinyproxy processes: the first, facing the sandbox, lets through only what an
allow rule matches; the second, on loopback, refuses what a deny rule matches (proxy_image says why
in that order). Two stages, because one tinyproxy filter is either an allow list or a deny list, and
"allow *.example.com, deny a.example.com" needs both. Each stage sees `host:port` for CONNECT (HTTPS
and any other TCP) and the absolute URL for plain HTTP; every expression is anchored, so
`http://allowed.example@evil.example/` matches nothing.
"""

from __future__ import annotations

from berth.network.rules import WEB_PORTS, HostPattern, Policy

# The files Berth writes into the proxy container; the proxy's configuration names them.
DENY_FILTER = "/etc/berth/deny.filter"
ALLOW_FILTER = "/etc/berth/allow.filter"


def _host_re(pattern: HostPattern) -> str:
    escaped = pattern.host.replace(".", r"\.")
    return rf"([a-z0-9-]+\.)+{escaped}" if pattern.wildcard else escaped


def _lines(pattern: HostPattern, ports: tuple[int, ...] | None) -> list[str]:
    """Expressions matching requests to the pattern's host on `ports` (None: any port)."""
    host = _host_re(pattern)
    if ports is None:
        return [rf"^{host}:[0-9]+$", rf"^http://{host}(:[0-9]+)?(/.*)?$"]
    alternatives = "|".join(str(p) for p in ports)
    lines = [rf"^{host}:({alternatives})$", rf"^http://{host}:({alternatives})(/.*)?$"]
    if 80 in ports:
        lines.append(rf"^http://{host}(/.*)?$")
    return lines


def deny_filter(policy: Policy) -> str:
    lines: list[str] = []
    for pattern in policy.denies():
        lines += _lines(pattern, None if pattern.port is None else (pattern.port,))
    return "".join(f"{line}\n" for line in lines)


def allow_filter(policy: Policy) -> str:
    """Empty (nothing allowed) for a policy that allows nothing; `open` needs no proxy at all."""
    lines: list[str] = []
    for pattern in policy.allows():
        lines += _lines(pattern, WEB_PORTS if pattern.port is None else (pattern.port,))
    return "".join(f"{line}\n" for line in lines)
