"""The server object, its lifecycle (folders, settings, auto-start, event watcher) and `main`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn, TypeVar

import attrs
from cattrs import BaseValidationError, transform_error
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    default_converter,
)

from berth import __version__
from berth.engine import Engine
from berth.errors import BadInput, BerthError
from berth.lsp import lifecycle, requests
from berth.lsp.folders import Folders
from berth.lsp.status import StatusPublisher

log = logging.getLogger("berth.server")
T = TypeVar("T")

# A message larger than this is drained without being held in memory, and answered with an error.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
TOO_LARGE_METHOD = "$/berth/messageTooLarge"
SETTINGS_WAIT = 10.0
# `sandbox/exec` runs a user's command, which may take an hour: those wait on threads of their own,
# so that no number of them can starve the engine calls every other request makes.
COMMAND_THREADS = 64


class BerthRpcError(JsonRpcException):
    """A BerthError as a JSON-RPC error: its own code, its message, and {kind, field?, value?}."""

    def __init__(self, error: BerthError) -> None:
        super().__init__(message=error.message, code=error.code, data=error.to_data())


class BerthProtocol(LanguageServerProtocol):
    """pygls's protocol, but each message is decoded whole, and one that cannot be is answered.

    pygls gives its decoder to json.loads as the object hook, which calls it for every object in a
    message, innermost first: an object inside params with a "jsonrpc" key (`{"env": {"jsonrpc":
    "x"}}`) was taken for a message of its own, the message failed to decode, and its request was
    never answered. A request whose envelope or params do not decode (`workspace/executeCommand`
    without params) was dropped the same way, leaving its client waiting forever.
    """

    def structure_message(self, data: dict[str, Any]) -> Any:
        return data

    def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict) or "jsonrpc" not in message:
            log.warning("Ignoring a message that is not a JSON-RPC object (%s)",
                        type(message).__name__)
            return
        method = message.get("method")
        try:
            if method is not None and not isinstance(method, str):
                raise BadInput(f"The method name must be a string, got {_kind(method)}.",
                               field="method")
            structured = self._decode(message)
        except Exception as exc:
            self._refuse(message, exc)
            return
        super().handle_message(structured)

    def _decode(self, data: dict[str, Any]) -> Any:
        """pygls's structure_message, less its traceback in the log: the client is told instead."""
        if "method" in data:
            # JSON-RPC lets a request or notification leave params out (pygls's own hooks require
            # them), and Lua clients (Neovim) send an empty object as an empty list.
            params = data.get("params")
            data = {**data, "params": {} if params == [] else params}
        if "id" in data:
            if "error" in data:
                cls: Any = types.ResponseErrorMessage
            elif "method" in data:
                cls = self.get_message_type(data["method"]) or JsonRPCRequestMessage
            else:
                cls = self._result_types.pop(data["id"], None) or JsonRPCResponseMessage
        else:
            cls = self.get_message_type(data.get("method", "")) or JsonRPCNotification
        return self._converter.structure(data, cls)

    def _refuse(self, message: dict[str, Any], exc: Exception) -> None:
        ident = message.get("id")
        method = message.get("method")
        if not isinstance(ident, (int, str)) or isinstance(ident, bool) or method is None:
            log.warning("Ignoring a message that does not decode: %s", _reason(exc))
            return  # a notification or a response: there is no request to answer
        error = exc if isinstance(exc, BerthError) else BadInput(
            f"Malformed {str(method)[:80]} request: {_reason(exc)}.", field="params")
        log.warning("Refused request %r: %s", ident, error.message)
        self._send_response(ident, error=BerthRpcError(error).to_response_error())


def _reason(exc: Exception) -> str:
    # Paths and types only: a value from params may be a secret, and this is also logged.
    if isinstance(exc, BaseValidationError):
        return "; ".join(transform_error(exc))
    if isinstance(exc, BerthError):
        return exc.message
    return f"it does not decode ({type(exc).__name__})"


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


class BerthServer(LanguageServer):
    def __init__(self, engine: Engine | None = None) -> None:
        super().__init__("berth-server", __version__, protocol_cls=BerthProtocol,
                         converter_factory=_converter)
        self.engine = engine or Engine()
        # Engine calls block; they run here, never on pygls's own pool, which reads stdin.
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="berth-engine")
        self.command_pool = ThreadPoolExecutor(max_workers=COMMAND_THREADS,
                                               thread_name_prefix="berth-command")
        self.folders = Folders()
        self.status = StatusPublisher(self)
        self.watcher: Any = None
        # Set once the folders' settings are pulled after `initialized`; requests that arrive
        # earlier (editors send them at once) wait for it, or they would run on defaults.
        self._settings_ready: asyncio.Event | None = None

    @property
    def settings_ready(self) -> asyncio.Event:
        if self._settings_ready is None:
            self._settings_ready = asyncio.Event()
        return self._settings_ready

    async def in_worker(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))

    async def in_command_worker(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`in_worker` for calls that last as long as a user's own command (`sandbox/exec`)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.command_pool,
                                          functools.partial(fn, *args, **kwargs))

    async def answer(self, handler: requests.Handler,
                     params: Callable[[], dict[str, Any]]) -> Any:
        """Run `handler` on the request's params, turning every failure into a clean JSON-RPC error.

        `params` is called in here, so that a malformed params shape is answered like any other
        bad input rather than escaping to pygls as an unexpected exception (-32603).
        """
        try:
            if not self.settings_ready.is_set():
                await asyncio.wait_for(self.settings_ready.wait(), SETTINGS_WAIT)
        except TimeoutError:
            log.warning("No settings %ss after initialize; answering with what is known",
                        SETTINGS_WAIT)
            self.settings_ready.set()
        try:
            result = await handler(self, params())
            # The engine answered (or was not needed): failed status reads are retried at once.
            self.status.engine_answered()
            return result
        except BerthError as exc:
            raise BerthRpcError(exc) from None
        except JsonRpcException:
            raise
        except Exception as exc:
            log.exception("Unexpected failure in %s", getattr(handler, "__name__", handler))
            raise JsonRpcException(
                message=f"berth-server hit an unexpected {type(exc).__name__}; see its log.",
                code=-32603, data={"kind": "internal"}) from None

    def warn(self, message: str) -> None:
        log.warning("%s", message)
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning,
                                                         message=message))

    def report_server_error(self, error: Exception, source: Any) -> None:
        # Errors already answered to their request are the client's to show, not a pop-up of ours.
        if isinstance(error, BerthRpcError):
            return
        super().report_server_error(error, source)

    def _start_io_async(self, stdin: Any = None, stdout: Any = None) -> None:
        super()._start_io_async(_CappedStdin(stdin or sys.stdin.buffer), stdout)


