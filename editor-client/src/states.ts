// How each state looks: Berth's sandbox states (the server's, protocol.md "Status") with their icon,
// label and description, and the client's own phase before any status arrives.
// Pure: no `vscode` import, so node's test runner can load it.

import type { State } from './protocol';

/** What the client itself knows before any status arrives. */
export type ClientPhase = 'starting' | 'running' | 'failed' | 'stopped';

/** Work in progress: nothing else should be started on the sandbox meanwhile. */
export const BUSY_STATES: readonly State[] = ['creating', 'starting', 'stopping', 'removing'];

const ICONS: Record<State, string> = {
  absent: '$(circle-large-outline)',
  creating: '$(sync~spin)',
  starting: '$(sync~spin)',
  running: '$(vm-running)',
  stopping: '$(sync~spin)',
  stopped: '$(vm-outline)',
  removing: '$(sync~spin)',
  error: '$(error)',
  unavailable: '$(debug-disconnect)',
};

const LABELS: Record<State, string> = {
  absent: 'absent',
  creating: 'creating…',
  starting: 'starting…',
  running: 'running',
  stopping: 'stopping…',
  stopped: 'stopped',
  removing: 'removing…',
  error: 'error',
  unavailable: 'Docker unavailable',
};

const DESCRIPTIONS: Record<State, string> = {
  absent: 'No sandbox exists for this folder yet. Run Agent or Start Sandbox creates it.',
  creating: 'The sandbox is being created.',
  starting: 'The sandbox is starting.',
  running: 'The sandbox is running.',
  stopping: 'The sandbox is stopping.',
  stopped: 'The sandbox exists but is stopped.',
  removing: 'The sandbox is being removed.',
  error: 'The sandbox is in an error state.',
  unavailable: 'The Docker engine is not answering.',
};

/** The state's icon in label syntax, e.g. `$(sync~spin)`. */
export function stateIcon(state: State): string {
  return ICONS[state] ?? '$(question)';
}

/** The state's codicon id without animation, e.g. `sync`: for tree items and tooltips. */
export function stateCodicon(state: State): string {
  return stateIcon(state).slice(2, -1).replace('~spin', '');
}

export function stateLabel(state: State): string {
  return LABELS[state] ?? state;
}

/** One sentence for a tooltip. */
export function stateDescription(state: State): string {
  return DESCRIPTIONS[state] ?? state;
}
