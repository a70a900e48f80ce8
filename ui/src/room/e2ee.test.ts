// E2eeSession between several pages, through a small relay playing the node's part: it keeps the
// roster (with what each page announced), turns `e2ee_hello` into the participant's `e2ee` field
// and `e2ee_keys` into one `e2ee_key` per addressee, and gives every connected page its view of
// the room after each change. Real WebCrypto everywhere; fake timers for the switch delays.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toBase64Url, fromBase64Url } from '../crypto/bytes';
import { parseInviteKey } from '../crypto/inviteKey';
import { generateMemberKeys, importPublicKey, wrapRoomKey, type MemberKeyPair } from '../crypto/memberKeys';
import { makeProof } from '../crypto/proof';
import { generateRoomKey, type RoomKey } from '../crypto/roomKey';
import type { RoomState } from '../net/roomState';
import type { ClientBody, E2eeKeyMessage, Participant, Role } from '../protocol/control';
import { decodeAudioFrame, encodeAudioFrame, type AudioFrame } from '../protocol/frame';
import { decodeSframeHeader } from '../crypto/sframeHeader';
import { kidEpoch } from '../crypto/nonce';
import { E2eeSession } from './e2ee';

const ROOM = 'r1';

interface Page {
  id: string;
  session: E2eeSession;
  connected: boolean;
}

class Relay {
  participants: Participant[] = [];
  pages = new Map<string, Page>();
  /** Every e2ee_key delivered: to whom, from whom, which epoch. */
  delivered: { to: string; from: string; epoch: number }[] = [];
  /** What the node shows one page instead of the truth: viewer → (participant → public key). */
  substitutions = new Map<string, Map<string, string>>();
  traffic = 0;
  e2ee = true;
  /** Hellos from these pages are lost (a socket that dropped). */
  dropHello = new Set<string>();
  /** How long an e2ee_key takes to reach its page (0: at once). */
  keyLatencyMs = 0;

  join(id: string, role: Role, linkKey: RoomKey | null, options: Partial<ConstructorParameters<typeof E2eeSession>[0]> = {}): Page {
    const session = new E2eeSession({
      room: ROOM,
      linkKey,
      send: (body) => this.receive(id, body),
      onChange: () => {},
      ...options,
    });
    const page = { id, session, connected: true };
    this.pages.set(id, page);
    this.participants.push(person(id, role));
    this.broadcast();
    return page;
  }

  /** Kicked: out of the roster, its page no longer hears from the room. */
  remove(id: string): void {
    this.participants = this.participants.filter((p) => p.id !== id);
    this.pages.get(id)!.connected = false;
    this.broadcast();
  }

  setRole(id: string, role: Role): void {
    this.participants = this.participants.map((p) => (p.id === id ? { ...p, role } : p));
    this.broadcast();
  }

  /** A participant without a page (a raw client): only its announcement. */
  announce(id: string, role: Role, publicKey: string, proof: string): void {
    this.participants.push({ ...person(id, role), e2ee: { public_key: publicKey, proof } });
    this.broadcast();
  }

  stateFor(id: string): RoomState {
    const subs = this.substitutions.get(id);
    return {
      room: ROOM,
      host: 'alice.os',
      me: id,
      stream: this.participants.find((p) => p.id === id)?.stream ?? 0,
      resumeToken: `tok-${id}`,
      seq: this.traffic,
      settings: { name: 'R', capacity: 10, default_role: 'speaker', guests_allowed: true, guests_may_speak: true, e2ee: this.e2ee },
      participants: this.participants.map((p) =>
        subs?.has(p.id) && p.e2ee ? { ...p, e2ee: { ...p.e2ee, public_key: subs.get(p.id)! } } : p,
      ),
      hands: [],
      chat: [],
      typingUntil: {},
      speaking: {},
      hostReachable: true,
      ended: null,
    };
  }

  broadcast(): void {
    this.traffic++;
    for (const page of this.pages.values()) if (page.connected) page.session.update(this.stateFor(page.id));
  }

  deliver(to: string, message: E2eeKeyMessage): void {
    this.traffic++;
    this.delivered.push({ to, from: message.from, epoch: message.epoch });
    const page = this.pages.get(to);
    if (page?.connected) void page.session.onKeyMessage(message);
  }

