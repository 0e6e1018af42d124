// berth.mountDockerSocket hands the agent the host's Docker engine, which is root on the host. A
// setting in a cloned repository must not grant that silently, so each workspace folder asks once, in
// a modal, and the answer is remembered in the workspace state.

import * as vscode from 'vscode';

import { DOCKER_SOCKET_DETAIL, DOCKER_SOCKET_WARNING } from './presentation';
import { mountsDockerSocket } from './settings';
import { Folder, WorkspaceFolders } from './workspaceFolders';

const KEY = 'berth.dockerSocket.';

type Answer = 'allow' | 'deny';

export class DockerSocketConsent {
  constructor(
    private readonly memory: vscode.Memento,
    private readonly folders: WorkspaceFolders,
  ) {}

  private answer(folder: Folder): Answer | undefined {
    return this.memory.get<Answer>(KEY + folder.ws.uri.toString());
  }

  /** Whether the folder's sandbox may be created or started with its current settings. */
  async confirm(folder: Folder): Promise<boolean> {
    if (!mountsDockerSocket(folder.ws.uri)) return true;
    const key = KEY + folder.ws.uri.toString();
    const answer = this.answer(folder);
    if (answer === 'allow') return true;
    if (answer === 'deny') {
      const b = await vscode.window.showErrorMessage(
        `Berth: "${folder.name}" sets berth.mountDockerSocket, and you chose not to allow it for this workspace.`,
        'Allow Docker Socket',
        'Open Settings',
      );
      if (b === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openWorkspaceSettings', 'berth.mountDockerSocket');
      if (b !== 'Allow Docker Socket') return false;
      await this.memory.update(key, 'allow');
      return true;
    }
    const choice = await vscode.window.showWarningMessage(
      DOCKER_SOCKET_WARNING,
      { modal: true, detail: `${DOCKER_SOCKET_DETAIL}\n\nFolder: ${folder.path}` },
      'Allow',
      "Don't Allow",
    );
    const allowed = choice === 'Allow';
    // Dismissing the modal is no answer: the question comes again next time.
    if (choice) await this.memory.update(key, allowed ? 'allow' : 'deny');
    return allowed;
  }

  /** Asks right away when a folder turns the setting on, rather than at its next sandbox command. */
  settingsChanged(e: vscode.ConfigurationChangeEvent): void {
    for (const folder of this.folders.all) {
      if (
        e.affectsConfiguration('berth.mountDockerSocket', folder.ws.uri) &&
        mountsDockerSocket(folder.ws.uri) &&
        this.answer(folder) === undefined
      ) {
        void this.confirm(folder);
      }
    }
  }

  /** Until the Docker socket is allowed for a folder, the server must not auto-start its sandbox. */
  maskAutoStart(scopeUri: string | undefined, settings: unknown): unknown {
    if (!scopeUri || !settings || typeof settings !== 'object') return settings;
    const folder = this.folders.all.find(
      (f) => f.ws.uri.toString() === scopeUri || vscode.Uri.parse(scopeUri).fsPath === f.path,
    );
    const s = settings as Record<string, unknown>;
    if (folder && s.mountDockerSocket === true && this.answer(folder) !== 'allow') {
      return { ...s, autoStart: 'never' };
    }
    return settings;
  }
}
