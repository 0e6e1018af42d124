"""What a sandbox may use of the engine's machine: its CPU, memory, process and GPU limits, and the
ports it publishes there. As engine arguments, and the engine's refusals of them as errors that say
which value to change.

A filtered sandbox's ports are published by its network proxy instead (engine.egress.forwards): the
engine publishes nothing of a container on an internal network.
"""

from __future__ import annotations

import re
from typing import Any

from berth.config import SandboxConfig, memory_bytes, split_port
from berth.errors import BadInput, BerthError, Conflict, EngineError

# The exit code of a process killed by SIGKILL, which is how the kernel's OOM killer ends one.
KILLED = 137


def host_config(config: SandboxConfig, *, publish: bool) -> dict[str, Any]:
    """The create_host_config arguments for the limits, and for the ports when the sandbox
    publishes them itself (`publish`: it is not behind a proxy)."""
    out: dict[str, Any] = {"pids_limit": config.pids_limit}
    if config.cpus is not None:
        out["nano_cpus"] = int(round(config.cpus * 1e9))
    if config.memory is not None:
        # Swap counts toward the limit: `memory` is what the sandbox may hold, not what it may hold
        # in RAM with as much again on disk (the engine's default doubles it where swap exists).
        out["mem_limit"] = out["memswap_limit"] = memory_bytes(config.memory)
    if config.gpus is not None:
        out["device_requests"] = [gpu_request(config.gpus)]
    if publish and config.ports:
        bindings: dict[int, list[tuple[str, int]]] = {}
        for spec in config.ports:
            ip, host, container = split_port(spec)
            bindings.setdefault(container, []).append((ip, host))
        out["port_bindings"] = bindings
    return out


def exposed(config: SandboxConfig, *, publish: bool) -> list[int] | None:
    """The container ports create_container must be told of for their bindings to apply."""
    if not publish or not config.ports:
        return None
    return sorted({split_port(spec)[2] for spec in config.ports})


def gpu_request(gpus: str) -> Any:
    from docker.types import DeviceRequest

    if gpus == "all":
        return DeviceRequest(count=-1, capabilities=[["gpu"]])
    if gpus.startswith("device="):
        return DeviceRequest(device_ids=gpus[len("device="):].split(","), capabilities=[["gpu"]])
    return DeviceRequest(count=int(gpus), capabilities=[["gpu"]])


_PORT_TAKEN = re.compile(r"(?:Bind for|listen tcp[46]?) \[?([0-9a-fA-F.:]*?)\]?:(\d+)")


def ports_problem(exc: EngineError, ports: tuple[str, ...]) -> BerthError | None:
    """The engine's refusal to publish one of `ports`, as the error to show, else None."""
    text = exc.message
    if "port is already allocated" in text or "address already in use" in text:
        match = _PORT_TAKEN.search(text)
        where = f"{match.group(1)}:{match.group(2)}" if match else "one of the ports"
        return Conflict(f"Host port {where} is already in use (by another sandbox, container or "
                        f"program), so the sandbox cannot publish it; pick another host port "
                        f"in 'ports' (asked for: {', '.join(ports)}).", field="ports",
                        value=where)
    if "cannot assign requested address" in text:
        return BadInput(f"A host address in 'ports' is not one of this machine's ({', '.join(ports)}"
                        "): use 127.0.0.1, 0.0.0.0 or an address the engine's machine has.",
                        field="ports")
    return None


def limits_problem(exc: EngineError, config: SandboxConfig) -> BerthError | None:
    """The engine's refusal of a limit, as the error to show, else None."""
    text = exc.message
    if config.gpus is not None and ("could not select device driver" in text
                                    or "nvidia" in text.lower() and "gpu" in text.lower()):
        return BadInput(f"This Docker engine cannot give containers GPUs (gpus {config.gpus!r}): "
                        "it needs the NVIDIA Container Toolkit or another GPU runtime. Unset "
                        "'gpus' to run without one.", field="gpus", value=config.gpus)
    if config.cpus is not None and "Range of CPUs" in text:
        said = text.split("Range of CPUs", 1)[1].rstrip(".")
        return BadInput(f"'cpus' {config.cpus:g} is more than the engine has: the range of CPUs"
                        f"{said}.", field="cpus", value=str(config.cpus))
    if config.memory is not None and "memory limit" in text.lower() and "minimum" in text.lower():
        return BadInput(f"'memory' {config.memory} is below what the engine allows: {text}",
                        field="memory", value=config.memory)
    return None


def engine_refusal(exc: EngineError, config: SandboxConfig) -> BerthError:
    """What to show for an engine error while creating or starting a sandbox with `config`."""
    return ports_problem(exc, config.ports) or limits_problem(exc, config) or exc
