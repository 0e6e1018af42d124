// End-to-end: the packaged .vsix in a real VS Code (code-server), driven like a user would.
// Needs: npm run package (berth-0.1.0.vsix), .e2e/node24 and .e2e/code-server (scripts/ci-editor.sh),
// Chromium, a running Docker engine and the test images (tests/images/build.sh).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  berth,
  berthLog,
  berthOutput,
  cleanup,
  containers,
  docker,
  Editor,
  git,
  log,
  makeRepository,
  makeWorkspace,
  prepare,
  waitUntil,
  worktrees,
  worktreeWorkspaces,
  WORKTREES,
  writeSettings,
  writeUserConfig,
  writeUserSettings,
} from './harness.mjs';

const TEMPLATE = 'berth-test/claude:1';
/** The real agents' template (tests/images/real/build.sh): the real Claude Code, which offline shows
 * its welcome screen, says it cannot reach Anthropic's services, and exits 1 within seconds. */
const REAL_TEMPLATE = 'berth-test/agents:1';
const T = { timeout: 240_000 };
/** The template Berth builds for the shell agent in the last step. Removed before (an earlier run's)
 * and after, its layers kept (as the server keeps those of a build it drops), so the next run builds
 * it again from the engine's cache. */
const SHELL_TEMPLATE = 'berth.local/template:shell';
/** A cold build (Debian's base made with debootstrap, then apt) takes minutes. */
const BUILD_WAIT = 600_000;
/** The agent branches made from the palette: each branch with the agent that works on it. */
const AGENT_BRANCHES = [
  ['agent-one', 'claude'],
  ['agent-two', 'gemini'],
];

/** Removes the template Berth built for shell, keeping its layers; nothing when there is none. */
async function dropShellTemplate() {
  if (!(await docker('image', 'ls', '-q', SHELL_TEMPLATE).catch(() => ''))) return;
  await docker('image', 'rm', '--no-prune', SHELL_TEMPLATE).catch((e) => log(`docker image rm ${SHELL_TEMPLATE}: ${e.message}`));
  log(`removed ${SHELL_TEMPLATE}`);
}

/** The templates Berth built on the engine that hold `agent` (by their labels), as repo:tag. Untagged
 * ones (a build's layers kept for the next) are none: the server only takes tagged ones. */
async function builtTemplatesHolding(agent) {
  const tags = (await docker('image', 'ls', '--filter', 'label=dev.berth.template.agents', '--format', '{{.Repository}}:{{.Tag}}'))
    .split('\n')
    .filter((tag) => tag && !tag.includes('<none>'));
  const out = [];
  for (const tag of tags) {
    const agents = await docker('image', 'inspect', '-f', '{{index .Config.Labels "dev.berth.template.agents"}}', tag);
    if (agents.split(',').includes(agent)) out.push(tag);
  }
  return out;
}

/** `locator` once it shows, within the time a click needs to open something. */
function waitFor(locator) {
  return locator.waitFor({ timeout: 20_000 }).then(() => locator);
}

/** Clicks the inline action `action` of a tree row until `opened` (what it opens) shows: the view may
 * draw the row anew (a refresh after a status change), taking a click with it. */
async function rowAction(row, action, opened) {
  for (let attempt = 1; ; attempt++) {
    await row.hover();
    await row.locator(`.action-label[aria-label="${action}"]`).first().click();
    try {
      return await opened();
    } catch (err) {
      if (attempt === 3) throw err;
      log(`${action} opened nothing (attempt ${attempt}): clicking again`);
    }
  }
}

/** The row of agent session `session` under the Sandboxes view's row of folder `folder` (its
 * sessions come first under it), once its text matches `re`. Sessions of other sandboxes on the
 * engine may have the same id: the row is found by its place under its sandbox. */
async function sessionRow(page, folder, session, re = /./) {
  const pane = page.locator('.pane', { hasText: 'Sandboxes' });
  return waitUntil(`the Sandboxes view lists ${session} of ${folder}`, async () => {
    const rows = await pane.locator('.monaco-list-row').all();
    const found = [];
    for (const row of rows) {
      found.push({ index: Number(await row.getAttribute('data-index').catch(() => NaN)), level: await row.getAttribute('aria-level').catch(() => ''), text: (await row.textContent().catch(() => '')) ?? '' });
    }
    found.sort((a, b) => a.index - b.index);
    const top = found.findIndex((r) => r.level === '1' && new RegExp(`^\\s*${folder}\\s*running`).test(r.text));
    if (top < 0) return undefined;
    for (const r of found.slice(top + 1)) {
      if (r.level === '1') break;
      if (r.text.trim().startsWith(session) && re.test(r.text)) return pane.locator(`.monaco-list-row[data-index="${r.index}"]`);
    }
    return undefined;
  }, 60_000);
}

