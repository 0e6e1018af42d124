"""The JSON-RPC side of berth-server: decoding every message form, capping message size, answering each
request with a clean result or error, and the worker threads engine calls run on.

It knows nothing of sandboxes: the features (sandbox_requests, workspace_sync, auto_start,
engine_events) are built with their collaborators in app.py and registered on it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

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
from berth.errors import BadInput, BerthError

log = logging.getLogger("berth.server")

T = TypeVar("T")

# A message larger than this is drained without being held in memory, and answered with an error.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
TOO_LARGE_METHOD = "$/berth/messageTooLarge"
SETTINGS_WAIT = 10.0
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


class Workers:
    """The threads blocking engine calls run on, never pygls's own pool, which reads stdin."""

    def __init__(self) -> None:
        self._engine = ThreadPoolExecutor(max_workers=8, thread_name_prefix="berth-engine")
        # `sandbox/exec` runs a user's command, which may take an hour: those wait on threads of
        # their own, so that no number of them can starve the calls every other request makes.
        self._commands = ThreadPoolExecutor(max_workers=COMMAND_THREADS,
                                            thread_name_prefix="berth-command")

    async def engine(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._engine, functools.partial(fn, *args, **kwargs))

    async def command(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._commands, functools.partial(fn, *args, **kwargs))

    def shutdown(self) -> None:
        self._engine.shutdown(wait=False, cancel_futures=True)
        self._commands.shutdown(wait=False, cancel_futures=True)


class SettingsGate:
    """Open while the folders' settings are current. Closed from `initialize` until the first
    pull and during each re-pull: requests that arrive then (editors send them at once) wait for
    it, or they would run on defaults or on settings the user just changed."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    @property
    def _open(self) -> asyncio.Event:
        if self._event is None:  # made on the loop, which does not exist yet at import
            self._event = asyncio.Event()
        return self._event

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    async def wait(self) -> None:
        if self._open.is_set():
            return
        try:
            await asyncio.wait_for(self._open.wait(), SETTINGS_WAIT)
        except TimeoutError:
            log.warning("No settings %ss after asking; answering with what is known",
                        SETTINGS_WAIT)
            self.open()


Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class BerthServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("berth-server", __version__, protocol_cls=BerthProtocol,
                         converter_factory=_converter)
        self.workers = Workers()
        self.settings = SettingsGate()
        # Called after every request that succeeded (the engine answered, or was not needed).
        self.answered: Callable[[], None] = lambda: None

    async def answer(self, handler: Handler, params: Callable[[], dict[str, Any]]) -> Any:
        """Run `handler` on the request's params, turning every failure into a clean JSON-RPC error.

        `params` is called in here, so that a malformed params shape is answered like any other
        bad input rather than escaping to pygls as an unexpected exception (-32603).
        """
        await self.settings.wait()
        try:
            result = await handler(params())
            self.answered()
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


def refuse_oversized(server: BerthServer) -> None:
    """Answer the stand-in request _CappedStdin makes of a message too large to read."""

    @server.feature(TOO_LARGE_METHOD)
    async def too_large(ls: BerthServer, params: Any) -> Any:
        size = params.get("size") if isinstance(params, dict) else "?"
        raise BerthRpcError(BadInput(
            f"Message of {size} bytes refused: the limit is {MAX_MESSAGE_BYTES} bytes."))
