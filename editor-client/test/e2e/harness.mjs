// Drives a real VS Code (code-server from npm) in headless Chromium with playwright-core.
// Everything it makes lives under test-artifacts/e2e/ (isolated XDG dirs, TMPDIR, profiles, workspaces).

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ARTIFACTS = path.join(REPO, 'test-artifacts', 'e2e');
export const RUN = path.join(ARTIFACTS, 'run');
export const NODE24 = process.env.BERTH_E2E_NODE || path.join(REPO, '.e2e/node24/package/bin/node');
export const CODE_SERVER =
  process.env.BERTH_E2E_CODE_SERVER || path.join(REPO, '.e2e/code-server/node_modules/code-server/out/node/entry.js');
export const CHROMIUM = process.env.BERTH_E2E_CHROMIUM || '/usr/bin/chromium';
export const VSIX = process.env.BERTH_E2E_VSIX || path.join(REPO, 'berth-0.1.0.vsix');
/** Where the server makes agent branches' worktrees (BERTH_WORKTREES), inside the run folder. */
export const WORKTREES = path.join(RUN, 'worktrees');
const LONG = 120_000;

const { chromium } = await import(path.join(REPO, 'node_modules/playwright-core/index.mjs'));

export function log(...args) {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${args.join(' ')}\n`);
}

/** The environment of code-server (and so of the berth-server it launches) and of the berth CLI. */
function env() {
  const e = { ...process.env };
  for (const [k, d] of [
    ['XDG_CONFIG_HOME', 'xdg/config'],
    ['XDG_DATA_HOME', 'xdg/data'],
    ['XDG_STATE_HOME', 'xdg/state'],
    ['XDG_CACHE_HOME', 'xdg/cache'],
    ['TMPDIR', 'tmp'],
  ]) {
    e[k] = path.join(RUN, d);
    fs.mkdirSync(e[k], { recursive: true });
  }
  // code-server and its extension host run on Node 24; the Berth server finds python3 on PATH.
  e.PATH = `${path.dirname(NODE24)}:${e.PATH}`;
  delete e.VSCODE_IPC_HOOK_CLI;
  delete e.PYTHONPATH;
  // Sandboxes are filtered by default: the server builds its network proxy from this base, which must
  // be on the engine (no registry answers here), as in the Python tests.
  e.BERTH_PROXY_BASE ||= 'berth-test/debian:bookworm';
  // Agent branches' worktrees go under the run folder, never into the real user's data folder.
  e.BERTH_WORKTREES = WORKTREES;
  fs.mkdirSync(WORKTREES, { recursive: true });
  return e;
}

export const USER_DATA = path.join(RUN, 'user-data');
export const EXTENSIONS = path.join(RUN, 'extensions');

/** A fresh run folder, user settings (with `userBerth`, the user's own berth.* settings) and the
 * .vsix installed into a fresh extensions dir. */
export async function prepare(userBerth = {}) {
  fs.rmSync(RUN, { recursive: true, force: true });
  fs.mkdirSync(EXTENSIONS, { recursive: true });
  writeUserSettings(userBerth);
  if (!fs.existsSync(VSIX)) throw new Error(`${VSIX} is missing: run npm run package first`);
  const { stdout } = await exec(
    NODE24,
    [CODE_SERVER, '--user-data-dir', USER_DATA, '--extensions-dir', EXTENSIONS, '--install-extension', VSIX, '--force'],
    { env: env(), timeout: LONG },
  );
  log(stdout.trim().split('\n').pop());
  const installed = fs.readdirSync(EXTENSIONS).filter((d) => d.startsWith('berth.berth-'));
  if (!installed.length) throw new Error(`the .vsix did not install: ${stdout}`);
}

/** The user settings: the test's quiet defaults and `userBerth`, the user's own berth.* settings.
 * A window opened afterwards starts with them. */
export function writeUserSettings(userBerth = {}) {
  fs.mkdirSync(path.join(USER_DATA, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(USER_DATA, 'User', 'settings.json'),
    JSON.stringify(
      {
        'security.workspace.trust.enabled': false,
        'workbench.startupEditor': 'none',
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'workbench.tips.enabled': false,
        'terminal.integrated.gpuAcceleration': 'off',
        'workbench.enableExperiments': false,
        'chat.disableAIFeatures': true,
        'window.confirmBeforeClose': 'never',
        'git.openRepositoryInParentFolders': 'never',
        'git.enabled': false,
        ...userBerth,
      },
      null,
      2,
    ),
  );
}

/** The user's Berth config file (~/.config/berth/config.toml of the editor's environment). */
export function writeUserConfig(toml) {
  const dir = path.join(RUN, 'xdg', 'config', 'berth');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.toml'), toml);
}

/** A workspace folder under the run folder with the given .vscode/settings.json. */
export function makeWorkspace(name, settings) {
  const dir = path.join(RUN, 'workspaces', name);
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'README.md'), `# ${name}\n\nA Berth e2e workspace.\n`);
  writeSettings(dir, settings);
  // Owned by an ordinary user, as on a developer's machine (CI runs as root): the sandbox's agent
  // user then takes that uid and can write the folder.
  if (process.getuid && process.getuid() === 0) fs.chownSync(dir, HOST_UID, HOST_UID);
  return fs.realpathSync(dir);
}

