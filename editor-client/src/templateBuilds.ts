// Templates Berth builds, in VS Code: Build Template… (the agents picked, the folder's first), Update
// Templates, and the Build Template button on a run's error when the agent's template cannot be had
// (server.ts sends the run again once this built it). Each build shows its steps in a cancellable
// notification. The server builds; the words are templates.ts's.

import * as vscode from 'vscode';

import { currentAgent } from './agents';
import { folderForWorkspace, statusBarFolder } from './folders';
import type { LongRequest, Requests, Template } from './protocol';
import { BerthServer } from './server';
import { SECTION, sandboxSettings } from './settings';
import { SandboxStatuses } from './statuses';
import {
  BUILD_BUTTON,
  buildCancelled,
  buildPickItems,
  buildPickPlaceholder,
  buildTitle,
  builtMessage,
  CANCELLED_MESSAGE,
  UPDATE_CANCELLED_MESSAGE,
  UPDATE_TITLE,
  updatedMessage,
} from './templates';
import { activeFile, Folder, WorkspaceFolders } from './workspaceFolders';

export class TemplateBuilds {
  constructor(
    private readonly server: BerthServer,
    private readonly folders: WorkspaceFolders,
    private readonly statuses: SandboxStatuses,
  ) {}

  /** Berth: Build Template…: the agents to put in one template, the folder's own agent picked. */
  async buildPicked(arg: unknown): Promise<void> {
    const folder = this.folderOf(arg);
    const agents = await this.server.api.agents();
    if (!agents) return;
    const setting = vscode.workspace.getConfiguration(SECTION, folder?.ws.uri).get<string | null>('agent');
    const current = currentAgent(setting, this.statuses.of(folder)).name;
    const picked = await vscode.window.showQuickPick(buildPickItems(agents, current), {
      title: 'Berth: Build Template',
      placeHolder: buildPickPlaceholder(),
      canPickMany: true,
      matchOnDescription: true,
    });
    if (!picked?.length) return;
    await this.build(
      picked.map((p) => p.name),
      folder?.ws.uri,
    );
  }

  /** Berth: Update Templates: every template Berth built, with its agents' current versions. */
  async updateAll(arg: unknown): Promise<void> {
    const folder = this.folderOf(arg);
    // Each is rebuilt as it was built (with the host's CA bundle or without), unless the user's own
    // berth.hostCertificates asks for it now.
    const certs = this.hostCertificates(folder?.ws.uri) === true ? { hostCertificates: true } : {};
    const result = await this.withProgress(UPDATE_TITLE, UPDATE_CANCELLED_MESSAGE, (api, long) =>
      api.updateTemplates(certs, long),
    );
    if (result) void vscode.window.showInformationMessage(updatedMessage(result.updated));
  }

  /** A run's error that offers a build: said with the Build Template button, which builds it.
   * True once built (the run is then sent again). */
  async offer(message: string, agents: string[], workspace: string | undefined): Promise<boolean> {
    const button = await vscode.window.showErrorMessage(message, BUILD_BUTTON);
    if (button !== BUILD_BUTTON) return false;
    const folder = workspace ? folderForWorkspace(this.folders.all, workspace) : undefined;
    return (await this.build(agents, folder?.ws.uri ?? (workspace ? vscode.Uri.file(workspace) : undefined))) !== undefined;
  }

  /** Builds one template for `agents`, with the user's hostCertificates for the folder `scope`; says
   * what it holds. Undefined when it failed or was cancelled (said too). */
  private async build(agents: string[], scope: vscode.Uri | undefined): Promise<Template | undefined> {
    // Unset: the server takes the config file's default.
    const certs = this.hostCertificates(scope);
    const built = await this.withProgress(buildTitle(agents), CANCELLED_MESSAGE, (api, long) =>
      api.buildTemplate({ agents, ...(certs === undefined ? {} : { hostCertificates: certs }) }, long),
    );
    if (built) void vscode.window.showInformationMessage(builtMessage(built));
    return built;
  }

  /**
   * `work` in a cancellable notification that shows each step the server reports (Cancel sends
   * `$/cancelRequest`: the server stops the build and tags nothing). A failure is said here, a
   * cancellation in a few words.
   */
  private async withProgress<T>(
    title: string,
    cancelled: string,
    work: (api: Requests, long: LongRequest) => Promise<T | undefined>,
  ): Promise<T | undefined> {
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, cancel) => {
        const api = await this.server.viewApi();
        if (!api) {
          await this.server.ensureRunning(); // says it is not running
          return undefined;
        }
        try {
          return await work(api, { cancel, progress: (message) => progress.report({ message }) });
        } catch (err) {
          if (cancel.isCancellationRequested || buildCancelled(err)) void vscode.window.showInformationMessage(cancelled);
          else this.server.showError(err);
          return undefined;
        }
      },
    );
  }

  /**
   * The user's own `berth.hostCertificates` for the folder (undefined when unset): a build behind a
   * TLS-inspecting proxy needs it as the sandboxes do. Never the value the folder's own files set:
   * the template would keep this machine's CA bundle, and a build asks no consent (trust.ts).
   */
  private hostCertificates(scope: vscode.Uri | undefined): boolean | undefined {
    const mine = sandboxSettings(scope).hostCertificates;
    return typeof mine === 'boolean' ? mine : undefined;
  }

  /** The folder whose settings a palette command uses: the status bar's (or a Uri given), without a
   * question: a template is the engine's, not a folder's. */
  private folderOf(arg: unknown): Folder | undefined {
    if (arg instanceof vscode.Uri) return this.folders.byUri(arg) ?? statusBarFolder(this.folders.all, activeFile(), undefined);
    return statusBarFolder(this.folders.all, activeFile(), undefined);
  }
}
