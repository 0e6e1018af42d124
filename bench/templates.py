"""Templates Berth builds: what `berth template build claude` costs against a plain `docker build`.

- cold: a one-agent template (Claude Code) with no layer cache, through Berth (versions asked of the
  npm registry, the build with its named steps, the agent's --version checked offline, the tag),
  against the same steps written by hand (bench/template_floor/Dockerfile) built with raw docker-py,
  no cache either, on the same base and with the same versions. Alternated, so that neither always
  meets the archive's or the registry's cache first.
- warm: the same build again with nothing changed (Berth finds it up to date), against the floor's
  cached rebuild; the target is absolute: under 10 s.

Both trust this machine's CA bundle (the project's machines reach npm through a TLS-inspecting proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import tarfile
import time
from pathlib import Path

from berth import host_trust, user_config
from berth.builds import plan
from berth.engine import Engine
from berth.engine.sessions import engine_arch
from berth.engine.template_build import node_package, os_base, resolve
from harness import Bench
from report import Row, median_at_most, ratio_at_most

COLD_RATIO = 1.5
WARM_LIMIT_MS = 10_000
FLOOR_DOCKERFILE = Path(__file__).resolve().parent / "template_floor" / "Dockerfile"


def _floor_context(certificates: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in (("Dockerfile", FLOOR_DOCKERFILE.read_bytes()),
                           ("certs/host-ca.crt", certificates)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _floor_build(api, context: bytes, tag: str, args: dict[str, str], nocache: bool) -> float:
    t0 = time.perf_counter()
    for chunk in api.build(fileobj=io.BytesIO(context), custom_context=True, tag=tag,
                           buildargs=args, nocache=nocache, rm=True, forcerm=True, decode=True,
                           timeout=1800):
        if "error" in chunk:
            raise RuntimeError(f"the floor's build failed: {chunk['error']}")
    return (time.perf_counter() - t0) * 1000


def _berth_build(engine: Engine, base: str, tag: str, no_cache: bool) -> float:
    t0 = time.perf_counter()
    engine.build_template(["claude"], tag=tag, base=base, host_certificates=True,
                          no_cache=no_cache)
    return (time.perf_counter() - t0) * 1000


async def templates(b: Bench) -> None:
    engine = Engine()
    api = engine.api
    loop = asyncio.get_running_loop()
    recipes = user_config.load().recipes
    base = os_base(api, recipes, lambda *_: None)[0]
    with open(host_trust.ca_bundle(), "rb") as f:
        certificates = f.read()
    arch = engine_arch(api)
    resolved = resolve(recipes, [recipes.agent("claude")], {}, arch, lambda *_: None)
    assert resolved.node_tarball and resolved.npm_tarball
    args = {"BASE": base, "NODE_URL": resolved.node_tarball.url,
            "NPM_URL": resolved.npm_tarball.url, "CLAUDE_VERSION": resolved.versions["claude"]}
    context = _floor_context(certificates)
    ours, floor_tag = f"{plan.REPOSITORY}:bench-{b.run_id}", f"berth-bench-floor:{b.run_id}"
    b.say(f"templates: a cold build of claude {resolved.versions['claude']} (Node "
          f"{resolved.node}, {node_package(arch)}) on {base}, Berth vs a plain "
          "docker build; a few minutes")
    cold, floor = [], []
    try:
        for i in range(b.reps(2, 1)):
            first_floor = i % 2 == 0
            for which in ("floor", "berth") if first_floor else ("berth", "floor"):
                if which == "floor":
                    floor.append(await loop.run_in_executor(
                        None, _floor_build, api, context, floor_tag, args, True))
                else:
                    cold.append(await loop.run_in_executor(
                        None, _berth_build, engine, base, ours, True))
                b.say(f"  {which}: {(floor if which == 'floor' else cold)[-1] / 1000:.1f} s")
        b.rows.append(Row("template: cold build of a one-agent template (claude)", cold,
                          "plain docker build, same steps", floor, f"<= {COLD_RATIO}x",
                          ratio_at_most(cold, floor, COLD_RATIO),
                          note="no layer cache; Berth's figure includes asking npm for versions "
                               "and checking the agent runs"))
        warm, warm_floor = [], []
        for _ in range(b.reps(5, 2)):
            warm_floor.append(await loop.run_in_executor(
                None, _floor_build, api, context, floor_tag, args, False))
            warm.append(await loop.run_in_executor(None, _berth_build, engine, base, ours, False))
        b.rows.append(Row("template: rebuild with nothing changed", warm,
                          "plain docker build, cached", warm_floor, f"<= {WARM_LIMIT_MS} ms",
                          median_at_most(warm, WARM_LIMIT_MS),
                          note="Berth asks npm for the versions and finds the tagged template up "
                               "to date; the floor replays its cache"))
    finally:
        for ref in (ours, floor_tag):
            with contextlib.suppress(Exception):  # already gone, or never made
                api.remove_image(ref, force=True)
