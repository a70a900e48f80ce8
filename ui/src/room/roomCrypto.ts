// One room's end-to-end encryption as the session uses it: between the audio engine and the
// connection (frames out are sealed, frames in are opened under their sender's keys), around
// chat (sent sealed, shown opened), and after a kick or ban by us (the key rotates once the
// removed are gone). The key decisions are E2eeSession's (./e2ee.ts); this adds what a page
// needs: which participant a relayed stream id belongs to, the opened chat texts, the current
// key saved for a reload and for the links we give, and a store the views subscribe to.
//
// In a room that is not end-to-end encrypted everything passes through untouched, on the same
// tick (no promise on the audio path).

import { parseInviteKey } from '../crypto/inviteKey';
import type { RoomKey } from '../crypto/roomKey';
import type { RoomState } from '../net/roomState';
import type { AudioFrame } from '../protocol/frame';
import type { ChatMessage, ClientBody, E2eeKeyMessage, ParticipantId } from '../protocol/control';
import { E2eeSession, epochNewer, type E2eeStatus } from './e2ee';

/** A chat message as a view shows it. */
export type ChatText =
  | { kind: 'clear'; text: string }
  | { kind: 'opened'; text: string }
  | { kind: 'pending' }
  | { kind: 'unreadable' };

export interface RoomCryptoOptions {
  room: string;
  /** The `k=` text from the link or this browser's storage, if any. */
  keyText: string | undefined;
  send(body: ClientBody): void;
  /** The room's current key as `k=` text, each time it changes (saved for a reload and links). */
  onKeyText?(keyText: string): void;
}

export class RoomCrypto {
  private readonly session: E2eeSession;
  private readonly streams = new Map<number, ParticipantId>();
  private readonly chat = new Map<string, ChatText>();
  private readonly listeners = new Set<() => void>();
  private readonly removals = new Set<ParticipantId>();
  /** Who was in the room when we decided the removals: the most the new key may go to. */
  private keepers: Set<ParticipantId> | null = null;
  private present = new Set<ParticipantId>();
  private status: E2eeStatus = { kind: 'off' };
  private readonly sealDelays = new Ring(3000);
  private readonly openDelays = new Ring(3000);
  private savedKey: string | null;
  private closed = false;
  /** Why the key from the link could not be used (a damaged fragment), for the page. */
  readonly keyProblem: string | null;

  constructor(private readonly options: RoomCryptoOptions) {
    let linkKey: RoomKey | null = null;
    let problem: string | null = null;
    if (options.keyText) {
      try {
        linkKey = parseInviteKey(options.keyText);
      } catch (e) {
        problem = e instanceof Error ? e.message : String(e);
      }
    }
    this.keyProblem = problem;
    this.savedKey = options.keyText ?? null;
    this.session = new E2eeSession({
      room: options.room,
      linkKey,
      send: (body) => options.send(body),
      onChange: () => this.changed(),
    });
  }

  /** The room is end-to-end encrypted (known from the welcome on). */
  get active(): boolean {
    return this.status.kind !== 'off';
  }

  snapshot = (): E2eeStatus => this.status;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** After every change of the room state (welcome, events, snapshots). */
  update(state: RoomState | null): void {
    if (!state || this.closed) return;
    this.streams.clear();
    for (const p of state.participants) this.streams.set(p.stream, p.id);
    this.session.update(state);
    this.openChat(state.chat);
    const present = new Set(state.participants.map((p) => p.id));
    this.present = present;
    if (this.removals.size > 0 && [...this.removals].every((id) => !present.has(id))) {
      // Everyone we removed is gone from the room: a new key for those who remain, and only
      // for those who were there when we removed them (not one who came back meanwhile).
      const recipients = new Set([...(this.keepers ?? present)].filter((id) => !this.removals.has(id) && present.has(id)));
      this.removals.clear();
      this.keepers = null;
      void this.session.rotate(recipients).catch((e) => console.warn('key rotation failed', e));
    }
    this.changed();
  }

  /** After each welcome (join or resume). */
  welcomed(): void {
    this.session.welcomed();
  }

  onKeyMessage(message: E2eeKeyMessage): void {
    void this.session.onKeyMessage(message).catch((e) => console.warn('room key refused', e));
  }

