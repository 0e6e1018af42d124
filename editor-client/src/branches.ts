// Agent branches (protocol.md, "Agent branches"), as the user is asked and told about them: the
// branch-name check, the removal question, what is said after a run or a removal, and which worktree
// path belongs to which repository and branch. The server makes and removes the worktrees.
// Pure: no `vscode` import, so node's test runner can load it.

import type { AgentBranch, RunResult, Sandbox } from './protocol';
import type { WorktreePlace } from './views';

/** The input box's light check (git and the server check the rest, and say what is wrong). */
export function validateBranchName(text: string): string | undefined {
  const t = text.trim();
  if (!t) return 'Type a branch name, such as agent/fix-login.';
  if (/\s/.test(t)) return 'A branch name has no spaces: use - or / instead.';
  return undefined;
}

/** How the server is told which worktree: its branch, else (detached) its path. */
export function branchRef(branch: Pick<AgentBranch, 'branch' | 'path'>): string {
  return branch.branch ?? branch.path;
}

/** The worktree's own sandbox (not one made by name), whose agent Attach Agent starts again. */
export function defaultSandbox(branch: Pick<AgentBranch, 'sandboxes'>): Sandbox | undefined {
  return (branch.sandboxes ?? []).find((s) => !s.named);
}

/** A file name for the branch's diff document (a branch name may hold `/`). */
export function diffName(folderName: string, branch: Pick<AgentBranch, 'branch' | 'path'>): string {
  const which = branch.branch ?? branch.path.split('/').filter(Boolean).pop() ?? 'worktree';
  return `${folderName}-${which}`.replace(/[/\\]/g, '-');
}

/** The diff document's text: the server's diff, or a line saying there is none. */
export function diffText(text: string, base: string | null): string {
  if (text) return text;
  return base ? `# No changes against ${base}.\n` : '# No changes.\n';
}

/** What the removal modal asks and explains. */
export function removeWorktreeQuestion(branch: AgentBranch, folderName: string): { message: string; detail: string } {
  const label = branch.branch ?? branch.path;
  const sandboxes = branch.sandboxes ?? [];
  const gone = sandboxes.length
    ? `Its sandbox${sandboxes.length === 1 ? '' : 'es'} (${sandboxes.map((s) => s.name).join(', ')}) ${sandboxes.length === 1 ? 'is' : 'are'} removed first.`
    : 'It has no sandbox.';
  const stays = branch.branch
    ? `The branch ${branch.branch} and its commits stay in the repository "${folderName}".`
    : `Its commits stay in the repository "${folderName}".`;
  return {
    message: branch.branch ? `Remove the worktree of branch "${label}"?` : `Remove the worktree ${label}?`,
    detail:
      `Worktree: ${branch.path}\n\n${gone} ${stays} ` +
      'Berth refuses, and changes nothing, while the worktree has uncommitted changes or untracked files.',
  };
}

/** What is said once a worktree was removed. */
export function removedMessage(branch: Pick<AgentBranch, 'branch' | 'path'>, removed: readonly string[]): string {
  const what = branch.branch ? `the worktree of branch "${branch.branch}"` : `the worktree ${branch.path}`;
  const also = removed.length ? ` and ${removed.length} sandbox${removed.length === 1 ? '' : 'es'}` : '';
  const stays = branch.branch ? ` The branch and its commits stay.` : '';
  return `Berth: removed ${what}${also}.${stays}`;
}

/** The ignored files a `removeWorktree` refusal names in its data (`ignored`), or undefined when it
 * was refused for anything else. */
export function ignoredFilesOf(data: unknown): string[] | undefined {
  const ignored = (data as { ignored?: unknown } | null | undefined)?.ignored;
  return Array.isArray(ignored) && ignored.every((f) => typeof f === 'string') && ignored.length ? ignored : undefined;
}

/** The second question, after a refusal for ignored files: remove it with them? */
export function discardIgnoredQuestion(branch: Pick<AgentBranch, 'branch' | 'path'>, ignored: readonly string[]): { message: string; detail: string } {
  const label = branch.branch ? `branch "${branch.branch}"` : branch.path;
  return {
    message: `The worktree of ${label} holds files git ignores. Remove it with them?`,
    detail: `${ignored.join('\n')}\n\nThese files are not in any commit: removing the worktree deletes them for good.`,
  };
}

/** What is said when a run made the branch's worktree (nothing when it reused one). */
export function worktreeMadeMessage(result: Pick<RunResult, 'agent' | 'worktree'>, folderName: string): string | undefined {
  const w = result.worktree;
  if (!w || !w.made) return undefined;
  return (
    `Berth: ${result.agent} works on branch "${w.branch ?? ''}" of "${folderName}" in a worktree of its own, ` +
    `${w.path}; your working tree is left alone.`
  );
}

/** Each listed worktree's path, with its repository folder's name and branch, for the Sandboxes view. */
export function worktreePlaces(
  repositories: readonly { folderName: string; branches: readonly Pick<AgentBranch, 'path' | 'branch'>[] }[],
): Map<string, WorktreePlace> {
  const places = new Map<string, WorktreePlace>();
  for (const repo of repositories) {
    for (const b of repo.branches) places.set(b.path, { repository: repo.folderName, branch: b.branch });
  }
  return places;
}