const HOST_UID = 1234;

/** git in `repo`, as the tests' user (root on CI) on a folder another uid owns; its stdout. */
export async function git(repo, ...args) {
  const { stdout } = await exec('git', ['-c', 'safe.directory=*', '-C', repo, ...args], { timeout: LONG });
  return stdout.trim();
}

/** A workspace folder that is a git repository with one commit (its files) on `main`, owned like
 * the other test folders. */
export async function makeRepository(name, settings) {
  const dir = makeWorkspace(name, settings);
  await git(dir, 'init', '-q', '-b', 'main');
  await git(dir, 'add', '-A');
  await git(dir, '-c', 'user.name=Berth e2e', '-c', 'user.email=e2e@berth.invalid', 'commit', '-q', '-m', 'The first commit');
  if (process.getuid && process.getuid() === 0) await exec('chown', ['-R', `${HOST_UID}:${HOST_UID}`, dir]);
  return dir;
}

/** The linked worktrees of `repo` (`git worktree list`, without the main working tree): path and branch. */
export async function worktrees(repo) {
  const out = await git(repo, 'worktree', 'list', '--porcelain');
  return out
    .split('\n\n')
    .map((record) => ({
      path: /^worktree (.*)$/m.exec(record)?.[1],
      branch: /^branch refs\/heads\/(.*)$/m.exec(record)?.[1] ?? null,
    }))
    .filter((w) => w.path)
    .slice(1);
}

/** The workspaces of Berth sandboxes in worktrees under WORKTREES (an earlier run's included). */
export async function worktreeWorkspaces() {
  const out = await docker('ps', '-a', '--filter', 'label=dev.berth.sandbox=true', '--format', '{{.Label "dev.berth.workspace"}}');
  return [...new Set(out.split('\n').filter((ws) => ws.startsWith(WORKTREES + '/')))];
}