  /** We sent a kick or ban: rotate the key once that participant has left the room. */
  noteRemoval(participant: ParticipantId): void {
    if (!this.active) return;
    this.removals.add(participant);
    const now = new Set(this.present);
    this.keepers = this.keepers ? new Set([...this.keepers].filter((id) => now.has(id))) : now;
  }

  /** A frame from our encoder, sealed when the room is encrypted; null when it must not go out. */
  outgoing(wire: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer> | null> {
    if (!this.active) return wire;
    const start = performance.now();
    return this.session.encryptFrame(wire).then((sealed) => {
      if (sealed) this.sealDelays.add(performance.now() - start);
      return sealed;
    });
  }

  /** A frame from the relay, opened when the room is encrypted; null when it cannot be. */
  incoming(frame: AudioFrame): AudioFrame | Promise<AudioFrame | null> | null {
    if (!this.active) return frame;
    const sender = this.streams.get(frame.streamId);
    if (sender === undefined) return null;
    const start = performance.now();
    return this.session.decryptFrame(frame, sender).then((opened) => {
      if (opened) this.openDelays.add(performance.now() - start);
      return opened;
    });
  }

  /**
   * What the cipher adds to each frame's way, in ms, for the latency budget: from the encoder's
   * output to the sealed frame, and from the frame's arrival to its opened payload (the last
   * frames of each; the mouth-to-ear bench reads them through the test hook).
   */
  cipherDelays(): { sealMs: number[]; openMs: number[] } {
    return { sealMs: this.sealDelays.values(), openMs: this.openDelays.values() };
  }

  /** The text to put in a `chat` message. */
  async chatBody(text: string): Promise<string> {
    return this.active ? this.session.encryptChat(text) : text;
  }

  chatText(message: ChatMessage): ChatText {
    if (!this.active) return { kind: 'clear', text: message.text };
    return this.chat.get(cacheKey(message)) ?? { kind: 'pending' };
  }

  /** The current key as `k=` text, for links; null in a clear room or before we have one. */
  keyText(): string | null {
    return this.session.inviteFragment()?.replace(/^#?k=/, '') ?? null;
  }

  /** Tests: the session's queued key work is done. */
  idle(): Promise<void> {
    return this.session.idle();
  }

  close(): void {
    this.closed = true;
    this.session.close();
    this.listeners.clear();
  }

  private openChat(messages: ChatMessage[]): void {
    if (!this.active) return;
    const live = new Set<string>();
    for (const m of messages) {
      const key = cacheKey(m);
      live.add(key);
      if (this.chat.has(key)) continue;
      this.chat.set(key, { kind: 'pending' });
      this.session
        .decryptChat(m)
        .then((text) => this.chat.set(key, text === null ? { kind: 'unreadable' } : { kind: 'opened', text }))
        .catch(() => this.chat.set(key, { kind: 'unreadable' }))
        .finally(() => this.changed());
    }
    // The history is bounded by the node; so is this cache.
    for (const key of this.chat.keys()) if (!live.has(key)) this.chat.delete(key);
  }

  private changed(): void {
    if (this.closed) return;
    this.status = this.session.status();
    const key = this.keyText();
    if (key && key !== this.savedKey) {
      this.savedKey = key;
      this.options.onKeyText?.(key);
    }
    for (const l of this.listeners) l();
  }
}

/**
 * Which key to start from: the link's, unless this browser already keeps a newer one for the
 * room (an old link opened after a rotation must not put the page back on the old key).
 */
export function startingKey(fromLink: string | undefined, kept: string | undefined): string | undefined {
  if (!fromLink || !kept) return fromLink ?? kept;
  const epoch = (text: string) => Number(text.split('.')[0]);
  const [l, k] = [epoch(fromLink), epoch(kept)];
  if (Number.isInteger(l) && Number.isInteger(k) && l >= 0 && l <= 255 && k >= 0 && k <= 255 && epochNewer(k, l)) return kept;
  return fromLink;
}

/** The last `size` numbers added. */
class Ring {
  private readonly items: number[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  add(value: number): void {
    if (this.items.length < this.size) this.items.push(value);
    else this.items[this.next] = value;
    this.next = (this.next + 1) % this.size;
  }

  values(): number[] {
    return [...this.items];
  }
}

function cacheKey(m: ChatMessage): string {
  return `${m.id}|${m.from}|${m.text}`;
}
