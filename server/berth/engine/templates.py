"""Template images: finding or pulling them, reading their user, checking they hold the agent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from berth import labels
from berth.agents import get_agent, missing_binary_message
from berth.config import SandboxConfig
from berth.engine.connection import call, image_or_none, pull, translated
from berth.errors import EngineError, NotFound, TemplateProblem

if TYPE_CHECKING:
    import docker

# Called with a phase (`pulling`, `creating`, `starting`) and a human message.
Progress = Callable[[str, str], None]


def ensure_image(api: docker.APIClient, template: str, progress: Progress) -> dict[str, Any]:
    """The template's image (inspect data), pulled with progress when the engine lacks it.

    The pull is bounded by inactivity (the client's timeout between two reads of its answer): a
    registry or an engine that stops sending fails it, however long a pull that progresses takes.
    """
    image = image_or_none(api, template, f"Looking up template {template}")
    if image is not None:
        return image
    progress("pulling", f"Pulling template {template}")
    try:
        with translated("Pull failed"):
            for line in pull(api, template):
                if "error" in line:
                    raise TemplateProblem(line["error"])
                if "status" in line:
                    progress("pulling", f"{template}: {line['status']} "
                                        f"{line.get('progress', '')}".rstrip())
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
    what = f"Checking template {config.template}"
    # No binary (`shell`): a shell is all the sandbox needs.
    check = 'command -v "$0"' if agent.binary else "true"
    probe = call(what, api.create_container, image=config.template,
                 entrypoint=["/bin/sh", "-c", check, agent.binary or "sh"], user="0",
                 labels={labels.MARKER: "true", labels.PROBE: "true"},
                 host_config=api.create_host_config(privileged=False), detach=True)["Id"]
    try:
        try:
            call(what, api.start, probe)
            code = call(what, api.wait, probe, timeout=timeout or 30).get("StatusCode")
        except (EngineError, NotFound):
            code = 127  # no /bin/sh at all (or another CPU's): no usable agent either
        if code != 0:
            raise TemplateProblem(missing_binary_message(agent), value=config.template)
    finally:
        call(what, api.remove_container, probe, force=True)


def image_user(image: dict[str, Any]) -> str:
    """The template's non-root user (its USER), or '' to run as root."""
    user = ((image.get("Config") or {}).get("User") or "").strip()
    if user.split(":")[0] in ("", "root", "0"):
        return ""
    return user
