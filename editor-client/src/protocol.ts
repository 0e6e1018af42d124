// The Berth protocol (protocol.md) as the client sees it: the server's types, its error codes, and one
// typed function per request, so no method name or params shape is spelled anywhere else.
// Pure: no `vscode` import; the transport that sends a request (server.ts) is passed in.

/** Berth's state of a workspace's sandbox (protocol.md, "Status"). */
export type State =
  | 'absent'
  | 'creating'
  | 'starting'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'removing'
  | 'error'
  | 'unavailable';

/** One Berth sandbox, as every request and notification carries it. */
export interface Sandbox {
  /** Short container id (12 hex digits). */
  id: string;
  name: string;
  /** The workspace's real path. */
  workspace: string;
  agent: string;
  template: string;
  /** The engine's own state: created, running, paused, restarting, removing, exited, dead. */
  status: string;
  /** Berth's state of it (running, stopped, starting, removing, error), as a Status would say. */
  state: State;
  /** ISO 8601, UTC. */
  createdAt: string;
  /** What the sandbox may reach (protocol.md, "Network policy"); fixed when it is created. */
  networkPolicy: NetworkPolicy;
  /** Asked for by its name (`sandbox/run` with `name`): one of its workspace's sandboxes beside the
   * default one. Absent from servers older than named sandboxes: the default one then. */
  named?: boolean;
  /** Published ports, `HOST_IP:HOST_PORT:CONTAINER_PORT`. Absent from servers older than ports. */
  ports?: string[];
  /** Its limits. Absent from servers older than limits. */
  resources?: Resources;
  /** Stopped after the kernel ended a process of it for want of memory during its last run. */
  oomKilled?: boolean;
  /** Made from a template Berth built: what that template holds (null, or absent from older
   * servers, for any other template). */
  builtTemplate?: BuiltTemplate | null;
}

/** What a template Berth built holds, from its image's labels (protocol.md, "Templates Berth
 * builds"). Labels are any image's: read defensively. */
export interface BuiltTemplate {
  agents: string[];
  /** Agent name → npm version; also `node` and `npm`. */
  versions: Record<string, string>;
  /** The image it was built on. */
  base: string;
  /** `named`, `official` or `debootstrap`. */
  baseSource: string;
  /** ISO 8601, UTC. */
  built: string;
}

/** A template Berth built, as sandbox/buildTemplate, sandbox/templates and sandbox/updateTemplates
 * answer it. */
export interface Template extends BuiltTemplate {
  /** `berth.local/template:claude`. */
  tag: string;
  /** Image id (`sha256:` and 12 hex digits). */
  id: string;
  /** Agent name → the version asked for (kept by sandbox/updateTemplates). */
  pins: Record<string, string>;
  /** Bytes. */
  size: number;
  /** Built trusting the server machine's CA bundle (kept by sandbox/updateTemplates). */
  hostCertificates?: boolean;
  /** (Build results) nothing had changed, so nothing was built. */
  upToDate: boolean;
}

/** A sandbox's limits: null is none; a `pidsLimit` of -1 is none. */
export interface Resources {
  cpus: number | null;
  memory: string | null;
  pidsLimit: number;
  gpus: string | null;
}

/** `open`: nothing filtered; `balanced`: the agent's own hosts, package registries and code hosts;
 * `locked`: the agent's own API and login hosts only. */
export type NetworkPolicy = 'open' | 'balanced' | 'locked';

/** What a sandbox was created with. `env` holds variable names only, never values. */
export interface SandboxConfig {
  agent: string;
  template: string;
  env: string[];
  volumes: string[];
  mountDockerSocket: boolean;
  credentials: 'sandbox' | 'isolated' | 'host' | 'none';
  hostCertificates: boolean;
  networkPolicy: NetworkPolicy;
  /** Host patterns allowed from creation on (`example.com`, `*.example.com`, `host:port`, IPv4). */
  allowHosts: string[];
  /** Host patterns never allowed: deny wins. */
  denyHosts: string[];
  ports?: string[];
  cpus?: number | null;
  memory?: string | null;
  pidsLimit?: number;
  gpus?: string | null;
}

/** What sandbox/inspect answers: a Sandbox with its configuration and every label on its container. */
export interface SandboxDetails extends Sandbox {
  config: SandboxConfig;
  labels: Record<string, string>;
}

