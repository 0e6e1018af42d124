// Finding the Python that runs the Berth server. Pure parts only: the extension runs the processes.

export const MIN_PYTHON: readonly [number, number] = [3, 11];

export interface Candidate {
  command: string;
  /** Where it came from, shown in messages: the setting, the Python extension, or PATH. */
  source: 'berth.interpreter' | 'Python extension' | 'PATH';
}

/** Candidates in order: the setting alone when it is set, else the Python extension's, then python3. */
export function candidates(setting: string | undefined | null, pythonExtension: string | undefined | null): Candidate[] {
  const s = (setting ?? '').trim();
  if (s) return [{ command: s, source: 'berth.interpreter' }];
  const out: Candidate[] = [];
  const p = (pythonExtension ?? '').trim();
  if (p) out.push({ command: p, source: 'Python extension' });
  out.push({ command: 'python3', source: 'PATH' });
  return out;
}

/** The script that prints the version. */
export const VERSION_SCRIPT = 'import sys;print(sys.version_info[:2])';

/** Parses `(3, 11)` (what VERSION_SCRIPT prints) into [3, 11]. */
export function parseVersion(output: string): [number, number] | undefined {
  const m = /\(\s*(\d+)\s*,\s*(\d+)\s*\)/.exec(output);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function supported(v: readonly [number, number]): boolean {
  return v[0] > MIN_PYTHON[0] || (v[0] === MIN_PYTHON[0] && v[1] >= MIN_PYTHON[1]);
}

export type Probe = { candidate: Candidate; version?: [number, number]; error?: string };

export function describe(c: Candidate): string {
  return c.source === 'PATH' ? `\`${c.command}\` on PATH` : `\`${c.command}\` (from ${c.source})`;
}

/** Why a probed candidate cannot run the server, or undefined when it can. */
export function problem(p: Probe): string | undefined {
  const need = `${MIN_PYTHON[0]}.${MIN_PYTHON[1]}`;
  if (p.error !== undefined || !p.version) {
    return `Berth needs Python ${need} or newer to run its server, and could not run ${describe(p.candidate)}: ${p.error ?? 'no version printed'}.`;
  }
  if (!supported(p.version)) {
    return `Berth needs Python ${need} or newer to run its server; ${describe(p.candidate)} is Python ${p.version[0]}.${p.version[1]}.`;
  }
  return undefined;
}

/** The first usable probe, or the message to show (the first candidate's problem is the most relevant). */
export function pick(probes: readonly Probe[]): { ok: Probe } | { error: string } {
  for (const p of probes) if (!problem(p)) return { ok: p };
  const msgs = probes.map(problem).filter((m): m is string => !!m);
  const main = msgs[0] ?? `Berth needs Python ${MIN_PYTHON[0]}.${MIN_PYTHON[1]} or newer to run its server.`;
  return { error: main + ' Set berth.interpreter to the path of a suitable Python.' };
}
