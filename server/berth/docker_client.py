"""Connecting to the Docker engine and translating its failures into Berth's error kinds.

docker (and requests under it) is imported here, lazily, so the server can answer `initialize` before
paying for that import.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from berth.errors import BerthError, EngineError, EngineUnavailable, NotFound

if TYPE_CHECKING:
    import docker

T = TypeVar("T")

# Bounded so that a stuck engine can never freeze a caller. Streams (pulls, the event stream) are
# bounded by it too, between two reads: they may run long, but never silently forever.
DEFAULT_TIMEOUT = 30.0


def engine_timeout() -> float:
    """DEFAULT_TIMEOUT, or BERTH_ENGINE_TIMEOUT seconds when set to a sane number (tests lower it to
    see a stuck engine call fail fast); anything else falls back to the default."""
    try:
        value = float(os.environ.get("BERTH_ENGINE_TIMEOUT", ""))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if 0.5 <= value <= 3600 else DEFAULT_TIMEOUT


def docker_host() -> str | None:
    """The engine address the docker CLI would use: DOCKER_HOST, else the current context's."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host
    try:
        from docker.context import ContextAPI

        ctx = ContextAPI.get_current_context()
        return ctx.Host if ctx is not None and ctx.Host else None
    except Exception:  # a broken ~/.docker/config.json must not stop Berth: use the default socket
        return None


def connect(timeout: float | None = None) -> docker.APIClient:
    import docker
    from docker.utils import kwargs_from_env

    kwargs: dict[str, Any] = kwargs_from_env()
    host = docker_host()
    if host and "base_url" not in kwargs:
        kwargs["base_url"] = host
    try:
        return docker.APIClient(version="auto", timeout=timeout or engine_timeout(), **kwargs)
    except Exception as exc:
        raise unavailable(exc) from None


def unavailable(exc: BaseException | None = None) -> EngineUnavailable:
    where = docker_host() or "the default socket (/var/run/docker.sock)"
    detail = f" ({_first_line(exc)})" if exc else ""
    return EngineUnavailable(
        f"The Docker engine is not answering at {where}{detail}. "
        "Start Docker (or dockerd) and try again.")


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Re-raise docker/requests errors from `what` as Berth errors with a message a user can act on."""
    import docker.errors
    import requests.exceptions
    import urllib3.exceptions

    try:
        yield
    except BerthError:
        raise
    except docker.errors.NotFound as exc:
        raise NotFound(f"{what}: {_explanation(exc)}") from None
    except docker.errors.APIError as exc:
        raise EngineError(f"{what}: {_explanation(exc)}") from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
            ConnectionError, TimeoutError) as exc:
        raise unavailable(exc) from None
    except urllib3.exceptions.HTTPError as exc:
        # Reads of a streamed answer (a pull) go to urllib3 directly, so its errors arrive untranslated
        # by requests: a read timeout, a connection dropped mid-answer.
        raise unavailable(exc) from None
    except docker.errors.DockerException as exc:
        raise unavailable(exc) from None


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with translated(what):
        return fn(*args, **kwargs)


def _explanation(exc: Any) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _first_line(text)


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
