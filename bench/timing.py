"""How the bench times things: time.perf_counter() in the bench process, figures in milliseconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from rpc import Client


def ms(start: float, end: float) -> float:
    """Milliseconds between two perf_counter() readings."""
    return (end - start) * 1000


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """(milliseconds, result) of one blocking call: how every raw docker-py floor is taken."""
    t0 = time.perf_counter()
    result = fn(*args)
    return ms(t0, time.perf_counter()), result


async def request_ms(client: Client, method: str, params: Any) -> tuple[float, Any]:
    """(milliseconds, result) of one request: from its write to the pipe to its answer's arrival."""
    t_sent, t_answer, result = await client.request_timed(method, params)
    return ms(t_sent, t_answer), result


async def command(*argv: str) -> None:
    """Run a command (the docker CLI) to its end, its output dropped."""
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL)
    await proc.wait()


async def command_ms(*argv: str) -> float:
    """Milliseconds a command takes, from its spawn to its exit."""
    t0 = time.perf_counter()
    await command(*argv)
    return ms(t0, time.perf_counter())
