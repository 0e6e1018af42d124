// A running sandbox's ports in VS Code: each port that starts listening is offered once (Open in
// Browser, Forward) or forwarded at once (`berth.detectedPorts`); Forward a Port… and Stop Forwarding
// a Port… from the palette; the forwards of each sandbox for the Sandboxes view. The words are
// ports.ts's; the server notices the ports and makes the forwards.

import * as path from 'path';
import * as vscode from 'vscode';

import { folderForWorkspace } from './folders';
import {
  DetectedPorts,
  detectedMessage,
  FORWARD_BUTTON,
  forwardChoices,
  forwardedMessage,
  forwardLabel,
  OPEN_BUTTON,
  portsToOffer,
  validatePort,
} from './ports';
import type { Forward, Ports } from './protocol';
import { BerthServer } from './server';
import { SECTION } from './settings';
import { Folder, WorkspaceFolders } from './workspaceFolders';

/** Which sandbox: its workspace, and its own name when it is not the workspace's default one. */
interface Target {
  workspace: string;
  name?: string;
  /** As the user knows it: the folder's name, with the sandbox's own name. */
  title: string;
}

export class PortForwards implements vscode.Disposable {
  /** The latest Ports of each running sandbox of an open folder, by sandbox id. */
  private readonly latest = new Map<string, Ports>();
  private readonly offered = new Set<string>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** A sandbox's forwards changed. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    private readonly server: BerthServer,
    private readonly folders: WorkspaceFolders,
  ) {}

  /** The forwards of a sandbox, as last said. */
  forwardsOf(sandboxId: string): Forward[] {
    return this.latest.get(sandboxId)?.forwarded ?? [];
  }

  /** One `sandbox/didChangePorts`. */
  changed(p: Ports): void {
    if (!p || typeof p.sandbox !== 'string' || !Array.isArray(p.listening) || !Array.isArray(p.forwarded)) return;
    const before = JSON.stringify(this.latest.get(p.sandbox)?.forwarded ?? []);
    if (p.listening.length || p.forwarded.length) this.latest.set(p.sandbox, p);
    else this.latest.delete(p.sandbox);
    if (before !== JSON.stringify(p.forwarded)) this.changeEmitter.fire();
    const mode = vscode.workspace.getConfiguration(SECTION).get<DetectedPorts>('detectedPorts', 'notify');
    if (mode === 'off') return;
    const target = this.target(p.workspace, p.name ?? undefined);
    for (const port of portsToOffer(p, this.offered)) {
      if (mode === 'forward') void this.forward(target, port, false);
      else void this.offer(target, port);
    }
  }

  private async offer(target: Target, port: number): Promise<void> {
    const button = await vscode.window.showInformationMessage(detectedMessage(port, target.title), OPEN_BUTTON, FORWARD_BUTTON);
    if (button) await this.forward(target, port, button === OPEN_BUTTON);
  }

  /** Forward the port; open it in the browser when `open`, else say where it is, offering to. */
  private async forward(target: Target, port: number, open: boolean): Promise<void> {
    const forward = await this.server.api.forwardPort({ ...this.which(target), port });
    if (!forward) return;
    this.server.output.appendLine(forwardedMessage(forward, target.title));
    if (open) {
      await vscode.env.openExternal(vscode.Uri.parse(forward.url));
      return;
    }
    const button = await vscode.window.showInformationMessage(forwardedMessage(forward, target.title), OPEN_BUTTON);
    if (button) await vscode.env.openExternal(vscode.Uri.parse(forward.url));
  }

  /** Berth: Forward a Port… for a folder's sandbox: one it listens on, or any port typed in. */
  async forwardPicked(folder: Folder): Promise<void> {
    const target = this.target(folder.path);
    const ports = await this.server.api.ports({ workspace: folder.path });
    if (!ports) return;
    const other = { label: '$(edit) Another port…', description: 'a port it does not listen on yet', port: 0 };
    const picked = await vscode.window.showQuickPick([...forwardChoices(ports), other], {
      title: `Berth: Forward a Port of "${target.title}"`,
      placeHolder: ports.listening.length ? 'The ports the sandbox listens on' : 'The sandbox listens on no port yet',
    });
    if (!picked) return;
    let port = picked.port;
    if (!port) {
      const typed = await vscode.window.showInputBox({
        title: `Berth: Forward a Port of "${target.title}"`,
        prompt: 'The port in the sandbox; this machine gets the same number when it is free.',
        validateInput: validatePort,
      });
      if (!typed) return;
      port = Number(typed.trim());
    }
    await this.forward(target, port, false);
  }

  /** Berth: Stop Forwarding a Port… for a folder's sandbox (or the forward a view row names). */
  async unforwardPicked(folder: Folder): Promise<void> {
    const target = this.target(folder.path);
    const ports = await this.server.api.ports({ workspace: folder.path });
    if (!ports) return;
    if (!ports.forwarded.length) {
      void vscode.window.showInformationMessage(`Berth: no port of "${target.title}" is forwarded.`);
      return;
    }
    const picked = await vscode.window.showQuickPick(
      ports.forwarded.map((f) => ({ label: forwardLabel(f), description: f.url, forward: f })),
      { title: `Berth: Stop Forwarding a Port of "${target.title}"` },
    );
    if (picked) await this.unforward(ports, picked.forward);
  }

  /** End one forward (a view row's). */
  async unforward(ports: Pick<Ports, 'workspace' | 'name'>, f: Forward): Promise<void> {
    const target = this.target(ports.workspace, ports.name ?? undefined);
    const done = await this.server.api.unforwardPort({ ...this.which(target), hostPort: f.hostPort });
    if (done) void vscode.window.showInformationMessage(`Berth: stopped forwarding port ${f.port} of "${target.title}" (${f.url}).`);
  }

  private target(workspace: string, name?: string): Target {
    const folder = folderForWorkspace(this.folders.all, workspace);
    const base = folder?.name ?? path.basename(workspace);
    return { workspace: folder?.path ?? workspace, name, title: name ? `${base} (${name})` : base };
  }

  private which(target: Target): { workspace: string; name?: string } {
    return target.name ? { workspace: target.workspace, name: target.name } : { workspace: target.workspace };
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }
}
