// Choose Agent: which agent a folder runs now, the quick pick's rows, and what is said after a pick.
// Pure: no `vscode` import, so node's test runner can load it.

import type { Agent, Status } from './protocol';

/** Where a folder's current agent comes from: its `berth.agent` setting, its sandbox, or the default. */
export type AgentOrigin = 'setting' | 'sandbox' | 'default';

export const DEFAULT_AGENT = 'claude';

/** The agent a folder runs now: its `berth.agent` setting, else its sandbox's agent, else claude. */
export function currentAgent(
  setting: string | null | undefined,
  status: Status | undefined,
): { name: string; origin: AgentOrigin } {
  if (typeof setting === 'string' && setting.trim()) return { name: setting.trim(), origin: 'setting' };
  const fromSandbox = status?.sandbox?.agent;
  if (fromSandbox) return { name: fromSandbox, origin: 'sandbox' };
  return { name: DEFAULT_AGENT, origin: 'default' };
}

/** Where an agent's login is kept: its volume and folders, and the keys it can use instead. */
export function agentLoginDetail(agent: Agent): string {
  const state = agent.state ?? [];
  const keys = agent.keys ?? [];
  let where: string;
  if (!state.length) where = 'no login kept';
  else if (agent.credentialsVolume) where = `login in volume ${agent.credentialsVolume}: ${state.join(', ')}`;
  else where = `login in ${state.join(', ')}`;
  return keys.length ? `${where} · keys: ${keys.join(', ')}` : where;
}

export interface AgentPickItem {
  label: string;
  description: string;
  detail: string;
  /** This is the folder's current agent (listed first). */
  current: boolean;
  name: string;
}

const ORIGIN_TEXT: Record<AgentOrigin, string> = {
  setting: 'current (berth.agent)',
  sandbox: 'current (its sandbox)',
  default: 'current (default)',
};

/** The rows of Choose Agent: one per agent, the folder's current one marked and first. */
export function agentPickItems(agents: readonly Agent[], current: { name: string; origin: AgentOrigin }): AgentPickItem[] {
  const rows = agents.map((a) => {
    const isCurrent = a.name === current.name;
    const parts = [a.title || a.name];
    if (a.source && a.source !== 'built-in') parts.push('(your config)');
    if (isCurrent) parts.push(`· ${ORIGIN_TEXT[current.origin]}`);
    return {
      label: a.name,
      description: parts.join(' '),
      detail: agentLoginDetail(a),
      current: isCurrent,
      name: a.name,
    };
  });
  return [...rows.filter((r) => r.current), ...rows.filter((r) => !r.current)];
}

/**
 * What Choose Agent says once it wrote `berth.agent`. `recreate` is true when the folder's sandbox was
 * created for another agent, which only Recreate Sandbox changes.
 */
export function agentChosenMessage(
  folderName: string,
  agent: Pick<Agent, 'name' | 'title'>,
  sandboxAgent: string | undefined,
): { text: string; recreate: boolean } {
  const who = agent.title && agent.title !== agent.name ? `${agent.name} (${agent.title})` : agent.name;
  const recreate = !!sandboxAgent && sandboxAgent !== agent.name;
  const text = recreate
    ? `Berth: "${folderName}" now uses ${who}. Its sandbox was created for ${sandboxAgent}: ` +
      'Berth: Recreate Sandbox applies the change (workspace files are kept), then the next Run Agent starts it.'
    : `Berth: "${folderName}" now uses ${who}; the next Run Agent starts it.`;
  return { text, recreate };
}
