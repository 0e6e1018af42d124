"""The agent table: everything Berth knows about each supported coding agent, as data."""

from __future__ import annotations

from dataclasses import dataclass

from berth.errors import BadInput


@dataclass(frozen=True)
class Agent:
    name: str
    binary: str
    default_template: str
    # Prepended to the user's agent arguments: the sandbox is the safety boundary, so the agent's own
    # permission prompts are switched off, as Docker's sandboxes did.
    default_args: tuple[str, ...]
    # Named volume shared by every sandbox of this agent, holding its login across `rm`.
    credentials_volume: str
    credentials_mount: str
    # Directory in the agent user's home that the agent keeps its login in; linked to the volume.
    config_dir: str


AGENTS: dict[str, Agent] = {
    "claude": Agent(
        name="claude",
        binary="claude",
        default_template="docker/sandbox-templates:claude-code",
        default_args=("--dangerously-skip-permissions",),
        credentials_volume="berth-claude-credentials",
        credentials_mount="/mnt/claude-data",
        config_dir=".claude",
    ),
    "gemini": Agent(
        name="gemini",
        binary="gemini",
        default_template="docker/sandbox-templates:gemini",
        default_args=(),
        credentials_volume="berth-gemini-credentials",
        credentials_mount="/mnt/gemini-data",
        config_dir=".gemini",
    ),
}

DEFAULT_AGENT = "claude"


def get_agent(name: str) -> Agent:
    try:
        return AGENTS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(AGENTS))
        raise BadInput(f"Unknown agent {name!r}; expected one of: {known}.", field="agent") from None


def missing_binary_message(agent: Agent) -> str:
    # Exactly Docker's wording: scripts and users grep for it.
    return (
        f"The {agent.binary} binary was not found in the sandbox; "
        "please check this is the correct sandbox for this agent."
    )
