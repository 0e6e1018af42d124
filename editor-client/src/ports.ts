// A running sandbox's ports as the user sees them: which newly listening ones to offer (once each),
// the words of the offer and of a forward, and the rows the Sandboxes view and the pickers show.
// The server notices the ports and makes the forwards; this only words them.
// Pure: no `vscode` import, so node's test runner can load it.

import type { Forward, Ports } from './protocol';

/** What happens when a port starts listening in a sandbox (`berth.detectedPorts`). */
export type DetectedPorts = 'notify' | 'forward' | 'off';

export const OPEN_BUTTON = 'Open in Browser';
/** At most this many ports of one sandbox are offered (or forwarded at once): an agent opening
 * ports in a loop must not flood the editor, nor take this machine's ports one by one. */
export const MAX_OFFERS = 10;
export const FORWARD_BUTTON = 'Forward';

/** The sandbox's container ports its `ports` setting publishes (`HOST_IP:HOST_PORT:CONTAINER_PORT`). */
export function publishedPorts(published: readonly string[]): Set<number> {
  return new Set(published.map((spec) => Number(spec.slice(spec.lastIndexOf(':') + 1))));
}

/**
 * The listening ports of `p` to offer: neither forwarded nor published, and not offered before for
 * this sandbox (`offered` remembers `<sandbox id>:<port>`, and is updated). A port that closes and
 * opens again in the same sandbox is not offered twice, and no sandbox gets more than MAX_OFFERS.
 */
export function portsToOffer(p: Ports, offered: Set<string>): number[] {
  const reachable = new Set([...p.forwarded.map((f) => f.port), ...publishedPorts(p.published)]);
  const out: number[] = [];
  let count = [...offered].filter((k) => k.startsWith(`${p.sandbox}:`)).length;
  for (const { port } of p.listening) {
    const key = `${p.sandbox}:${port}`;
    if (reachable.has(port) || offered.has(key)) continue;
    if (count++ >= MAX_OFFERS) break;
    offered.add(key);
    out.push(port);
  }
  return out;
}

/** `Berth: port 5173 is listening in the sandbox of "web".` */
export function detectedMessage(port: number, folderName: string): string {
  return `Berth: port ${port} is listening in the sandbox of "${folderName}".`;
}

/** `Berth: port 5173 of "web" is at http://127.0.0.1:5173 until the sandbox stops.` */
export function forwardedMessage(f: Forward, folderName: string): string {
  return `Berth: port ${f.port} of "${folderName}" is at ${f.url} until the sandbox stops.`;
}

/** A forward's row in the Sandboxes view and in pickers: `5173 → 127.0.0.1:5173`. */
export function forwardLabel(f: Forward): string {
  const host = f.hostIp.includes(':') ? `[${f.hostIp}]` : f.hostIp;
  return `${f.port} → ${host}:${f.hostPort}`;
}

/** The ports Forward a Port… offers: those listening and not forwarded yet, then those forwarded. */
export function forwardChoices(p: Ports): { port: number; label: string; description: string }[] {
  const forwarded = new Map(p.forwarded.map((f) => [f.port, f]));
  const published = publishedPorts(p.published);
  return p.listening.map(({ port, address }) => {
    const f = forwarded.get(port);
    const where = f ? `forwarded to ${f.url}` : published.has(port) ? 'published' : 'not forwarded';
    return { port, label: String(port), description: `listening on ${address} · ${where}` };
  });
}

/** A port number the user typed: 1 to 65535, or what is wrong with it. */
export function validatePort(text: string): string | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 65535) return 'A port number from 1 to 65535';
  return undefined;
}
