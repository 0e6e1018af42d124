// What the unit tests of the pure presentation modules share: one sandbox, statuses of it, a drift,
// another sandbox of the same folder made by name, and an agent branch (a worktree) with its sandbox.
export const sandbox = {
  id: 'abcdef012345',
  name: 'berth-claude-proj-1a2b3c',
  workspace: '/home/u/proj',
  agent: 'claude',
  template: 'berth-test/claude:1',
  status: 'running',
  state: 'running',
  createdAt: '2026-01-02T03:04:05Z',
  networkPolicy: 'balanced',
};
export const status = (state, extra = {}) => ({ workspace: '/home/u/proj', state, sandbox: state === 'absent' ? null : sandbox, drift: [], ...extra });
export const drift = [{ field: 'env', recorded: ['A=1'], requested: ['A=2'] }];

/** The folder's sandbox made by name (`sandbox/run` with `name`). */
export const namedSandbox = { ...sandbox, id: '0123456789ab', name: 'review', agent: 'gemini', template: 'berth-test/gemini:1', named: true };
export const namedStatus = (state, extra = {}) => ({
  workspace: '/home/u/proj',
  name: 'review',
  state,
  sandbox: state === 'absent' ? null : { ...namedSandbox, state },
  drift: [],
  ...extra,
});

/** A worktree Berth made for branch agent/fix of /home/u/proj, with its default sandbox. */
export const worktreePath = '/home/u/.local/share/berth/worktrees/proj-1a2b3c4d/agent-fix';
export const branchSandbox = { ...sandbox, id: 'fedcba987654', name: 'berth-claude-agent-fix-5e6f7a', workspace: worktreePath, named: false };
export const branch = (extra = {}) => ({
  path: worktreePath,
  branch: 'agent/fix',
  head: '0123456789abcdef0123456789abcdef01234567',
  base: 'main',
  ahead: 2,
  behind: 0,
  dirty: true,
  changes: 3,
  managed: true,
  sandboxes: [branchSandbox],
  ...extra,
});
