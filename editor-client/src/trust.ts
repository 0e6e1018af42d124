// The trust boundary, client side. Files inside a workspace folder (.vscode/settings.json, and a
// .code-workspace file kept inside a folder) can be written by the agent in the sandbox and arrive
// with every cloned repository, so the server is told which settings came from there
// (`workspaceValues`, protocol.md "The trust boundary") and asks before they widen a sandbox.
// Pure: no `vscode` import, so node's test runner can load it.

import type { ConsentItem } from './protocol';

export const SANDBOX_KEYS = [
  'agent',
  'template',
  'templateSource',
  'env',
  'volumes',
  'mountDockerSocket',
  'credentials',
  'hostCertificates',
  'networkPolicy',
  'allowHosts',
  'denyHosts',
  'ports',
  'cpus',
  'memory',
  'pidsLimit',
  'gpus',
  'autoStart',
];

/** What `WorkspaceConfiguration.inspect` says of one setting (the scopes Berth reads). */
export interface Inspection {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The `berth` section as the server is sent it: the user's own values at the top level (unset ones
 * null, so the server applies its defaults), and under `workspaceValues` what the workspace's files
 * set. `workspaceFileTrusted`: the workspace's `.code-workspace` file lies outside every folder.
 * `chosen`: values the user picked in Berth's own UI and Berth wrote into the folder's settings
 * (Choose Agent); while the file still holds exactly that value, it is the user's.
 */
export function splitLayers(
  inspect: (key: string) => Inspection | undefined,
  workspaceFileTrusted: boolean,
  chosen: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const theirs: Record<string, unknown> = {};
  for (const key of SANDBOX_KEYS) {
    const i = inspect(key) ?? {};
    const mine = workspaceFileTrusted && i.workspaceValue !== undefined ? i.workspaceValue : i.globalValue;
    let ws = i.workspaceFolderValue !== undefined ? i.workspaceFolderValue : workspaceFileTrusted ? undefined : i.workspaceValue;
    // VS Code merges object settings across scopes (berth.env as {NAME: value}): so does Berth.
    if (isObject(mine) && isObject(ws)) ws = { ...mine, ...ws };
    if (ws !== undefined && key in chosen && JSON.stringify(chosen[key]) === JSON.stringify(ws)) {
      out[key] = ws;
      continue;
    }
    out[key] = mine ?? null;
    if (ws !== undefined && ws !== null) theirs[key] = ws;
  }
  out.workspaceValues = theirs;
  return out;
}

/** The items of a `needsConsent` error's data (protocol.md); malformed ones are left out. */
export function consentItems(data: unknown): ConsentItem[] {
  const items = isObject(data) && Array.isArray(data.items) ? data.items : [];
  return items.filter((i): i is ConsentItem => isObject(i) && typeof i.id === 'string' && typeof i.field === 'string');
}

/** `volumes: /home/ada:/mnt/home — your home folder, read-write`: the exact value, and what it means. */
export function consentLines(items: readonly ConsentItem[]): string[] {
  return items.map((i) => {
    const value = typeof i.value === 'string' ? i.value : JSON.stringify(i.value);
    return `berth.${i.field}: ${value}${i.note ? ` — ${i.note}` : ''}`;
  });
}

export function consentQuestion(folderName: string): string {
  return `The settings inside "${folderName}" ask for access to this machine that only you may allow.`;
}

export function consentDetail(items: readonly ConsentItem[]): string {
  return (
    consentLines(items).join('\n') +
    '\n\nThese values come from files inside the workspace, which the agent in the sandbox can ' +
    'write and which arrive with a cloned repository. Berth remembers your answer for exactly these ' +
    'values in this workspace, and asks again when they change.'
  );
}

/** Whether every item was allowed before (by id: workspace, setting and exact value). */
export function allAllowed(allowed: readonly string[], items: readonly ConsentItem[]): boolean {
  const known = new Set(allowed);
  return items.length > 0 && items.every((i) => known.has(i.id));
}
