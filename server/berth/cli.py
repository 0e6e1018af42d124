"""`berth`: the sandbox engine from a terminal, shaped like `docker sandbox`."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import UTC, datetime
from typing import Any, NoReturn

from berth import __version__, worktrees
from berth.agents import agents
from berth.branches import list_branches, remove_branch, run_on_branch
from berth.config import (
    describe_drift,
    merge_env,
    parse_agent_args,
    parse_env,
    parse_name,
    parse_request,
    read_env_file,
    split_port,
)
from berth.console import table as _table
from berth.engine import Engine
from berth.engine.egress import policy_info
from berth.engine.ports import parse_forward
from berth.errors import (
    BadInput,
    BerthError,
    EngineSetup,
    NotFound,
    TemplateProblem,
)
from berth.models import RunResult, Sandbox, iso_time
from berth.network.rules import POLICIES, Policy, parse_patterns
from berth.selection import IDS, WORKSPACE, Selection
from berth.sessions import Session, parse_session_id
from berth.template_cli import add_parser as add_template_parser
from berth.template_cli import cmd_template, offer_build
from berth.workspace import resolve_workspace

NAME_HELP = "the workspace's sandbox of this name (`run --name`), not its default one"


class Cancelled(BerthError):
    """The user said no."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"berth: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="berth", description="Run coding agents in per-workspace Docker sandboxes.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    run = sub.add_parser("run", help="create or start the workspace's sandbox and run the agent in it",
                         usage="berth run [OPTIONS] AGENT [AGENT-ARGS...]")
    run.add_argument("-e", "--env", action="append", metavar="KEY[=VALUE]",
                     help="environment variable for the sandbox (repeatable); a bare KEY passes "
                          "this machine's value")
    run.add_argument("--env-file", action="append", metavar="FILE",
                     help="read KEY=VALUE lines from FILE (repeatable; -e wins)")
    run.add_argument("-v", "--volume", action="append", metavar="HOST:CONTAINER[:ro]",
                     help="extra bind mount (repeatable)")
    run.add_argument("--mount-docker-socket", action="store_true", default=None,
                     help="mount the host's Docker socket (gives the agent control of the engine)")
    run.add_argument("--credentials", metavar="MODE",
                     help="sandbox (default: the agent's login shared by its sandboxes), isolated "
                          "(this workspace's own), host (~/.ssh, ~/.gitconfig read-only) or none")
    run.add_argument("--host-certificates", action="store_true", default=None,
                     help="trust this machine's CA certificates in the sandbox and pass its "
                          "HTTP(S)_PROXY/NO_PROXY (for TLS-inspecting corporate proxies)")
    run.add_argument("--network-policy", metavar="POLICY", choices=POLICIES,
                     help="what the agent may reach: open (anything), balanced (its API, package "
                          "registries, code hosts) or locked (its API only)")
    run.add_argument("--allow-host", action="append", metavar="PATTERN",
                     help="also allow this host (example.com, *.example.com, host:port)")
    run.add_argument("--deny-host", action="append", metavar="PATTERN",
                     help="never allow this host, whatever else allows it")
    run.add_argument("-p", "--publish", action="append", metavar="[HOST_IP:]HOST_PORT:PORT",
                     help="publish a sandbox port on this machine (repeatable; the host address "
                          "is 127.0.0.1 unless given)")
    run.add_argument("--cpus", metavar="N", help="CPUs' worth of time the sandbox may use (1.5)")
    run.add_argument("-m", "--memory", metavar="SIZE",
                     help="the sandbox's memory limit, swap included (512m, 4g)")
    run.add_argument("--pids-limit", metavar="N",
                     help="how many processes and threads the sandbox may run at once "
                          "(default 4096; -1: no limit)")
    run.add_argument("--gpus", metavar="GPUS",
                     help="GPUs for the sandbox: all, a number, or device=ID[,ID...] (needs an "
                          "engine with a GPU runtime)")
    run.add_argument("-t", "--template", metavar="IMAGE", help="template image")
    run.add_argument("--name", help="the workspace's sandbox of this name, made beside its default "
                                    "one when it has none (also its container's name)")
    run.add_argument("--branch", metavar="BRANCH",
                     help="run in a git worktree of this branch (made from the current branch, or "
                          "--base, when missing), not in the folder itself")
    run.add_argument("--base", metavar="REF", help="with --branch: where a new branch starts")
    run.add_argument("-d", "--detached", action="store_true",
                     help="create or start the sandbox without running the agent")
    run.add_argument("-q", "--quiet", action="store_true", help="print only the sandbox id")
    run.add_argument("-w", "--workspace", default=None, help="workspace folder (default: .)")
    run.add_argument("--recreate", action="store_true",
                     help="apply settings that differ from the sandbox's by recreating it")
    run.add_argument("--new", action="store_true",
                     help="start another session of the agent even when one is running (without "
                          "it, a terminal attaches the running one)")
    run.add_argument("-y", "--yes", action="store_true",
                     help="with --recreate: end the sandbox's running sessions without asking")
    run.add_argument("agent", metavar="AGENT",
                     help="claude, codex, gemini, copilot, opencode, shell, or one of your own "
                          "(`berth agents`)")
    run.add_argument("agent_args", nargs=argparse.REMAINDER, metavar="AGENT-ARGS")

    ls = sub.add_parser("ls", help="list sandboxes")
    ls.add_argument("-q", "--quiet", action="store_true", help="print only sandbox ids")
    ls.add_argument("-w", "--workspace", help="only this workspace's sandboxes")

    inspect = sub.add_parser("inspect", help="show sandboxes' details as a JSON array",
                             usage="berth inspect (ID... | -w DIR)")
    inspect.add_argument("ids", nargs="*", metavar="ID",
                         help="sandbox ids, unique id prefixes or names")
    inspect.add_argument("-w", "--workspace", help="instead: the sandbox of this workspace")
    inspect.add_argument("--name", help=NAME_HELP)

    rm = sub.add_parser("rm", help="remove sandboxes (never the workspace or credentials)",
                        usage="berth rm (ID... | -w DIR)")
    rm.add_argument("ids", nargs="*", metavar="ID", help="sandbox ids, unique id prefixes or names")
    rm.add_argument("-w", "--workspace", help="instead: the sandbox of this workspace")
    rm.add_argument("--name", help=NAME_HELP)
    rm.add_argument("-y", "--yes", action="store_true",
                    help="end their running agent sessions without asking")

    stop = sub.add_parser("stop", help="stop sandboxes: those named, else this folder's",
                          usage="berth stop [ID... | -w DIR]")
    stop.add_argument("ids", nargs="*", metavar="ID",
                      help="sandbox ids, unique id prefixes or names: exactly these are stopped "
                           "(default: the sandbox of the current folder)")
    stop.add_argument("-w", "--workspace", help="instead: the sandbox of this workspace")
    stop.add_argument("--name", help=NAME_HELP)
    stop.add_argument("-y", "--yes", action="store_true",
                    help="end their running agent sessions without asking")

    ex = sub.add_parser("exec", help="run a command in the workspace's sandbox",
                        usage="berth exec [-w DIR] COMMAND [ARG...]")
    ex.add_argument("-w", "--workspace", help="workspace folder (default: .)")
    ex.add_argument("--name", help=NAME_HELP)
    ex.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND")

    logs = sub.add_parser("logs", help="show the sandbox's logs")
    logs.add_argument("-w", "--workspace", help="workspace folder (default: .)")
    logs.add_argument("--name", help=NAME_HELP)
    logs.add_argument("--tail", type=int, help="only the last N lines")

    agents = sub.add_parser("agents", help="list the agents, with where each keeps its login")
    agents.add_argument("--json", action="store_true", help="as a JSON array")

    policy = sub.add_parser("policy", help="show or change what a sandbox's network lets through")
    verbs = policy.add_subparsers(dest="verb", required=True, metavar="ACTION")
    show = verbs.add_parser("show", help="the policy and its rules")
    show.add_argument("--json", action="store_true", help="as JSON")
    allow = verbs.add_parser("allow", help="let these hosts through, at once")
    allow.add_argument("patterns", nargs="+", metavar="PATTERN")
    deny = verbs.add_parser("deny", help="block these hosts, at once; deny wins over allow")
    deny.add_argument("patterns", nargs="+", metavar="PATTERN")
    verbs.add_parser("reset", help="drop the rules added since the sandbox was created")
    log = verbs.add_parser("log", help="the requests the policy blocked")
    log.add_argument("--tail", type=int, metavar="N", help="only the last N")
    log.add_argument("--json", action="store_true", help="one JSON object per line")
    for verb in (show, allow, deny, verbs.choices["reset"], log):
        verb.add_argument("-w", "--workspace", help="workspace folder (default: .)")
        verb.add_argument("--name", help=NAME_HELP)

    ports_cmd = sub.add_parser("ports", help="a running sandbox's listening ports, and forwarding "
                                             "them to this machine", usage="berth ports [ls|forward"
                                             "|rm] ...")
    port_verbs = ports_cmd.add_subparsers(dest="verb", metavar="ACTION", parser_class=_Parser)
    port_ls = port_verbs.add_parser("ls", help="the ports it listens on, and where each is forwarded "
                                               "or published (the default)")
    port_ls.add_argument("--json", action="store_true", help="as JSON")
    port_forward = port_verbs.add_parser(
        "forward", help="forward a port to this machine until the sandbox stops (the host port is "
                        "the same number when it is free, on 127.0.0.1 unless given)")
    port_forward.add_argument("spec", metavar="[[HOST_IP:]HOST_PORT:]PORT")
    port_rm = port_verbs.add_parser("rm", help="stop forwarding the sandbox's PORT")
    port_rm.add_argument("port", metavar="PORT")
    for verb in (ports_cmd, port_ls, port_forward, port_rm):
        verb.add_argument("-w", "--workspace", help="workspace folder (default: .)",
                          dest="workspace" if verb is ports_cmd else "verb_workspace")
        verb.add_argument("--name", help=NAME_HELP,
                          dest="name" if verb is ports_cmd else "verb_name")

    trees = sub.add_parser("worktrees", help="agent branches: the repository's worktrees and their "
                                             "sandboxes", usage="berth worktrees [ls|diff|rm] ...")
    trees.add_argument("-w", "--workspace", help="a folder of the repository (default: .)")
    trees.add_argument("--json", action="store_true", help="as a JSON array")
    tree_verbs = trees.add_subparsers(dest="verb", metavar="ACTION", parser_class=_Parser)
    tree_diff = tree_verbs.add_parser("diff", help="a branch's changes against its base, "
                                                   "uncommitted ones included")
    tree_rm = tree_verbs.add_parser("rm", help="remove a worktree Berth made and its sandboxes; "
                                               "its branch and commits stay (refused when it has "
                                               "uncommitted changes)")
    tree_rm.add_argument("--discard-ignored", action="store_true",
                         help="also when it holds files git ignores (an .env, build output), "
                              "which go with it")
    for verb in (tree_verbs.add_parser("ls", help="list them (the default)"), tree_diff, tree_rm):
        verb.add_argument("-w", "--workspace", dest="verb_workspace", metavar="WORKSPACE",
                          help="a folder of the repository (default: .)")
    for verb in (tree_diff, tree_rm):
        verb.add_argument("ref", metavar="BRANCH", help="the branch, or the worktree's path")

    sessions = sub.add_parser("sessions", help="the agent sessions in a sandbox: running (attached or "
                                               "not) and the last ones that ended",
                              usage="berth sessions [ls|stop SESSION] ...")
    session_verbs = sessions.add_subparsers(dest="verb", metavar="ACTION", parser_class=_Parser)
    session_ls = session_verbs.add_parser("ls", help="list them (the default)")
    session_stop = session_verbs.add_parser("stop", help="end a session's agent")
    session_stop.add_argument("session", metavar="SESSION")
    for verb in (sessions, session_ls):
        verb.add_argument("--json", action="store_true", help="as a JSON array",
                          dest="json" if verb is sessions else "verb_json")
    for verb in (sessions, session_ls, session_stop):
        verb.add_argument("-w", "--workspace", help="workspace folder (default: .)",
                          dest="workspace" if verb is sessions else "verb_workspace")
        verb.add_argument("--name", help=NAME_HELP,
                          dest="name" if verb is sessions else "verb_name")

    attach = sub.add_parser("attach", help="attach a running agent session (the newest when none is "
                                           "named); Ctrl-\\ detaches and leaves it running",
                            usage="berth attach [SESSION] [-w DIR]")
    attach.add_argument("session", nargs="?", metavar="SESSION")
    attach.add_argument("-w", "--workspace", help="workspace folder (default: .)")
    attach.add_argument("--name", help=NAME_HELP)

    add_template_parser(sub, _Parser)

    sub.add_parser("version", help="print Berth's version")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, Engine())
    except BerthError as exc:
        print(f"berth: error: {exc.message}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130


def _workspace(value: str | None) -> str:
    return resolve_workspace(os.path.abspath(value or os.getcwd()))


def _whole_number(text: str | None, flag: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise BadInput(f"{flag} {text!r} is not a whole number.", field=flag) from None


def cmd_run(args: argparse.Namespace, engine: Engine) -> int:
    raw: dict[str, Any] = {"agent": args.agent}
    for key, value in (("volumes", args.volume), ("template", args.template),
                       ("credentials", args.credentials),
                       ("mountDockerSocket", args.mount_docker_socket),
                       ("hostCertificates", args.host_certificates),
                       ("networkPolicy", args.network_policy), ("allowHosts", args.allow_host),
                       ("denyHosts", args.deny_host), ("ports", args.publish),
                       ("cpus", args.cpus), ("memory", args.memory), ("gpus", args.gpus),
                       ("pidsLimit", _whole_number(args.pids_limit, "--pids-limit"))):
        if value is not None:
            raw[key] = value
    if args.env is not None or args.env_file is not None:
        from_files = [entry for path in args.env_file or () for entry in read_env_file(path)]
        raw["env"] = list(merge_env(parse_env(from_files), parse_env(args.env or [])))
    request = parse_request(raw)
    agent_args = parse_agent_args(args.agent_args)
    workspace = _workspace(args.workspace)
    last = {"phase": ""}

    def progress(phase: str, message: str) -> None:
        if not args.quiet and (phase != last["phase"] or phase != "pulling"):
            print(message, file=sys.stderr)
        last["phase"] = phase

    # Without a terminal (a pipe, a script) docker refuses `exec -t`: the argv says `-i` only.
    name = parse_name(args.name, "--name") if args.name is not None else None

    def run_in(folder: str) -> RunResult:
        if args.recreate and not args.yes:
            existing = engine.find(resolve_workspace(folder), name)
            if existing is not None:
                _confirm_ending([existing], engine, "Recreating")

        def attempt() -> RunResult:
            return engine.run(folder, request, agent_args, recreate=args.recreate,
                              progress=progress, tty=sys.stdin.isatty(), name=name)

        try:
            return attempt()
        except TemplateProblem as exc:
            return offer_build(exc, request, attempt, engine, args.quiet)

    if args.base is not None and args.branch is None:
        raise BadInput("--base only says where a new --branch starts; give --branch too.",
                       field="base", value=args.base)
    if args.branch is not None:
        result, worktree, made = run_on_branch(workspace, args.branch, args.base, run_in)
        if not args.quiet:
            print(f"{'Made' if made else 'Using'} the worktree {worktree.path} for the branch "
                  f"{args.branch}", file=sys.stderr)
        workspace = worktree.path
    else:
        result = run_in(workspace)
    for warning in result.warnings:
        print(f"berth: warning: {warning}", file=sys.stderr)
    if result.drift:
        print("berth: warning: this sandbox was created with other settings, which were NOT "
              "applied (use --recreate to apply them, or `berth rm` first):", file=sys.stderr)
        for item in result.drift:
            print(f"  {describe_drift(item)}", file=sys.stderr)
    if args.detached:
        print(result.sandbox.id if args.quiet else
              f"Sandbox {result.sandbox.id} ({result.sandbox.name}) is running for {workspace}")
        return 0
    argv = result.attach
    running = _running_session(engine, result.sandbox) \
        if not (args.new or agent_args) and sys.stdin.isatty() else None
    if running is not None:
        print(f"berth: {running.id} ({running.agent}) is already running in this sandbox: attaching "
              "it (`berth run --new` starts another). Ctrl-\\ detaches.", file=sys.stderr)
        argv = engine.attach_session(_only(result.sandbox), running.id)[2]
    return _exec(argv, result.sandbox)


def _running_session(engine: Engine, sandbox: Sandbox) -> Session | None:
    try:
        listed = engine.sessions(_only(sandbox))[1]
    except BerthError as exc:  # a new session then, as before sessions
        print(f"berth: warning: {exc.message}", file=sys.stderr)
        return None
    found = [s for s in listed if s.running and s.agent == sandbox.agent]
    return found[-1] if found else None


def _only(sandbox: Sandbox) -> Selection:
    return Selection(ids=(sandbox.full_id,))


def _exec(argv: list[str], sandbox: Sandbox) -> NoReturn:
    if shutil.which(argv[0]) is None:
        raise NotFound(f"The docker CLI is not on PATH; the sandbox {sandbox.id} is running, "
                       "attach with: " + " ".join(argv))
    sys.stdout.flush()
    os.execvp(argv[0], argv)


def cmd_ls(args: argparse.Namespace, engine: Engine) -> int:
    sandboxes = engine.list()
    if not args.quiet:
        # Which engine these are on, for the person reading; not in the table a script parses.
        print(f"Engine: {engine.endpoint.describe()}", file=sys.stderr)
    if args.workspace:
        workspace = _workspace(args.workspace)
        sandboxes = [s for s in sandboxes if s.workspace == workspace]
    if args.quiet:
        for s in sandboxes:
            print(s.id)
        return 0
    rows = [("SANDBOX ID", "TEMPLATE", "NAME", "WORKSPACE", "STATUS", "CREATED", "PORTS")]
    rows += [(s.id, s.template, s.name, s.workspace, s.status, _ago(s.created_at),
              ", ".join(_port_shown(p) for p in s.config.ports)) for s in sandboxes]
    _table(rows)
    return 0


def _port_shown(spec: str) -> str:
    """A published port as `docker ps` shows one: HOST_IP:HOST_PORT->PORT."""
    rest, container = spec.rsplit(":", 1)
    return f"{rest}->{container}"


def _selection(args: argparse.Namespace, *, here_by_default: bool) -> Selection:
    """The sandboxes a command names: its IDs, or -w DIR's (else, if `here_by_default`, the current
    folder's)."""
    ids = getattr(args, "ids", None) or None
    # A name is of a workspace's sandbox: without -w, the current folder's.
    default = os.getcwd if here_by_default or args.name is not None else None
    return Selection.of(workspace=os.path.abspath(args.workspace) if args.workspace else None,
                        ids=ids, name=args.name, forms=(IDS, WORKSPACE), default=default)


def cmd_inspect(args: argparse.Namespace, engine: Engine) -> int:
    targets = engine.inspect(_selection(args, here_by_default=False))
    print(json.dumps([s.to_json_detailed() for s in targets], indent=2, ensure_ascii=False))
    return 0


def cmd_rm(args: argparse.Namespace, engine: Engine) -> int:
    which = _selection(args, here_by_default=False)
    if not args.yes:
        _confirm_ending(engine.select(which), engine, "Removing")
    for sandbox_id in engine.remove(which):
        print(sandbox_id)
    return 0


def cmd_stop(args: argparse.Namespace, engine: Engine) -> int:
    which = _selection(args, here_by_default=True)
    if not args.yes:
        _confirm_ending(engine.select(which), engine, "Stopping")
    for sandbox in engine.stop_selected(which):
        print(sandbox.id)
    return 0


def cmd_exec(args: argparse.Namespace, engine: Engine) -> int:
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        print("berth: error: exec needs a command to run", file=sys.stderr)
        return 2
    result = engine.exec(_selection(args, here_by_default=True), argv)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.exit_code


def cmd_logs(args: argparse.Namespace, engine: Engine) -> int:
    sys.stdout.write(engine.logs(_selection(args, here_by_default=True), args.tail))
    return 0


def cmd_ports(args: argparse.Namespace, engine: Engine) -> int:
    which = Selection.of(
        workspace=_workspace(getattr(args, "verb_workspace", None) or args.workspace),
        name=getattr(args, "verb_name", None) or args.name)
    if args.verb == "forward":
        host_ip, host_port, port = parse_forward(args.spec)
        sandbox, forward = engine.forward_port(which, port, host_ip=host_ip, host_port=host_port)
        print(f"Port {port} of {sandbox.name} is at {forward.url} until the sandbox stops "
              f"(`berth ports rm {port}` ends it sooner).")
        return 0
    if args.verb == "rm":
        port = _whole_number(args.port, "PORT")
        sandbox, gone = engine.unforward_port(which, port)
        for f in gone:
            print(f"Stopped forwarding port {f.port} of {sandbox.name} ({f.url}).")
        return 0
    sandbox, listening, forwarded = engine.list_ports(which)
    if getattr(args, "json", False):
        print(json.dumps({"sandbox": sandbox.id, "listening": listening,
                          "forwarded": [f.to_json() for f in forwarded],
                          "published": list(sandbox.config.ports)}, indent=2))
        return 0
    published: dict[int, list[str]] = {}
    for spec in sandbox.config.ports:
        ip, host, container = split_port(spec)
        published.setdefault(container, []).append(f"published on {ip}:{host}")
    for f in forwarded:
        published.setdefault(f.port, []).append(f"forwarded to {f.url}")
    rows = [("PORT", "ADDRESS", "ON THIS MACHINE")]
    rows += [(str(item["port"]), str(item["address"]), ", ".join(published.pop(item["port"], [])))
             for item in listening]
    rows += [(str(port), "(not listening)", ", ".join(where)) for port, where in published.items()]
    _table(rows)
    return 0


def _confirm_ending(sandboxes: list[Sandbox], engine: Engine, doing: str) -> None:
    """Asks, on a terminal, before ending running agent sessions; says which it ends otherwise.
    A sandbox whose sessions cannot be read (one set up by no Berth) is stopped all the same."""
    running: list[tuple[Sandbox, Session]] = []
    for sandbox in sandboxes:
        if sandbox.status != "running":
            continue
        try:
            running += [(sandbox, s) for s in engine.sessions(_only(sandbox))[1] if s.running]
        except BerthError as exc:
            print(f"berth: warning: {exc.message}", file=sys.stderr)
    if not running:
        return
    names = ", ".join(f"{s.id} in {sandbox.name}" for sandbox, s in running)
    count = f"{len(running)} running agent session{'s' if len(running) != 1 else ''}"
    if not sys.stdin.isatty():
        print(f"berth: {doing.lower()} ends {count}: {names}", file=sys.stderr)
        return
    # The question on stderr: stdout may be going to a file (`berth stop > ids`).
    print(f"{doing} ends {count} ({names}). Continue? [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise Cancelled("Nothing was changed.")


def cmd_sessions(args: argparse.Namespace, engine: Engine) -> int:
    which = Selection.of(
        workspace=_workspace(getattr(args, "verb_workspace", None) or args.workspace),
        name=getattr(args, "verb_name", None) or args.name)
    if args.verb == "stop":
        sandbox, _ = engine.stop_session(which, parse_session_id(args.session, "SESSION"))
        print(f"Ended session {args.session} in {sandbox.name}.")
        return 0
    sandbox, found = engine.sessions(which)
    if args.json or getattr(args, "verb_json", False):
        print(json.dumps([s.to_json() for s in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print(f"No agent sessions in {sandbox.name}"
              + ("" if sandbox.status == "running" else f" (it is {sandbox.status})") + ".")
        return 0
    rows = [("SESSION", "AGENT", "STARTED", "STATE")]
    rows += [(s.id, s.agent, _ago(iso_time(s.started)), _session_state(s)) for s in found]
    _table(rows)
    return 0


def _session_state(s: Session) -> str:
    if s.running:
        return "running, attached" if s.attached else "running, detached"
    if s.state == "ended":
        return "ended with the sandbox"
    return f"exited ({s.exit_code})" + (f": {s.reason.message}" if s.reason else "")


def cmd_attach(args: argparse.Namespace, engine: Engine) -> int:
    session = parse_session_id(args.session, "SESSION") if args.session is not None else None
    which = Selection.of(workspace=_workspace(args.workspace), name=args.name)
    sandbox, found, argv = engine.attach_session(which, session, tty=sys.stdin.isatty())
    if found.running:
        print(f"berth: attaching {found.id} ({found.agent}); Ctrl-\\ detaches, the agent keeps "
              "running.", file=sys.stderr)
    else:
        print(f"berth: {found.id} has {'exited' if found.state == 'exited' else 'ended'}; its last "
              "output:", file=sys.stderr)
    return _exec(argv, sandbox)


def cmd_worktrees(args: argparse.Namespace, engine: Engine) -> int:
    repository = _workspace(getattr(args, "verb_workspace", None) or args.workspace)
    if args.verb == "diff":
        sys.stdout.write(worktrees.diff(repository, args.ref))
        return 0
    if args.verb == "rm":
        worktree, removed = remove_branch(engine, repository, args.ref,
                                          discard_ignored=args.discard_ignored)
        for sandbox_id in removed:
            print(f"Removed the sandbox {sandbox_id}")
        kept = (f"the branch {worktree.branch} and its commits stay" if worktree.branch
                else f"its commit {worktree.head[:12]} stays in the repository")
        print(f"Removed the worktree {worktree.path}; {kept}")
        return 0
    found = list_branches(engine, repository)
    if args.json:
        print(json.dumps([b.to_json() for b in found], indent=2, ensure_ascii=False))
        return 0
    rows = [("BRANCH", "BASE", "AHEAD", "BEHIND", "CHANGES", "SANDBOXES", "WORKTREE")]
    for b in found:
        w = b.worktree
        rows.append((w.branch or f"({w.head[:12]})", w.base or "-", _count(w.ahead),
                     _count(w.behind), str(w.changes) if w.dirty else "clean",
                     ", ".join(f"{s.name} ({s.state})" for s in b.sandboxes) or "-",
                     w.path + ("" if w.managed else "  (yours)")))
    _table(rows)
    return 0


def _count(n: int | None) -> str:
    return "-" if n is None else str(n)


def cmd_agents(args: argparse.Namespace, engine: Engine) -> int:
    table = agents()
    if args.json:
        print(json.dumps([a.to_json() for a in table.values()], indent=2))
        return 0
    rows = [("AGENT", "BINARY", "DEFAULT TEMPLATE", "LOGIN KEPT IN", "API KEYS")]
    for a in table.values():
        kept = (f"{a.credentials_volume}: " + ", ".join(f"~/{p}" for p in a.state)
                if a.state else "-")
        custom = "" if a.source == "built-in" else " *"
        rows.append((a.name + custom, a.binary or "(login shell)", a.default_template, kept,
                     ", ".join(a.keys) or "-"))
    _table(rows)
    sources = sorted({a.source for a in table.values() if a.source != "built-in"})
    if sources:
        print(f"\n* defined or changed in {', '.join(sources)}")
    return 0


def cmd_policy(args: argparse.Namespace, engine: Engine) -> int:
    which = Selection.of(workspace=_workspace(args.workspace), name=args.name)
    if args.verb == "allow":
        patterns = parse_patterns(args.patterns, "allow")
        sandbox, policy = engine.change_policy(which, lambda p: p.with_allowed(patterns))
    elif args.verb == "deny":
        patterns = parse_patterns(args.patterns, "deny")
        sandbox, policy = engine.change_policy(which, lambda p: p.with_denied(patterns))
    elif args.verb == "reset":
        sandbox, policy = engine.change_policy(which, lambda p: p.reset())
    elif args.verb == "log":
        for block in engine.blocked(which, args.tail):
            print(json.dumps(block.to_json()) if args.json else
                  f"{block.time}  {block.host}:{block.port}  blocked by {block.rule}")
        return 0
    else:
        sandbox, policy = engine.policy(which)
    if args.verb == "allow":
        for pattern in patterns:
            decision = policy.decide(pattern.host, pattern.port or 443)
            if not pattern.wildcard and not decision.allowed:
                print(f"{pattern.text} stays blocked: {decision.rule}")
    if getattr(args, "json", False):
        print(json.dumps(policy_info(sandbox, policy), indent=2))
        return 0
    print(describe_policy(sandbox.name, policy, sandbox.config.mount_docker_socket))
    return 0


def describe_policy(name: str, policy: Policy, socket: bool) -> str:
    if not policy.filtered:
        lines = [f"{name}: network policy open (nothing is filtered)"]
    else:
        lines = [f"{name}: network policy {policy.name} (deny wins; an allow rule without a "
                 "port opens ports 80 and 443)"]
        for title, patterns in (("allowed by the policy", policy.preset()),
                                ("allowed when created", policy.allow),
                                ("denied when created", policy.deny),
                                ("allowed since", policy.live_allow),
                                ("denied since", policy.live_deny)):
            if patterns:
                lines.append(f"  {title}: " + ", ".join(p.text for p in patterns))
    if socket:
        lines.append("  warning: the Docker socket is mounted, which defeats any network policy "
                     "(the agent can start a container whose network nothing filters)")
    return "\n".join(lines)


def cmd_version(args: argparse.Namespace, engine: Engine) -> int:
    """Berth's version, then the engine's state, for information: a missing or unreachable engine
    is said, not an error (a script checking the install gets 0)."""
    print(f"berth version {__version__}")
    try:
        info = engine.engine_info()
    except EngineSetup as exc:
        print(f"engine: none usable: {exc.message}")
        return 0
    print(f"engine: {info['description']}")
    if not info["available"]:
        print(f"  not answering: {info['problem']}")
        return 0
    rootless = ", rootless" if info["rootless"] else ""
    print(f"  {info['product']} {info['version']} ({info['os']}, {info['arch']}{rootless})")
    where = "this machine" if info["sameMachine"] else "another machine or a VM"
    socket = info["socket"] or "not known (reached over tcp)"
    print(f"  runs on {where}; its socket there: {socket}")
    return 0


COMMANDS = {
    "run": cmd_run,
    "ls": cmd_ls,
    "inspect": cmd_inspect,
    "rm": cmd_rm,
    "stop": cmd_stop,
    "exec": cmd_exec,
    "logs": cmd_logs,
    "agents": cmd_agents,
    "policy": cmd_policy,
    "worktrees": cmd_worktrees,
    "ports": cmd_ports,
    "sessions": cmd_sessions,
    "attach": cmd_attach,
    "template": cmd_template,
    "version": cmd_version,
}


def _ago(iso: str) -> str:
    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    seconds = int((datetime.now(UTC) - then).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now" if seconds < 5 else f"{seconds} seconds ago"


if __name__ == "__main__":
    sys.exit(main())
