// What the unit tests of the pure presentation modules share: one sandbox, statuses of it, a drift.
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
