// RoomCrypto, what the page adds around E2eeSession: clear rooms untouched on the same tick,
// the relayed stream id mapped to its sender, chat sealed and opened, and the rotation that
// follows our kick only once the removed participant is gone. Real WebCrypto; a tiny relay
// plays the node (hello → participant's e2ee, e2ee_keys → e2ee_key per addressee).
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64Url } from '../crypto/bytes';
import type { RoomState } from '../net/roomState';
import type { ClientBody, Participant, Role } from '../protocol/control';
import { decodeAudioFrame, encodeAudioFrame } from '../protocol/frame';
import { RoomCrypto, startingKey } from './roomCrypto';

const ROOM = 'r1';
const KEY = `0.${toBase64Url(new Uint8Array(32).map((_, i) => i))}`;

function person(id: string, role: Role, stream: number): Participant {
  return { id, name: id, role, stream, muted: false, self_muted: false, reconnecting: false, guest: false, node: 'alice.os', e2ee: null };
}

class Relay {
  participants: Participant[] = [];
  pages = new Map<string, RoomCrypto>();
  sent: { from: string; body: ClientBody }[] = [];
  keyTexts = new Map<string, string[]>();
  chat: RoomState['chat'] = [];

  constructor(readonly e2ee: boolean) {
    relayInUse = this;
  }

  /** `keyText` null: a link without the key. */
  join(id: string, role: Role, keyText: string | null = KEY): RoomCrypto {
    const page = new RoomCrypto({
      room: ROOM,
      keyText: keyText ?? undefined,
      send: (body) => this.receive(id, body),
      onKeyText: (text) => this.keyTexts.set(id, [...(this.keyTexts.get(id) ?? []), text]),
    });
    this.pages.set(id, page);
    this.participants.push(person(id, role, this.participants.length + 1));
    this.broadcast();
    return page;
  }

  state(me: string): RoomState {
    return {
      room: ROOM,
      host: 'alice.os',
      me,
      stream: this.participants.find((p) => p.id === me)?.stream ?? 0,
      resumeToken: `tok-${me}`,
      seq: 1,
      settings: { name: 'R', capacity: 10, default_role: 'speaker', guests_allowed: true, guests_may_speak: true, e2ee: this.e2ee },
      participants: this.participants.map((p) => ({ ...p })),
      hands: [],
      chat: this.chat,
      typingUntil: {},
      speaking: {},
      hostReachable: true,
      ended: null,
    };
  }

  broadcast(): void {
    for (const [id, page] of this.pages) if (this.participants.some((p) => p.id === id)) page.update(this.state(id));
  }

  remove(id: string): void {
    this.participants = this.participants.filter((p) => p.id !== id);
    this.broadcast();
  }

  receive(from: string, body: ClientBody): void {
    this.sent.push({ from, body });
    if (body.type === 'e2ee_hello') {
      this.participants = this.participants.map((p) => (p.id === from ? { ...p, e2ee: { public_key: body.public_key, proof: body.proof } } : p));
      this.broadcast();
    } else if (body.type === 'e2ee_keys') {
      for (const k of body.keys) this.pages.get(k.to)?.onKeyMessage({ type: 'e2ee_key', room: ROOM, epoch: body.epoch, from, wrapped: k.wrapped });
    }
  }

  streamOf(id: string): number {
    return this.participants.find((p) => p.id === id)!.stream;
  }
}

let relayInUse: Relay | null = null;

/**
 * Lets the sessions' queued key work and WebCrypto finish, and `ms` of real time pass (the key
 * switch waits 500 ms). Real timers: WebCrypto completes outside the fake clock's reach.
 */
async function settle(ms = 0): Promise<void> {
  const deadline = Date.now() + ms;
  do {
    await Promise.all([...(relayInUse?.pages.values() ?? [])].map((p) => p.idle()));
    await new Promise((r) => setTimeout(r, 10));
  } while (Date.now() < deadline);
  await Promise.all([...(relayInUse?.pages.values() ?? [])].map((p) => p.idle()));
}

function opusLike(bytes: number[]): Uint8Array<ArrayBuffer> {
  return encodeAudioFrame({ flags: 1, streamId: 0, sequence: 7, timestamp: 960, level: 30, payload: new Uint8Array(bytes) });
}

afterEach(() => {
  for (const p of relayInUse?.pages.values() ?? []) p.close();
  relayInUse = null;
});

describe('RoomCrypto in a clear room', () => {
  it('passes frames and chat through untouched, on the same tick', async () => {
    const relay = new Relay(false);
    const a = relay.join('a', 'host');
    const wire = opusLike([1, 2, 3]);
    expect(a.active).toBe(false);
    expect(a.outgoing(wire)).toBe(wire);
    const frame = decodeAudioFrame(wire);
    expect(a.incoming(frame)).toBe(frame);
    expect(await a.chatBody('hello')).toBe('hello');
    expect(a.chatText({ id: 'm1', from: 'a', name: 'a', text: 'hello', at_ms: 0 })).toEqual({ kind: 'clear', text: 'hello' });
    expect(relay.sent.filter((s) => s.body.type.startsWith('e2ee'))).toEqual([]);
  });
});