/** A requested setting that differs from what the sandbox was created with. */
export interface Drift {
  field: string;
  recorded: unknown;
  requested: unknown;
  /** For `env`: the variables whose value differs (recorded and requested hold names only). */
  changed?: string[];
}

/** One sandbox of a workspace as `sandbox/didChangeStatus` and `sandbox/status` report it. */
export interface Status {
  workspace: string;
  /** Which of the workspace's sandboxes: null (or absent, from older servers) for its default one. */
  name?: string | null;
  state: State;
  sandbox: Sandbox | null;
  drift: Drift[];
  message?: string;
}

/** One agent as sandbox/agents answers it. */
export interface Agent {
  name: string;
  title: string;
  /** The program it runs; "" for a login shell. */
  binary: string;
  defaultTemplate: string;
  defaultArgs: string[];
  /** Where in the sandbox its login and settings live, e.g. `~/.claude`. */
  state: string[];
  /** The Docker volume holding `state` under `berth.credentials` `sandbox`; null when it keeps none. */
  credentialsVolume: string | null;
  /** The environment variables it can log in with instead (passed with `berth.env`). */
  keys: string[];
  /** "built-in", or the config file that defines or changes it. */
  source: string;
  /** Whether Berth can build a template for it (a recipe; `sandbox/buildTemplate`). */
  recipe?: boolean;
}

/** What sandbox/run and sandbox/recreate answer. */
export interface RunResult extends Sandbox {
  /** Requested settings that were NOT applied (empty after a create or recreate). */
  drift: Drift[];
  /** Starts the agent in a new session and attaches it (`docker exec … new --attach …`); with
   * `framed`, in the session holder's frames (frames.ts) rather than from a terminal. */
  attach: { argv: string[] };
  /** An interactive login shell in the sandbox. */
  shell: { argv: string[] };
  created: boolean;
  warnings: string[];
  /** With `branch`: the worktree the sandbox runs in, and whether this run made it. */
  worktree?: Worktree & { made: boolean };
}

/** A linked git worktree of a repository (protocol.md, "Agent branches"). */
export interface Worktree {
  /** Its real path: the workspace of its sandboxes. */
  path: string;
  /** Short branch name; null when detached. */
  branch: string | null;
  /** The commit checked out. */
  head: string;
  /** The branch it is compared with (where Berth made it from); null when unknown. */
  base: string | null;
  /** Commits of the branch not in base; null without a base. */
  ahead: number | null;
  /** Commits of base not in the branch; null without a base. */
  behind: number | null;
  dirty: boolean;
  /** `git status` entries, untracked files included. */
  changes: number;
  /** Made by Berth (under its worktrees folder): only those can be removed through Berth. */
  managed: boolean;
}

/** What sandbox/worktrees lists: a worktree with the sandboxes whose workspace it is. */
export interface AgentBranch extends Worktree {
  sandboxes: Sandbox[];
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** One value the workspace's own settings ask for (a `needsConsent` error's `data.items`). */
export interface ConsentItem {
  id: string;
  field: string;
  value: unknown;
  /** What allowing it hands over. */
  note: string;
}

/** What sandbox/policy and sandbox/changePolicy answer: the rules a sandbox's network runs under now. */
export interface PolicyInfo {
  workspace: string;
  /** The sandbox's id. */
  sandbox: string;
  policy: NetworkPolicy;
  agent: string;
  /** The policy's own hosts for this agent. */
  preset: string[];
  /** The rules it was created with (`berth.allowHosts`, `berth.denyHosts`). */
  allow: string[];
  deny: string[];
  /** The rules added since (the editor's Allow, `berth policy allow`), in effect at once. */
  liveAllow: string[];
  liveDeny: string[];
  /** The Docker socket is mounted, which defeats any policy. */
  dockerSocket: boolean;
}

/** One request a sandbox's proxy refused. */
export interface Block {
  /** ISO 8601 with nanoseconds ("" when the proxy's log had none). */
  time: string;
  host: string;
  port: number;
  /** What refused it: `deny <pattern>`, `not in the <policy> policy or any allow rule`, or
   * `no allow rule for port <port>`. */
  rule: string;
}

/** A port of a running sandbox forwarded to this machine, until the sandbox stops. */
export interface Forward {
  /** The sandbox's port. */
  port: number;
  hostIp: string;
  hostPort: number;
  /** What to open: `http://127.0.0.1:5173`. */
  url: string;
}

