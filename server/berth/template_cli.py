"""`berth template build|ls|update`, and `run`'s offer to build a template when none can be had."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from berth import host_trust, user_config
from berth.builds import registry
from berth.builds.built import BuiltTemplate
from berth.config import ConfigRequest
from berth.console import table
from berth.engine import Engine
from berth.errors import TemplateProblem


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    template = sub.add_parser(
        "template", help="templates Berth builds itself, from an OS package archive and npm",
        usage="berth template (build|ls|update) ...")
    verbs = template.add_subparsers(dest="verb", metavar="ACTION", parser_class=parser_class)
    verbs.required = True
    build = verbs.add_parser(
        "build", help="build a template holding these agents (claude, codex@0.171.0, ...): a "
                      "Debian base, Node, the agents at their current versions, a non-root user")
    build.add_argument("agents", nargs="*", metavar="AGENT",
                       help="the agents (default: your default agent); AGENT@VERSION pins one")
    build.add_argument("--base", metavar="IMAGE",
                       help="build on this Debian or Ubuntu image (default: debian:bookworm-slim "
                            "when the engine has or can pull it, else one made with debootstrap)")
    build.add_argument("--tag", metavar="TAG",
                       help="the image's tag (default: berth.local/template:AGENTS)")
    build.add_argument("--no-cache", action="store_true",
                       help="build every step again, even when nothing changed (the base is kept)")
    ls = verbs.add_parser("ls", help="the templates Berth built on this engine")
    ls.add_argument("--json", action="store_true", help="as a JSON array")
    update = verbs.add_parser("update", help="rebuild templates Berth built with their agents' "
                                             "current versions (pinned ones stay)")
    update.add_argument("tags", nargs="*", metavar="TAG", help="which (default: all)")
    for verb in (build, update):
        verb.add_argument("--host-certificates", action="store_true", default=None,
                          help="trust this machine's CA certificates in the build and the "
                               "template (for TLS-inspecting proxies)")
        verb.add_argument("-q", "--quiet", action="store_true", help="print only the tag")


def cmd_template(args: argparse.Namespace, engine: Engine) -> int:
    progress = _printer(quiet=getattr(args, "quiet", False))
    if args.verb == "ls":
        found = engine.templates()
        if args.json:
            print(json.dumps([t.to_json() for t in found], indent=2))
            return 0
        rows = [("TEMPLATE", "AGENTS", "NODE", "BASE", "BUILT", "SIZE")]
        for t in found:
            rows.append((t.tag, ", ".join(f"{a} {t.versions.get(a, '?')}" for a in t.agents),
                         t.versions.get("node", "-"), f"{t.base} ({t.base_source})", t.built,
                         f"{t.size / 1e6:.0f} MB"))
        table(rows)
        return 0
    certs = _host_certificates(args.host_certificates)
    if args.verb == "build":
        agents = args.agents or [str(user_config.load().defaults.get("agent", "claude"))]
        built = engine.build_template(agents, tag=args.tag, base=args.base,
                                      host_certificates=certs, progress=progress,
                                      no_cache=args.no_cache)
        _say_built(built, args.quiet)
        return 0
    pairs = engine.update_templates(args.tags, host_certificates=certs, progress=progress)
    for old, new in pairs:
        if args.quiet:
            print(new.tag)
            continue
        changes = [f"{k} {old.versions.get(k, '-')} -> {v}" for k, v in new.versions.items()
                   if old.versions.get(k) != v]
        print(f"{new.tag}: " + (", ".join(changes) if changes else
                                f"current ({new.describe()})"))
    return 0


def offer_build(exc: TemplateProblem, request: ConfigRequest, retry: Callable[[], Any],
                engine: Engine, quiet: bool) -> Any:
    """When a run failed for want of a template Berth can build: ask on a terminal, saying exactly
    what the build will use and trust, build, and run again; otherwise the error stands (its
    message names the command)."""
    agents = exc.data.get("build")
    if not agents or not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise exc
    recipes = user_config.load().recipes
    certs = _host_certificates(request.fields.get("hostCertificates"))
    extra = host_trust.extra_certificates()
    base = recipes.base
    print(f"berth: {exc.message.split(chr(10) + 'Berth can build')[0]}", file=sys.stderr)
    print(f"Berth can build a template for {', '.join(agents)} here instead (a few minutes the "
          f"first time): {base.image}, or where it cannot be pulled Debian {base.suite} from "
          f"{base.mirror} made with debootstrap; Node, npm and the agents from "
          f"{registry.npm_registry(base.npm_registry)}.", file=sys.stderr)
    if certs or extra:
        # Behind a TLS-inspecting proxy nothing builds without them; so they are shown, exactly.
        proxies = sorted({k.upper() for k in host_trust.proxy_variables()})
        print(f"The build and the template will trust this machine's CA bundle "
              f"({host_trust.ca_bundle()})"
              + (", which holds the certificates its administrator added:\n  "
                 + "\n  ".join(extra) if extra else "")
              + (f"\nand the build's steps get this machine's {', '.join(proxies)}."
                 if proxies else "."), file=sys.stderr)
    print("Build it now? [Y/n] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer or answer.strip().lower() not in ("", "y", "yes"):
        raise exc
    built = engine.build_template(list(agents), host_certificates=certs or bool(extra),
                                  progress=_printer(quiet))
    _say_built(built, quiet, to=sys.stderr)
    return retry()


def _host_certificates(flag: bool | None) -> bool:
    if flag is not None:
        return bool(flag)
    return bool(user_config.load().defaults.get("hostCertificates", False))


def _say_built(built: BuiltTemplate, quiet: bool, to: Any = None) -> None:
    if quiet:
        print(built.tag, file=to or sys.stdout)
        return
    state = "is up to date" if built.up_to_date else "is built"
    print(f"{built.tag} {state}: {built.describe()}", file=to or sys.stdout)


def _printer(quiet: bool) -> Callable[[str, str], None]:
    def progress(phase: str, message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)
    return progress
