// Which Docker engine the server uses (`sandbox/engine`), in words: the line the Berth output gets
// each time the answer changes, and the status bar tooltip's last line.
// Pure: no `vscode` import, so node's test runner can load it.

import type { EngineInfo } from './protocol';

/** What `sandbox/engine` last answered: the engine, or the message of its `engineSetup` error (the
 * user's Docker configuration names no usable engine). */
export type EngineAnswer = { info: EngineInfo } | { setup: string };

/** The server's answer is read defensively: a field it left out is left out here, and a message
 * over several lines is put on one. */
function text(value: unknown): string {
  return typeof value === 'string' ? value.replace(/\s+/g, ' ').trim() : '';
}

/** `Docker Engine 27.3.1`, or whichever of the two the server said. */
function productVersion(info: EngineInfo): string {
  return [text(info.product) || 'an engine', text(info.version)].filter(Boolean).join(' ');
}

/** One line for the Berth output: `Engine: unix:///var/run/docker.sock (the default): Docker Engine
 * 27.3.1 (Ubuntu 24.04, x86_64)`, `Engine: ssh://build-box (context build-box): not answering: …`,
 * or the `engineSetup` error's message after `Engine: `. */
export function engineOutputLine(answer: EngineAnswer): string {
  if ('setup' in answer) return `Engine: ${text(answer.setup)}`;
  const info = answer.info;
  const where = text(info.description) || text(info.host);
  if (!info.available) return `Engine: ${where}: not answering: ${text(info.problem) || 'no reason given'}`;
  const platform = [text(info.os), text(info.arch), ...(info.rootless === true ? ['rootless'] : [])].filter(Boolean);
  return `Engine: ${where}: ${productVersion(info)}${platform.length ? ` (${platform.join(', ')})` : ''}`;
}

/** The status bar tooltip's line (plain text): `Engine: <description> — Docker Engine 27.3.1`,
 * `Engine: <description> (not answering)`, or the `engineSetup` error's message after `Engine: `. */
export function engineTooltipLine(answer: EngineAnswer): string {
  if ('setup' in answer) return `Engine: ${text(answer.setup)}`;
  const info = answer.info;
  const where = text(info.description) || text(info.host);
  return info.available ? `Engine: ${where} — ${productVersion(info)}` : `Engine: ${where} (not answering)`;
}