/** `sandbox/didChangePorts`, and what `sandbox/ports` answers: a running sandbox's listening TCP
 * ports, its forwards, and its published ports (`HOST_IP:HOST_PORT:CONTAINER_PORT`). */
export interface Ports {
  workspace: string;
  name: string | null;
  /** The sandbox's id. */
  sandbox: string;
  listening: { port: number; address: string }[];
  forwarded: Forward[];
  published: string[];
}

/** `sandbox/didChangeAgentState`: what the agent in a running sandbox is doing, from its own hooks. */
export interface AgentStateChange {
  workspace: string;
  name: string | null;
  /** The sandbox's id. */
  sandbox: string;
  agent: string;
  state: 'working' | 'waitingForInput' | 'done' | 'error';
  /** The agent's own words (plain text, at most 300 characters), or "". */
  message: string;
  /** The hook event it came from (`Notification`, `Stop`, `notify`, …). */
  event: string;
  /** The engine's time of the hook's line. */
  at: string;
  /** The user is wanted (a question, a finished turn, a failure); false for a state read back. */
  attention: boolean;
}

/** `sandbox/didBlockRequest`: a Block, with whose sandbox refused it. */
export interface BlockedRequest extends Block {
  workspace: string;
  /** Which of the workspace's sandboxes: null (or absent) for its default one. */
  name?: string | null;
  /** The sandbox's id. */
  sandbox: string;
  agent: string;
}

/** Why an agent's session probably exited, when its exit code or last output says. */
export interface SessionExitReason {
  kind: 'notLoggedIn' | 'offline' | 'binaryMissing' | 'stopped';
  message: string;
}

/** One agent session of a sandbox: the agent's terminal, held in the sandbox so that it outlives the
 * terminal that started it and can be attached again. */
export interface Session {
  /** `claude-1`: the agent, then the first number free in the sandbox. */
  id: string;
  agent: string;
  /** ISO 8601, UTC. */
  started: string;
  /** `ended`: it ended with its sandbox's stop, without an exit code. */
  state: 'running' | 'exited' | 'ended';
  /** Some terminal is attached to it now. */
  attached: boolean;
  exitCode: number | null;
  /** The last lines an exited session wrote, as plain text (the agent's own words: untrusted). */
  lastOutput: string;
  reason: SessionExitReason | null;
}

/** `sandbox/didChangeSessions`, and what `sandbox/sessions` and `sandbox/stopSession` answer: a
 * sandbox's sessions, oldest first (none when it is not running). */
export interface Sessions {
  workspace: string;
  name: string | null;
  /** The sandbox's id. */
  sandbox: string;
  sessions: Session[];
}

/** What `sandbox/attachSession` answers: the argv that attaches the session. */
export interface SessionAttach {
  /** The sandbox's id. */
  sandbox: string;
  session: Session;
  argv: string[];
}

/** Where the server found the engine's address, as the docker CLI looks: `DOCKER_HOST`, else
 * `DOCKER_CONTEXT`, else the current context of Docker's config file, else the default socket. */
export type EngineSource = 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'config' | 'default';

/** What `sandbox/engine` answers: which Docker engine the server uses and, when it answers, what it
 * is. A configuration that names no usable engine is an `engineSetup` error instead. */
export interface EngineInfo {
  /** `unix:///var/run/docker.sock`, `ssh://build-box`, `tcp://10.0.0.2:2376`. */
  host: string;
  /** The docker context it came from; null for `DOCKER_HOST`. */
  context: string | null;
  source: EngineSource;
  /** For people: `unix:///var/run/docker.sock (the default)`, `ssh://build-box (context build-box)`. */
  description: string;
  available: boolean;
  /** (Not available) the message saying why it does not answer. */
  problem?: string;
  /** (Available) what answers, from its version and information. */
  product?: 'Docker Engine' | 'Docker Desktop' | 'Podman';
  version?: string;
  os?: string;
  arch?: string;
  podman?: boolean;
  rootless?: boolean;
  /** It runs on the server machine's own kernel, reached by a local socket or loopback: a folder
   * there is the same folder for it (false for Docker Desktop's VM and for another machine). */
  sameMachine?: boolean;
  /** The path of the engine's socket on the engine's own machine (what `mountDockerSocket` mounts). */
  socket?: string;
}

