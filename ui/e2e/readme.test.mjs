// The README's first run, as a new user does it: `cargo xtask run` (the real command, with
// the test package and a fresh home), then, following only what it printed: log in to each
// node with its printed password, open every printed room URL in its own browser, and check
// that each lands in the room and hears the others' fake microphones.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { devnodeBinary, packageZip, root, screenshotDir } from './lib/artifacts.mjs';
import { launchChromium } from './lib/browser.mjs';
import { disableVoiceProcessing } from './lib/devnode.mjs';
import * as room from './lib/roomPage.mjs';
import { toneWav } from './lib/wav.mjs';

const TONES = { 'alice.os': 440, 'bob.os': 660, guest: 880 };
const READY_TIMEOUT_MS = 15 * 60_000; // cargo may first wait for other builds of target/

/** Runs `cargo xtask run` and resolves with what it printed once the nodes are up. */
function xtaskRun() {
  const child = spawn('cargo', ['xtask', 'run'], {
    cwd: root,
    detached: true, // its own process group, so stopping it stops devnode too
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      VOICE_CHAT_PACKAGE: packageZip(),
      VOICE_CHAT_DEVNODE: devnodeBinary(),
      VOICE_CHAT_RUN_HOME: mkdtempSync(join(tmpdir(), 'voice-chat-xtask-run-')),
    },
  });
  const printed = [];
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cargo xtask run printed no room within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.once('exit', (code) => reject(new Error(`cargo xtask run exited with ${code}:\n${printed.join('\n')}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      printed.push(line);
      if (line.startsWith('Nodes are up')) {
        clearTimeout(timer);
        resolve(printed);
      }
      if (line.startsWith('(no demo room')) reject(new Error(line));
    });
  });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      process.kill(-child.pid, 'SIGTERM');
    });
  return { ready, stop };
}

/** The printed lines as data: each node's password, and every room URL with whom it is for. */
function parse(lines) {
  const passwords = {};
  let node = null;
  const urls = [];
  for (const line of lines) {
    const header = /^node (\S+)$/.exec(line);
    if (header) node = header[1];
    const password = /^\s+password:\s+(\S+)$/.exec(line);
    if (password && node) passwords[node] = password[1];
    const owner = /^ {2}for the owner of (\S+) \(log in at (\S+) with \S+ password\): (\S+)$/.exec(line);
    if (owner) urls.push({ who: owner[1], login: owner[2], url: owner[3] });
    const guest = /^ {2}for a guest without a node \(no login\): (\S+)$/.exec(line);
    if (guest) urls.push({ who: 'guest', url: guest[1] });
  }
  return { passwords, urls };
}

describe('the README first run: cargo xtask run, as printed', () => {
  let run;
  let printed;
  const people = {};

  before(async () => {
    run = xtaskRun();
    printed = parse(await run.ready);
  });

  after(async () => {
    for (const p of Object.values(people)) await p.context.close();
    await run?.stop();
  });

  it('prints one URL for the owner of each node and one for a guest', () => {
    assert.deepEqual(
      printed.urls.map((u) => u.who),
      ['alice.os', 'bob.os', 'guest'],
    );
    assert.deepEqual(Object.keys(printed.passwords).sort(), ['alice.os', 'bob.os']);
  });

  it('gets everyone into the room by the printed URLs, after logging in with the printed passwords', async () => {
    const out = join(screenshotDir(), '..');
    for (const { who, login, url } of printed.urls) {
      const context = await launchChromium({ fakeMicWav: toneWav(join(out, `tone-${TONES[who]}.wav`), { frequency: TONES[who], seconds: 4 }) });
      await disableVoiceProcessing(context);
      const page = await context.newPage();
      page.on('pageerror', (e) => console.log(`[${who} pageerror] ${e.message}`));
      if (login) {
        await page.goto(login);
        await page.locator('#password').fill(printed.passwords[who]);
        const answer = page.waitForResponse((r) => r.url() === login && r.request().method() === 'POST');
        await page.getByRole('button', { name: 'Log in' }).click();
        assert.equal((await answer).status(), 200, `login to ${who}`);
      }
      await room.openRoom(page, url, { name: who === 'guest' ? 'Guest' : who });
      people[who] = { context, page };
    }
    for (const { page } of Object.values(people)) {
      for (const name of ['alice.os', 'bob.os', 'Guest']) await room.waitForParticipant(page, name);
    }
  });

  it("lets each hear the others' microphones, one speaker at a time", async () => {
    const everyone = Object.keys(people);
    for (const speaker of everyone) {
      // Only `speaker` is unmuted; everyone else must hear its tone.
      for (const who of everyone) {
        const muted = (await people[who].page.getByTestId('mute').getAttribute('aria-pressed')) === 'true';
        if ((who === speaker) === muted) await room.toggleSelfMute(people[who].page);
      }
      for (const listener of everyone.filter((w) => w !== speaker)) {
        const heard = await room.waitForTone(people[listener].page, { frequency: TONES[speaker], minRms: 0.05, timeoutMs: 20_000 });
        console.log(`${listener} hears ${speaker}: ${heard.frequency.toFixed(1)} Hz at RMS ${heard.rms.toFixed(3)}`);
      }
    }
  });
});
