"""Template images: finding or pulling them, reading their user, checking they hold the agent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
    """The template's image (inspect data), pulled with progress when the engine lacks it.

    The pull is bounded by inactivity (the client's timeout between two reads of its answer): a
    registry or an engine that stops sending fails it, however long a pull that progresses takes.
    """
    import docker.errors
    import requests.exceptions
    import urllib3.exceptions

    with translated(f"Looking up template {template}"):
        try:
            return api.inspect_image(template)
        except docker.errors.NotFound:
            pass
    progress("pulling", f"Pulling template {template}")
    try:
        with translated("Pull failed"):
            try:
                for line in _pull(api, template):
                    if "error" in line:
                        raise TemplateProblem(line["error"])
                    if "status" in line:
                        progress("pulling", f"{template}: {line['status']} "
                                            f"{line.get('progress', '')}".rstrip())
            except (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError):
                raise TemplateProblem(
                    f"the pull made no progress for {api.timeout:g} s (the registry or the Docker "
                    "engine stopped answering)") from None
            return api.inspect_image(template)
    except (TemplateProblem, EngineError, NotFound) as exc:
        raise TemplateProblem(
            f"The template image {template!r} is not on this engine and could not be pulled: "
            f"{exc.message}", value=template) from None


def _pull(api: docker.APIClient, template: str) -> Iterator[dict[str, Any]]:
    """The decoded lines of `docker pull template`, as APIClient.pull(stream=True) gives them, but
    with every read bounded by the client's timeout: docker-py sends pulls with no timeout at all."""
    from docker import auth
    from docker.utils import parse_repository_tag

    repo, tag = parse_repository_tag(template)
    registry, _ = auth.resolve_repository_name(repo)
    headers = {}
    header = auth.get_config_header(api, registry)
    if header:
        headers["X-Registry-Auth"] = header
    response = api._post(api._url("/images/create"), params={"fromImage": repo, "tag": tag or "latest"},
                         headers=headers, stream=True, timeout=api.timeout)
    try:
        api._raise_for_status(response)
        yield from api._stream_helper(response, decode=True)
    finally:
        # An abandoned pull must not keep its connection: the engine then cancels the pull.
        response.close()


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
