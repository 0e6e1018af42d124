"""Template images: finding or pulling them, reading their user, checking they hold the agent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from berth import labels
from berth.agents import get_agent, missing_binary_message
from berth.config import SandboxConfig
from berth.docker_client import translated
from berth.errors import EngineError, NotFound, TemplateProblem

if TYPE_CHECKING:
    import docker

# Called with a phase (`pulling`, `creating`, `starting`) and a human message.
Progress = Callable[[str, str], None]


def ensure_image(api: docker.APIClient, template: str, progress: Progress) -> dict[str, Any]:
    """The template's image (inspect data), pulled with progress when the engine lacks it."""
    import docker.errors

    with translated(f"Looking up template {template}"):
        try:
            return api.inspect_image(template)
        except docker.errors.NotFound:
            pass
    progress("pulling", f"Pulling template {template}")
    from docker.utils import parse_repository_tag

    repo, tag = parse_repository_tag(template)
    try:
        with translated("Pull failed"):
            for line in api.pull(repo, tag=tag or "latest", stream=True, decode=True):
                if "error" in line:
                    raise TemplateProblem(line["error"])
                if "status" in line:
                    progress("pulling", f"{template}: {line['status']} {line.get('progress', '')}"
                             .rstrip())
            return api.inspect_image(template)
    except (TemplateProblem, EngineError, NotFound) as exc:
        raise TemplateProblem(
            f"The template image {template!r} is not on this engine and could not be pulled: "
            f"{exc.message}", value=template) from None


def check_has_agent(api: docker.APIClient, config: SandboxConfig, progress: Progress,
                    timeout: float | None) -> None:
    """Whether the template holds the agent's binary, in a throwaway container of its own."""
    agent = get_agent(config.agent)
    progress("creating", f"Checking that {config.template} has {agent.binary or 'a shell'}")
    from docker.errors import APIError

    with translated(f"Checking template {config.template}"):
        # No binary (`shell`): a shell is all the sandbox needs.
        check = 'command -v "$0"' if agent.binary else "true"
        probe = api.create_container(
            image=config.template, entrypoint=["/bin/sh", "-c", check, agent.binary or "sh"],
            user="0", labels={labels.MARKER: "true", labels.PROBE: "true"},
            host_config=api.create_host_config(privileged=False), detach=True)
        try:
            try:
                api.start(probe["Id"])
                code = api.wait(probe["Id"], timeout=timeout or 30).get("StatusCode")
            except APIError:
                code = 127  # no /bin/sh at all (or another CPU's): no usable agent either
            if code != 0:
                raise TemplateProblem(missing_binary_message(agent), value=config.template)
        finally:
            api.remove_container(probe["Id"], force=True)


def image_user(image: dict[str, Any]) -> str:
    """The template's non-root user (its USER), or '' to run as root."""
    user = ((image.get("Config") or {}).get("User") or "").strip()
    if user.split(":")[0] in ("", "root", "0"):
        return ""
    return user
