"""The hosts each network policy allows, as data (docs/network.md lists them for users).

`locked` allows only the agent's own API and login hosts; `balanced` adds the common package
registries and code hosts. A user's own agents (berth.user_config) get the hosts of the registries
only; they name their API hosts with allow rules.
"""

from __future__ import annotations

# The agent's model API, its login (browser and token exchange) and what the agent itself calls at
# start-up (feature flags, telemetry it cannot start without).
AGENT_HOSTS: dict[str, tuple[str, ...]] = {
    "claude": (
        "api.anthropic.com", "console.anthropic.com", "statsig.anthropic.com",
        "claude.ai", "*.claude.ai", "platform.claude.com",
    ),
    "codex": (
        "api.openai.com", "auth.openai.com", "chatgpt.com", "*.chatgpt.com",
    ),
    "gemini": (
        "generativelanguage.googleapis.com", "cloudcode-pa.googleapis.com",
        "oauth2.googleapis.com", "www.googleapis.com", "accounts.google.com",
        "play.googleapis.com",
    ),
    "copilot": (
        "api.githubcopilot.com", "*.githubcopilot.com", "api.github.com", "github.com",
        "copilot-proxy.githubusercontent.com",
    ),
    "opencode": (
        "opencode.ai", "*.opencode.ai", "models.dev",
        "api.anthropic.com", "api.openai.com", "generativelanguage.googleapis.com",
        "openrouter.ai",
    ),
    "shell": (),
}

# Package registries and code hosts: what an agent needs to install dependencies and fetch code.
REGISTRIES: tuple[str, ...] = (
    # JavaScript
    "registry.npmjs.org", "registry.yarnpkg.com", "nodejs.org",
    # Python
    "pypi.org", "files.pythonhosted.org",
    # Debian and Ubuntu packages
    "deb.debian.org", "security.debian.org", "archive.ubuntu.com", "security.ubuntu.com",
    "ports.ubuntu.com",
    # Go, Rust, Ruby, Java
    "proxy.golang.org", "sum.golang.org", "crates.io", "static.crates.io", "index.crates.io",
    "rubygems.org", "repo.maven.apache.org", "repo1.maven.org",
    # Code hosts
    "github.com", "api.github.com", "codeload.github.com", "objects.githubusercontent.com",
    "raw.githubusercontent.com", "gitlab.com", "bitbucket.org",
)


def hosts(policy: str, agent: str) -> tuple[str, ...]:
    """The patterns `policy` allows for `agent` before any rule of the user's."""
    if policy == "locked":
        return AGENT_HOSTS.get(agent, ())
    if policy == "balanced":
        return tuple(dict.fromkeys((*AGENT_HOSTS.get(agent, ()), *REGISTRIES)))
    return ()