class _CappedStdin:
    """stdin for pygls's reader: an oversized body is skipped in chunks instead of read whole."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def readline(self, *args: Any) -> bytes:
        return self._stream.readline(*args)

    def read(self, n: int = -1) -> bytes:
        if n <= MAX_MESSAGE_BYTES:
            return self._stream.read(n)
        head = self._stream.read(min(n, 65536))
        left = n - len(head)
        while left > 0:
            chunk = self._stream.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
        match = re.search(rb'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")', head)
        ident = match.group(1).decode("utf-8", "replace") if match else "null"
        return (f'{{"jsonrpc":"2.0","id":{ident},"method":"{TOO_LARGE_METHOD}",'
                f'"params":{{"size":{n}}}}}').encode()


def _converter() -> Any:
    """pygls's converter, but params of Berth's own methods stay the dicts the client sent."""
    converter = default_converter()
    base_request = converter.get_structure_hook(JsonRPCRequestMessage)
    base_notification = converter.get_structure_hook(JsonRPCNotification)

    def keep_params(base: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def hook(obj: dict[str, Any], cls: Any) -> Any:
            # Members JSON-RPC does not define are ignored, as lsprotocol's own types ignore them.
            obj = {k: v for k, v in obj.items() if k in attrs.fields_dict(cls)}
            method = obj.get("method", "")
            if isinstance(method, str) and (method.startswith("sandbox/")
                                            or method == TOO_LARGE_METHOD):
                return cls(**obj)
            return base(obj, cls)
        return hook

    converter.register_structure_hook(JsonRPCRequestMessage, keep_params(base_request))
    converter.register_structure_hook(JsonRPCNotification, keep_params(base_notification))
    return converter


def create_server(engine: Engine | None = None) -> BerthServer:
    server = BerthServer(engine)
    requests.register(server)
    lifecycle.register(server)

    @server.feature(TOO_LARGE_METHOD)
    async def too_large(ls: BerthServer, params: Any) -> Any:
        size = params.get("size") if isinstance(params, dict) else "?"
        raise BerthRpcError(BadInput(
            f"Message of {size} bytes refused: the limit is {MAX_MESSAGE_BYTES} bytes."))

    return server


def _configure_logging() -> None:
    level = os.environ.get("BERTH_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pygls logs whole messages at debug level, and they may carry environment values (secrets).
    logging.getLogger("pygls").setLevel(logging.WARNING)
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_DropAnsweredErrors())
    logging.getLogger("docker").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


class _DropAnsweredErrors(logging.Filter):
    """pygls logs every error it answers with a traceback; Berth's own are expected, not crashes."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, BerthRpcError)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("--version", "-V"):
        print(f"berth-server {__version__}")
        return 0
    if args and args[0] in ("--help", "-h"):
        print("usage: berth-server [--version]\n\nSpeaks the protocol in protocol.md on stdin/stdout;"
              " logs to stderr (BERTH_LOG_LEVEL=DEBUG|INFO|WARNING).")
        return 0
    # Clients pass transport flags by convention (vscode-languageclient: --stdio, and
    # --clientProcessId=N); stdio is the only transport, so they change nothing.
    unknown = [a for a in args if a != "--stdio" and not a.startswith("--clientProcessId")]
    if unknown:
        print(f"berth-server: unknown argument {unknown[0]!r}; try --help", file=sys.stderr)
        return 2
    _configure_logging()
    server = create_server()
    code = 0
    try:
        server.start_io()
    except Exception:
        log.exception("berth-server stopped on an unexpected error")
        code = 1
    finally:
        lifecycle.stop_watcher(server)
        server.pool.shutdown(wait=False, cancel_futures=True)
        server.command_pool.shutdown(wait=False, cancel_futures=True)
    _exit_now(code)


def _exit_now(code: int) -> NoReturn:
    """End the process at once, whatever its worker threads are doing.

    Python's own exit joins every worker thread, and one may be in a user's hour-long `sandbox/exec`
    or in an engine call that will only time out: after `exit` the editor would wait for a process
    that no longer serves it. Nothing those threads hold needs finishing: the sandboxes, and any
    command still running in one, live on in the engine.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
