// The berth-server process behind the extension: starts it with the Python interpreter.ts finds,
// restarts it on request, sends the requests of protocol.ts (`api`), and owns the Berth output channel
// (the server's stderr, and the protocol trace that vscode-languageclient writes there when
// berth.trace.server asks for it). A request the server refuses for want of the user's consent, or of
// a template Berth can build, is sent again once the user allowed it or the template was built.

import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  ResponseError,
  ServerOptions,
  State as ClientState,
  TransportKind,
  WorkDoneProgress,
} from 'vscode-languageclient/node';

import { findPython } from './interpreter';
import {
  BlockedRequest,
  ConsentItem,
  AgentStateChange,
  DID_BLOCK_REQUEST,
  DID_CHANGE_AGENT_STATE,
  DID_CHANGE_PORTS,
  DID_CHANGE_SESSIONS,
  DID_CHANGE_STATUS,
  ErrorCode,
  LongRequest,
  Method,
  Ports,
  requests,
  Requests,
  Sandbox,
  Sessions,
  Status,
} from './protocol';
import { SECTION, sandboxSettings } from './settings';
import { ClientPhase } from './states';
import { SandboxStatuses } from './statuses';
import { buildOffer } from './templates';
import { consentItems } from './trust';

export interface ServerHooks {
  /** The folder whose Python-extension interpreter to try. */
  pythonScope(): vscode.Uri | undefined;
  /** Asks the user about values a workspace's own settings ask for; the ids allowed, if any. */
  consent(workspace: string, items: ConsentItem[]): Promise<string[] | undefined>;
  /** What the user picked for a folder in Berth's own UI, which then counts as their setting. */
  chosen(scope: vscode.Uri): Readonly<Record<string, unknown>>;
  /** Shows a request's error that offers to build a template for `agents` (templates.ts) and builds
   * it if the user asks; true when it was built (the request is then sent again). */
  offerBuild(message: string, agents: string[], workspace: string | undefined): Promise<boolean>;
}

/** What a failed request may still lead to, each once: consent asked, a template built. */
interface Retries {
  consent: boolean;
  build: boolean;
}

export class BerthServer implements vscode.Disposable {
  readonly output = vscode.window.createOutputChannel('Berth');
  private client: LanguageClient | undefined;
  private current: ClientPhase = 'starting';
  private starting: Promise<void> | undefined;

  private readonly phaseEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangePhase = this.phaseEmitter.event;
  private readonly connectionEmitter = new vscode.EventEmitter<void>();
  /** The server came up, failed or went away: what it would list may have changed. */
  readonly onDidChangeConnection = this.connectionEmitter.event;
  private readonly statusEmitter = new vscode.EventEmitter<Status>();
  /** Fires after `statuses` holds the new status. */
  readonly onDidReceiveStatus = this.statusEmitter.event;
  private readonly blockEmitter = new vscode.EventEmitter<BlockedRequest>();
  /** A sandbox's network policy refused a request (`sandbox/didBlockRequest`, rate-limited by the server). */
  readonly onDidBlockRequest = this.blockEmitter.event;
  private readonly portsEmitter = new vscode.EventEmitter<Ports>();
  /** A running sandbox's listening ports or forwards changed (`sandbox/didChangePorts`). */
  readonly onDidChangePorts = this.portsEmitter.event;
  private readonly agentEmitter = new vscode.EventEmitter<AgentStateChange>();
  /** What an agent is doing changed (`sandbox/didChangeAgentState`). */
  readonly onDidChangeAgentState = this.agentEmitter.event;
  private readonly sessionsEmitter = new vscode.EventEmitter<Sessions>();
  /** A session started or exited in a running sandbox of an open folder, or the sandbox stopped
   * (`sandbox/didChangeSessions`). */
  readonly onDidChangeSessions = this.sessionsEmitter.event;
  /** The server's requests; a failure is shown to the user and answers undefined. */
  readonly api: Requests = requests((method, params) => this.send(method, params));

  constructor(
    private readonly extensionPath: string,
    private readonly statuses: SandboxStatuses,
    private readonly hooks: ServerHooks,
  ) {}

  get phase(): ClientPhase {
    return this.current;
  }

