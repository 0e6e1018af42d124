"""`hostCertificates`: what a sandbox needs to get out through a corporate, TLS-inspecting proxy.

Behind such a proxy nothing in the sandbox reaches an API until it trusts the proxy's CA, which the
host already does. This finds the host's CA bundle (copied into the sandbox at setup), the variables
that make the common runtimes use it, and the host's proxy variables.
"""

from __future__ import annotations

import io
import os
import tarfile

from berth.container_setup import HOST_CA_BUNDLE
from berth.errors import BadInput

# Where the common systems keep the bundle of every CA they trust (Debian/Ubuntu, Fedora/RHEL,
# openSUSE, Alpine/macOS's OpenSSL).
_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem")
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")
# Node adds this file to its own roots; OpenSSL, Python's requests, curl and git use it instead of
# theirs, which is right: it is the host's whole bundle, not only the proxy's CA.
_CA_VARS = ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
            "GIT_SSL_CAINFO")


def ca_bundle() -> str:
    """The host's CA bundle: $SSL_CERT_FILE when set, else the system's."""
    candidates = [os.environ.get("SSL_CERT_FILE") or "", *_BUNDLES]
    for path in candidates:
        if path and os.path.isfile(path):
            return path
    raise BadInput("hostCertificates is on, but this machine has no CA bundle where Berth looks "
                   f"(SSL_CERT_FILE, {', '.join(_BUNDLES)}); set SSL_CERT_FILE to your bundle.",
                   field="hostCertificates")


# Where systems keep the CAs an administrator added (Debian/Ubuntu, Fedora/RHEL, openSUSE).
_LOCAL_CAS = ("/usr/local/share/ca-certificates", "/etc/pki/ca-trust/source/anchors",
              "/etc/pki/trust/anchors")


def extra_certificates() -> list[str]:
    """The CA certificates this machine's administrator added to its trust: a TLS-inspecting
    proxy's, as a rule."""
    found = []
    for top in _LOCAL_CAS:
        for folder, _dirs, files in sorted(os.walk(top)):
            found += [os.path.join(folder, f) for f in sorted(files)
                      if f.endswith((".crt", ".pem"))]
    return found


def proxy_variables() -> dict[str, str]:
    """This machine's proxy variables that are set, in the spellings it has them."""
    return {k: v for name in _PROXY_VARS for k in (name, name.lower()) if (v := os.environ.get(k))}


def ca_bundle_archive(path: str) -> bytes:
    """A tar holding the bundle at HOST_CA_BUNDLE, for the engine's archive upload (the engine may
    be on another machine than the file, so it is copied, not mounted)."""
    with open(path, "rb") as f:
        data = f.read()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        parent = os.path.dirname(HOST_CA_BUNDLE).lstrip("/")
        folder = tarfile.TarInfo(parent)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        info = tarfile.TarInfo(HOST_CA_BUNDLE.lstrip("/"))
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def container_env(user_env: list[str]) -> list[str]:
    """The CA variables, and the host's proxy variables where the host sets them; a variable the
    user set themselves is left to them."""
    taken = {item.split("=", 1)[0] for item in user_env}
    env = [f"{k}={HOST_CA_BUNDLE}" for k in _CA_VARS if k not in taken]
    for name in _PROXY_VARS:
        # Tools read one spelling or the other (curl only the lower-case http_proxy): give both.
        value = os.environ.get(name) or os.environ.get(name.lower())
        env += [f"{key}={value}" for key in (name, name.lower()) if value and key not in taken]
    return env
