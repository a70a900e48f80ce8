// Issue 15, the owner's side of saved state that cannot be read (docs/http-api.md, "Saved
// state"): on a devnode node, the app's saved state is damaged on disk and the process
// restarts; the owner's home page then says the saved rooms could not be read and where they
// were kept (the path `GET /api/saved-state` reports), and "Start fresh" makes the notice go
// away while the kept copy stays on disk. Uses the package users get: nothing here needs the
// test hook.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { devnodeBinary, screenshotDir, userPackageZip } from './lib/artifacts.mjs';
import { launchChromium } from './lib/browser.mjs';
import { APP_ID, api, appUrl, bootDevnode, faults, loginContext } from './lib/devnode.mjs';

const NODE = 'alice.os';
const ROOM_NAME = 'Doomed';
const shots = screenshotDir();

/** Polls `probe` until it returns a value other than undefined. */
async function eventually(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the owner's notice of saved state that could not be read", () => {
  let dn;
  let alice;
  let context;
  let page;
  // devnode keeps a node's files under <home>/<node>/ (docs/devnode.md): the process state in
  // state/<process-id>, vfs drives in vfs/<package-id>/<drive>/.
  const stateFile = () => join(dn.home, NODE, 'state', APP_ID);
  const onDisk = (vfsPath) => join(dn.home, NODE, 'vfs', vfsPath.replace(/^\/+/, ''));

  async function savedState() {
    const response = await fetch(appUrl(alice, '/api/saved-state'), { headers: { cookie: alice.cookie } });
    assert.equal(response.status, 200);
    return response.json();
  }

  /**
   * Opens the home page and returns the body of the `GET /api/saved-state` the page itself
   * made, once the page has also listed the node's rooms (so both answers have been rendered).
   */
  async function openHome(roomsShown) {
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/saved-state') && r.request().method() === 'GET');
    await page.goto(appUrl(alice, '/'));
    const status = await (await answered).json();
    await page.getByTestId('room-list').getByText(roomsShown).waitFor();
    // One task and one frame more: React renders a fetched status in a task of its own.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
    return status;
  }

  before(async () => {
    dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: userPackageZip(), nodes: [NODE] });
    [alice] = dn.nodes;
    context = await launchChromium();
    await loginContext(context, alice);
    page = await context.newPage();
    page.on('pageerror', (e) => console.log(`[pageerror] ${e.message}`));
  });

  after(async () => {
    await context?.close();
    await dn?.stop();
  });

  it('is absent while the saved state reads fine', async () => {
    await api(alice, 'CreateRoom', {
      name: ROOM_NAME,
      capacity: 10,
      default_role: 'speaker',
      guests_allowed: false,
      guests_may_speak: false,
    });
    await eventually('the room in the saved state', () => (existsSync(stateFile()) && readFileSync(stateFile()).includes(ROOM_NAME) ? true : undefined));
    await faults.restartApp(dn, NODE);
    await eventually('the process after its restart', async () => {
      const status = await savedState().catch(() => undefined);
      return status?.loaded_from != null ? status : undefined;
    });

    const status = await openHome(ROOM_NAME);
    assert.equal(status.unreadable, null, JSON.stringify(status));
    assert.equal(await page.getByTestId('saved-state-notice').count(), 0, 'no notice while the saved state reads fine');
  });

  let damaged;
  let keptIn;

  it('shows where the damaged saved rooms were kept after the process restarts', async () => {
    // One damaged byte in the saved JSON (the quote before the room's name), as the app-test
    // crates/app-tests/tests/upgrade.rs does.
    damaged = readFileSync(stateFile());
    const at = damaged.indexOf(ROOM_NAME) - 1;
    assert.equal(String.fromCharCode(damaged[at]), '"');
    damaged[at] = 'x'.charCodeAt(0);
    writeFileSync(stateFile(), damaged);
    await faults.restartApp(dn, NODE);
    const status = await eventually('the process to report the unreadable state', async () => {
      const s = await savedState().catch(() => undefined);
      return s?.unreadable ? s : undefined;
    });
    keptIn = status.unreadable.kept_in;
    assert.match(keptIn, /^\/voice-chat:template\.os\/saved-state\/unreadable-\d+\.bin$/);
    assert.deepEqual(readFileSync(onDisk(keptIn)), damaged, 'the kept copy holds the damaged bytes');

    await openHome('No rooms yet');
    const notice = page.getByTestId('saved-state-notice');
    await notice.waitFor();
    assert.match(await notice.locator('h2').innerText(), /^Saved rooms could not be read; they were kept in /);
    assert.equal(await notice.getByTestId('kept-in').innerText(), keptIn, 'the page shows the path the API reports');
    await page.screenshot({ path: join(shots, 'saved-state-unreadable.png') });
  });

  it('goes away when the owner starts fresh, and the kept copy stays on disk', async () => {
    const notice = page.getByTestId('saved-state-notice');
    await notice.getByRole('button', { name: 'Start fresh…' }).click();
    // Nothing is discarded until the owner confirms.
    assert.notEqual((await savedState()).unreadable, null);
    await notice.getByRole('button', { name: 'Yes, start fresh' }).click();
    await notice.waitFor({ state: 'detached' });

    assert.equal((await savedState()).unreadable, null);
    assert.deepEqual(readFileSync(onDisk(keptIn)), damaged, 'the kept copy is the owner’s to keep');

    // It stays gone after the next start: what is saved now reads fine.
    await faults.restartApp(dn, NODE);
    await eventually('the process after its restart', async () => {
      const status = await savedState().catch(() => undefined);
      return status?.loaded_from != null ? status : undefined;
    });
    const status = await openHome('No rooms yet');
    assert.equal(status.unreadable, null, JSON.stringify(status));
    assert.equal(await page.getByTestId('saved-state-notice').count(), 0);
  });
});
