"""The agent table and the user's config file: pure logic, no engine."""

from __future__ import annotations

import pytest
from berth import user_config
from berth.agents import BUILT_IN, agents, get_agent
from berth.config import ConfigRequest, parse_request
from berth.errors import BadInput


def test_every_agent_users_run_today_is_built_in():
    assert set(BUILT_IN) == {"claude", "codex", "gemini", "copilot", "opencode", "shell"}
    for agent in BUILT_IN.values():
        assert agent.default_template.startswith("docker/sandbox-templates:")
        # Every agent with a login keeps it in a volume of its own.
        assert bool(agent.state) == (agent.name != "shell")
    assert get_agent("claude").to_json()["state"] == ["~/.claude"]
    assert get_agent("shell").binary == ""


def test_claude_keeps_claude_json_in_the_volume_through_its_config_dir():
    claude = get_agent("claude")
    assert claude.container_env() == ["CLAUDE_CONFIG_DIR=/mnt/claude-data"]
    assert claude.setup_specs() == ["d:.claude:.", "f:.claude.json:.claude.json"]


def test_an_agent_with_two_state_folders_keeps_the_second_under_berth_home():
    assert get_agent("opencode").setup_specs() == [
        "d:.local/share/opencode:.", "d:.config/opencode:.berth-home/.config/opencode"]


def write(home, text):
    path = home / "berth" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return str(path)


def test_user_agents_and_changes_to_built_in_ones(user_config_home):
    path = write(user_config_home, """
[defaults]
agent = "aider"
credentials = "isolated"

[agents.aider]
binary = "aider"
template = "my/aider:1"
args = ["--yes-always"]
state = ["~/.aider", ".config/aider"]
keys = ["OPENAI_API_KEY"]

[agents.claude]
template = "mirror.example.com/claude:2"
""")
    table = agents()
    aider = table["aider"]
    assert (aider.binary, aider.default_template, aider.default_args, aider.state, aider.source) == (
        "aider", "my/aider:1", ("--yes-always",), (".aider", ".config/aider"), path)
    assert table["claude"].default_template == "mirror.example.com/claude:2"
    assert table["claude"].default_args == ("--dangerously-skip-permissions",)
    assert "codex" in table
    # The defaults are the bottom layer; what is asked for wins.
    defaults = ConfigRequest(user_config.load().defaults)
    assert ConfigRequest().over(defaults).resolve().template == "my/aider:1"
    assert parse_request({"agent": "claude"}).over(defaults).resolve().template == (
        "mirror.example.com/claude:2")
    assert defaults.resolve().credentials == "isolated"


def test_the_file_is_read_again_when_it_changes(user_config_home):
    write(user_config_home, '[agents.one]\nbinary = "one"\ntemplate = "t:1"\n')
    assert "one" in agents()
    write(user_config_home, '[agents.two]\nbinary = "two"\ntemplate = "t:2"\n# longer now\n')
    assert "two" in agents() and "one" not in agents()


@pytest.mark.parametrize("text, expected", [
    ('[agents.aider]\nbinary = "aider"\n', r"line 1: agents\.aider: a new agent needs 'template'"),
    ('[agents.aider]\nbinary = "aider"\ntemplate = "t"\nargs = "--yes"\n',
     r"line 4: agents\.aider\.args: must be a list of strings"),
    ('[agents.claude]\n\ntempalte = "t"\n', r"line 3: agents\.claude\.tempalte: unknown field"),
    ('[agents.x]\nbinary = "x"\ntemplate = "t"\nstate = ["../etc"]\n',
     r"line 4: agents\.x\.state: '\.\./etc' must be a folder inside the home"),
    ('[agents."Bad Name"]\nbinary = "x"\n', r"line 1: agents\.Bad Name: agent name"),
    ('[defaults]\nagent = "nobody"\n', r"line 2: defaults\.agent: unknown agent 'nobody'"),
    ('[defaults]\ncredentials = "all"\n', r"line 2: defaults\.credentials: Unknown credentials"),
    ('[defaults]\nvolumes = ["/:/host"]\n', r"line 2: defaults\.volumes: unknown field"),
    ('[agents.x\n', r"config\.toml: .*line 1"),
])
def test_a_bad_file_names_the_file_the_line_and_the_field(user_config_home, text, expected):
    path = write(user_config_home, text)
    with pytest.raises(BadInput, match=expected) as info:
        agents()
    assert info.value.message.startswith(path)


def test_no_file_is_the_built_in_table(user_config_home):
    assert agents() == BUILT_IN
