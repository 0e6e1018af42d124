// Finding the Python that runs the server: probes the candidates python.ts names, in order, and
// explains a failure with a way to fix it (berth.interpreter).

import { execFile } from 'child_process';
import * as vscode from 'vscode';

import { candidates, parseVersion, pick, Probe, VERSION_SCRIPT } from './python';
import { interpreterSetting } from './settings';

/** The command of the first usable Python, or undefined after telling the user why there is none. */
export async function findPython(output: vscode.OutputChannel, scope: vscode.Uri | undefined): Promise<string | undefined> {
  const setting = interpreterSetting();
  let fromExtension: string | undefined;
  if (!setting) fromExtension = await pythonExtensionInterpreter(scope);
  const probes: Probe[] = [];
  for (const candidate of candidates(setting, fromExtension)) {
    const probe = await probePython(candidate.command).then((r) => ({ candidate, ...r }));
    probes.push(probe);
    const verdict = pick([probe]);
    if ('ok' in verdict) return candidate.command;
    output.appendLine(verdict.error);
  }
  const verdict = pick(probes);
  const message = 'error' in verdict ? verdict.error : 'Berth could not find Python.';
  void vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output').then((b) => {
    if (b === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'berth.interpreter');
    if (b === 'Show Output') output.show();
  });
  return undefined;
}

function probePython(command: string): Promise<{ version?: [number, number]; error?: string }> {
  return new Promise((resolve) => {
    execFile(command, ['-c', VERSION_SCRIPT], { timeout: 15000 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        resolve({ error: code === 'ENOENT' ? 'not found' : (stderr || err.message).trim() });
        return;
      }
      const version = parseVersion(stdout);
      resolve(version ? { version } : { error: `unexpected output ${JSON.stringify(stdout.trim())}` });
    });
  });
}

/** The active interpreter of the Python extension (ms-python.python), when it is installed. */
async function pythonExtensionInterpreter(scope: vscode.Uri | undefined): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension('ms-python.python');
  if (!ext) return undefined;
  try {
    if (!ext.isActive) await ext.activate();
    const env = ext.exports?.environments;
    const active = env?.getActiveEnvironmentPath?.(scope);
    const p = active?.path;
    return typeof p === 'string' && p ? p : undefined;
  } catch {
    // A broken or older Python extension must not keep the server from starting on python3.
    return undefined;
  }
}