  receive(from: string, body: ClientBody): void {
    if (!this.pages.get(from)?.connected) return;
    if (body.type === 'e2ee_hello') {
      if (this.dropHello.has(from)) return;
      this.participants = this.participants.map((p) => (p.id === from ? { ...p, e2ee: { public_key: body.public_key, proof: body.proof } } : p));
      this.broadcast();
    } else if (body.type === 'e2ee_keys') {
      const sender = this.participants.find((p) => p.id === from);
      if (!sender || (sender.role !== 'host' && sender.role !== 'moderator')) throw new Error(`forbidden e2ee_keys from ${from}`);
      for (const k of body.keys) {
        const message: E2eeKeyMessage = { type: 'e2ee_key', room: ROOM, epoch: body.epoch, from, wrapped: k.wrapped };
        if (this.keyLatencyMs > 0) setTimeout(() => this.deliver(k.to, message), this.keyLatencyMs);
        else this.deliver(k.to, message);
      }
    }
  }

  /** Until no page has key work left and nothing moved through the relay. */
  async settle(): Promise<void> {
    for (let round = 0; round < 50; round++) {
      const before = this.traffic;
      await Promise.all([...this.pages.values()].map((p) => p.session.idle()));
      if (this.traffic === before) return;
    }
    throw new Error('the relay did not settle');
  }
}

function person(id: string, role: Role): Participant {
  return {
    id,
    name: id,
    role,
    stream: id.charCodeAt(0),
    muted: false,
    self_muted: false,
    reconnecting: false,
    guest: false,
    node: 'alice.os',
  };
}

let seq = 0;
function clearFrame(streamId: number): Uint8Array {
  seq++;
  return encodeAudioFrame({ flags: 1, streamId, sequence: seq, timestamp: seq * 960, level: 30, payload: new Uint8Array([seq & 0xff, 1, 2, 3, 4]) });
}

/** A's frame as the relay hands it to listeners. */
async function sealed(page: Page): Promise<{ frame: AudioFrame; clear: Uint8Array; epoch: number }> {
  const clear = clearFrame(page.id.charCodeAt(0));
  const wire = await page.session.encryptFrame(clear);
  expect(wire).not.toBeNull();
  const frame = decodeAudioFrame(wire!);
  return { frame, clear: decodeAudioFrame(clear).payload, epoch: kidEpoch(decodeSframeHeader(frame.payload).kid) };
}

async function opens(page: Page, sent: { frame: AudioFrame; clear: Uint8Array }, from: string): Promise<boolean> {
  const out = await page.session.decryptFrame(sent.frame, from);
  if (out) expect(out.payload).toEqual(sent.clear);
  return out !== null;
}

const epochOf = (page: Page) => parseInviteKey(page.session.inviteFragment()!).epoch;

/** A (Host), B and C (Speakers) in a room under one link key, settled. */
async function hostAndTwoSpeakers(): Promise<{ link: RoomKey; a: Page; b: Page; c: Page }> {
  const link = generateRoomKey(0);
  const a = relay.join('A', 'host', link);
  const b = relay.join('B', 'speaker', link);
  const c = relay.join('C', 'speaker', link);
  await relay.settle();
  return { link, a, b, c };
}

// Captured before the tests fake the timers (the switch delay runs on the fake ones).
const realSetTimeout = globalThis.setTimeout;

let relay: Relay;
beforeEach(() => {
  vi.useFakeTimers();
  relay = new Relay();
});
afterEach(() => {
  for (const p of relay.pages.values()) p.session.close();
  vi.useRealTimers();
});