describe('Berth in VS Code', { concurrency: false }, () => {
  const editor = new Editor();
  const made = [];
  let ws1;
  let ws2;
  let ws3;
  let ws5;
  let ws6;
  let ws7;
  let repo;
  let win;
  let win2;
  let win3;
  let win4;
  let win5;
  let win6;
  let win7;
  /** The worktree of each agent branch, by branch. */
  const worktreeOf = {};
  /** The URL of the port forwarded in the ports step. */
  let forwardedUrl;
  let failed = false;

  before(async () => {
    // The template is the user's own setting: one in the workspace's files would need their consent.
    await prepare({ 'berth.template': TEMPLATE });
    ws1 = makeWorkspace('alpha', {});
    ws2 = makeWorkspace('bravo', { 'berth.autoStart': 'always' });
    // A policy narrower than the user's own (the default, balanced) widens nothing: no consent asked.
    ws3 = makeWorkspace('charlie', { 'berth.networkPolicy': 'locked' });
    // A git repository for the agent branches (git worktrees Berth makes under WORKTREES).
    repo = await makeRepository('delta', {});
    // Agent sessions: the fake agent (which waits for input) in echo, the real Claude Code in foxtrot.
    ws5 = makeWorkspace('echo', {});
    ws6 = makeWorkspace('foxtrot', {});
    // Templates Berth builds: the shell agent, whose template (Docker's) cannot be pulled offline.
    ws7 = makeWorkspace('golf', { 'berth.agent': 'shell' });
    made.push(ws1, ws2, ws3, repo, ws5, ws6, ws7);
    // Leftovers of an earlier, interrupted run of these same paths (worktrees' sandboxes included).
    await cleanup([...made, ...(await worktreeWorkspaces())]);
    await dropShellTemplate();
    await editor.start();
  }, T);

  after(async () => {
    if (failed) log(`Berth output:\n${berthLog()}`);
    await editor.stop();
    await cleanup([...made, ...(await worktreeWorkspaces())]);
    await dropShellTemplate();
    for (const w of await worktrees(repo).catch(() => [])) {
      await git(repo, 'worktree', 'remove', '--force', w.path).catch((e) => log(`git worktree remove ${w.path}: ${e.message}`));
      log(`removed worktree ${w.path}`);
    }
  }, T);

  const step = (name, fn, timeout = T.timeout) =>
    test(name, { timeout }, async (t) => {
      if (failed) {
        t.skip('an earlier step failed');
        return;
      }
      try {
        await fn();
      } catch (err) {
        failed = true;
        const shown = win7 ?? win6 ?? win5 ?? win4 ?? win3 ?? win2 ?? win;
        if (shown) await shown.screenshot(`failed-${name.replace(/\W+/g, '-')}`).catch(() => undefined);
        throw err;
      }
    });

  step('the status bar shows absent for a folder without a sandbox', async () => {
    win = await editor.open(ws1);
    await win.statusBar(/Berth: absent/);
    assert.deepEqual(await containers(ws1), []);
    await win.screenshot('01-absent');
  });

  step('Run Agent from the palette starts the sandbox and opens the agent terminal', async () => {
    await win.command('Berth: Run Agent');
    await win.statusBar(/Berth: running$/);
    const list = await containers(ws1);
    assert.equal(list.length, 1);
    assert.equal(list[0].state, 'running');
    // The agent terminal is an editor tab running `docker exec -it ...` into the sandbox.
    await win.page.locator('.tab', { hasText: 'Berth: claude' }).first().waitFor();
    await win.page.locator('.xterm-rows', { hasText: 'fake-agent claude' }).first().waitFor();
    await win.page.locator('.xterm-rows', { hasText: 'tty: yes' }).first().waitFor();
    await win.screenshot('02-running-terminal');
  });

  step('the status bar tooltip and the Sandboxes view show the sandbox', async () => {
    const [c] = await containers(ws1);
    const item = await win.statusBar(/Berth: running$/);
    await item.hover();
    const hover = win.page.locator('.monaco-hover, .workbench-hover', { hasText: c.id.slice(0, 12) }).first();
    await hover.waitFor();
    const text = await hover.textContent();
    assert.match(text, /berth-test\/claude:1/);
    assert.match(text, /Agent: claude/);
    assert.match(text, /Created:/);
    // The engine in use, named as `berth version` names it, ends the tooltip; it is in the output too.
    assert.match(text, /Engine: unix:\/\/\/var\/run\/docker\.sock \(the default\) — Docker Engine \d/);
    assert.match(berthOutput(), /Engine: unix:\/\/\/var\/run\/docker\.sock \(the default\): Docker Engine \d\S* \(/);
    await win.screenshot('03-tooltip');
    await win.page.mouse.move(700, 400);
    await win.command('View: Show Berth');
    await win.page.locator('.pane', { hasText: 'Sandboxes' }).locator('.monaco-list-row', { hasText: 'alpha' }).first().waitFor();
    await win.screenshot('04-sandboxes-view');
  });

  step('docker stop from outside flips the status bar to stopped', async () => {
    const [c] = await containers(ws1);
    await docker('stop', '-t', '2', c.id);
    await win.statusBar(/Berth: stopped$/);
    await win.screenshot('05-stopped');
  });

  step('changing berth.env shows the drift with its values; Recreate asks first, then applies it', async () => {
    writeSettings(ws1, { 'berth.env': ['BERTH_E2E=1'] });
    await win.statusBar(/Berth: stopped \(settings changed\)/);
    const toast = await win.toast(/differs from its settings: env: \(none\) → BERTH_E2E\./);
    await win.screenshot('06-drift');
    const before = (await containers(ws1))[0].id;
    await toast.locator('.monaco-button', { hasText: 'Recreate' }).first().click();
    // The value comes from the workspace's own .vscode/settings.json, which the agent can write.
    const box = await win.dialogBox(/settings inside "alpha" ask for access/);
    assert.match(await box.textContent(), /berth\.env: BERTH_E2E — a value the workspace's settings set/);
    assert.doesNotMatch(await box.textContent(), /BERTH_E2E=1/, 'environment values are never shown');
    await win.screenshot('06a-consent-env');
    assert.equal((await containers(ws1))[0].id, before, 'nothing changes before the answer');
    await win.click(box, 'Allow');
    await win.statusBar(/Berth: running$/);
    // The new sandbox runs before the old one (and its network proxy) is removed.
    const after = await waitUntil('the replaced sandbox is removed', async () => {
      const list = await containers(ws1);
      return list.length === 1 ? list : undefined;
    });
    assert.notEqual(after[0].id, before, 'Recreate made a new container');
    const env = await docker('inspect', '--format', '{{json .Config.Env}}', after[0].id);
    assert.match(env, /BERTH_E2E=1/);
    await win.screenshot('07-recreated');
  });

  step('Choose Agent lists the agents and writes berth.agent for the folder', async () => {
    const page = win.page;
    await win.command('Berth: Choose Agent');
    const rows = page.locator('.quick-input-list .monaco-list-row');
    const row = (name) => rows.filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${name}\\s*$`) }) }).first();
    for (const name of ['claude', 'codex', 'gemini', 'copilot', 'opencode', 'shell']) await row(name).waitFor();
    // The sandbox was made for claude and berth.agent is unset: claude is the current one, first.
    assert.match(await rows.first().textContent(), /claude.*Claude Code.*current/s);
    assert.match(await row('claude').textContent(), /login in volume berth-claude-credentials: ~\/\.claude/);
    assert.match(await row('shell').textContent(), /no login kept/);
    await win.screenshot('07a-choose-agent');
    await row('codex').click();
    const toast = await win.toast(/now uses codex .*created for claude/);
    await toast.locator('.monaco-button', { hasText: 'Recreate' }).first().waitFor();
    const settingsFile = path.join(ws1, '.vscode', 'settings.json');
    const deadline = Date.now() + 30_000;
    let settings;
    for (;;) {
      settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
      if (settings['berth.agent'] === 'codex' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(settings['berth.agent'], 'codex');
    assert.deepEqual(settings['berth.env'], ['BERTH_E2E=1'], 'the other settings are kept');
    await win.statusBar(/Berth: running \(settings changed\)/);
    await win.screenshot('07b-agent-chosen');
    // Back to the claude sandbox's own settings (the test template has no codex) for the steps below.
    writeSettings(ws1, { 'berth.env': ['BERTH_E2E=1'] });
    await win.statusBar(/Berth: running$/);
    await win.command('Notifications: Clear All Notifications');
  });

  step('Remove (with its confirmation) returns the folder to absent', async () => {
    await win.command('Berth: Remove Sandbox');
    await win.dialog(/Remove the Berth sandbox of "alpha"/, 'Remove');
    await win.statusBar(/Berth: absent$/);
    assert.deepEqual(await containers(ws1), []);
    await win.screenshot('08-removed');
  });

  step('an agent writing volumes into .vscode/settings.json gets no wider sandbox without consent', async () => {
    // What an agent in the sandbox can do: the workspace is mounted read-write.
    const home = os.homedir();
    writeSettings(ws1, {
      'berth.env': ['BERTH_E2E=1'],
      'berth.volumes': [`${home}:/mnt/home`, '/var/run/docker.sock:/var/run/docker.sock'],
      // The agent the user picked with Choose Agent above: theirs, though it sits in the same file.
      'berth.agent': 'codex',
    });
    // VS Code reads the file on its watcher's next event: a Start sent before that would still run
    // with the settings from before (and so need no consent).
    await new Promise((r) => setTimeout(r, 3_000));
    await win.command('Berth: Start Sandbox');
    const box = await win.dialogBox(/settings inside "alpha" ask for access/);
    const text = await box.textContent();
    assert.match(text, new RegExp(`berth\\.volumes: ${home}:/mnt/home — your home folder, read-write`));
    assert.match(text, /berth\.volumes: \/var\/run\/docker\.sock:\/var\/run\/docker\.sock — the Docker engine's socket/);
    assert.doesNotMatch(text, /BERTH_E2E/, 'the variable allowed in an earlier step is not asked again');
    assert.doesNotMatch(text, /berth\.agent/, 'the agent picked with Choose Agent is not asked about');
    await win.screenshot('09-consent-volumes');
    await win.click(box, 'Cancel');
    await win.statusBar(/Berth: absent$/);
    assert.deepEqual(await containers(ws1), [], 'declined: nothing was created');
    writeSettings(ws1, {});
  });

  step('with autoStart "always" opening a folder starts its sandbox with no click', async () => {
    win2 = await editor.open(ws2);
    await win2.statusBar(/Berth: running$/);
    const list = await containers(ws2);
    assert.equal(list.length, 1);
    assert.equal(list[0].state, 'running');
    await win2.screenshot('10-autostart');
  });

  step('Stop and Show Logs on a Sandboxes view row act on that sandbox (by id)', async () => {
    const page = win2.page;
    await win2.command('View: Show Berth');
    const row = page.locator('.pane', { hasText: 'Sandboxes' }).locator('.monaco-list-row', { hasText: 'bravo' }).first();
    await row.waitFor();
    await row.hover();
    await row.locator('.action-label[aria-label="Stop"]').first().click();
    await win2.statusBar(/Berth: stopped$/);
    // The status comes from the engine's event; on a busy engine `docker ps` may say so a moment later.
    const list = await waitUntil('docker says the sandbox exited', async () => {
      const found = await containers(ws2);
      return found.length === 1 && found[0].state === 'exited' ? found : undefined;
    }, 30_000);
    assert.equal(list.length, 1);
    // The row is drawn anew for its stopped state (no Stop action): click Show Logs on that one.
    await row.locator('.action-label[aria-label="Stop"]').waitFor({ state: 'detached' });
    // The view may draw the row anew once more (a refresh after the stop), taking a click with it:
    // click again until the log opens, a few times at most.
    const tab = page.locator('.tab', { hasText: /^\s*berth-.*bravo.*\.log/ }).first();
    for (let attempt = 1; ; attempt++) {
      await row.hover();
      await row.locator('.action-label[aria-label="Show Logs"]').first().click();
      try {
        await tab.waitFor({ timeout: 20_000 });
        break;
      } catch (err) {
        if (attempt === 3) throw err;
        log(`Show Logs opened no tab (attempt ${attempt}): clicking again`);
      }
    }
    await win2.screenshot('10a-view-stop-logs');
  });

  step('the palette lists the Berth commands', async () => {
    const page = win2.page;
    await page.keyboard.press('Escape');
    await win2.command('View: Show Berth');
    await page.locator('.pane', { hasText: 'Sandboxes' }).locator('.monaco-list-row', { hasText: 'bravo' }).first().waitFor();
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill('>Berth: ');
    // Alphabetical after the recently used: Run Agent may be below the rows drawn, looked for below.
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Berth: ' }).first().waitFor();
    await win2.screenshot('11-palette');
    // More commands than the list shows at once: each is looked for by its own title.
    for (const title of ['Run Agent', 'Start Sandbox', 'Stop Sandbox', 'Recreate Sandbox', 'Remove All Sandboxes', 'Edit Network Rules…', 'Run Agent on New Branch…', 'Forward a Port…', 'Stop Forwarding a Port…', 'Build Template…', 'Update Templates']) {
      await input.fill(`>Berth: ${title}`);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: `Berth: ${title}` }).first().waitFor();
    }
    await page.keyboard.press('Escape');
    await win2.close();
  });

  step('a locked sandbox: a blocked request is notified, and "Allow for this workspace" allows it at once', async () => {
    win3 = await editor.open(ws3);
    await win3.statusBar(/Berth: absent$/);
    await win3.command('Berth: Start Sandbox');
    const item = await win3.statusBar(/Berth: running$/);
    await item.hover();
    await win3.page.locator('.monaco-hover, .workbench-hover', { hasText: "Network: locked (only claude's API and login hosts)" }).first().waitFor();
    await win3.page.mouse.move(700, 400);
    // What an agent does: ask for a host its policy does not allow (busybox wget honours http_proxy).
    // The server follows the proxy's log from when it saw the sandbox running, so a request made in
    // that very moment may go unseen: ask again until the notification shows.
    const blocked = /claude in charlie was blocked from example\.com:80 \(not in the locked policy or any allow rule\)/;
    const deadline = Date.now() + 90_000;
    let toast;
    for (;;) {
      const out = await berth('exec', '-w', ws3, 'sh', '-c', 'wget -q -O /dev/null http://example.com/ 2>&1; true');
      assert.match(out, /403 Forbidden/, 'the proxy refused it');
      try {
        toast = await win3.toast(blocked, 5_000);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        log('no blocked-request notification yet: asking again');
      }
    }
    await win3.screenshot('12-blocked-request');
    // Every block is also a line in the Berth output.
    await waitUntil('the blocked request is in the Berth output', async () =>
      /network: claude in charlie was blocked from example\.com:80/.test(berthOutput()),
    30_000);
    await toast.locator('.monaco-button', { hasText: 'Allow for this workspace' }).first().click();
    await win3.toast(/"charlie" now allows example\.com \(ports 80 and 443\), from its next request on/);
    const policy = JSON.parse(await berth('policy', 'show', '--json', '-w', ws3));
    assert.equal(policy.policy, 'locked');
    assert.deepEqual(policy.liveAllow, ['example.com']);
    await win3.screenshot('13-allowed');
  });

  step('Edit Network Rules: the rules now, the blocked requests, a bad pattern\'s error, and Deny at once', async () => {
    const page = win3.page;
    await win3.command('Berth: Edit Network Rules…');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: /Allowed since creation: example\.com · Denied since creation: \(none\)/ }).first().waitFor();
    await win3.screenshot('14-network-rules');
    await win3.pick(/Show blocked requests/);
    await page.locator('.tab', { hasText: 'charlie-blocked.log' }).first().waitFor();
    await page.locator('.view-lines', { hasText: /example\.com:80\s+blocked/ }).first().waitFor();
    await win3.screenshot('15-blocked-log');

    // The server checks a pattern fully; its message reaches the user.
    await win3.command('Berth: Edit Network Rules…');
    await win3.pick(/Deny a host/);
    await win3.answer(/Deny wins/, 'http://example.org');
    await win3.toast(/Host pattern 'http:\/\/example\.org' is not of the form HOST\[:PORT\]/);

    await win3.command('Berth: Edit Network Rules…');
    await win3.pick(/Deny a host/);
    await win3.answer(/Deny wins/, 'example.org');
    await win3.toast(/"charlie" now denies example\.org \(every port\), from its next request on/);
    const policy = JSON.parse(await berth('policy', 'show', '--json', '-w', ws3));
    assert.deepEqual(policy.liveAllow, ['example.com']);
    assert.deepEqual(policy.liveDeny, ['example.org']);
    await win3.screenshot('16-denied');
  });

  step('a port the agent opens is offered; Forward makes it reachable here, and the Sandboxes view lists it', async () => {
    const page = win3.page;
    // What an agent does: start a dev server bound to the sandbox's own loopback.
    const port = 20000 + Math.floor(Math.random() * 9000);
    await berth('exec', '-w', ws3, 'sh', '-c', `mkdir -p /tmp/w && echo e2e-port > /tmp/w/i && httpd -p 127.0.0.1:${port} -h /tmp/w`);
    const offer = await win3.toast(new RegExp(`port ${port} is listening in the sandbox of "charlie"`), 30_000);
    await win3.screenshot('17-port-offered');
    await offer.locator('.monaco-button', { hasText: /^Forward$/ }).first().click();
    const said = await win3.toast(new RegExp(`port ${port} of "charlie" is at http://127\\.0\\.0\\.1:\\d+ until the sandbox stops`));
    const url = (await said.textContent()).match(/http:\/\/127\.0\.0\.1:\d+/)[0];
    const answer = await fetch(`${url}/i`);
    assert.equal((await answer.text()).trim(), 'e2e-port');
    await win3.command('View: Show Berth');
    await page.locator('.pane', { hasText: 'Sandboxes' }).locator('.monaco-list-row', { hasText: `${port} → 127.0.0.1:` }).first().waitFor();
    await win3.screenshot('18-port-forwarded');
    forwardedUrl = url;
  });

  step('an agent that asks something while not in view: a notification, the status bar, and Show Agent opens it', async () => {
    // What Claude Code's Notification hook runs in the sandbox (agent_hooks): the agent's own words.
    await berth('exec', '-w', ws3, 'sh', '-c',
      `echo '{"hook_event_name":"Notification","message":"Claude needs your permission to use Bash"}' | /usr/local/bin/berth-notify claude Notification`);
    const toast = await win3.toast(/claude in "charlie" needs you: Claude needs your permission to use Bash/, 30_000);
    await win3.statusBar(/Berth: running · needs you$/);
    await win3.screenshot('18b-agent-needs-you');
    await toast.locator('.monaco-button', { hasText: 'Show Agent' }).first().click();
    // No agent terminal was open here: Show Agent opens one, as Run Agent does (a new session).
    await win3.page.locator('.tab', { hasText: /Berth: claude-1 \(charlie\)/ }).first().waitFor();
    await berth('exec', '-w', ws3, '/usr/local/bin/berth-notify', 'claude', 'working');
    await win3.statusBar(/Berth: running · working$/);
    const url = forwardedUrl;
    // The forward ends with the sandbox; the agent it runs is asked about first.
    await win3.command('Berth: Stop Sandbox');
    await win3.dialog(/ends 1 running agent session \(claude-1\)\./, 'Stop');
    await win3.statusBar(/Berth: stopped$/);
    await waitUntil('the forward ended with its sandbox', async () => {
      try {
        await fetch(`${url}/i`, { signal: AbortSignal.timeout(2_000) });
        return false;
      } catch {
        return true;
      }
    }, 30_000);
    await win3.close();
  });
  step('Run Agent on New Branch, twice: two agents on two branches, each in a worktree of its own with its sandbox', async () => {
    // Each agent runs from its own template (the user's config file), not the one template the
    // steps above set for every agent.
    writeUserConfig('[agents.claude]\ntemplate = "berth-test/claude:1"\n\n[agents.gemini]\ntemplate = "berth-test/gemini:1"\n');
    writeUserSettings({});
    win4 = await editor.open(repo);
    const page = win4.page;
    // Tall enough for the Sandboxes view to draw every row: the engine may hold others' sandboxes too.
    await page.setViewportSize({ width: 1400, height: 1400 });
    await win4.statusBar(/Berth: absent$/);
    for (const [branch, agent] of AGENT_BRANCHES) {
      await win4.command('Berth: Run Agent on New Branch…');
      await win4.answer(/in a worktree of its own outside your working tree/, branch);
      // The folder's current agent is offered first: claude, as nothing else is set.
      const rows = page.locator('.quick-input-list .monaco-list-row');
      await rows.first().waitFor();
      assert.match(await rows.first().textContent(), /^\s*claude.*current/s);
      await win4.pick(new RegExp(`^\\s*${agent}\\s*$`));
      await win4.toast(new RegExp(`${agent} works on branch "${branch}" of "delta" in a worktree of its own`));
      await page.locator('.tab', { hasText: new RegExp(`Berth: ${agent}-1 on ${branch} \\(delta\\)`) }).first().waitFor();
      await page.locator('.xterm-rows', { hasText: `fake-agent ${agent}` }).first().waitFor();
      await win4.screenshot(`17-agent-branch-${branch}`);
    }
    // git: one worktree per branch, under BERTH_WORKTREES; the user's own working tree is untouched.
    const trees = await worktrees(repo);
    assert.deepEqual(trees.map((w) => w.branch).sort(), AGENT_BRANCHES.map(([b]) => b));
    for (const w of trees) {
      assert.ok(w.path.startsWith(fs.realpathSync(WORKTREES) + '/'), `${w.path} is under ${WORKTREES}`);
      worktreeOf[w.branch] = w.path;
      made.push(w.path);
    }
    assert.equal(await git(repo, 'rev-parse', '--abbrev-ref', 'HEAD'), 'main');
    assert.equal(await git(repo, 'status', '--porcelain'), '');
    // Docker: each worktree has its own running sandbox, of its own agent; the folder itself none.
    for (const [branch, agent] of AGENT_BRANCHES) {
      const list = await containers(worktreeOf[branch]);
      assert.equal(list.length, 1, `one sandbox for ${branch}`);
      assert.equal(list[0].state, 'running');
      assert.equal(await docker('inspect', '-f', '{{index .Config.Labels "dev.berth.agent"}}', list[0].id), agent);
    }
    assert.deepEqual(await containers(repo), []);
    await win4.statusBar(/Berth: absent$/);
    await win4.command('Notifications: Clear All Notifications');
    // The views: both branches with their running sandbox, and both sandboxes by repository and branch.
    await win4.command('View: Show Berth');
    const branches = page.locator('.pane', { hasText: 'Agent Branches' });
    const sandboxes = page.locator('.pane', { hasText: 'Sandboxes' });
    for (const [branch, agent] of AGENT_BRANCHES) {
      await branches.locator('.monaco-list-row', { hasText: new RegExp(`${branch}.*↑0 ↓0 · .* · ${agent} running`) }).first().waitFor();
      await sandboxes.locator('.monaco-list-row', { hasText: new RegExp(`delta \\(branch ${branch}\\).*running · ${agent}`) }).first().waitFor();
    }
    await win4.screenshot('18-agent-branches-view');
  });

  step('Show Diff, and Remove Worktree: refused while it holds uncommitted work; else it goes with its sandbox, its branch stays', async () => {
    const page = win4.page;
    const branches = page.locator('.pane', { hasText: 'Agent Branches' });
    const row = (branch) => branches.locator('.monaco-list-row', { hasText: branch }).first();
    // What an agent does in its worktree: change a file and not commit it.
    fs.appendFileSync(path.join(worktreeOf['agent-two'], 'README.md'), '\nAn agent was here.\n');

    await rowAction(row('agent-two'), 'Show Diff', () =>
      page.locator('.tab', { hasText: 'delta-agent-two.diff' }).first().waitFor({ timeout: 20_000 }),
    );
    await page.locator('.view-lines', { hasText: '+An agent was here.' }).first().waitFor();
    await win4.screenshot('19-branch-diff');

    // The server refuses, names the file, and nothing changes. Its agent still runs: the question
    // says it ends with it.
    const refused = await rowAction(row('agent-two'), 'Remove Worktree', () =>
      waitFor(win4.page.locator('.monaco-dialog-box', { hasText: /Removing the worktree of branch "agent-two" ends 1 running agent session \(gemini-1\)\./ }).first()),
    );
    const question = await refused.textContent();
    assert.match(question, new RegExp(`Worktree: ${worktreeOf['agent-two']}`));
    assert.match(question, /The branch agent-two and its commits stay in the repository "delta"/);
    await win4.click(refused, 'Remove Worktree');
    await win4.toast(/has 1 uncommitted change \(README\.md\); commit, stash or discard it first\. Nothing was removed\./);
    await win4.screenshot('20-remove-refused');
    assert.equal((await containers(worktreeOf['agent-two']))[0]?.state, 'running');
    assert.ok(fs.existsSync(worktreeOf['agent-two']));

    const box = await rowAction(row('agent-one'), 'Remove Worktree', () =>
      waitFor(win4.page.locator('.monaco-dialog-box', { hasText: /Removing the worktree of branch "agent-one" ends 1 running agent session \(claude-1\)\./ }).first()),
    );
    await win4.click(box, 'Remove Worktree');
    await win4.toast(/removed the worktree of branch "agent-one" and 1 sandbox\. The branch and its commits stay\./);
    assert.deepEqual(await containers(worktreeOf['agent-one']), []);
    assert.ok(!fs.existsSync(worktreeOf['agent-one']), 'the worktree folder is gone');
    assert.deepEqual((await worktrees(repo)).map((w) => w.branch), ['agent-two']);
    assert.match(await git(repo, 'rev-parse', '--verify', 'refs/heads/agent-one'), /^[0-9a-f]{40}$/, 'the branch stays');
    await row('agent-one').waitFor({ state: 'detached' });
    await win4.screenshot('21-worktree-removed');
  });

  // Agent sessions. The real Claude Code exits within seconds offline, too soon to run it twice or
  // close its tab while it runs: those steps use the fake agent (berth-test/claude:1, which waits
  // for input), and the real one shows how an exit on a failure is told.
  step('Run Agent twice: one session, one tab, shown again rather than a second agent', async () => {
    // claude from the fake template (as for the agent branches above; this step may also run alone).
    writeUserConfig('[agents.claude]\ntemplate = "berth-test/claude:1"\n\n[agents.gemini]\ntemplate = "berth-test/gemini:1"\n');
    writeUserSettings({});
    win5 = await editor.open(ws5);
    const page = win5.page;
    // Tall enough for the Sandboxes view to draw every row: the engine may hold others' sandboxes too.
    await page.setViewportSize({ width: 1400, height: 1400 });
    await win5.statusBar(/Berth: absent$/);
    await win5.command('Berth: Run Agent');
    await win5.statusBar(/Berth: running$/);
    const tabs = page.locator('.tab', { hasText: /Berth: claude(-\d+)? \(echo\)/ });
    await page.locator('.tab', { hasText: /Berth: claude-1 \(echo\)/ }).first().waitFor();
    await page.locator('.xterm-rows', { hasText: 'fake-agent claude' }).first().waitFor();
    // What the user types reaches the agent (xterm takes the keys through its hidden textarea).
    await page.locator('.xterm-helper-textarea').first().focus();
    await page.keyboard.type('e2e-marker');
    await page.keyboard.press('Enter');
    await page.locator('.xterm-rows', { hasText: 'agent heard: e2e-marker' }).first().waitFor();
    // Another editor in front, then Run Agent again: the agent's tab comes back to the front.
    await win5.command('File: New Untitled Text File');
    await page.locator('.tab.active', { hasText: /Untitled/ }).first().waitFor();
    await win5.command('Berth: Run Agent');
    await page.locator('.tab.active', { hasText: /Berth: claude-1 \(echo\)/ }).first().waitFor();
    assert.equal(await tabs.count(), 1, 'a single agent tab');
    const sessions = JSON.parse(await berth('sessions', '--json', '-w', ws5));
    assert.deepEqual(sessions.filter((x) => x.state === 'running').map((x) => x.id), ['claude-1'], 'one running session');
    await win5.screenshot('22-run-agent-twice');
  });

  step('closing the agent tab leaves its session running; Attach in the Sandboxes view brings back its screen', async () => {
    const page = win5.page;
    await win5.command('View: Close Editor');
    await win5.toast(/The agent keeps running in the sandbox\. Run Agent or the Sandboxes view attaches it again\./);
    await page.locator('.tab', { hasText: /Berth: claude-1 \(echo\)/ }).waitFor({ state: 'detached' });
    const sessions = JSON.parse(await berth('sessions', '--json', '-w', ws5));
    assert.equal(sessions.find((x) => x.id === 'claude-1')?.state, 'running', 'the agent runs on');
    await win5.command('View: Show Berth');
    const row = await sessionRow(page, 'echo', 'claude-1', /running/);
    await win5.screenshot('23-session-detached');
    await rowAction(row, 'Attach', () => waitFor(page.locator('.tab', { hasText: /Berth: claude-1 \(echo\)/ }).first()));
    // Its screen comes back with it: what the agent wrote before the tab was closed.
    await page.locator('.xterm-rows', { hasText: 'agent heard: e2e-marker' }).first().waitFor();
    await sessionRow(page, 'echo', 'claude-1', /running · attached/);
    await win5.screenshot('24-session-attached');
  });

  step('Stop with a running agent asks first (Cancel leaves it running); Stop Session ends one agent, the sandbox\'s stop the other', async () => {
    const page = win5.page;
    await win5.command('Berth: Stop Sandbox');
    const box = await win5.dialogBox(/Stopping berth-claude-echo-\w+ ends 1 running agent session \(claude-1\)\./);
    await win5.screenshot('25-stop-asks-first');
    await win5.click(box, 'Cancel');
    await win5.statusBar(/Berth: running$/);
    let sessions = JSON.parse(await berth('sessions', '--json', '-w', ws5));
    assert.equal(sessions.find((x) => x.id === 'claude-1')?.state, 'running', 'Cancel left the agent running');
    assert.equal((await containers(ws5))[0]?.state, 'running');

    // A second agent beside the first, then Stop Session on its row: only that agent ends.
    await win5.command('Berth: New Agent Session');
    await page.locator('.tab', { hasText: /Berth: claude-2 \(echo\)/ }).first().waitFor();
    const second = await sessionRow(page, 'echo', 'claude-2', /running/);
    const question = await rowAction(second, 'Stop Session', () =>
      waitFor(page.locator('.monaco-dialog-box', { hasText: /Stop the agent session claude-2 \(claude\)\?/ }).first()),
    );
    await win5.click(question, 'Stop Session');
    await page.locator('.xterm-rows', { hasText: /\[claude-2 exited with code \d+\]/ }).first().waitFor();
    await sessionRow(page, 'echo', 'claude-2', /exited/);
    sessions = JSON.parse(await berth('sessions', '--json', '-w', ws5));
    assert.equal(sessions.find((x) => x.id === 'claude-2')?.reason?.kind, 'stopped');
    assert.equal(sessions.find((x) => x.id === 'claude-1')?.state, 'running');
    // A stopped agent is no news: no warning.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(await page.locator('.notification-toast', { hasText: /claude-2 \(claude\) exited/ }).count(), 0);
    await win5.screenshot('26-session-stopped');

    // The sandbox's stop, confirmed: the first agent's tab says it ended with its sandbox.
    await win5.command('Berth: Stop Sandbox');
    await win5.dialog(/Stopping berth-claude-echo-\w+ ends 1 running agent session \(claude-1\)\./, 'Stop');
    await win5.statusBar(/Berth: stopped$/);
    await page.locator('.tab', { hasText: /Berth: claude-1 \(echo\)/ }).first().click();
    await page.locator('.xterm-rows', { hasText: '[claude-1 ended with its sandbox]' }).first().waitFor();
    assert.equal(await page.locator('.notification-toast', { hasText: /exit code|docker exec/ }).count(), 0, 'no raw exit toast');
    await win5.screenshot('27-session-ended-with-sandbox');
    await win5.close();
  });

  step('the real Claude Code offline: its tab stays with the exit line, and a warning offers Show Output', async () => {
    writeUserConfig(`[agents.claude]\ntemplate = "${REAL_TEMPLATE}"\n\n[agents.gemini]\ntemplate = "berth-test/gemini:1"\n`);
    win6 = await editor.open(ws6);
    const page = win6.page;
    await win6.statusBar(/Berth: absent$/);
    await win6.command('Berth: Run Agent');
    const tab = page.locator('.tab', { hasText: /Berth: claude-1 \(foxtrot\)/ }).first();
    await tab.waitFor();
    await page.locator('.xterm-rows', { hasText: 'Unable to connect to Anthropic services' }).first().waitFor();
    await page.locator('.xterm-rows', { hasText: '[claude-1 exited with code 1]' }).first().waitFor();
    const toast = await win6.toast(/claude-1 \(claude\) exited with code 1\. The agent could not reach its service/);
    await win6.screenshot('28-real-agent-exited');
    const sessions = JSON.parse(await berth('sessions', '--json', '-w', ws6));
    assert.deepEqual(sessions.map((x) => [x.id, x.state, x.exitCode, x.reason?.kind]), [['claude-1', 'exited', 1, 'offline']]);
    // Show Output brings its tab to the front (it is still open: no second one). Another editor is
    // opened with a click: the palette's Escape would hide the notification.
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'README.md' }).first().click();
    await page.locator('.tab.active', { hasText: 'README.md' }).first().waitFor();
    await toast.locator('.monaco-button', { hasText: 'Show Output' }).first().click();
    await page.locator('.tab.active', { hasText: /Berth: claude-1 \(foxtrot\)/ }).first().waitFor();
    assert.equal(await page.locator('.tab', { hasText: /Berth: claude-\d+ \(foxtrot\)/ }).count(), 1);
    await win6.screenshot('29-show-output');
  });

  step('an agent whose template cannot be pulled: Build Template builds one, showing its steps, and the run goes on from it', async () => {
    // Offline: Docker's template for shell cannot be pulled, and no template Berth built holds shell
    // (a run would take that one instead and fail nothing).
    assert.equal(await docker('image', 'ls', '-q', 'docker/sandbox-templates:shell'), '', 'Docker\'s shell template is not on the engine');
    assert.deepEqual(await builtTemplatesHolding('shell'), [], 'no template Berth built holds shell');
    writeUserSettings({});
    win7 = await editor.open(ws7);
    const page = win7.page;
    await win7.statusBar(/Berth: absent$/);
    await win7.command('Berth: Run Agent');
    // berth.agent is the folder's own setting: an agent other than the user's is asked about first.
    const box = await win7.dialogBox(/settings inside "golf" ask for access/);
    assert.match(await box.textContent(), /berth\.agent: shell/);
    await win7.click(box, 'Allow');
    const offer = await win7.toast(/docker\/sandbox-templates:shell[\s\S]*could not be pulled[\s\S]*Berth can build a template for shell itself/);
    assert.deepEqual(await containers(ws7), [], 'nothing was created');
    await win7.screenshot('30-build-template-offered');
    // Every text the notifications show from now on: the build's steps may pass quicker than a poll.
    await page.evaluate(() => {
      window.berthToastTexts = [];
      new MutationObserver(() => {
        for (const t of document.querySelectorAll('.notification-toast .notification-list-item-message')) {
          const text = t.textContent ?? '';
          if (window.berthToastTexts.at(-1) !== text) window.berthToastTexts.push(text);
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await offer.locator('.monaco-button', { hasText: /^Build Template$/ }).first().click();
    // The build shows its steps in a notification of its own (which has Cancel).
    const building = await win7.toast(/Berth: building a template for shell/);
    assert.equal(await building.locator('.monaco-button', { hasText: 'Cancel' }).count(), 1, 'the build can be cancelled');
    await win7.screenshot('31-building-template');
    await win7.toast(/Berth: built berth\.local\/template:shell: shell\./, BUILD_WAIT);
    const shown = await page.evaluate(() => window.berthToastTexts);
    log(`the build's notification said: ${shown.filter((t) => t.includes('building a template')).join(' | ')}`);
    assert.ok(
      shown.some((t) => /^Berth: building a template for shell: \[\d+\/\d+\] /.test(t)),
      'the notification shows the steps the server reports',
    );
    // The same run is sent again (with the consent given): the sandbox is made from the new
    // template, and the shell opens in its tab.
    await win7.statusBar(/Berth: running$/);
    await page.locator('.tab', { hasText: /Berth: shell(-1)? \(golf\)/ }).first().waitFor();
    const list = await containers(ws7);
    assert.equal(list.length, 1);
    assert.equal(list[0].state, 'running');
    assert.equal(await docker('inspect', '-f', '{{.Config.Image}}', list[0].id), SHELL_TEMPLATE);
    assert.equal(await docker('inspect', '-f', '{{index .Config.Labels "dev.berth.template"}}', list[0].id), SHELL_TEMPLATE);
    await win7.screenshot('32-running-from-built-template');
    // The status bar's tooltip says what the template holds, when and on what it was built.
    const item = await win7.statusBar(/Berth: running$/);
    await item.hover();
    const hover = page.locator('.monaco-hover, .workbench-hover', { hasText: `Template ${SHELL_TEMPLATE}` }).first();
    await hover.waitFor();
    assert.match(await hover.textContent(), /Template berth\.local\/template:shell: shell, built \d{4}-\d{2}-\d{2} on \S+/);
    await win7.screenshot('33-built-template-tooltip');
  }, BUILD_WAIT + 240_000);
});