export function writeSettings(dir, settings) {
  fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export class Editor {
  constructor() {
    this.proc = undefined;
    this.port = 0;
    this.context = undefined;
  }

  async start() {
    this.port = await freePort();
    const out = fs.openSync(path.join(ARTIFACTS, 'code-server.log'), 'w');
    this.proc = spawn(
      NODE24,
      [
        CODE_SERVER,
        '--user-data-dir', USER_DATA,
        '--extensions-dir', EXTENSIONS,
        '--bind-addr', `127.0.0.1:${this.port}`,
        '--auth', 'none',
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
      ],
      { env: env(), stdio: ['ignore', out, out], detached: true },
    );
    const deadline = Date.now() + LONG;
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`code-server exited with ${this.proc.exitCode}; see code-server.log`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.port}/healthz`);
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('code-server did not answer');
      await new Promise((r) => setTimeout(r, 250));
    }
    this.context = await chromium.launchPersistentContext(path.join(RUN, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 860 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    log(`code-server on port ${this.port}`);
  }

  /** Opens a window on `folder` and waits for the workbench. */
  async open(folder) {
    const page = await this.context.newPage();
    page.setDefaultTimeout(LONG);
    await page.goto(`http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(folder)}`);
    await page.locator('.monaco-workbench').waitFor();
    return new Window(page);
  }

  async stop() {
    await this.context?.close().catch(() => undefined);
    if (this.proc && this.proc.exitCode === null) {
      try {
        process.kill(-this.proc.pid, 'SIGTERM');
      } catch {
        // gone already
      }
      const deadline = Date.now() + 10_000;
      while (this.proc.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (this.proc.exitCode === null) {
        try {
          process.kill(-this.proc.pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
  }
}

export class Window {
  constructor(page) {
    this.page = page;
  }

  /** The Berth status bar item, once its text matches `re`. */
  async statusBar(re, timeout = LONG) {
    const item = this.page.locator('.statusbar-item', { hasText: re });
    await item.first().waitFor({ state: 'visible', timeout });
    return item.first();
  }

  /** Runs a command by its palette title, as a user would (F1, type, Enter). */
  async command(title) {
    const page = this.page;
    const input = page.locator('.quick-input-widget input');
    await page.bringToFront();
    for (let attempt = 0; ; attempt++) {
      await page.keyboard.press('Escape');
      await page.locator('.monaco-workbench .part.statusbar').waitFor();
      await page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: attempt ? 10_000 : 3_000 });
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
        log(`the palette did not open (attempt ${attempt + 1}); focusing the workbench`);
        // Give the workbench the keyboard back (a hover or a webview may hold it): click a title bar.
        await page.locator('.monaco-workbench .part.sidebar .title, .monaco-workbench .part.titlebar').first()
          .click({ position: { x: 5, y: 5 } }).catch(() => undefined);
      }
    }
    await input.fill(`>${title}`);
    // Click the row whose label is exactly the title: Enter would run whatever the fuzzy match put
    // first (say "Remove All Sandboxes" for "Remove Sandbox").
    const exact = new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
    const row = page
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: exact }) })
      .first();
    await row.waitFor({ state: 'visible' });
    await row.click();
  }

  /** Clicks the row of the open quick pick whose label matches `label`. */
  async pick(label) {
    const row = this.page
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: label }) })
      .first();
    await row.waitFor({ state: 'visible' });
    await row.click();
  }

  /** Types `text` into the open input box once its text matches `re` (its title or prompt), then Enter. */
  async answer(re, text) {
    const widget = this.page.locator('.quick-input-widget', { hasText: re }).first();
    await widget.waitFor({ state: 'visible' });
    await widget.locator('input').first().fill(text);
    await this.page.keyboard.press('Enter');
  }

  /** A notification toast whose text matches `re`. */
  async toast(re, timeout = LONG) {
    const t = this.page.locator('.notification-toast', { hasText: re }).first();
    await t.waitFor({ state: 'visible', timeout });
    return t;
  }

  /** The visible modal dialog whose text matches `re`. */
  async dialogBox(re) {
    const box = this.page.locator('.monaco-dialog-box', { hasText: re }).first();
    await box.waitFor({ state: 'visible' });
    return box;
  }

  /** Clicks `button` in a dialog box and waits for the dialog to close. */
  async click(box, button) {
    await box.locator('.monaco-button', { hasText: button }).first().click();
    await box.waitFor({ state: 'hidden' });
  }

  /** Clicks `button` in the modal dialog whose text matches `re`, and waits for it to close. */
  async dialog(re, button) {
    const box = this.page.locator('.monaco-dialog-box', { hasText: re }).first();
    await box.waitFor({ state: 'visible' });
    await box.locator('.monaco-button', { hasText: button }).first().click();
    await box.waitFor({ state: 'hidden' });
  }

  async screenshot(name) {
    const file = path.join(ARTIFACTS, `${name}.png`);
    await this.page.screenshot({ path: file });
    log(`screenshot ${file}`);
    return file;
  }

  async close() {
    await this.page.close().catch(() => undefined);
  }
}

/** Polls `check` (async) until it answers something truthy, which it returns; fails after `timeout` ms. */
export async function waitUntil(what, check, timeout = LONG) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Ids of the Berth containers of `workspace` (its real path), with their engine state. */
export async function containers(workspace) {
  const { stdout } = await exec('docker', [
    'ps', '-a',
    '--filter', 'label=dev.berth.sandbox=true',
    '--filter', `label=dev.berth.workspace=${workspace}`,
    '--format', '{{.ID}} {{.State}}',
  ]);
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, state] = l.split(' ');
      return { id, state };
    });
}

export async function docker(...args) {
  const { stdout } = await exec('docker', args, { timeout: LONG });
  return stdout.trim();
}

/** The berth CLI of the repository's venv, in the editor's environment; its stdout. */
export async function berth(...args) {
  const { stdout } = await exec(path.join(REPO, '.venv', 'bin', 'berth'), args, { env: env(), timeout: LONG });
  return stdout;
}

/** Removes the containers and networks this test made (by workspace path), and the spare network
 * proxy its server left ready — nothing else. */
export async function cleanup(workspaces) {
  const marker = ['--filter', 'label=dev.berth.egress-proxy=true'];
  // A filtered sandbox's egress proxy and network carry its egress token (and, unless it took the
  // spare, its workspace).
  const egress = [
    ...workspaces.map((ws) => [...marker, '--filter', `label=dev.berth.workspace=${ws}`]),
    [...marker, '--filter', 'name=berth-proxy-spare-'],
  ];
  for (const ws of workspaces) {
    for (const c of await containers(ws).catch(() => [])) {
      const token = await docker('inspect', '-f', '{{index .Config.Labels "dev.berth.egress"}}', c.id).catch(() => '');
      if (token) egress.push([...marker, '--filter', `label=dev.berth.egress=${token}`]);
      await exec('docker', ['rm', '-f', c.id]).catch((e) => log(`docker rm ${c.id}: ${e.message}`));
      log(`removed container ${c.id} of ${ws}`);
    }
  }
  const tokens = new Set();
  for (const filters of egress) {
    for (const line of (await docker('ps', '-a', '--format', '{{.ID}} {{.Label "dev.berth.egress"}}', ...filters).catch(() => '')).split('\n').filter(Boolean)) {
      const [id, token] = line.split(' ');
      if (token) tokens.add(token);
      await exec('docker', ['rm', '-f', id]).catch((e) => log(`docker rm ${id}: ${e.message}`));
      log(`removed network proxy ${id}`);
    }
  }
  for (const token of tokens) {
    for (const id of (await docker('network', 'ls', '-q', ...marker, '--filter', `label=dev.berth.egress=${token}`).catch(() => '')).split('\n').filter(Boolean)) {
      await exec('docker', ['network', 'rm', id]).catch((e) => log(`docker network rm ${id}: ${e.message}`));
      log(`removed network ${id}`);
    }
  }
}

/** The files of the Berth output channel (one per window). */
function berthLogFiles() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/Berth\.log$/.test(e.name)) out.push(p);
    }
  };
  walk(path.join(USER_DATA, 'logs'));
  return out;
}

/** The Berth output channel's log (server stderr and traces), for failure reports. */
export function berthLog() {
  return berthLogFiles()
    .map((p) => `--- ${p}\n${fs.readFileSync(p, 'utf8').slice(-6000)}`)
    .join('\n');
}

/** The Berth output channel's whole text so far, every window's. */
export function berthOutput() {
  return berthLogFiles()
    .map((p) => fs.readFileSync(p, 'utf8'))
    .join('\n');
}
