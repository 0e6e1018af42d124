// Network policies, as the user sees them: what each policy lets through, the blocked-request
// notification and what Allow answers, the lines of the blocked-requests log, and the rows of Edit
// Network Rules. The server decides and enforces everything; this only words it.
// Pure: no `vscode` import, so node's test runner can load it.

import type { Block, BlockedRequest, PolicyInfo } from './protocol';

/** The ports an allow pattern without `:port` opens. */
export const WEB_PORTS: readonly number[] = [80, 443];

/** The button of the blocked-request notification that allows the host. */
export const ALLOW_BUTTON = 'Allow for this workspace';
/** The button of the blocked-request notification that opens the blocked-requests log. */
export const LOG_BUTTON = 'Show Log';

/** What a policy lets through, in a few words (`agent`: whose API and login hosts). */
export function policyDescription(policy: string, agent?: string): string {
  const whose = agent ? `${agent}'s` : "the agent's";
  switch (policy) {
    case 'open':
      return 'nothing is filtered';
    case 'balanced':
      return `${whose} API and login hosts, common package registries and code hosts`;
    case 'locked':
      return `only ${whose} API and login hosts`;
    default:
      return policy;
  }
}

/** `Network: balanced`, for tooltips. */
export function networkLabel(policy: string): string {
  return `Network: ${policy}`;
}

/** The allow pattern that lets exactly this request through: the host alone opens 80 and 443. */
export function allowPattern(host: string, port: number): string {
  return WEB_PORTS.includes(port) ? host : `${host}:${port}`;
}

/** The ports a pattern opens, in words: `ports 80 and 443`, `port 5432`. */
export function patternPorts(pattern: string): string {
  const port = splitPattern(pattern).port;
  return port === undefined ? `ports ${WEB_PORTS.join(' and ')}` : `port ${port}`;
}

/** The blocked-request notification: `Berth: claude in alpha was blocked from example.com:80 (…).` */
export function blockedMessage(block: Pick<BlockedRequest, 'agent' | 'host' | 'port' | 'rule'>, folderName: string): string {
  const why = block.rule ? ` (${block.rule})` : '';
  return `Berth: ${block.agent} in ${folderName} was blocked from ${block.host}:${block.port}${why}.`;
}

/** `2026-11-27T17:58:20.340282848Z` → `2026-11-27T17:58:20Z`; "" → `-`. */
export function shortTime(time: string): string {
  if (!time) return '-';
  return time.replace(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+/, '$1');
}

/** One blocked request as the log shows it: `time  host:port  blocked by <rule>` (like `berth policy log`;
 * a request the rules allow by now says `blocked by the rules then (they allow it now)`). */
export function logLine(block: Block): string {
  return `${shortTime(block.time)}  ${block.host}:${block.port}  blocked by ${block.rule}`;
}

/** The blocked-requests document, oldest first. */
export function logText(blocked: readonly Block[]): string {
  if (!blocked.length) return '(the network policy has blocked nothing)\n';
  return blocked.map(logLine).join('\n') + '\n';
}

/** The line the Berth output channel gets for each blocked request as it arrives. */
export function outputLine(block: BlockedRequest, folderName: string): string {
  return `${shortTime(block.time)} network: ${block.agent} in ${folderName} was blocked from ${block.host}:${block.port} (${block.rule})`;
}

/** A host pattern's parts: `*.example.com:8443` → host example.com, wildcard, port 8443. */
export function splitPattern(pattern: string): { host: string; wildcard: boolean; port?: number } {
  let text = pattern.trim().toLowerCase();
  let port: number | undefined;
  const colon = text.lastIndexOf(':');
  if (colon >= 0 && /^\d+$/.test(text.slice(colon + 1))) {
    port = Number(text.slice(colon + 1));
    text = text.slice(0, colon);
  }
  const wildcard = text.startsWith('*.');
  const host = (wildcard ? text.slice(2) : text).replace(/\.+$/, '');
  return { host, wildcard, port };
}

/** Whether a deny pattern closes host:port (a deny pattern without a port closes every port). */
export function denies(pattern: string, host: string, port: number): boolean {
  const p = splitPattern(pattern);
  const h = host.trim().toLowerCase().replace(/\.+$/, '');
  if (p.port !== undefined && p.port !== port) return false;
  return p.wildcard ? h.endsWith('.' + p.host) : h === p.host;
}

/** The deny rule that still blocks host:port under these rules (deny wins), and where it comes from. */
export function denyingRule(
  info: Pick<PolicyInfo, 'deny' | 'liveDeny'>,
  host: string,
  port: number,
): { pattern: string; addedSince: boolean } | undefined {
  const fromCreation = (info.deny ?? []).find((p) => denies(p, host, port));
  if (fromCreation) return { pattern: fromCreation, addedSince: false };
  const since = (info.liveDeny ?? []).find((p) => denies(p, host, port));
  return since ? { pattern: since, addedSince: true } : undefined;
}

/**
 * What is said once Allow (the notification's, or Edit Network Rules') was answered with `info`:
 * honestly, so a deny rule that still wins is named (`stillBlocked`). `request`: the blocked request
 * being allowed, if any.
 */
