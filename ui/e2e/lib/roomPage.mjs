// Page helpers for end-to-end tests of the room UI (two browsers, two nodes). They drive the
// app the way a person does (data-testid hooks on the real views) and read what is heard
// through window.__voiceChat, the debug hook the audio engine installs.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const confirming = new WeakSet();

/** The home page still asks some "are you sure?" with a dialog; the tests mean yes. Once per page. */
function acceptDialogs(page) {
  if (confirming.has(page)) return;
  confirming.add(page);
  page.on('dialog', (dialog) => dialog.accept());
}

/** Opens a room page, fills the join form if it shows, and waits until the room is live. */
export async function openRoom(page, url, { name, timeoutMs = 20_000 } = {}) {
  acceptDialogs(page);
  await page.goto(url);
  const join = page.getByTestId('join-form');
  const live = page.locator('[data-testid=room][data-status=live]');
  await Promise.race([join.waitFor({ timeout: timeoutMs }), live.waitFor({ timeout: timeoutMs })]);
  if (await join.isVisible()) {
    if (name) await join.locator('input').fill(name);
    await page.getByTestId('join').click();
  }
  await live.waitFor({ timeout: timeoutMs });
}

export async function waitForLive(page, timeoutMs = 20_000) {
  await page.locator('[data-testid=room][data-status=live]').waitFor({ timeout: timeoutMs });
}

export function participant(page, name) {
  return page.locator(`[data-testid=participant][data-name="${name}"]`);
}

export async function participantNames(page) {
  return page.locator('[data-testid=participant]').evaluateAll((tiles) => tiles.map((t) => t.dataset.name));
}

export async function waitForParticipant(page, name, { role, timeoutMs = 15_000 } = {}) {
  const selector = `[data-testid=participant][data-name="${name}"]${role ? `[data-role=${role}]` : ''}`;
  await page.locator(selector).waitFor({ timeout: timeoutMs });
}

export async function waitForParticipantGone(page, name, timeoutMs = 15_000) {
  await participant(page, name).waitFor({ state: 'detached', timeout: timeoutMs });
}

export async function setRole(page, name, role) {
  await participant(page, name).getByRole('combobox').selectOption(role);
}

export async function moderatorMute(page, name) {
  await participant(page, name).getByRole('button', { name: /^(Mute|Unmute)$/ }).click();
}

export async function kick(page, name) {
  await confirmed(participant(page, name), 'Kick');
}

/** Clicks `label` inside `scope` and answers yes to the question the page asks in place. */
export async function confirmed(scope, label) {
  await scope.getByRole('button', { name: label, exact: true }).click();
  await scope.getByTestId('confirm-yes').click();
}

export async function toggleSelfMute(page) {
  await page.getByTestId('mute').click();
}

export async function sendChat(page, text) {
  const input = page.getByLabel('chat message');
  await input.fill(text);
  await input.press('Enter');
}

export async function waitForChat(page, text, timeoutMs = 15_000) {
  await page.locator('[data-testid=chat-message]', { hasText: text }).first().waitFor({ timeout: timeoutMs });
}

/** The notice page shown when the room is closed, unknown, or we were removed. */
export async function noticeTitle(page, timeoutMs = 15_000) {
  const notice = page.getByTestId('notice');
  await notice.waitFor({ timeout: timeoutMs });
  return notice.locator('h1').innerText();
}

/** What this browser has been hearing over the last `windowMs`. */
export async function listen(page, windowMs = 1000) {
  return page.evaluate(
    (ms) => ({
      rms: window.__voiceChat.recentOutputRms(ms),
      frequency: window.__voiceChat.dominantFrequency(),
      stats: window.__voiceChat.stats(),
    }),
    windowMs,
  );
}

/** Waits until the tone is heard: dominant frequency within `toleranceHz` and RMS above `minRms`. */
export async function waitForTone(page, { frequency = 440, toleranceHz = 15, minRms = 0.02, timeoutMs = 15_000 } = {}) {
  const start = Date.now();
  let last = null;
  while (Date.now() - start < timeoutMs) {
    last = await listen(page, 500);
    if (last.rms >= minRms && last.frequency !== null && Math.abs(last.frequency - frequency) <= toleranceHz) return last;
    await sleep(200);
  }
  throw new Error(`tone ${frequency} Hz not heard within ${timeoutMs} ms; last: ${JSON.stringify({ rms: last?.rms, frequency: last?.frequency })}`);
}

/** Waits until the output has been quiet (RMS below `maxRms`) for `windowMs`. */
export async function waitForSilence(page, { maxRms = 0.005, windowMs = 500, timeoutMs = 10_000 } = {}) {
  const start = Date.now();
  let rms = null;
  while (Date.now() - start < timeoutMs) {
    rms = await page.evaluate((ms) => window.__voiceChat.recentOutputRms(ms), windowMs);
    if (rms <= maxRms) return rms;
    await sleep(200);
  }
  throw new Error(`output not silent within ${timeoutMs} ms; last RMS ${rms}`);
}

/**
 * One mouth-to-ear sample: a tone burst injected at A's capture (after the mic), timed where
 * B's mixer first plays it plus B's output latency. Both pages run on this machine, so their
 * wall clocks agree. Use a silent fake-mic WAV in A so the burst stands out.
 */
export async function mouthToEar(pageA, pageB, { frequency = 1000, burstMs = 200, waitMs = 1500 } = {}) {
  const started = await pageA.evaluate(([f, ms]) => window.__voiceChat.injectTone(f, ms), [frequency, burstMs]);
  if (started === null) throw new Error('browser A has no open microphone to inject a tone into');
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const heardAt = await pageB.evaluate((t) => window.__voiceChat.firstLoudAfter(t), started);
    if (heardAt !== null) return heardAt - started;
    await sleep(20);
  }
  return null;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Counts, in every page of `context`, the sockets the app opens and the join messages it sends
 * (window.__joinAttempts), so a test can say how many join attempts a page made.
 */
export async function countJoinAttempts(context) {
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    const counts = { sockets: 0, joins: 0 };
    window.__joinAttempts = counts;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        counts.sockets++;
      }
      send(data) {
        if (typeof data === 'string') {
          try {
            if (JSON.parse(data).type === 'join') counts.joins++;
          } catch {
            /* not JSON: the app's own business */
          }
        }
        super.send(data);
      }
    };
  });
}

export function joinAttempts(page) {
  return page.evaluate(() => ({ ...window.__joinAttempts }));
}

/** Opens a room page, joins with `name`, and waits for the page that says the join was refused. */
export async function joinExpectingRefusal(page, url, { name, timeoutMs = 30_000 } = {}) {
  await page.goto(url);
  const join = page.getByTestId('join-form');
  await join.waitFor({ timeout: timeoutMs });
  if (name) await join.locator('input').fill(name);
  await page.getByTestId('join').click();
  const refused = page.getByTestId('join-refused');
  await refused.waitFor({ timeout: timeoutMs });
  return {
    code: await refused.getAttribute('data-code'),
    title: await page.getByTestId('notice').locator('h1').innerText(),
    nextStep: await page.getByTestId('next-step').innerText(),
  };
}
