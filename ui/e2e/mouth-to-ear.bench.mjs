// Benchmark (not a test): mouth-to-ear latency across two devnode nodes. Browser A (on
// alice.os, silent fake mic) gets 1 kHz bursts injected right after its microphone; browser B
// (on bob.os, in alice's room) times when its mixer first plays each one, plus its output
// latency. Prints p50/p95 over N bursts, with no added link latency and with 50 ms.
// Run: npm run bench:mouth-to-ear [-- --bursts 30]
import { join } from 'node:path';
import { devnodeBinary, packageZip, screenshotDir } from './lib/artifacts.mjs';
import { launchChromium } from './lib/browser.mjs';
import { api, appUrl, bootDevnode, disableVoiceProcessing, faults, loginContext } from './lib/devnode.mjs';
import { mouthToEar, openRoom, percentile, waitForParticipant } from './lib/roomPage.mjs';
import { toneWav } from './lib/wav.mjs';

const arg = process.argv.indexOf('--bursts');
const BURSTS = arg > 0 ? Number(process.argv[arg + 1]) : 30;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: packageZip() });
const [alice, bob] = dn.nodes;
const silence = toneWav(join(screenshotDir(), '..', 'silence.wav'), { seconds: 4, amplitude: 0 });
const browsers = [];

async function open(node) {
  const context = await launchChromium({ fakeMicWav: silence });
  browsers.push(context);
  await loginContext(context, node);
  await disableVoiceProcessing(context);
  return context.newPage();
}

async function measure(label, a, b) {
  const samples = [];
  let missed = 0;
  for (let i = 0; i < BURSTS; i++) {
    const ms = await mouthToEar(a, b, { frequency: 1000, burstMs: 200 });
    if (ms === null) missed++;
    else samples.push(ms);
    await sleep(400);
  }
  samples.sort((x, y) => x - y);
  const f = (v) => (v === null ? '–' : `${v.toFixed(0)} ms`);
  console.log(
    `${label.padEnd(28)} p50 ${f(percentile(samples, 50))}  p95 ${f(percentile(samples, 95))}  ` +
      `min ${f(samples[0] ?? null)}  max ${f(samples.at(-1) ?? null)}  (${samples.length}/${BURSTS} heard)`,
  );
  return { samples, missed };
}

try {
  const room = await api(alice, 'CreateRoom', {
    name: 'Latency',
    capacity: 10,
    default_role: 'speaker',
    guests_allowed: false,
    guests_may_speak: false,
  });
  const a = await open(alice);
  const b = await open(bob);
  await openRoom(a, appUrl(alice, `/room/${room.id}`), { name: 'A' });
  await openRoom(b, appUrl(bob, `/room/${room.id}@alice.os?invite=${room.invite}`), { name: 'B' });
  await waitForParticipant(b, 'A');
  await sleep(1500);
  console.log(`mouth-to-ear, browser on alice.os → browser on bob.os (room hosted on alice.os), ${BURSTS} bursts each:`);
  await measure('loopback link', a, b);
  await faults.link(dn, 'alice.os', 'bob.os', { latencyMs: 50 });
  await sleep(1000);
  await measure('+50 ms between the nodes', a, b);
} finally {
  for (const context of browsers) await context.close();
  await dn.stop();
}