export function allowedMessage(
  folderName: string,
  pattern: string,
  info: PolicyInfo,
  request?: { host: string; port: number },
): { text: string; stillBlocked: boolean } {
  const { host, wildcard, port } = splitPattern(pattern);
  // A wildcard names no single host to check: `*.example.com` stands for `x.example.com`.
  const probe = request ?? { host: wildcard ? `x.${host}` : host, port: port ?? 443 };
  const denied = denyingRule(info, probe.host, probe.port);
  if (denied) {
    const fix = denied.addedSince
      ? 'it was added since the sandbox was created; Berth: Edit Network Rules… can reset it'
      : 'it comes from berth.denyHosts, which applies when the sandbox is recreated';
    return {
      text:
        `Berth: ${pattern} was added to the allow rules of "${folderName}", but it stays blocked: ` +
        `the deny rule ${denied.pattern} wins (${fix}).`,
      stillBlocked: true,
    };
  }
  return {
    text: `Berth: "${folderName}" now allows ${pattern} (${patternPorts(pattern)}), from its next request on.`,
    stillBlocked: false,
  };
}

/** What is said once Deny was answered. */
export function deniedMessage(folderName: string, pattern: string): string {
  const ports = splitPattern(pattern).port === undefined ? 'every port' : patternPorts(pattern);
  return `Berth: "${folderName}" now denies ${pattern} (${ports}), from its next request on.`;
}

/** What is said once the rules added since creation were reset. */
export function resetMessage(folderName: string, info: PolicyInfo): string {
  return (
    `Berth: the rules added to "${folderName}" since its sandbox was created were dropped; ` +
    `its ${info.policy} policy and the rules it was created with remain.`
  );
}

function list(patterns: readonly string[] | undefined): string {
  return patterns && patterns.length ? patterns.join(', ') : '(none)';
}

/** Everything the sandbox's network runs under, one line each (the Edit Network Rules document). */
export function policySummary(info: PolicyInfo, folderName: string): string[] {
  const lines = [`Network policy of "${folderName}" (sandbox ${info.sandbox}): ${info.policy} — ${policyDescription(info.policy, info.agent)}`];
  if (info.policy === 'open') {
    lines.push('Nothing is filtered, so there are no rules to change. berth.networkPolicy and Recreate Sandbox change the policy.');
  } else {
    lines.push(
      'Deny wins; an allow rule without a port opens ports 80 and 443.',
      `Allowed by the policy: ${list(info.preset)}`,
      `Allowed when created (berth.allowHosts): ${list(info.allow)}`,
      `Denied when created (berth.denyHosts): ${list(info.deny)}`,
      `Allowed since: ${list(info.liveAllow)}`,
      `Denied since: ${list(info.liveDeny)}`,
    );
  }
  if (info.dockerSocket) {
    lines.push('Warning: the Docker socket is mounted in this sandbox, which defeats any network policy.');
  }
  return lines;
}

/** The rules added since creation, in one line. */
export function addedSince(info: PolicyInfo): string {
  return `Allowed since creation: ${list(info.liveAllow)} · Denied since creation: ${list(info.liveDeny)}`;
}

export type NetworkAction = 'show' | 'allow' | 'deny' | 'reset' | 'log';

/** A row of Edit Network Rules: a separator (no action), or something to do. */
export interface NetworkRuleItem {
  label: string;
  description?: string;
  detail?: string;
  separator?: boolean;
  action?: NetworkAction;
}

/** Edit Network Rules' rows: the policy now (picking it shows every rule), then what can change. */
export function networkRuleItems(info: PolicyInfo): NetworkRuleItem[] {
  const rows: NetworkRuleItem[] = [
    { label: 'Now', separator: true },
    {
      label: `$(shield) Policy: ${info.policy}`,
      description: policyDescription(info.policy, info.agent),
      detail: info.policy === 'open' ? 'Nothing is filtered. Pick to see the details.' : `${addedSince(info)}. Pick to see every rule.`,
      action: 'show',
    },
  ];
  if (info.dockerSocket) {
    rows.push({
      label: '$(warning) The Docker socket is mounted',
      description: 'it defeats any network policy',
      action: 'show',
    });
  }
  if (info.policy === 'open') return rows;
  const added = (info.liveAllow?.length ?? 0) + (info.liveDeny?.length ?? 0);
  rows.push(
    { label: 'Change (applies at once)', separator: true },
    { label: '$(add) Allow a host…', description: 'let it through from the next request on', action: 'allow' },
    { label: '$(circle-slash) Deny a host…', description: 'deny wins over every allow rule', action: 'deny' },
    {
      label: '$(discard) Reset rules added since creation',
      description: added ? `drops ${added} rule${added === 1 ? '' : 's'}` : 'none were added',
      action: 'reset',
    },
    { label: '$(output) Show blocked requests', description: 'the requests the policy refused, oldest first', action: 'log' },
  );
  return rows;
}

/** The quick pick's placeholder: the policy and how many rules were added since. */
export function networkRulesPlaceholder(info: PolicyInfo): string {
  if (info.policy === 'open') return 'open network policy: nothing is filtered';
  const n = (info.liveAllow?.length ?? 0) + (info.liveDeny?.length ?? 0);
  return `${info.policy} network policy · ${n} rule${n === 1 ? '' : 's'} added since creation · choose an action`;
}

/** The input box's light check (the server checks fully, and says what is wrong). */
export function validateHostInput(text: string): string | undefined {
  const t = text.trim();
  if (!t) return 'Type a host: example.com, *.example.com, db.example.com:5432 or an IPv4 address.';
  if (/\s/.test(t)) return 'A host pattern has no spaces: type one host at a time.';
  return undefined;
}

/** What the input box says about the pattern it asks for. */
export function hostInputPrompt(action: 'allow' | 'deny'): string {
  return action === 'allow'
    ? 'example.com, *.example.com (the names under it), an IPv4 address, each with an optional :PORT. Without a port, 80 and 443 open. Applies at once.'
    : 'example.com, *.example.com (the names under it), an IPv4 address, each with an optional :PORT. Without a port, every port closes. Deny wins. Applies at once.';
}
