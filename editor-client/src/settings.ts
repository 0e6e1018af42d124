// The `berth.*` settings as the client reads them. The server reads the sandbox settings itself
// (workspace/configuration); the client needs them only at startup and for the Docker-socket question.

import * as vscode from 'vscode';

export const SECTION = 'berth';

const SANDBOX_KEYS = ['agent', 'template', 'env', 'volumes', 'mountDockerSocket', 'credentials', 'autoStart'];

/** The sandbox settings of a scope, unset ones as null so the server applies its own defaults. */
export function sandboxSettings(scope: vscode.Uri | undefined): Record<string, unknown> {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const out: Record<string, unknown> = {};
  for (const key of SANDBOX_KEYS) out[key] = c.get(key) ?? null;
  return out;
}

export function interpreterSetting(): string | null | undefined {
  return vscode.workspace.getConfiguration(SECTION).get<string | null>('interpreter');
}

export function mountsDockerSocket(folder: vscode.Uri): boolean {
  return vscode.workspace.getConfiguration(SECTION, folder).get('mountDockerSocket') === true;
}
