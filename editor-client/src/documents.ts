// Inspect and log output, a sandbox's network rules and the requests they blocked, and an agent
// branch's diff open as read-only documents (berth:/inspect/…, berth:/logs/…, berth:/network/…,
// berth:/diff/…): nothing to save, and opening the same one again refreshes it in place instead of
// stacking untitled editors.

import * as vscode from 'vscode';

const SCHEME = 'berth';

export class ReadOnlyDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(SCHEME, this);

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.path) ?? '';
  }

  showInspect(name: string, details: unknown): Promise<void> {
    return this.open(`inspect/${name}.json`, JSON.stringify(details, null, 2));
  }

  showLogs(name: string, text: string): Promise<void> {
    return this.open(`logs/${name}.log`, text || '(the sandbox has logged nothing)\n');
  }

  showNetworkLog(name: string, text: string): Promise<void> {
    return this.open(`network/${name}-blocked.log`, text);
  }

  showNetworkRules(name: string, text: string): Promise<void> {
    return this.open(`network/${name}-network-rules.txt`, text);
  }

  /** An agent branch's changes against its base, highlighted as a diff. */
  showDiff(name: string, text: string): Promise<void> {
    return this.open(`diff/${name}.diff`, text, 'diff');
  }

  private async open(name: string, text: string, language?: string): Promise<void> {
    const uri = vscode.Uri.from({ scheme: SCHEME, path: '/' + name });
    const known = this.contents.has(uri.path);
    this.contents.set(uri.path, text);
    if (known) this.emitter.fire(uri);
    let doc = await vscode.workspace.openTextDocument(uri);
    // Said outright: the name's extension is only a hint, which file associations may override.
    if (language && doc.languageId !== language) doc = await vscode.languages.setTextDocumentLanguage(doc, language);
    await vscode.window.showTextDocument(doc, { preview: false });
  }

  dispose(): void {
    this.registration.dispose();
    this.emitter.dispose();
  }
}
