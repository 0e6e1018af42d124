// The agent branches of the open folders (sandbox/worktrees for each), asked once per change and
// shared: the Agent Branches view shows them, and the Sandboxes view names a worktree's sandbox by
// its repository and branch. A folder that is not a git repository simply has none.

import { worktreePlaces } from './branches';
import { ErrorCode } from './protocol';
import type { AgentBranch } from './protocol';
import { BerthServer, NOT_RUNNING } from './server';
import type { WorktreePlace } from './views';
import { Folder, WorkspaceFolders } from './workspaceFolders';

export interface RepositoryBranches {
  folder: Folder;
  branches: AgentBranch[];
}

export interface BranchListing {
  /** The open folders that are git repositories with at least one linked worktree, in folder order. */
  repositories: RepositoryBranches[];
  /** What went wrong, for the view to show in place (one line per folder that failed). */
  error?: string;
}

export class AgentBranches {
  private pending: Promise<BranchListing> | undefined;
  /** Counts invalidations, so a listing overtaken by a newer one never replaces its places. */
  private generation = 0;
  private places = new Map<string, WorktreePlace>();

  constructor(
    private readonly server: BerthServer,
    private readonly folders: WorkspaceFolders,
  ) {}

  /** Something may have changed: the next get() asks the server again. */
  invalidate(): void {
    this.pending = undefined;
    this.generation++;
  }

  /** The listing; views that refresh together share one round of requests. */
  get(): Promise<BranchListing> {
    this.pending ??= this.load();
    return this.pending;
  }

  /** The repository and branch of a worktree, from the last listing. */
  place(workspace: string): WorktreePlace | undefined {
    return this.places.get(workspace);
  }

  private async load(): Promise<BranchListing> {
    const generation = this.generation;
    const api = await this.server.viewApi();
    if (!api) return { repositories: [], error: NOT_RUNNING };
    const errors: string[] = [];
    const found = await Promise.all(
      this.folders.all.map(async (folder): Promise<RepositoryBranches | undefined> => {
        try {
          const branches = (await api.worktrees({ workspace: folder.path })) ?? [];
          return branches.length ? { folder, branches } : undefined;
        } catch (err) {
          // Not a git repository: the folder has no agent branches, which is no error.
          if ((err as { code?: unknown })?.code !== ErrorCode.badInput) {
            errors.push(`${folder.name}: ${err instanceof Error ? err.message : String(err)}`);
          }
          return undefined;
        }
      }),
    );
    const repositories = found.filter((r): r is RepositoryBranches => !!r);
    if (generation === this.generation) {
      this.places = worktreePlaces(repositories.map((r) => ({ folderName: r.folder.name, branches: r.branches })));
    }
    return { repositories, error: errors.length ? errors.join('\n') : undefined };
  }
}
