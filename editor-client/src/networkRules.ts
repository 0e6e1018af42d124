// What a sandbox's network policy shows in VS Code: each blocked request (sandbox/didBlockRequest) in
// the Berth output and as a notification offering to allow it, and Edit Network Rules (the rules now,
// allow or deny a host, reset, the blocked requests). The words are network.ts's; the server decides.

import * as path from 'path';
import * as vscode from 'vscode';

import { ReadOnlyDocuments } from './documents';
import { folderForWorkspace } from './folders';
import {
  ALLOW_BUTTON,
  allowedMessage,
  allowPattern,
  blockedMessage,
  deniedMessage,
  hostInputPrompt,
  LOG_BUTTON,
  logText,
  NetworkAction,
  networkRuleItems,
  networkRulesPlaceholder,
  outputLine,
  policySummary,
  resetMessage,
  validateHostInput,
} from './network';
import type { BlockedRequest, PolicyInfo } from './protocol';
import { BerthServer } from './server';
import { SandboxStatuses } from './statuses';
import { Folder, WorkspaceFolders } from './workspaceFolders';

/** A workspace's sandbox, by its path (and its own name, for one made by name), and the name the
 * user knows it by. */
interface Target {
  workspace: string;
  sandbox?: string;
  name: string;
}

type RuleItem = vscode.QuickPickItem & { action?: NetworkAction };

/** How many blocked requests the log document shows (the last ones). */
const LOG_TAIL = 1000;

export class NetworkRules {
  constructor(
    private readonly server: BerthServer,
    private readonly folders: WorkspaceFolders,
    private readonly statuses: SandboxStatuses,
    private readonly documents: ReadOnlyDocuments,
  ) {}

  /** One blocked request: a line in the Berth output, and a notification offering to allow it. */
  blocked(block: BlockedRequest): void {
    const target = this.target(block.workspace, block.name ?? undefined);
    this.server.output.appendLine(outputLine(block, target.name));
    void vscode.window.showWarningMessage(blockedMessage(block, target.name), ALLOW_BUTTON, LOG_BUTTON).then(async (button) => {
      if (button === ALLOW_BUTTON) await this.allow(target, allowPattern(block.host, block.port), block);
      else if (button === LOG_BUTTON) await this.showLog(target);
    });
  }

  /** Berth: Edit Network Rules… for a folder: the rules now, and what can change at once. */
  async edit(folder: Folder): Promise<void> {
    if (this.statuses.of(folder)?.state === 'absent') {
      const button = await vscode.window.showInformationMessage(
        `Berth: "${folder.name}" has no sandbox yet. Its network follows berth.networkPolicy, ` +
          'berth.allowHosts and berth.denyHosts when it is created.',
        'Open Settings',
      );
      if (button) await vscode.commands.executeCommand('workbench.action.openSettings', 'berth.networkPolicy');
      return;
    }
    const target = { workspace: folder.path, name: folder.name };
    const info = await this.server.api.policy({ workspace: target.workspace });
    if (!info) return;
    const items: RuleItem[] = networkRuleItems(info).map((row) =>
      row.separator
        ? { label: row.label, kind: vscode.QuickPickItemKind.Separator }
        : { label: row.label, description: row.description, detail: row.detail, action: row.action },
    );
    const picked = await vscode.window.showQuickPick(items, {
      title: `Berth: Network Rules of "${folder.name}"`,
      placeHolder: networkRulesPlaceholder(info),
    });
    switch (picked?.action) {
      case 'show':
        return this.documents.showNetworkRules(target.name, policySummary(info, target.name).join('\n') + '\n');
      case 'allow': {
        const pattern = await this.askPattern(target, 'allow');
        return pattern ? this.allow(target, pattern) : undefined;
      }
      case 'deny': {
        const pattern = await this.askPattern(target, 'deny');
        return pattern ? this.deny(target, pattern) : undefined;
      }
      case 'reset':
        return this.reset(target);
      case 'log':
        return this.showLog(target);
    }
  }

  private async allow(target: Target, pattern: string, request?: { host: string; port: number }): Promise<void> {
    const info = await this.server.api.changePolicy({ ...this.which(target), allow: [pattern] });
    if (!info) return;
    const said = allowedMessage(target.name, pattern, info, request);
    if (said.stillBlocked) void vscode.window.showWarningMessage(said.text);
    else void vscode.window.showInformationMessage(said.text);
  }

  private async deny(target: Target, pattern: string): Promise<void> {
    const info = await this.server.api.changePolicy({ ...this.which(target), deny: [pattern] });
    if (info) void vscode.window.showInformationMessage(deniedMessage(target.name, pattern));
  }

  private async reset(target: Target): Promise<void> {
    const info: PolicyInfo | undefined = await this.server.api.changePolicy({ ...this.which(target), reset: true });
    if (info) void vscode.window.showInformationMessage(resetMessage(target.name, info));
  }

  private async showLog(target: Target): Promise<void> {
    const result = await this.server.api.networkLog({ ...this.which(target), tail: LOG_TAIL });
    if (result) await this.documents.showNetworkLog(target.name, logText(result.blocked ?? []));
  }

  /** One host pattern from the user; the server checks it fully and says what is wrong with it. */
  private async askPattern(target: Target, action: 'allow' | 'deny'): Promise<string | undefined> {
    const text = await vscode.window.showInputBox({
      title: `Berth: ${action === 'allow' ? 'Allow' : 'Deny'} a host for "${target.name}"`,
      prompt: hostInputPrompt(action),
      placeHolder: action === 'allow' ? 'registry.example.com' : 'tracker.example.com',
      validateInput: validateHostInput,
      ignoreFocusOut: true,
    });
    return text?.trim() || undefined;
  }

  /** The folder a server's workspace path belongs to, named as the user knows it; `sandbox`: the
   * name of the one of its sandboxes meant, when not its default one. */
  private target(workspace: string, sandbox?: string): Target {
    const folder = folderForWorkspace(this.folders.all, workspace);
    const name = folder?.name ?? path.basename(workspace);
    return { workspace: folder?.path ?? workspace, sandbox, name: sandbox ? `${name} (${sandbox})` : name };
  }

  /** The params that say which sandbox. */
  private which(target: Target): { workspace: string; name?: string } {
    return target.sandbox ? { workspace: target.workspace, name: target.sandbox } : { workspace: target.workspace };
  }
}