describe('E2eeSession', () => {
  it('carries frames and chat from A to B under the link key, and both show the same safety code', async () => {
    const link = generateRoomKey(0);
    const a = relay.join('A', 'host', link);
    const b = relay.join('B', 'speaker', link);
    await relay.settle();
    expect(a.session.status()).toMatchObject({ kind: 'ok', epoch: 0 });
    expect(b.session.status()).toMatchObject({ kind: 'ok', epoch: 0 });
    // Both announced a public key with a proof under the link key's epoch.
    expect(relay.participants.map((p) => p.e2ee?.proof.split('.')[0])).toEqual(['0', '0']);

    for (let i = 0; i < 3; i++) expect(await opens(b, await sealed(a), 'A')).toBe(true);
    // Filed under another sender, it does not open.
    expect(await opens(b, await sealed(a), 'B')).toBe(false);

    const text = await a.session.encryptChat('hello, B');
    expect(text.startsWith('e1.')).toBe(true);
    expect(await b.session.decryptChat({ id: 1, from: 'A', name: 'A', text, at_ms: 0 })).toBe('hello, B');
    expect(await b.session.decryptChat({ id: 1, from: 'B', name: 'B', text, at_ms: 0 })).toBeNull();

    const codeA = a.session.safetyCode();
    expect(codeA).toMatch(/^\d{5} \d{5} \d{5} \d{5}$/);
    expect(b.session.safetyCode()).toBe(codeA);
    expect(a.session.inviteFragment()).toBe(`#k=0.${toBase64Url(link.secret)}`);
  });

  it('is off in a clear room, and missing_key in an e2ee room opened without the key (no hello sent)', async () => {
    relay.e2ee = false;
    const clear = relay.join('A', 'host', null);
    await relay.settle();
    expect(clear.session.status()).toEqual({ kind: 'off' });

    relay = new Relay();
    const link = generateRoomKey(0);
    relay.join('A', 'host', link);
    const e = relay.join('E', 'speaker', null);
    await relay.settle();
    expect(e.session.status()).toEqual({ kind: 'missing_key' });
    expect(relay.participants.find((p) => p.id === 'E')!.e2ee).toBeUndefined();
    expect(relay.delivered.filter((d) => d.to === 'E')).toEqual([]);
    expect(e.session.inviteFragment()).toBeNull();
    expect(await e.session.encryptFrame(clearFrame(1))).toBeNull();
  });

  it('after kicking C and rotating: B follows without a gap, C cannot open what A sends next', async () => {
    const { a, b, c } = await hostAndTwoSpeakers();

    relay.remove('C');
    // The new key takes 100 ms to reach B; A keeps talking across its switch: 20 ms frames for 1 s.
    relay.keyLatencyMs = 100;
    await a.session.rotate();
    const epochs: number[] = [];
    const atB: boolean[] = [];
    const atC: boolean[] = [];
    let held: Awaited<ReturnType<typeof sealed>> | null = null;
    for (let i = 0; i < 50; i++) {
      const s = await sealed(a);
      if (s.epoch === 0) held = s;
      epochs.push(s.epoch);
      atB.push(await opens(b, s, 'A'));
      atC.push(await opens(c, s, 'A'));
      await vi.advanceTimersByTimeAsync(20);
    }
    // One e2ee_keys of epoch 1, for B only.
    expect(relay.delivered.filter((d) => d.epoch === 1)).toEqual([{ to: 'B', from: 'A', epoch: 1 }]);
    expect(epochOf(b)).toBe(1);
    // The switch happened while talking, and B opened every frame on both sides of it.
    expect(epochs[0]).toBe(0);
    expect(epochs.at(-1)).toBe(1);
    expect(atB.every(Boolean)).toBe(true);
    // C opened the frames under the old key and none under the new one.
    expect(atC).toEqual(epochs.map((e) => e === 0));
    // C first waits (a new key may be on its way), then says the key changed without it.
    expect(c.session.status()).toEqual({ kind: 'waiting' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(c.session.status()).toEqual({ kind: 'key_changed', epoch: 1 });
    expect(b.session.status()).toMatchObject({ kind: 'ok', epoch: 1 });

    // A late frame under the old key still opens at B for a while after the switch, then not.
    expect(await opens(b, held!, 'A')).toBe(true);
    await vi.advanceTimersByTimeAsync(11_000);
    expect(await opens(b, held!, 'A')).toBe(false);
    expect(await opens(b, await sealed(a), 'A')).toBe(true);

    // Chat under the new key: B reads it, C does not.
    const text = await a.session.encryptChat('C is gone');
    expect(await b.session.decryptChat({ id: 2, from: 'A', name: 'A', text, at_ms: 0 })).toBe('C is gone');
    expect(await c.session.decryptChat({ id: 2, from: 'A', name: 'A', text, at_ms: 0 })).toBeNull();
  });

  it('derives the frame keys for the new key during the switch delay, not when the first frame under it is sent', async () => {
    const { a } = await hostAndTwoSpeakers();
    expect((await sealed(a)).epoch).toBe(0);

    const phases: string[] = [];
    let phase = 'rotate';
    const deriveBits = crypto.subtle.deriveBits.bind(crypto.subtle);
    vi.spyOn(crypto.subtle, 'deriveBits').mockImplementation((...args) => {
      phases.push(phase);
      return deriveBits(...args);
    });
    relay.remove('C');
    await a.session.rotate();
    await relay.settle();
    // WebCrypto works on real threads: give the derivation started at the rotation real time.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => realSetTimeout(resolve, 20));
    expect(phases.filter((p) => p === 'rotate').length).toBeGreaterThan(0);

    phase = 'switch';
    await vi.advanceTimersByTimeAsync(500);
    const first = await sealed(a);
    expect(first.epoch).toBe(1);
    expect(phases.filter((p) => p === 'switch')).toEqual([]);
  });

  it('a newcomer with the old link gets no key after a rotation; with the current link it is in', async () => {
    const { link, a } = await hostAndTwoSpeakers();
    relay.remove('C');
    await a.session.rotate();
    await relay.settle();
    await vi.advanceTimersByTimeAsync(600);

    const old = relay.join('D', 'speaker', link);
    await relay.settle();
    // D announced a proof under epoch 0; the Host shares only epoch 1, and not with it.
    expect(relay.participants.find((p) => p.id === 'D')!.e2ee!.proof.startsWith('0.')).toBe(true);
    expect(relay.delivered.filter((d) => d.to === 'D')).toEqual([]);
    // The Host's proof is under epoch 1: D knows its key is old, waits a moment, then says so.
    expect(old.session.status()).toEqual({ kind: 'waiting' });
    expect(await opens(old, await sealed(a), 'A')).toBe(false);
    await vi.advanceTimersByTimeAsync(1_500);
    await relay.settle();
    expect(old.session.status()).toEqual({ kind: 'key_changed', epoch: 1 });
    expect(relay.delivered.filter((d) => d.to === 'D')).toEqual([]);

    const current = relay.join('F', 'speaker', parseInviteKey(a.session.inviteFragment()!));
    await relay.settle();
    expect(current.session.status()).toMatchObject({ kind: 'ok', epoch: 1 });
    expect(relay.delivered.filter((d) => d.to === 'F')).toEqual([{ to: 'F', from: 'A', epoch: 1 }]);
    expect(await opens(current, await sealed(a), 'A')).toBe(true);
    expect(current.session.safetyCode()).toBe(a.session.safetyCode());

    // The next rotation goes to those who hold the current key (B, F), still not to D.
    await a.session.rotate();
    await relay.settle();
    expect(relay.delivered.filter((d) => d.epoch === 2).map((d) => d.to).sort()).toEqual(['B', 'F']);
    expect(relay.delivered.filter((d) => d.to === 'D')).toEqual([]);
  });

  it('takes a key only from a Host or Moderator, and only when it opens intact', async () => {
    const link = generateRoomKey(4);
    relay.join('A', 'host', link);
    const b = relay.join('B', 'speaker', link);
    await relay.settle();
    // X: a raw client in the room that holds the key and announced itself properly.
    const x: MemberKeyPair = await generateMemberKeys();
    relay.announce('X', 'speaker', x.publicText, await makeProof(link, { room: ROOM, participant: 'X', publicKey: x.publicText }));
    await relay.settle();
    const bPublic = await importPublicKey(relay.participants.find((p) => p.id === 'B')!.e2ee!.public_key);
    const next = generateRoomKey(5);
    const wrapped = await wrapRoomKey(x.privateKey, bPublic, next, { room: ROOM, from: 'X', to: 'B' });
    const message: E2eeKeyMessage = { type: 'e2ee_key', room: ROOM, epoch: 5, from: 'X', wrapped };

    // From a Speaker (a node may deliver what it likes): ignored.
    await b.session.onKeyMessage(message);
    expect(epochOf(b)).toBe(4);

    relay.setRole('X', 'moderator');
    await relay.settle();
    // From a Moderator but tampered with: ignored.
    const bytes = fromBase64Url(wrapped);
    bytes[20] ^= 0x40;
    await b.session.onKeyMessage({ ...message, wrapped: toBase64Url(bytes) });
    expect(epochOf(b)).toBe(4);
    // Another epoch than the one sealed inside: ignored.
    await b.session.onKeyMessage({ ...message, epoch: 6 });
    expect(epochOf(b)).toBe(4);

    // Intact, from a Moderator: taken.
    await b.session.onKeyMessage(message);
    expect(epochOf(b)).toBe(5);
    // An older key afterwards is ignored.
    const older = await wrapRoomKey(x.privateKey, bPublic, generateRoomKey(4), { room: ROOM, from: 'X', to: 'B' });
    await b.session.onKeyMessage({ ...message, epoch: 4, wrapped: older });
    expect(epochOf(b)).toBe(5);
  });

  it('the safety codes differ when the node shows A another public key for B', async () => {
    const link = generateRoomKey(0);
    const a = relay.join('A', 'host', link);
    const b = relay.join('B', 'speaker', link);
    await relay.settle();
    expect(a.session.safetyCode()).toBe(b.session.safetyCode());

    const node = await generateMemberKeys();
    relay.substitutions.set('A', new Map([['B', node.publicText]]));
    relay.broadcast();
    await relay.settle();
    expect(a.session.safetyCode()).not.toBeNull();
    expect(a.session.safetyCode()).not.toBe(b.session.safetyCode());
  });

  it('a Moderator shares the key when no Host is connected, and only the Host when one is', async () => {
    const link = generateRoomKey(0);
    relay.join('M', 'moderator', link);
    relay.join('B', 'speaker', link);
    await relay.settle();
    expect(relay.delivered).toEqual([{ to: 'B', from: 'M', epoch: 0 }]);

    relay.join('A', 'host', link);
    relay.join('G', 'speaker', link);
    await relay.settle();
    expect(relay.delivered.filter((d) => d.to === 'G')).toEqual([{ to: 'G', from: 'A', epoch: 0 }]);
  });

  it('sends its hello again after a welcome when the node did not keep it', async () => {
    const link = generateRoomKey(0);
    relay.dropHello.add('B');
    relay.join('A', 'host', link);
    const b = relay.join('B', 'speaker', link);
    await relay.settle();
    expect(relay.participants.find((p) => p.id === 'B')!.e2ee).toBeUndefined();
    relay.dropHello.clear();
    b.session.welcomed();
    await relay.settle();
    expect(relay.participants.find((p) => p.id === 'B')!.e2ee!.proof.startsWith('0.')).toBe(true);
  });

  it('keeps a key whose sender it does not know yet, and takes it once the sender is announced', async () => {
    const link = generateRoomKey(0);
    relay.join('A', 'host', link);
    const b = relay.join('B', 'speaker', link);
    await relay.settle();
    const x = await generateMemberKeys();
    const bPublic = await importPublicKey(relay.participants.find((p) => p.id === 'B')!.e2ee!.public_key);
    const next = generateRoomKey(1);
    const wrapped = await wrapRoomKey(x.privateKey, bPublic, next, { room: ROOM, from: 'X', to: 'B' });
    // The key arrives before the events that show X (a resume replays them after it).
    await b.session.onKeyMessage({ type: 'e2ee_key', room: ROOM, epoch: 1, from: 'X', wrapped });
    expect(epochOf(b)).toBe(0);
    relay.announce('X', 'moderator', x.publicText, await makeProof(link, { room: ROOM, participant: 'X', publicKey: x.publicText }));
    await relay.settle();
    expect(epochOf(b)).toBe(1);
  });

  it('a member announcing a public key that is no P-256 point cannot stop the rotation for the others', async () => {
    const link = generateRoomKey(0);
    const a = relay.join('A', 'host', link);
    const b = relay.join('B', 'speaker', link);
    // M holds the key (its proof verifies under it) but announces 87 characters that are no point.
    const bogus = 'A'.repeat(87);
    relay.announce('M', 'speaker', bogus, await makeProof(link, { room: ROOM, participant: 'M', publicKey: bogus }));
    relay.join('C', 'speaker', link);
    await relay.settle();
    relay.remove('C');
    await a.session.rotate();
    await relay.settle();
    expect(relay.delivered.filter((d) => d.epoch === 1)).toEqual([{ to: 'B', from: 'A', epoch: 1 }]);
    expect(epochOf(b)).toBe(1);
  });

  it('rotates only for the recipients it is given (one who rejoined in between gets nothing)', async () => {
    const { link, a } = await hostAndTwoSpeakers();
    relay.remove('C');
    // C is back under a new id with the old link before A's rotation runs; its proof verifies.
    relay.join('C2', 'speaker', link);
    await relay.settle();
    await a.session.rotate(new Set(['A', 'B']));
    await relay.settle();
    expect(relay.delivered.filter((d) => d.epoch === 1).map((d) => d.to)).toEqual(['B']);
  });

  it('a Speaker cannot rotate', async () => {
    const link = generateRoomKey(0);
    relay.join('A', 'host', link);
    const b = relay.join('B', 'speaker', link);
    await relay.settle();
    await expect(b.session.rotate()).rejects.toThrow(/Host or a Moderator/);
  });
});
