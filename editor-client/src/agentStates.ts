// What the agent in each sandbox is doing (sandbox/didChangeAgentState), as the user sees it: a few
// words for the status bar and the Sandboxes view, and the notification when an agent needs them.
// The server reads the agents' own hooks; this only words what it says.
// Pure: no `vscode` import, so node's test runner can load it.

import type { AgentStateChange } from './protocol';

/** The words after the sandbox's state: `running · needs you`. */
export function agentLabel(s: Pick<AgentStateChange, 'state'> | undefined): string {
  switch (s?.state) {
    case 'working':
      return 'working';
    case 'waitingForInput':
      return 'needs you';
    case 'done':
      return 'done';
    case 'error':
      return 'error';
    default:
      return '';
  }
}

/** The codicon of each agent state, for the status bar. */
export function agentIcon(s: Pick<AgentStateChange, 'state'> | undefined): string {
  switch (s?.state) {
    case 'working':
      return '$(loading~spin)';
    case 'waitingForInput':
      return '$(bell-dot)';
    case 'done':
      return '$(check)';
    case 'error':
      return '$(error)';
    default:
      return '';
  }
}

/** One line for a tooltip: `Agent: claude — needs you: Claude needs your permission to use Bash`. */
export function agentTooltipLine(s: AgentStateChange): string {
  return `Agent: ${s.agent} — ${agentLabel(s)}${s.message ? `: ${s.message}` : ''}`;
}

/** The notification for a state that wants the user (`attention`), or undefined for one that does
 * not; `error` is shown as a warning. */
export function attentionMessage(s: AgentStateChange, folderName: string): { text: string; warning: boolean } | undefined {
  if (!s.attention) return undefined;
  const said = s.message ? `: ${unlinked(s.message)}` : '';
  switch (s.state) {
    case 'waitingForInput':
      return { text: `Berth: ${s.agent} in "${folderName}" needs you${said}`, warning: false };
    case 'done':
      return { text: `Berth: ${s.agent} in "${folderName}" is done${said}`, warning: false };
    case 'error':
      return { text: `Berth: ${s.agent} in "${folderName}" stopped on an error${said}`, warning: true };
    default:
      return undefined;
  }
}

/** An agent's words as a notification shows them: VS Code makes `[text](target)` in a message a
 * link (a `command:` one included), and the agent must not put one in Berth's mouth. */
export function unlinked(text: string): string {
  return text.replace(/\]\s*\(/g, '] (');
}

/** The button that focuses the agent's terminal. */
export const SHOW_AGENT = 'Show Agent';