describe('RoomCrypto in an end-to-end encrypted room', () => {
  it('seals frames, and opens them under the sender the relayed stream id names', async () => {
    const relay = new Relay(true);
    const a = relay.join('a', 'host');
    const b = relay.join('b', 'speaker');
    await settle();
    expect(a.snapshot().kind).toBe('ok');
    const sealed = await a.outgoing(opusLike([9, 8, 7, 6]));
    expect(sealed).not.toBeNull();
    // SFrame header and tag: 13 to 16 bytes more than the Opus packet (docs/security.md).
    expect(sealed!.length - (16 + 4)).toBeGreaterThanOrEqual(13);
    expect(sealed!.length - (16 + 4)).toBeLessThanOrEqual(16);
    // The relay writes the sender's stream id into the header.
    const relayed = { ...decodeAudioFrame(sealed!), streamId: relay.streamOf('a') };
    const opened = await b.incoming(relayed);
    expect(opened && Array.from(opened.payload)).toEqual([9, 8, 7, 6]);
    // Filed under another participant's stream, it does not open; under no one's, it is dropped.
    expect(await b.incoming({ ...relayed, streamId: relay.streamOf('b') })).toBeNull();
    expect(b.incoming({ ...relayed, streamId: 999 })).toBeNull();
  });

  it('seals chat, and shows it opened once decrypted', async () => {
    const relay = new Relay(true);
    const a = relay.join('a', 'host');
    const b = relay.join('b', 'speaker');
    await settle();
    const text = await a.chatBody('meet at noon');
    expect(text).toMatch(/^e1\.[A-Za-z0-9_-]+$/);
    const message = { id: 'm1', from: 'a', name: 'a', text, at_ms: 1 };
    relay.chat = [message];
    relay.broadcast();
    expect(b.chatText(message).kind).toBe('pending');
    await settle();
    expect(b.chatText(message)).toEqual({ kind: 'opened', text: 'meet at noon' });
    // Under the wrong sender it stays unreadable (the sender is in the AAD).
    const forged = { ...message, id: 'm2', from: 'b' };
    relay.chat = [message, forged];
    relay.broadcast();
    await settle();
    expect(b.chatText(forged).kind).toBe('unreadable');
  });

  it('rotates after our kick only once the removed participant is gone, and not for them', async () => {
    const relay = new Relay(true);
    const a = relay.join('a', 'host');
    relay.join('b', 'speaker');
    relay.join('c', 'speaker');
    await settle();
    a.noteRemoval('c');
    relay.broadcast(); // c still listed: nothing yet
    await settle();
    const rotations = () => relay.sent.filter((s) => s.body.type === 'e2ee_keys' && s.body.epoch === 1).map((s) => s.body);
    expect(rotations()).toEqual([]);
    relay.remove('c');
    await settle(600);
    const keys = rotations();
    expect(keys).toHaveLength(1);
    const rotation = keys[0] as Extract<ClientBody, { type: 'e2ee_keys' }>;
    expect(rotation.epoch).toBe(1);
    expect(rotation.keys.map((k) => k.to)).toEqual(['b']);
    // The new key is saved for a reload and for the links A gives; B has it too.
    expect(relay.keyTexts.get('a')?.at(-1)).toMatch(/^1\./);
    expect(relay.keyTexts.get('b')?.at(-1)).toBe(relay.keyTexts.get('a')?.at(-1));
    expect(a.keyText()).toBe(relay.keyTexts.get('a')?.at(-1));
  });

  it('gives the new key only to those present at the kick, not to one who came in before the removal showed', async () => {
    const relay = new Relay(true);
    const a = relay.join('a', 'host');
    relay.join('b', 'speaker');
    relay.join('c', 'speaker');
    await settle();
    a.noteRemoval('c');
    // Someone with the old link (c in a second tab, say) comes in and announces a key that
    // verifies under the current epoch before c's removal reaches A.
    relay.join('c2', 'speaker');
    await settle();
    expect(relay.participants.find((p) => p.id === 'c2')?.e2ee).not.toBeNull();
    relay.remove('c');
    await settle(600);
    const rotation = relay.sent.find((s) => s.body.type === 'e2ee_keys' && s.body.epoch === 1)?.body as Extract<ClientBody, { type: 'e2ee_keys' }>;
    expect(rotation.keys.map((k) => k.to)).toEqual(['b']);
  });

  it('says the key is missing when the link had none', async () => {
    const relay = new Relay(true);
    const d = relay.join('d', 'speaker', null);
    await settle();
    expect(d.snapshot().kind).toBe('missing_key');
    expect(d.keyProblem).toBeNull();
    const e = relay.join('e', 'speaker', '0.not-a-key');
    await settle();
    expect(e.snapshot().kind).toBe('missing_key');
    expect(e.keyProblem).toMatch(/.+/);
  });
});

describe('startingKey', () => {
  it("takes the link's key, unless this browser keeps a newer one for the room", () => {
    expect(startingKey('0.aaa', undefined)).toBe('0.aaa');
    expect(startingKey(undefined, '3.kkk')).toBe('3.kkk');
    expect(startingKey(undefined, undefined)).toBeUndefined();
    expect(startingKey('0.old', '1.new')).toBe('1.new');
    expect(startingKey('2.link', '1.kept')).toBe('2.link');
    expect(startingKey('255.link', '0.kept')).toBe('0.kept'); // 0 comes after 255
    expect(startingKey('1.same', '1.other')).toBe('1.same');
    expect(startingKey('x.bad', '1.kept')).toBe('x.bad'); // a damaged link is reported, not hidden
  });
});
