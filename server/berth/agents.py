"""The agent table: everything Berth knows about each coding agent, as data.

The built-in agents below are checked against each agent's real binary (tests/images/real builds a
template holding all of them). A user adds agents, or changes a built-in one, in their config file
(berth.user_config); `agents()` is the merged table every front end sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from berth.errors import BadInput


@dataclass(frozen=True)
class Agent:
    name: str
    title: str
    # The program run in the sandbox; empty for `shell`, which runs a login shell instead.
    binary: str
    default_template: str
    # Prepended to the user's agent arguments: the sandbox is the safety boundary, so the agent's own
    # permission prompts are switched off, as Docker's sandboxes did.
    default_args: tuple[str, ...]
    # Where the agent keeps its login and settings, relative to its user's home. The first is the
    # credentials volume's root (as in Berth 0.1, so existing logins stay); each other one is the
    # volume's `.berth-home/<path>`. Directories only: an agent rewrites a file by renaming a new one
    # over it, which would replace a link to the volume with a file that dies with the container.
    state: tuple[str, ...] = ()
    # Variables Berth sets so that the agent keeps state in the volume; `{volume}` is its mount
    # point. How Claude Code's ~/.claude.json (a file beside ~/.claude) is kept.
    env: tuple[tuple[str, str], ...] = ()
    # Files of a template's home that seed the volume's root when it has none of that name (Claude
    # Code's ~/.claude.json, found there through CLAUDE_CONFIG_DIR).
    seeds: tuple[str, ...] = ()
    # API-key variables the agent reads: what to pass with `-e NAME` to log in without a browser.
    keys: tuple[str, ...] = ()
    # "built-in", or the user config file that defined or changed it.
    source: str = "built-in"

    @property
    def credentials_volume(self) -> str:
        """Named volume shared by every sandbox of this agent, holding its login across `rm`."""
        return f"berth-{self.name}-credentials"

    @property
    def credentials_mount(self) -> str:
        return f"/mnt/{self.name}-data"

    def volume_path(self, index: int) -> str:
        """Where state path `index` lives inside the mounted volume."""
        return "." if index == 0 else f".berth-home/{self.state[index]}"

    def setup_specs(self) -> list[str]:
        """The state, as the setup script takes it (container_setup.SETUP_SCRIPT)."""
        dirs = [f"d:{p}:{self.volume_path(i)}" for i, p in enumerate(self.state)]
        return dirs + [f"f:{p}:{p.rsplit('/', 1)[-1]}" for p in self.seeds]

    def container_env(self) -> list[str]:
        return [f"{k}={v.format(volume=self.credentials_mount)}" for k, v in self.env]

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "binary": self.binary,
            "defaultTemplate": self.default_template,
            "defaultArgs": list(self.default_args),
            "state": [f"~/{p}" for p in self.state],
            "credentialsVolume": self.credentials_volume if self.state else None,
            "keys": list(self.keys),
            "source": self.source,
        }


BUILT_IN: dict[str, Agent] = {a.name: a for a in (
    Agent(
        name="claude",
        title="Claude Code",
        binary="claude",
        default_template="docker/sandbox-templates:claude-code",
        default_args=("--dangerously-skip-permissions",),
        state=(".claude",),
        # Claude Code writes ~/.claude.json (its identity and onboarding) beside ~/.claude; with
        # CLAUDE_CONFIG_DIR both live in that one directory, which is the volume.
        env=(("CLAUDE_CONFIG_DIR", "{volume}"),),
        seeds=(".claude.json",),
        keys=("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"),
    ),
    Agent(
        name="codex",
        title="OpenAI Codex CLI",
        binary="codex",
        default_template="docker/sandbox-templates:codex",
        # Codex's own sandbox (Landlock, seccomp) cannot nest in a container: the container is it.
        default_args=("--dangerously-bypass-approvals-and-sandbox",),
        state=(".codex",),
        env=(("CODEX_HOME", "{volume}"),),
        keys=("OPENAI_API_KEY", "CODEX_API_KEY"),
    ),
    Agent(
        name="gemini",
        title="Gemini CLI",
        binary="gemini",
        default_template="docker/sandbox-templates:gemini",
        default_args=("--approval-mode=yolo",),
        state=(".gemini",),
        keys=("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT",
              "GOOGLE_APPLICATION_CREDENTIALS"),
    ),
    Agent(
        name="copilot",
        title="GitHub Copilot CLI",
        binary="copilot",
        default_template="docker/sandbox-templates:copilot",
        default_args=("--yolo",),
        state=(".copilot",),
        keys=("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"),
    ),
    Agent(
        name="opencode",
        title="OpenCode",
        binary="opencode",
        default_template="docker/sandbox-templates:opencode",
        default_args=(),
        state=(".local/share/opencode", ".config/opencode"),
        # OpenCode asks before nothing by default except what its config restricts; this makes
        # every tool allowed, the equivalent of the other agents' flags.
        env=(("OPENCODE_PERMISSION", '{{"*":"allow"}}'),),
        keys=("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY"),
    ),
    Agent(
        name="shell",
        title="Shell (no agent)",
        binary="",
        default_template="docker/sandbox-templates:shell",
        default_args=(),
    ),
)}

DEFAULT_AGENT = "claude"


def agents() -> dict[str, Agent]:
    """Every agent: the built-in ones, changed and extended by the user's config file."""
    from berth import user_config

    return user_config.load().agents


def get_agent(name: str) -> Agent:
    table = agents()
    try:
        return table[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(table))
        raise BadInput(f"Unknown agent {name!r}; expected one of: {known}.", field="agent") from None


def missing_binary_message(agent: Agent) -> str:
    # Exactly Docker's wording: scripts and users grep for it.
    return (
        f"The {agent.binary} binary was not found in the sandbox; "
        "please check this is the correct sandbox for this agent."
    )
