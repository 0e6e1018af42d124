"""The egress proxy's image recipe: tinyproxy from the OS archive on a Debian or Ubuntu base.

Berth builds the image itself the first time a filtered sandbox is made (engine.egress), from
`debian:bookworm-slim`, or from the image BERTH_PROXY_BASE names where no registry can be reached
(any Debian-like image the engine has; docs/network.md says how to make one offline). The tag
carries a hash of the recipe, so a changed recipe is a new image and an old one is never reused.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile

from berth.network.filters import ALLOW_FILTER, DENY_FILTER

DEFAULT_BASE = "debian:bookworm-slim"
REPOSITORY = "berth-egress-proxy"
PORT = 3128
# The name the sandbox reaches its proxy by, on the sandbox's own network.
ALIAS = "berth-proxy"

DOCKERFILE = """\
ARG BASE
FROM ${BASE}
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tinyproxy \\
 && rm -rf /var/lib/apt/lists/*
COPY berth/ /etc/berth/
RUN chown -R nobody:nogroup /etc/berth
USER nobody
ENTRYPOINT ["/bin/sh", "/etc/berth/run"]
"""

# The allow stage faces the sandbox: its anchored patterns match only a request in the standard form
# (`host:port`, `http://host[:port]/...`), so anything odd is refused there. tinyproxy passes what it
# lets through on in its own standard form, which is all the deny stage, on loopback only, ever
# sees: a `user@host` or `host:443/x` written to slip past a deny pattern never reaches it as such.
# Long timeouts: an agent's streamed answer may be idle for minutes.
_COMMON = """\
Timeout 3600
MaxClients 500
FilterURLs Yes
FilterType ere
DisableViaHeader Yes
"""
ALLOW_CONF = f"""\
Port {PORT}
Listen 0.0.0.0
LogLevel Notice
Filter "{ALLOW_FILTER}"
FilterDefaultDeny Yes
Upstream http 127.0.0.1:{PORT + 1}
{_COMMON}"""
DENY_CONF = f"""\
Port {PORT + 1}
Listen 127.0.0.1
LogLevel Notice
Filter "{DENY_FILTER}"
FilterDefaultDeny No
{_COMMON}"""

# PID 1: both stages, SIGUSR1 (Berth changed the rules) passed on to both, which re-read their
# filters; the container ends when either stage does, so a sandbox is never left half-filtered.
RUN = """\
#!/bin/sh
# First start: the rules the proxy was created with (Berth passes them in its environment, which
# is quicker than writing files into a container not yet started); later, the files Berth wrote.
if [ ! -e /etc/berth/live.json ]; then
  printf '%s' "$BERTH_DENY_FILTER" > /etc/berth/deny.filter
  printf '%s' "$BERTH_ALLOW_FILTER" > /etc/berth/allow.filter
  printf '{"allow": [], "deny": []}\\n' > /etc/berth/live.json
fi
tinyproxy -d -c /etc/berth/allow.conf & allow=$!
tinyproxy -d -c /etc/berth/deny.conf & deny=$!
trap 'kill -USR1 $allow $deny' USR1
trap 'kill $allow $deny 2>/dev/null; exit 0' TERM INT
while kill -0 $allow 2>/dev/null && kill -0 $deny 2>/dev/null; do
  sleep 1 & wait $!
done
kill $allow $deny 2>/dev/null
exit 1
"""

_FILES = {
    "Dockerfile": DOCKERFILE,
    "berth/run": RUN,
    "berth/deny.conf": DENY_CONF,
    "berth/allow.conf": ALLOW_CONF,
    # Until Berth writes the rules: nothing denied by the first stage, nothing allowed by the second.
    "berth/deny.filter": "",
    "berth/allow.filter": "",
}


def base_image() -> str:
    return os.environ.get("BERTH_PROXY_BASE", "").strip() or DEFAULT_BASE


def tag(base: str) -> str:
    digest = hashlib.sha256(base.encode())
    for name in sorted(_FILES):
        digest.update(f"\0{name}\0{_FILES[name]}".encode())
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def context() -> bytes:
    """The build context, as the tar the engine's build endpoint takes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name in sorted(_FILES):
            data = _FILES[name].encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()