/** JSON-RPC error codes (protocol.md, "Errors"), by their `data.kind`. */
export const ErrorCode = {
  badInput: -32602,
  notFound: -32001,
  engineUnavailable: -32002,
  templateProblem: -32003,
  conflict: -32004,
  engineError: -32005,
  needsConsent: -32006,
  /** The user's Docker configuration names no usable engine (unknown context, bad DOCKER_HOST): like
   * engineUnavailable, but its message says what to fix in that configuration. */
  engineSetup: -32007,
  internal: -32603,
} as const;

/** Settings a request may override (protocol.md, "Settings"). */
export interface SandboxSettings {
  agent?: string;
  template?: string;
  env?: string[] | Record<string, string>;
  volumes?: string[];
  mountDockerSocket?: boolean;
  credentials?: SandboxConfig['credentials'];
  hostCertificates?: boolean;
  networkPolicy?: NetworkPolicy;
  allowHosts?: string[];
  denyHosts?: string[];
  ports?: string[];
  cpus?: number | string;
  memory?: string | number;
  pidsLimit?: number;
  gpus?: string | number;
  name?: string;
  /** With no template set: Docker's for the agent (a Berth-built one when Docker's is not on the
   * engine), or always one Berth built. */
  templateSource?: 'docker' | 'berth';
}

/** A request about a workspace's sandbox: its path or `file:` URI (optional with one folder open);
 * `name` picks one of its sandboxes by name instead of its default one. */
export interface ByWorkspace {
  workspace?: string;
  name?: string;
  ids?: undefined;
}

/** A request about sandboxes by id (short or full id, unique prefix, or name). */
export interface ByIds {
  ids: string[];
  workspace?: undefined;
  name?: undefined;
}

/** A request about exactly one sandbox by id. */
export interface ByOneId {
  ids: [string];
  workspace?: undefined;
  name?: undefined;
}

/** A request about every Berth sandbox on the engine. */
export interface All {
  all: true;
  workspace?: undefined;
  name?: undefined;
  ids?: undefined;
}

export interface RunParams extends ByWorkspace, SandboxSettings {
  /** Words after the agent's own default arguments. */
  agentArgs?: string[];
  /** Run in a git worktree of this branch (made, with the branch, when missing) instead of the
   * folder itself; `workspace` is then the repository. */
  branch?: string;
  /** With `branch`: where a new branch starts (default: the main working tree's branch). */
  base?: string;
  recreate?: boolean;
  /** The attach argv speaks the session holder's frames (for a pseudo-terminal), not a terminal's. */
  framed?: boolean;
  /** Ids of `needsConsent` items the user allowed. */
  accept?: string[];
}

/** A request about one worktree of the repository `workspace` (optional with one folder open):
 * `branch` is its branch name or its path. */
export interface ByWorktree {
  workspace?: string;
  branch: string;
}

export interface RemoveWorktreeParams extends ByWorktree {
  /** Remove it even though it holds files git ignores (they go with it). */
  discardIgnored?: boolean;
}

export interface ChangePolicyParams {
  /** Host patterns to allow (also taken off the rules denied since creation). */
  allow?: string[];
  /** Host patterns to deny (also taken off the rules allowed since creation). */
  deny?: string[];
  /** Drop the rules added since creation first. */
  reset?: boolean;
}

export interface BuildTemplateParams {
  /** `claude`, or `claude@2.1.332` to pin its version. */
  agents: string[];
  /** Default: `berth.local/template:` and the agents joined by `-`. */
  tag?: string;
  /** An image to build on instead of the recipe's. */
  base?: string;
  /** The build trusts the server machine's CA bundle and passes its proxy variables (absent: the
   * config file's default). */
  hostCertificates?: boolean;
}

export interface UpdateTemplatesParams {
  /** Default: every template Berth built. */
  tags?: string[];
  /** Absent: as each was built. */
  hostCertificates?: boolean;
}

/** A request that may take minutes: `progress` hears each message the server reports on a
 * `workDoneToken` the transport makes for it; `cancel` (VS Code's CancellationToken fits) ends it
 * with `$/cancelRequest`. */
export interface LongRequest {
  progress?: (message: string) => void;
  cancel?: Cancellation;
}

/** A cancellation token, as vscode and vscode-jsonrpc both shape one. */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: (e: unknown) => unknown): { dispose(): unknown };
}

/** The JSON-RPC error a request cancelled with `$/cancelRequest` is answered with (LSP's
 * RequestCancelled). */
