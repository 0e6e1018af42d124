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
  log,
  makeWorkspace,
  prepare,
  waitUntil,
  writeSettings,
} from './harness.mjs';

const TEMPLATE = 'berth-test/claude:1';
const T = { timeout: 240_000 };

describe('Berth in VS Code', { concurrency: false }, () => {
  const editor = new Editor();
  const made = [];
  let ws1;
  let ws2;
  let ws3;
  let win;
  let win2;
  let win3;
  let failed = false;

  before(async () => {
    // The template is the user's own setting: one in the workspace's files would need their consent.
    await prepare({ 'berth.template': TEMPLATE });
    ws1 = makeWorkspace('alpha', {});
    ws2 = makeWorkspace('bravo', { 'berth.autoStart': 'always' });
    // A policy narrower than the user's own (the default, balanced) widens nothing: no consent asked.
    ws3 = makeWorkspace('charlie', { 'berth.networkPolicy': 'locked' });
    made.push(ws1, ws2, ws3);
    await cleanup(made); // leftovers of an earlier, interrupted run of these same paths
    await editor.start();
  }, T);

  after(async () => {
    if (failed) log(`Berth output:\n${berthLog()}`);
    await editor.stop();
    await cleanup(made);
  }, T);

  const step = (name, fn) =>
    test(name, T, async (t) => {
      if (failed) {
        t.skip('an earlier step failed');
        return;
      }
      try {
        await fn();
      } catch (err) {
        failed = true;
        const shown = win3 ?? win2 ?? win;
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
    const list = await containers(ws2);
    assert.equal(list.length, 1);
    assert.equal(list[0].state, 'exited');
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
    for (const title of ['Run Agent', 'Start Sandbox', 'Stop Sandbox', 'Recreate Sandbox', 'Remove All Sandboxes', 'Edit Network Rules…']) {
      await page.locator('.quick-input-list .monaco-list-row', { hasText: `Berth: ${title}` }).first().waitFor();
    }
    await win2.screenshot('11-palette');
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
    await win3.close();
  });
});
