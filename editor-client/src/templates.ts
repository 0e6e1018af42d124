// Templates Berth builds (protocol.md, "Templates Berth builds"), as the user sees them: whether a
// failed run offers to build one (and for which agents), Build Template's quick pick, what is said
// while and after a build or an update, and the tooltip's line about a sandbox's built template.
// The server builds; this only decides and words.
// Pure: no `vscode` import, so node's test runner can load it.

import type { Agent, BuiltTemplate, Template } from './protocol';
import { REQUEST_CANCELLED } from './protocol';

/** The button on a run's error that builds the template the run lacked, then runs again. */
export const BUILD_BUTTON = 'Build Template';

/** Said when the user cancels a build (the server tags nothing then). */
export const CANCELLED_MESSAGE = 'Berth: template build cancelled; nothing was tagged.';

/** Said when the user cancels Update Templates: those already rebuilt stay, the one under way is
 * not tagged. */
export const UPDATE_CANCELLED_MESSAGE = 'Berth: template update cancelled; the template being rebuilt was left as it was.';

/** Where a build without a tag goes (the server's default tag: the agents after the colon). */
const REPOSITORY = 'berth.local/template';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The agents a failed request offers to build a template for: a `templateProblem` whose `data.build`
 * names them (the agent's template cannot be had, and Berth can build one). Undefined for any other
 * error, and for a `build` that is not a non-empty list of names.
 */
export function buildOffer(data: unknown): string[] | undefined {
  if (!isObject(data) || data.kind !== 'templateProblem') return undefined;
  const build = data.build;
  if (!Array.isArray(build) || !build.length) return undefined;
  if (!build.every((a): a is string => typeof a === 'string' && a.trim() !== '')) return undefined;
  return [...new Set(build.map((a) => a.trim()))];
}

/** Whether a build's failure is its cancellation: `$/cancelRequest` answered (RequestCancelled), or
 * the server's own `data.cancelled` (its progress cancelled). */
export function buildCancelled(err: unknown): boolean {
  if (!isObject(err)) return false;
  return err.code === REQUEST_CANCELLED || (isObject(err.data) && err.data.cancelled === true);
}

/** The progress notification's title. */
export function buildTitle(agents: readonly string[]): string {
  return `Berth: building a template for ${agents.join(', ')}`;
}

/** Update Templates' notification title: every template Berth built is rebuilt, one after another. */
export const UPDATE_TITLE = 'Berth: updating the templates Berth built';

export interface BuildPickItem {
  label: string;
  description: string;
  detail: string;
  /** Preselected: the folder's current agent. */
  picked: boolean;
  name: string;
}

/** Build Template's rows: one per agent the server knows, the folder's current agent first and
 * picked. The server says which have no recipe when asked to build them. */
export function buildPickItems(agents: readonly Agent[], current: string | undefined): BuildPickItem[] {
  // Only agents Berth has a recipe for (a server that does not say lists them all).
  const rows = agents.filter((a) => a.recipe !== false).map((a) => ({
    label: a.name,
    description: [a.title && a.title !== a.name ? a.title : '', a.source && a.source !== 'built-in' ? '(your config)' : '']
      .filter(Boolean)
      .join(' '),
    detail: `Its default template: ${a.defaultTemplate}`,
    picked: a.name === current,
    name: a.name,
  }));
  return [...rows.filter((r) => r.picked), ...rows.filter((r) => !r.picked)];
}

/** The pick's placeholder: where the template goes. */
export function buildPickPlaceholder(): string {
  return `The agents to put in one template (${REPOSITORY}:<agents>), built from Debian's archive and npm`;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The agents a template holds, with their versions: `claude 2.1.332, codex 0.171.0`. */
function heldAgents(t: Pick<BuiltTemplate, 'agents' | 'versions'>): string {
  const agents = Array.isArray(t.agents) ? t.agents.filter((a) => typeof a === 'string') : [];
  const versions = isObject(t.versions) ? t.versions : {};
  return agents.map((a) => (text(versions[a]) ? `${a} ${text(versions[a])}` : a)).join(', ') || 'no agent';
}

function nodeVersion(t: Pick<BuiltTemplate, 'versions'>): string {
  return isObject(t.versions) ? text(t.versions.node) : '';
}

/** What a template holds, in a few words: `claude 2.1.332 (Node 24.21.0)`. */
export function templateHolds(t: Pick<BuiltTemplate, 'agents' | 'versions'>): string {
  const node = nodeVersion(t);
  return `${heldAgents(t)}${node ? ` (Node ${node})` : ''}`;
}

/** What is said after a build: `Berth: built berth.local/template:claude: claude 2.1.332 (Node
 * 24.21.0).`, or that it was up to date (nothing built). */
export function builtMessage(t: Template): string {
  return t.upToDate
    ? `Berth: ${t.tag} is up to date: ${templateHolds(t)}.`
    : `Berth: built ${t.tag}: ${templateHolds(t)}.`;
}

/** How a version key is said: an agent by its name, `Node`, `npm`. */
function versionName(key: string): string {
  return key === 'node' ? 'Node' : key;
}

/** What changed between two builds of a template: `claude 2.1.300 → 2.1.332, Node 24.20.0 →
 * 24.21.0`; the agents first, then Node and npm. */
export function versionChanges(before: Pick<BuiltTemplate, 'agents' | 'versions'>, after: Pick<BuiltTemplate, 'agents' | 'versions'>): string[] {
  const was = isObject(before.versions) ? before.versions : {};
  const now = isObject(after.versions) ? after.versions : {};
  const agents = Array.isArray(after.agents) ? after.agents : [];
  const keys = [...new Set([...agents, 'node', 'npm', ...Object.keys(now)])];
  return keys
    .filter((k) => text(now[k]) && text(was[k]) !== text(now[k]))
    .map((k) => `${versionName(k)} ${text(was[k]) || '(none)'} → ${text(now[k])}`);
}

/** What Update Templates says: each template's old → new versions, or `current`. */
export function updatedMessage(updated: readonly { before: Template; after: Template }[]): string {
  if (!updated.length) return 'Berth: there was no template to update.';
  if (updated.every((u) => u.after.upToDate)) {
    return `Berth: every template is current: ${updated.map((u) => `${u.after.tag} (${templateHolds(u.after)})`).join('; ')}.`;
  }
  const lines = updated.map(({ before, after }) => {
    if (after.upToDate) return `${after.tag}: current`;
    const changes = versionChanges(before, after);
    return `${after.tag}: ${changes.length ? changes.join(', ') : 'rebuilt, same versions'}`;
  });
  return `Berth: updated the templates: ${lines.join('; ')}.`;
}

/** How the base was had, as the tooltip says it after the base (a named one needs no word). */
function baseSourceNote(source: string): string {
  return source && source !== 'named' ? ` (${source})` : '';
}

/** What a sandbox's built template holds, for its tooltip: `claude 2.1.332, Node 24.21.0, built
 * 2026-11-28 on berth.local/base:bookworm (debootstrap)`. */
export function builtTemplateSummary(t: BuiltTemplate): string {
  const parts = [heldAgents(t)];
  const node = nodeVersion(t);
  if (node) parts.push(`Node ${node}`);
  const built = text(t.built);
  const day = /^\d{4}-\d{2}-\d{2}/.exec(built)?.[0] ?? built;
  const base = text(t.base);
  const when = day ? `built ${day}` : 'built';
  parts.push(base ? `${when} on ${base}${baseSourceNote(text(t.baseSource))}` : when);
  return parts.join(', ');
}

/** The tooltip's line, as plain text: `Template berth.local/template:claude: claude 2.1.332, Node
 * 24.21.0, built 2026-11-28 on berth.local/base:bookworm (debootstrap)`. */
export function builtTemplateLine(template: string, t: BuiltTemplate): string {
  return `Template ${template}: ${builtTemplateSummary(t)}`;
}

/** A Sandbox's `builtTemplate`, when it is one to show (an object naming its agents). */
export function builtTemplateOf(sandbox: { builtTemplate?: unknown }): BuiltTemplate | undefined {
  const t = sandbox.builtTemplate;
  return isObject(t) && Array.isArray(t.agents) ? (t as unknown as BuiltTemplate) : undefined;
}