export const REQUEST_CANCELLED = -32800;

/** The server → client notification that carries one Status. */
export const DID_CHANGE_STATUS = 'sandbox/didChangeStatus';

/** The server → client notification that carries one BlockedRequest (rate-limited by the server). */
export const DID_BLOCK_REQUEST = 'sandbox/didBlockRequest';

/** The server → client notification that carries one AgentStateChange. */
export const DID_CHANGE_AGENT_STATE = 'sandbox/didChangeAgentState';

/** The server → client notification that carries one Ports. */
export const DID_CHANGE_PORTS = 'sandbox/didChangePorts';

/** The server → client notification that carries one Sessions: a session started or exited in a
 * running sandbox of an open folder, or the sandbox stopped (no sessions). */
export const DID_CHANGE_SESSIONS = 'sandbox/didChangeSessions';

/** The request methods, by the name of the function that sends each. */
export const Method = {
  run: 'sandbox/run',
  recreate: 'sandbox/recreate',
  stop: 'sandbox/stop',
  remove: 'sandbox/remove',
  list: 'sandbox/list',
  inspect: 'sandbox/inspect',
  exec: 'sandbox/exec',
  logs: 'sandbox/logs',
  status: 'sandbox/status',
  agents: 'sandbox/agents',
  policy: 'sandbox/policy',
  changePolicy: 'sandbox/changePolicy',
  networkLog: 'sandbox/networkLog',
  worktrees: 'sandbox/worktrees',
  removeWorktree: 'sandbox/removeWorktree',
  worktreeDiff: 'sandbox/worktreeDiff',
  ports: 'sandbox/ports',
  forwardPort: 'sandbox/forwardPort',
  unforwardPort: 'sandbox/unforwardPort',
  sessions: 'sandbox/sessions',
  attachSession: 'sandbox/attachSession',
  stopSession: 'sandbox/stopSession',
  buildTemplate: 'sandbox/buildTemplate',
  templates: 'sandbox/templates',
  updateTemplates: 'sandbox/updateTemplates',
  engine: 'sandbox/engine',
} as const;

export type Method = (typeof Method)[keyof typeof Method];

/**
 * Sends one request and answers its result. What a failure does is the transport's choice: the
 * extension's shows it to the user and answers undefined; another may throw.
 */
export type Send = <T>(method: Method, params: object, long?: LongRequest) => Promise<T | undefined>;

