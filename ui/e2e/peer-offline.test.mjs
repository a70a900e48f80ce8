// The node of a remote participant goes offline and comes back, in a fresh room on a fresh
// pair of devnode nodes: the host's page shows that participant as reconnecting, the remote
// page says the hosting node is not answering, and on return the missed chat and the audio
// come back without a reload.
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { devnodeBinary, packageZip, screenshotDir } from './lib/artifacts.mjs';
import { api, appUrl, bootDevnode, faults } from './lib/devnode.mjs';
import * as room from './lib/roomPage.mjs';
import { roomBrowser } from './lib/roomBrowser.mjs';
import { toneWav } from './lib/wav.mjs';

const TONE_HZ = 440;
const shots = screenshotDir();

describe('a remote participant whose node goes offline', () => {
  let dn;
  let A;
  let B;


  before(async () => {
    dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: packageZip() });
    const [alice, bob] = dn.nodes;
    const out = join(shots, '..');
    A = await roomBrowser(alice, toneWav(join(out, 'tone-440.wav'), { frequency: TONE_HZ, seconds: 4 }));
    B = await roomBrowser(bob, toneWav(join(out, 'silence.wav'), { seconds: 4, amplitude: 0 }));
    const created = await api(alice, 'CreateRoom', {
      name: 'Offline',
      capacity: 10,
      default_role: 'speaker',
      guests_allowed: false,
      guests_may_speak: false,
    });
    await room.openRoom(A.page, appUrl(alice, `/room/${created.id}`), { name: 'Alice' });
    await room.openRoom(B.page, appUrl(bob, `/room/${created.id}@alice.os?invite=${created.invite}`), { name: 'Bob' });
    await room.waitForTone(B.page, { frequency: TONE_HZ, minRms: 0.1 });
  });

  after(async () => {
    for (const b of [A, B]) await b?.context.close();
    await dn?.stop();
  });

  it('shows Bob reconnecting on the host page and the host unreachable on his', async () => {
    await faults.offline(dn, 'bob.os');
    // The host notices when a control message to bob.os goes unanswered (a chat here); audio
    // alone is fire-and-forget and tells it nothing.
    await room.sendChat(A.page, 'while bob.os was away');
    await A.page.locator('[data-testid=participant][data-name="Bob"][data-reconnecting=true]').waitFor({ timeout: 20_000 });
    await B.page.getByTestId('host-unreachable').waitFor({ timeout: 20_000 });
    await B.page.screenshot({ path: join(shots, 'host-unreachable.png') });
  });

  it('fills in the missed chat and brings the audio back when the node returns', async () => {
    await faults.online(dn, 'bob.os');
    await room.waitForChat(B.page, 'while bob.os was away', 30_000);
    await B.page.getByTestId('host-unreachable').waitFor({ state: 'detached', timeout: 30_000 });
    await A.page.locator('[data-testid=participant][data-name="Bob"][data-reconnecting=false]').waitFor({ timeout: 30_000 });
    await room.waitForTone(B.page, { frequency: TONE_HZ, minRms: 0.1, timeoutMs: 30_000 });
  });
});
