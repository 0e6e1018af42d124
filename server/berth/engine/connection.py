"""The connection to the Docker engine: finding and connecting to it, bounding every call, and turning
docker-py's failures into Berth's error kinds.

Every docker-py call that needs more than `call` lives here too: those reaching into docker-py's private
helpers (a HEAD request, a bounded pull) and those where an answer code means something to Berth (409:
a name taken, a removal already under way). The sandbox logic above sees Berth's errors only.

docker (and requests under it) is imported lazily, so the server can answer `initialize` before
paying for that import.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from berth.engine import ssh_transport
from berth.engine.endpoint import Endpoint, resolve
from berth.errors import (
    BerthError,
    EngineError,
    EngineSetup,
    EngineUnavailable,
    NotFound,
    TemplateProblem,
)

if TYPE_CHECKING:
    import docker

T = TypeVar("T")
log = logging.getLogger(__name__)

# Bounded so that a stuck engine can never freeze a caller. Streams (pulls, the event stream) are
# bounded by it too, between two reads: they may run long, but never silently forever.
DEFAULT_TIMEOUT = 30.0
# How long a user's command in the sandbox may run (`exec`).
COMMAND_TIMEOUT = 3600.0


def engine_timeout() -> float:
    """DEFAULT_TIMEOUT, or BERTH_ENGINE_TIMEOUT seconds when set to a sane number (tests lower it to
    see a stuck engine call fail fast); anything else falls back to the default."""
    try:
        value = float(os.environ.get("BERTH_ENGINE_TIMEOUT", ""))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if 0.5 <= value <= 3600 else DEFAULT_TIMEOUT


def connect(timeout: float | None = None, endpoint: Endpoint | None = None) -> docker.APIClient:
    """A client of `endpoint` (default: the engine the configuration names now), its calls bounded
    by `timeout`. Connecting
    and the first call (the API version) are bounded by the engine timeout whatever `timeout` is:
    a client for hour-long commands must not wait an hour for an engine that is not there."""
    import docker

    endpoint = endpoint or resolve()
    timeout = timeout or engine_timeout()
    first = min(timeout, engine_timeout())
    try:
        if endpoint.scheme == "ssh":
            api = ssh_transport.client(endpoint.host, first)
        elif endpoint.tls is None:
            api = docker.APIClient(base_url=endpoint.host, version="auto", timeout=first)
        else:
            # The API version is asked once the engine's CA is in place (below).
            api = _keeping_engine_ca(docker.APIClient(base_url=endpoint.host, tls=endpoint.tls,
                                                      version=MINIMUM_API, timeout=first))
            api._version = api._retrieve_server_version()
    except Exception as exc:
        raise unavailable(exc) from None
    api.timeout = timeout
    if endpoint.scheme in ("unix", "npipe", "ssh"):
        # No proxy stands between Berth and a socket or an ssh pipe, so requests need not read the
        # environment for one on every call (about 0.3 ms a call).
        api.trust_env = False
    return api


# docker-py's lowest API version (docker.constants, not imported here: docker loads lazily).
MINIMUM_API = "1.24"


def _keeping_engine_ca(api: docker.APIClient) -> docker.APIClient:
    """requests lets REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE) in the environment replace the CA a
    session was given, for every request that names none, and docker-py names none: with either set,
    as many systems do, an engine's own CA would be ignored and its certificate refused. The
    engine's CA is named on each request instead; proxies from the environment still apply."""
    from requests import Session

    def merge(url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        return Session.merge_environment_settings(
            api, url, proxies, stream, api.verify if verify is None else verify, cert)

    api.merge_environment_settings = merge  # type: ignore[method-assign]
    return api


class Connection:
    """An engine's clients, connected on first use: `api` for Berth's own calls, bounded by the
    engine timeout, and `command_api` for a user's own commands (`exec`), which may rightly run for
    minutes and which the engine timeout would cut off.

    The engine is found again on each use (reading the docker CLI's configuration costs far less
    than any call): Docker Desktop, colima and Rancher Desktop switch the current context when they
    start or stop, and a long-lived server must follow, as the docker CLI does."""

    def __init__(self, client: docker.APIClient | None = None, timeout: float | None = None) -> None:
        self._api = client
        self._command: docker.APIClient | None = None
        self._endpoint: Endpoint | None = None
        # A client given by the caller is used as it is.
        self._fixed = client is not None
        self._lock = threading.Lock()
        self.timeout = timeout

    def _client(self, *, command: bool) -> docker.APIClient:
        """The client for the engine the configuration names now, connected on first use; all under
        the lock, so that a context switch seen by one thread is the one every thread gets."""
        with self._lock:
            if not self._fixed:
                endpoint = resolve()
                if endpoint != self._endpoint:
                    _retire(self._api, self._command)
                    self._api = self._command = None
                    self._endpoint = endpoint
            if command:
                if self._command is None:
                    self._command = connect(COMMAND_TIMEOUT, self._endpoint)
                return self._command
            if self._api is None:
                self._api = connect(self.timeout, self._endpoint)
            return self._api

    @property
    def endpoint(self) -> Endpoint:
        """The engine the configuration names now."""
        return resolve()

    @property
    def api(self) -> docker.APIClient:
        return self._client(command=False)

    @property
    def command_api(self) -> docker.APIClient:
        return self._client(command=True)

    def ping(self) -> bool:
        try:
            return bool(self.api.ping())
        except Exception:
            return False


# How long a client replaced after a context switch stays open: calls already on it finish there.
_RETIRE_AFTER = 120.0


def _retire(*clients: docker.APIClient | None) -> None:
    for client in clients:
        if client is not None:
            timer = threading.Timer(_RETIRE_AFTER, client.close)
            timer.daemon = True
            timer.start()


def unavailable(exc: BaseException | None = None) -> EngineUnavailable:
    """The engine does not answer; or, when the configuration names no usable engine, why not."""
    try:
        endpoint = resolve()
    except EngineSetup as problem:
        return problem
    detail = f" ({_first_line(exc)})" if exc else ""
    if endpoint.scheme == "ssh" and "command not found" in detail:
        return EngineUnavailable(
            f"The Docker engine at {endpoint.describe()} cannot be reached: ssh logs in, but the "
            "docker CLI is not on the PATH of a non-interactive ssh session there"
            f"{detail}. Install it there, or put it on that PATH.", engine=endpoint.describe())
    if endpoint.scheme == "ssh":
        return EngineUnavailable(
            f"The Docker engine at {endpoint.describe()} is not answering{detail}. Check that "
            f"`ssh {endpoint.host}` logs in without a question (keys or agent, known_hosts) and that "
            "Docker runs on that machine.", engine=endpoint.describe())
    return EngineUnavailable(
        f"The Docker engine is not answering at {endpoint.describe()}{detail}. "
        "Start Docker (or dockerd) and try again.", engine=endpoint.describe())


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


# -- calls whose answer codes mean something to Berth ---------------------------------------------


def create_container(api: docker.APIClient, what: str, **kwargs: Any) -> str | None:
    """The new container's id, or None when its name is taken (409: by whom is the caller's
    question)."""
    from docker.errors import APIError

    with translated(what):
        try:
            return api.create_container(**kwargs)["Id"]
        except APIError as exc:
            if exc.status_code != 409:
                raise
            return None


# The engine fails a removal when something else has the container's filesystem mounted at that
# moment (another window's exec or file check on the same sandbox): "failed to remove root
# filesystem ... directory not empty" on overlay2, "unable to remove filesystem" on newer engines. The
# container is left dead, and removing it again a moment later succeeds.
_FILESYSTEM_BUSY = ("remove root filesystem", "unable to remove filesystem")
_REMOVE_RETRIES = (0.1, 0.3, 0.6, 1.0)


def remove_container(api: docker.APIClient, container_id: str, what: str) -> bool:
    """Remove a container with its anonymous volumes; False when it was gone already. A removal
    already under way (another window's) counts as this one."""
    import docker.errors

    pauses = iter(_REMOVE_RETRIES)
    try:
        with translated(what):
            while True:
                try:
                    api.remove_container(container_id, force=True, v=True)
                    return True
                except docker.errors.NotFound:
                    return False
                except docker.errors.APIError as exc:
                    if exc.status_code == 409 and "already in progress" in str(exc):
                        return True
                    pause = next(pauses, None)
                    if pause is None or not any(s in str(exc) for s in _FILESYSTEM_BUSY):
                        raise
                    log.info("%s: the engine could not free its filesystem yet; trying again", what)
                    time.sleep(pause)
    except NotFound:
        return False


def image_or_none(api: docker.APIClient, image: str, what: str) -> dict[str, Any] | None:
    """The image's inspect data, or None when the engine does not have it."""
    import docker.errors

    with translated(what):
        try:
            return api.inspect_image(image)
        except docker.errors.NotFound:
            return None


# -- calls through docker-py's private helpers ----------------------------------------------------


def path_exists(api: docker.APIClient, container_id: str, path: str, what: str) -> bool:
    """Whether `path` exists in the container. HEAD is the engine's stat of a path in the container
    (~1 ms); GET would build a tar of it in a re-executed, chrooted helper process (~40 ms on Docker
    20.10)."""
    with translated(what):
        # requests' own head(): docker-py's timeout is not applied to it unless passed here.
        response = api.head(api._url("/containers/{0}/archive", container_id),
                            params={"path": path}, timeout=api.timeout)
        if response.status_code == 404:
            return False
        api._raise_for_status(response)
    return True


def pull(api: docker.APIClient, image: str) -> Iterator[dict[str, Any]]:
    """The decoded lines of `docker pull image`, as APIClient.pull(stream=True) gives them, but with
    every read bounded by the client's timeout: docker-py sends pulls with no timeout at all. A pull
    that makes no progress for that long is a TemplateProblem; call it inside `translated`."""
    import requests.exceptions
    import urllib3.exceptions
    from docker import auth
    from docker.utils import parse_repository_tag

    repo, tag = parse_repository_tag(image)
    registry, _ = auth.resolve_repository_name(repo)
    headers = {}
    header = auth.get_config_header(api, registry)
    if header:
        headers["X-Registry-Auth"] = header
    response = None
    try:
        response = api._post(api._url("/images/create"),
                             params={"fromImage": repo, "tag": tag or "latest"}, headers=headers,
                             stream=True, timeout=api.timeout)
        api._raise_for_status(response)
        yield from api._stream_helper(response, decode=True)
    except (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError):
        raise TemplateProblem(
            f"the pull made no progress for {api.timeout:g} s (the registry or the Docker "
            "engine stopped answering)") from None
    finally:
        # An abandoned pull must not keep its connection: the engine then cancels the pull.
        if response is not None:
            response.close()


def events(api: docker.APIClient, *, since: str, filters: dict[str, Any], timeout: float) -> Any:
    """api.events(), less its unbounded reads: each read of the stream waits at most `timeout`
    (then requests' or urllib3's ReadTimeout(Error) says the stream was silent that long). The same
    request and decoding as docker-py's, on its own helpers; close() ends it."""
    from docker.types import CancellableStream
    from docker.utils import convert_filters

    response = api._get(api._url("/events"), stream=True, timeout=timeout,
                        params={"since": since, "filters": convert_filters(filters)})
    api._raise_for_status(response)
    return CancellableStream(api._stream_helper(response, decode=True), response)


def _explanation(exc: Any) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _first_line(text)


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