/** One typed function per request of protocol.md. */
export interface Requests {
  /** Creates the sandbox when there is none, starts it when stopped; never runs the agent itself. */
  run(params: RunParams): Promise<RunResult | undefined>;
  /** Replaces the sandbox with one made from the requested configuration. */
  recreate(params: RunParams): Promise<RunResult | undefined>;
  /** A workspace's sandbox, now exited. */
  stop(params: ByWorkspace): Promise<Sandbox | undefined>;
  /** Each sandbox named (or every one), now exited. */
  stop(params: ByIds | All): Promise<Sandbox[] | undefined>;
  /** The ids removed. */
  remove(params: ByWorkspace | ByIds | All): Promise<{ removed: string[] } | undefined>;
  /** Every Berth sandbox on the engine, oldest first. */
  list(): Promise<Sandbox[] | undefined>;
  inspect(params: ByWorkspace | ByIds): Promise<SandboxDetails[] | undefined>;
  exec(params: (ByWorkspace | ByOneId) & { command: string[] }): Promise<ExecResult | undefined>;
  /** The container's own output. */
  logs(params: (ByWorkspace | ByOneId) & { tail?: number }): Promise<{ text: string } | undefined>;
  /** Read fresh from the engine: that workspace, or every open folder. */
  status(params?: ByWorkspace): Promise<Status[] | undefined>;
  agents(): Promise<Agent[] | undefined>;
  /** The network rules the sandbox runs under now. */
  policy(params: ByWorkspace | ByOneId): Promise<PolicyInfo | undefined>;
  /** Changes the rules added since creation (reset, then allow, then deny); in effect when answered. */
  changePolicy(params: (ByWorkspace | ByOneId) & ChangePolicyParams): Promise<PolicyInfo | undefined>;
  /** The requests the sandbox's proxy refused, oldest first. */
  networkLog(params: (ByWorkspace | ByOneId) & { tail?: number }): Promise<{ blocked: Block[] } | undefined>;
  /** Every linked worktree of the repository, with its sandboxes (`badInput`: not a git repository). */
  worktrees(params: { workspace?: string }): Promise<AgentBranch[] | undefined>;
  /** Removes the worktree's sandboxes, then the worktree; its branch and commits stay. Refused
   * (`conflict`) when it holds uncommitted work or was not made by Berth. */
  removeWorktree(params: RemoveWorktreeParams): Promise<{ worktree: Worktree; removed: string[] } | undefined>;
  /** A unified diff against the merge-base with its base branch, uncommitted changes included. */
  worktreeDiff(params: ByWorktree): Promise<{ base: string | null; text: string } | undefined>;
  /** The running sandbox's listening ports (read now), forwards and published ports. */
  ports(params: ByWorkspace | ByOneId): Promise<Ports | undefined>;
  /** Forwards the running sandbox's `port` to this machine (by default on 127.0.0.1, at the same
   * port number when free), until it stops; an existing forward is answered as it is. */
  forwardPort(
    params: (ByWorkspace | ByOneId) & { port: number; hostPort?: number; hostIp?: string },
  ): Promise<(Forward & { sandbox: string }) | undefined>;
  /** Ends the forwards of the sandbox's `port` (or the one at `hostPort`). */
  unforwardPort(
    params: (ByWorkspace | ByOneId) & { port?: number; hostPort?: number },
  ): Promise<{ sandbox: string; removed: Forward[] } | undefined>;
  /** The sandbox's agent sessions, oldest first (none when it is not running). */
  sessions(params: ByWorkspace | ByOneId): Promise<Sessions | undefined>;
  /** The argv that attaches `session` (default: the newest running one); an exited one replays its
   * last output, then its exit code. */
  attachSession(
    params: (ByWorkspace | ByOneId) & { session?: string; framed?: boolean; tty?: boolean },
  ): Promise<SessionAttach | undefined>;
  /** Ends the session's agent (hang-up, then TERM, then KILL); the sandbox's sessions after it. */
  stopSession(params: (ByWorkspace | ByOneId) & { session: string }): Promise<Sessions | undefined>;
  /** Builds (or finds up to date) a template holding these agents, from an OS package archive and
   * npm; tagged only once checked. */
  buildTemplate(params: BuildTemplateParams, long?: LongRequest): Promise<Template | undefined>;
  /** Every template Berth built on the engine, newest first. */
  templates(): Promise<{ templates: Template[] } | undefined>;
  /** Rebuilds templates Berth built with their agents' current versions (pinned ones stay). */
  updateTemplates(
    params: UpdateTemplatesParams,
    long?: LongRequest,
  ): Promise<{ updated: { before: Template; after: Template }[] } | undefined>;
  /** Which Docker engine the server uses, and what it is when it answers (`engineSetup`: the
   * configuration names none). */
  engine(): Promise<EngineInfo | undefined>;
}

export function requests(send: Send): Requests {
  return {
    run: (params) => send(Method.run, params),
    recreate: (params) => send(Method.recreate, params),
    stop: ((params: ByWorkspace | ByIds | All) => send(Method.stop, params)) as Requests['stop'],
    remove: (params) => send(Method.remove, params),
    list: () => send(Method.list, {}),
    inspect: (params) => send(Method.inspect, params),
    exec: (params) => send(Method.exec, params),
    logs: (params) => send(Method.logs, params),
    status: (params = {}) => send(Method.status, params),
    agents: () => send(Method.agents, {}),
    policy: (params) => send(Method.policy, params),
    changePolicy: (params) => send(Method.changePolicy, params),
    networkLog: (params) => send(Method.networkLog, params),
    worktrees: (params) => send(Method.worktrees, params),
    removeWorktree: (params) => send(Method.removeWorktree, params),
    worktreeDiff: (params) => send(Method.worktreeDiff, params),
    ports: (params) => send(Method.ports, params),
    forwardPort: (params) => send(Method.forwardPort, params),
    unforwardPort: (params) => send(Method.unforwardPort, params),
    sessions: (params) => send(Method.sessions, params),
    attachSession: (params) => send(Method.attachSession, params),
    stopSession: (params) => send(Method.stopSession, params),
    buildTemplate: (params, long) => send(Method.buildTemplate, params, long),
    templates: () => send(Method.templates, {}),
    updateTemplates: (params, long) => send(Method.updateTemplates, params, long),
    engine: () => send(Method.engine, {}),
  };
}