  /** Joins a start already under way, so a restart and a request never launch two servers. */
  start(): Promise<void> {
    if (!this.starting) {
      this.starting = this.launch().finally(() => (this.starting = undefined));
    }
    return this.starting;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private async launch(): Promise<void> {
    this.setPhase('starting');
    const python = await findPython(this.output, this.hooks.pythonScope());
    if (!python) {
      this.setPhase('failed');
      return;
    }
    const libs = this.serverPath();
    this.output.appendLine(`Starting berth-server with ${python} (PYTHONPATH=${libs})`);
    const serverOptions: ServerOptions = {
      command: python,
      args: ['-m', 'berth.lsp.app'],
      transport: TransportKind.stdio,
      options: {
        // The server must import only the libraries shipped with it, never the user's site-packages;
        // unbuffered so its log reaches the output channel as it happens.
        env: { ...process.env, PYTHONPATH: libs, PYTHONNOUSERSITE: '1', PYTHONUNBUFFERED: '1' },
      },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [],
      outputChannel: this.output,
      initializationOptions: { berth: sandboxSettings(undefined) },
      synchronize: { configurationSection: SECTION },
      middleware: {
        workspace: {
          // Berth's section is answered here, with each value's origin (settings.ts); VS Code's
          // own answer merges the user's settings with the workspace's, which the server must not trust.
          configuration: async (params, token, next) => {
            if (!params.items.every((i) => i.section === SECTION)) return next(params, token);
            return params.items.map((i) => {
              const scope = i.scopeUri ? vscode.Uri.parse(i.scopeUri) : undefined;
              return sandboxSettings(scope, scope ? this.hooks.chosen(scope) : {});
            });
          },
        },
      },
    };
    const client = new LanguageClient('berth', 'Berth', serverOptions, clientOptions);
    this.client = client;
    client.onNotification(DID_CHANGE_STATUS, (s: Status) => this.onStatus(s));
    client.onNotification(DID_BLOCK_REQUEST, (b: BlockedRequest) => this.onBlock(b));
    client.onNotification(DID_CHANGE_PORTS, (p: Ports) => this.portsEmitter.fire(p));
    client.onNotification(DID_CHANGE_AGENT_STATE, (a: AgentStateChange) => this.agentEmitter.fire(a));
    client.onNotification(DID_CHANGE_SESSIONS, (s: Sessions) => this.sessionsEmitter.fire(s));
    client.onDidChangeState((e) => {
      // A client that stops while still current has died; one replaced by stop() was stopped on purpose.
      if (e.newState === ClientState.Running) this.current = 'running';
      else if (e.newState === ClientState.Stopped) this.current = this.client === client ? 'failed' : 'stopped';
      else this.current = 'starting';
      if (e.newState !== ClientState.Running) this.statuses.clear();
      this.phaseEmitter.fire();
      this.connectionEmitter.fire();
    });
    try {
      await client.start();
      this.current = 'running';
    } catch (err) {
      this.current = 'failed';
      this.output.appendLine(`berth-server did not start: ${errorText(err)}`);
      void vscode.window
        .showErrorMessage(`Berth: the server did not start: ${errorText(err)}`, 'Show Output')
        .then((b) => b && this.output.show());
    }
    this.phaseEmitter.fire();
    this.connectionEmitter.fire();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.statuses.clear();
    if (client) {
      try {
        await client.stop(5000);
      } catch (err) {
        this.output.appendLine(`Stopping berth-server: ${errorText(err)}`);
      }
      await client.dispose().catch(() => undefined);
    }
    this.setPhase('stopped');
  }

  private setPhase(phase: ClientPhase): void {
    this.current = phase;
    this.phaseEmitter.fire();
  }

  /** PYTHONPATH for the server: the libraries shipped in the .vsix, or the source tree in development. */
  private serverPath(): string {
    const libs = path.join(this.extensionPath, 'bundled', 'libs');
    if (fs.existsSync(path.join(libs, 'berth'))) return libs;
    const source = path.join(this.extensionPath, 'server');
    return fs.existsSync(path.join(source, 'berth')) ? source : libs;
  }

  private onStatus(status: Status): void {
    if (!status || typeof status.workspace !== 'string') return;
    this.statuses.set(status);
    this.statusEmitter.fire(status);
  }

  private onBlock(block: BlockedRequest): void {
    if (!block || typeof block.workspace !== 'string' || typeof block.host !== 'string' || typeof block.port !== 'number') return;
    this.blockEmitter.fire(block);
  }

  /** The running server only reads berth.interpreter when it starts. */
  settingsChanged(e: vscode.ConfigurationChangeEvent): void {
    if (!e.affectsConfiguration('berth.interpreter')) return;
    void vscode.window
      .showInformationMessage('Berth: the interpreter setting changed. Restart the Berth server to use it?', 'Restart Server')
      .then((b) => b && vscode.commands.executeCommand('berth.restartServer'));
  }

  /** The client to send through once any start under way has ended, or undefined when the server is not running. */
  private async ready(): Promise<LanguageClient | undefined> {
    if (this.starting) await this.starting;
    return this.current === 'failed' || this.current === 'stopped' ? undefined : this.client;
  }

  /**
   * The "server not running" guard of every command that needs the server: true when requests can be
   * sent, else the user is told (with Restart Server and Show Output) and the answer is false.
   */
  async ensureRunning(): Promise<boolean> {
    if (await this.ready()) return true;
    this.showNotRunning();
    return false;
  }

  private showNotRunning(): void {
    void vscode.window
      .showErrorMessage('Berth: the Berth server is not running.', 'Restart Server', 'Show Output')
      .then((b) => {
        if (b === 'Restart Server') void vscode.commands.executeCommand('berth.restartServer');
        if (b === 'Show Output') this.output.show();
      });
  }

  /** The transport of `api`: a failure is shown to the user and answers undefined. */
  private async send<T>(method: Method, params: object, long?: LongRequest): Promise<T | undefined> {
    return this.attempt<T>(method, params, long, { consent: true, build: true });
  }

  /**
   * One try of a request. A refusal that the user can lift is offered to them, and the request sent
   * again: `needsConsent` (the exact values shown; again with the ids they allowed), and a
   * `templateProblem` that offers a build (again once it is built: the run then finds the new
   * template). Any other failure is shown.
   */
  private async attempt<T>(method: Method, params: object, long: LongRequest | undefined, may: Retries): Promise<T | undefined> {
    const client = await this.ready();
    if (!client) {
      // The server went away after the command's guard (ensureRunning) let it through, or during a build.
      this.showNotRunning();
      return undefined;
    }
    try {
      return await this.request<T>(client, method, params, long);
    } catch (err) {
      if (!(err instanceof ResponseError)) {
        this.showError(err);
        return undefined;
      }
      const workspace = (params as { workspace?: unknown }).workspace;
      const where = typeof workspace === 'string' ? workspace : undefined;
      if (may.consent && err.code === ErrorCode.needsConsent && where) {
        const items = consentItems(err.data);
        const accept = items.length ? await this.hooks.consent(where, items) : undefined;
        if (!accept) {
          if (!items.length) this.showError(err);
          return undefined;
        }
        return this.attempt<T>(method, { ...params, accept }, long, { ...may, consent: false });
      }
      const agents = may.build ? buildOffer(err.data) : undefined;
      if (agents) {
        if (!(await this.hooks.offerBuild(err.message, agents, where))) return undefined;
        return this.attempt<T>(method, params, long, { ...may, build: false });
      }
      this.showError(err);
      return undefined;
    }
  }

  /**
   * Sends one request; its failure throws. A long one's progress is reported on a token of ours,
   * which only this request's handler hears (vscode-languageclient shows a server's own progress in
   * the status bar alone, so the caller shows it); its cancellation sends `$/cancelRequest`.
   */
  private async request<T>(client: LanguageClient, method: Method, params: object, long?: LongRequest): Promise<T> {
    if (!long) return (await client.sendRequest(method, params)) as T;
    const token = `berth-${randomUUID()}`;
    const listening = long.progress
      ? client.onProgress(WorkDoneProgress.type, token, (p) => {
          if (p.kind !== 'end' && p.message) long.progress?.(p.message);
        })
      : undefined;
    try {
      const withToken = { ...params, workDoneToken: token };
      // No `undefined` in the token's place: vscode-jsonrpc would send the params as an array then.
      const answer = long.cancel
        ? client.sendRequest(method, withToken, long.cancel as vscode.CancellationToken)
        : client.sendRequest(method, withToken);
      return (await answer) as T;
    } finally {
      listening?.dispose();
    }
  }

  /** sandbox/list for the Sandboxes view, which shows a failure in place instead of a notification. */
  async listForView(): Promise<{ sandboxes: Sandbox[]; error?: string }> {
    const api = await this.viewApi();
    if (!api) return { sandboxes: [], error: NOT_RUNNING };
    try {
      return { sandboxes: (await api.list()) ?? [] };
    } catch (err) {
      return { sandboxes: [], error: errorText(err) };
    }
  }

  /** Requests whose caller shows a failure itself (a view, in place; a template build, in its own
   * words): a failure throws (a ResponseError for the server's own errors) instead of being shown.
   * Undefined when the server is not running. */
  async viewApi(): Promise<Requests | undefined> {
    const client = await this.ready();
    return client && requests((method, params, long) => this.request(client, method, params, long));
  }

  /** A request's failure, as the user is told it: the server's message (written for them). */
  showError(err: unknown): void {
    if (err instanceof ResponseError) {
      // For these codes (protocol.md) the details are only in the server's log (for engineSetup, the
      // message says what to fix in the Docker configuration; the output has the engine it names).
      const logged: number[] = [ErrorCode.engineUnavailable, ErrorCode.engineSetup, ErrorCode.engineError, ErrorCode.internal];
      const buttons = logged.includes(err.code) ? ['Show Output'] : [];
      void vscode.window.showErrorMessage(err.message, ...buttons).then((b) => b && this.output.show());
      return;
    }
    void vscode.window.showErrorMessage(`Berth: ${errorText(err)}`);
  }

  dispose(): void {
    void this.stop();
    this.output.dispose();
    this.phaseEmitter.dispose();
    this.connectionEmitter.dispose();
    this.statusEmitter.dispose();
    this.blockEmitter.dispose();
    this.portsEmitter.dispose();
    this.agentEmitter.dispose();
    this.sessionsEmitter.dispose();
  }
}

/** What a view says in place of its rows while there is no server to ask. */
export const NOT_RUNNING = 'The Berth server is not running.';

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
