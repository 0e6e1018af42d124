"""The offline test templates (tests/images/build.sh) and the host user that owns test workspaces."""

import docker.errors

CLAUDE = "berth-test/claude:1"
GEMINI = "berth-test/gemini:1"
PLAIN = "berth-test/plain:1"
CLAUDE_WITH_CONFIG = "berth-test/claude-config:1"
# The real agents from npm on a debootstrapped Debian (tests/images/real/build.sh).
REAL = "berth-test/agents:1"
# Workspaces belong to an ordinary host user, as on a developer's machine (CI runs as root).
HOST_UID = 1234


def has_image(api, ref: str) -> bool:
    """Whether the engine has this image (by tag or id)."""
    try:
        api.inspect_image(ref)
        return True
    except docker.errors.ImageNotFound:
        return False
