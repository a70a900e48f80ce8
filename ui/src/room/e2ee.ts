// The keys of one end-to-end encrypted room, as one page holds them (issue 13). No React, no
// socket: the page feeds it the room state and the `e2ee_key` messages, and it sends through
// `send`. The wire is docs/protocol.md's; what goes in the opaque strings is src/crypto's.
//
// API (everything else is private):
//
//   new E2eeSession({ room, linkKey, send, onChange, switchDelayMs = 500, keepOldKeyMs = 10_000,
//                     keyChangedAfterMs = 1_000, now?, setTimeout?, clearTimeout? })
//   status(): E2eeStatus            off | missing_key | waiting | ok {epoch, safetyCode} | key_changed {epoch}
//   update(state: RoomState)        after every change of the room state (welcome, events, snapshots)
//   welcomed()                      after every welcome (join or resume): new frame session, hello checked again
//   onKeyMessage(msg): Promise      an `e2ee_key` for us
//   rotate(): Promise               Host/Moderator, after a kick or ban (the removed are gone already)
//   encryptFrame(wire): Promise<Uint8Array<ArrayBuffer> | null>
//   decryptFrame(frame, senderId): Promise<AudioFrame | null>
//   encryptChat(text): Promise<string>            throws without a key (or ChatCipherError too_long)
//   decryptChat(message): Promise<string | null>
//   inviteFragment(): string | null  "#k=<epoch>.<secret>" of the newest key we hold
//   safetyCode(): string | null
//   idle(): Promise<void>           resolves when queued key work is done (tests)
//   close()
//
// How the keys move:
// - The link's fragment carries the room key (`linkKey`); the page makes an ECDH key pair and,
//   once it knows who it is, announces the public half with a proof that it holds the newest key
//   it has (`e2ee_hello`; sent again when that key changes, after a welcome, and if the node has
//   not shown it a few seconds later). A page without a key announces nothing: `missing_key`.
// - The Host (or, when no Host is connected, each Moderator) wraps the newest key for every
//   member whose proof verifies under exactly that key, once per (epoch, member, public key). A
//   proof under an older epoch gets nothing: that is how someone kicked, holding the old link,
//   stays out after the rotation.
// - `rotate()` makes epoch+1 (mod 256) and wraps it for every remaining member who holds the
//   current key (its proof verifies under it, or we gave it to them), in one `e2ee_keys`.
// - A received or made key is used for decryption at once and for encryption only
//   `switchDelayMs` later, so every member has it before frames under it arrive; the key before
//   it still opens frames for `keepOldKeyMs` after the switch (late frames, slow members) and
//   chat for the page's life (history). Keys for older epochs than our newest are ignored, and
//   so are keys from anyone who is not Host or Moderator in our roster.
// - Frames or chat under an epoch newer than any key we hold, or a Host/Moderator's proof under
//   one, mean the key changed: `waiting` for `keyChangedAfterMs` (the key may be on its way),
//   then `key_changed` until a key of that epoch or newer arrives.

import { ChatCipherError, decryptChat as openChat, encryptChat as sealChat } from '../crypto/chatCipher';
import { fromBase64Url } from '../crypto/bytes';
import { FrameCipherError, FrameDecryptor, FrameEncryptor } from '../crypto/frameCipher';
import { formatInviteKey } from '../crypto/inviteKey';
import { generateMemberKeys, importPublicKey, unwrapRoomKey, wrapRoomKey, type MemberKeyPair } from '../crypto/memberKeys';
import { kidEpoch } from '../crypto/nonce';
import { makeProof, proofEpoch, verifyProof } from '../crypto/proof';
import { generateRoomKey, keyScope, type RoomKey } from '../crypto/roomKey';
import { safetyCode } from '../crypto/safetyCode';
import { decodeSframeHeader } from '../crypto/sframeHeader';
import type { RoomState } from '../net/roomState';
import { announced, type ChatMessage, type ClientBody, type E2eeKeyMessage, type Participant, type WrappedKey } from '../protocol/control';
import { decodeAudioFrame, type AudioFrame } from '../protocol/frame';

export type E2eeStatus =
  /** A clear room (or not known yet). */
  | { kind: 'off' }
  /** An e2ee room and the link had no key: "ask for a full invite link". */
  | { kind: 'missing_key' }
  /** An e2ee room, and the key we hold is not (yet) usable or confirmed. */
  | { kind: 'waiting' }
  | { kind: 'ok'; epoch: number; safetyCode: string }
  /** Frames, chat or the Host show a newer key than ours, and nobody gave it to us. */
  | { kind: 'key_changed'; epoch: number };

export interface E2eeSessionOptions {
  room: string;
  /** The key from the link's `#k=` (or this browser's storage), null when there was none. */
  linkKey: RoomKey | null;
  send(body: ClientBody): void;
  /** Something `status()`, `safetyCode()` or `inviteFragment()` return may have changed. */
  onChange(): void;
  switchDelayMs?: number;
  keepOldKeyMs?: number;
  keyChangedAfterMs?: number;
  now?: () => number;
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

/** A hello the node has not shown back is sent again on an update this long after. */
const HELLO_RETRY_MS = 5000;
/** Key messages waiting for their sender's announced key (a resume may replay events after them). */
const MAX_PENDING_KEYS = 8;
/** Room keys kept for chat history, newest last. */
const MAX_KEYS = 16;
/** The node takes at most this many addressees in one `e2ee_keys` (docs/protocol.md). */
const MAX_KEYS_PER_MESSAGE = 200;

/** `a` is ahead of `b` in the 8-bit epoch space (by 1..127). */
export function epochNewer(a: number, b: number): boolean {
  const d = (a - b) & 0xff;
  return d >= 1 && d <= 127;
}

const isModerator = (p: Participant) => p.role === 'host' || p.role === 'moderator';

export class E2eeSession {
  private readonly room: string;
  private readonly pair: Promise<MemberKeyPair>;
  private closed = false;

  private e2ee = false;
  private me: string | null = null;
  private stream: number | null = null;
  private roster: Participant[] = [];

  /** Every room key held, by epoch (chat history); the frame decryptor holds the recent ones. */
  private readonly keys = new Map<number, RoomKey>();
  private readonly decryptor = new FrameDecryptor();
  private readonly frameEpochs = new Set<number>();
  private newest: RoomKey | null = null;
  private sending: RoomKey | null = null;
  private encryptor: FrameEncryptor | null = null;
  /** The encryptor for the key we switch to next, deriving its keys during the switch delay. */
  private nextEncryptor: FrameEncryptor | null = null;

  private switchTimer: unknown = null;
  private forgetTimer: unknown = null;
  private newerTimer: unknown = null;
  private newerEpoch: number | null = null;
  private newerExpired = false;

  /** `${epoch}|${participant}|${public key}` we wrapped that epoch for (or were given it by rotation). */
  private readonly shared = new Set<string>();
  private readonly proofChecks = new Map<string, Promise<boolean>>();
  private hello: { value: string; at: number } | null = null;
  private code: string | null = null;
  private codeInput = '';
  private pending: E2eeKeyMessage[] = [];
  private work: Promise<void> = Promise.resolve();

  private readonly switchDelayMs: number;
  private readonly keepOldKeyMs: number;
  private readonly keyChangedAfterMs: number;
  private readonly now: () => number;
  private readonly setTimer: (callback: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(private readonly options: E2eeSessionOptions) {
    this.room = options.room;
    this.switchDelayMs = options.switchDelayMs ?? 500;
    this.keepOldKeyMs = options.keepOldKeyMs ?? 10_000;
    this.keyChangedAfterMs = options.keyChangedAfterMs ?? 1_000;
    this.now = options.now ?? (() => Date.now());
    this.setTimer = options.setTimeout ?? ((cb, ms) => globalThis.setTimeout(cb, ms));
    this.clearTimer = options.clearTimeout ?? ((h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>));
    this.pair = generateMemberKeys();
    this.pair.catch((e) => console.warn('no ECDH key pair for end-to-end encryption', e));
    // No onChange from inside the constructor: the owner may not hold this object yet.
    if (options.linkKey) this.install(options.linkKey, false);
  }

  status(): E2eeStatus {
    if (!this.e2ee) return { kind: 'off' };
    if (!this.newest) return { kind: 'missing_key' };
    if (this.newerEpoch !== null) return this.newerExpired ? { kind: 'key_changed', epoch: this.newerEpoch } : { kind: 'waiting' };
    if (this.code === null) return { kind: 'waiting' };
    return { kind: 'ok', epoch: this.newest.epoch, safetyCode: this.code };
  }

  update(state: RoomState): void {
    if (this.closed) return;
    this.e2ee = state.settings.e2ee === true;
    if (state.me !== this.me || state.stream !== this.stream) {
      // Another participant (a fresh join) or another stream: a new frame session, a new hello.
      this.me = state.me;
      this.stream = state.stream;
      this.encryptor = this.nextEncryptor = null;
      this.hello = null;
    }
    this.roster = state.participants;
    this.queue(() => this.sync());
  }

  welcomed(): void {
    if (this.closed) return;
    this.encryptor = this.nextEncryptor = null;
    this.hello = null;
    this.queue(() => this.sync());
  }

  onKeyMessage(message: E2eeKeyMessage): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed || message.room !== this.room) return;
      if (await this.takeKey(message)) await this.sync();
    });
  }

  /**
   * A new key for those who remain. `recipients`, when given, bounds who may get it: the
   * participants present when the removal was decided (so one who rejoined in between with the
   * old link is not among them, whatever its proof).
   */
  rotate(recipients?: ReadonlySet<string>): Promise<void> {
    return this.enqueue(async () => {
      const me = this.roster.find((p) => p.id === this.me);
      if (!me || !isModerator(me)) throw new Error('only the Host or a Moderator rotates the room key');
      const current = this.newest;
      if (!current) throw new Error('no room key to rotate');
      const pair = await this.pair;
      const next = generateRoomKey((current.epoch + 1) & 0xff);
      const keys: WrappedKey[] = [];
      for (const p of this.roster) {
        const a = announced(p);
        if (p.id === me.id || !a || (recipients && !recipients.has(p.id))) continue;
        if (!(await this.holdsKey(current, p))) continue;
        try {
          const wrapped = await wrapRoomKey(pair.privateKey, await importPublicKey(a.public_key), next, { room: this.room, from: me.id, to: p.id });
          keys.push({ to: p.id, wrapped });
          this.shared.add(`${next.epoch}|${p.id}|${a.public_key}`);
        } catch {
          // A public key that is no P-256 point gets nothing; it must not stop the rotation
          // for everyone else (a member could otherwise keep a removed one's key alive).
        }
      }
      this.sendKeys(next.epoch, keys);
      this.install(next);
      await this.sync();
    });
  }

  async encryptFrame(wire: Uint8Array): Promise<Uint8Array<ArrayBuffer> | null> {
    if (this.closed || !this.sending || !this.me) return null;
    try {
      const frame = decodeAudioFrame(wire);
      if (!this.encryptor || this.encryptor.room !== this.sending || this.encryptor.senderId !== this.me) {
        this.encryptor = new FrameEncryptor(this.sending, this.me);
      }
      return await this.encryptor.encrypt(frame);
    } catch (e) {
      console.warn('frame not encrypted', e);
      return null;
    }
  }

  async decryptFrame(frame: AudioFrame, senderId: string): Promise<AudioFrame | null> {
    if (this.closed) return null;
    try {
      return await this.decryptor.decryptFrame(frame, senderId);
    } catch (e) {
      if (e instanceof FrameCipherError && e.code === 'unknown_key') {
        try {
          this.sawEpoch(kidEpoch(decodeSframeHeader(frame.payload).kid));
        } catch {
          // unparseable header: nothing to learn
        }
      }
      return null;
    }
  }

  async encryptChat(text: string): Promise<string> {
    if (!this.sending || !this.me) throw new Error('no room key yet: this room is end-to-end encrypted');
    return sealChat(this.sending, text, `${this.room}\n${this.me}`);
  }

  async decryptChat(message: ChatMessage): Promise<string | null> {
    try {
      return await openChat(this.keys, message.text, `${this.room}\n${message.from}`);
    } catch (e) {
      if (e instanceof ChatCipherError && e.code === 'unknown_key') {
        try {
          this.sawEpoch(fromBase64Url(message.text.slice(3))[0]);
        } catch {
          // malformed: nothing to learn
        }
      }
      return null;
    }
  }

  inviteFragment(): string | null {
    return this.newest ? formatInviteKey(this.newest) : null;
  }

  safetyCode(): string | null {
    return this.e2ee && this.newest ? this.code : null;
  }

  /** Resolves when the key work queued so far (and what it queued) is done. */
  async idle(): Promise<void> {
    let seen: Promise<void> | null = null;
    while (seen !== this.work) {
      seen = this.work;
      await seen;
    }
  }

  close(): void {
    this.closed = true;
    for (const t of [this.switchTimer, this.forgetTimer, this.newerTimer]) if (t !== null) this.clearTimer(t);
    this.switchTimer = this.forgetTimer = this.newerTimer = null;
  }

  // --- inside ---

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.work.then(fn);
    this.work = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private queue(fn: () => Promise<void>): void {
    this.enqueue(fn).catch((e) => console.warn('e2ee', e));
  }

  private changed(): void {
    if (!this.closed) this.options.onChange();
  }

  /** Hello, waiting key messages, newer-epoch hints, sharing, the safety code. */
  private async sync(): Promise<void> {
    if (this.closed || !this.e2ee || !this.me) {
      this.changed();
      return;
    }
    const pair = await this.pair;
    const me = this.me;
    const newest = this.newest;

    if (newest) {
      const proof = await makeProof(newest, { room: this.room, participant: me, publicKey: pair.publicText });
      const value = `${pair.publicText}|${proof}`;
      const mine = this.roster.find((p) => p.id === me);
      const shown = mine && announced(mine);
      if (shown && `${shown.public_key}|${shown.proof}` === value) {
        this.hello = { value, at: this.now() };
      } else if (mine && (this.hello?.value !== value || this.now() - this.hello.at >= HELLO_RETRY_MS)) {
        this.hello = { value, at: this.now() };
        this.options.send({ type: 'e2ee_hello', public_key: pair.publicText, proof });
      }
    }

    if (this.pending.length > 0) {
      const waiting = this.pending;
      this.pending = [];
      for (const m of waiting) await this.takeKey(m);
    }

    for (const p of this.roster) {
      const a = announced(p);
      const epoch = a && proofEpoch(a.proof);
      if (p.id !== me && isModerator(p) && epoch != null && (!this.newest || epochNewer(epoch, this.newest.epoch))) this.sawEpoch(epoch);
    }

    if (this.newest && this.sharer()) await this.share(this.newest, pair);

    if (this.newest) {
      const members = this.roster.flatMap((p) => {
        if (p.id === me) return [{ participant: me, publicKey: pair.publicText }];
        const a = announced(p);
        return a ? [{ participant: p.id, publicKey: a.public_key }] : [];
      });
      if (!members.some((m) => m.participant === me)) members.push({ participant: me, publicKey: pair.publicText });
      const input = `${keyScope(this.newest)}|${JSON.stringify(members.map((m) => [m.participant, m.publicKey]).sort())}`;
      if (input !== this.codeInput) {
        this.codeInput = input;
        this.code = await safetyCode(this.newest, members);
      }
    }
    this.changed();
  }

  /** We share the key: we are the Host, or a Moderator while no Host is connected. */
  private sharer(): boolean {
    const me = this.roster.find((p) => p.id === this.me);
    if (!me) return false;
    if (me.role === 'host') return true;
    return me.role === 'moderator' && !this.roster.some((p) => p.role === 'host' && !p.reconnecting);
  }

  private async share(key: RoomKey, pair: MemberKeyPair): Promise<void> {
    const keys: WrappedKey[] = [];
    for (const p of this.roster) {
      const a = announced(p);
      if (p.id === this.me || !a || proofEpoch(a.proof) !== key.epoch) continue;
      const mark = `${key.epoch}|${p.id}|${a.public_key}`;
      if (this.shared.has(mark) || !(await this.proofHolds(key, p))) continue;
      try {
        const wrapped = await wrapRoomKey(pair.privateKey, await importPublicKey(a.public_key), key, { room: this.room, from: this.me!, to: p.id });
        keys.push({ to: p.id, wrapped });
        this.shared.add(mark);
      } catch {
        // A public key that is no P-256 point: nothing to wrap for.
      }
    }
    this.sendKeys(key.epoch, keys);
  }

  /** One `e2ee_keys` per MAX_KEYS_PER_MESSAGE addressees (the node's limit). */
  private sendKeys(epoch: number, keys: WrappedKey[]): void {
    for (let i = 0; i < keys.length; i += MAX_KEYS_PER_MESSAGE) {
      this.options.send({ type: 'e2ee_keys', epoch, keys: keys.slice(i, i + MAX_KEYS_PER_MESSAGE) });
    }
  }

  /** `p` holds `key`: its proof verifies under it, or we gave it to them. */
  private async holdsKey(key: RoomKey, p: Participant): Promise<boolean> {
    const a = announced(p);
    if (!a) return false;
    return this.shared.has(`${key.epoch}|${p.id}|${a.public_key}`) || this.proofHolds(key, p);
  }

  private proofHolds(key: RoomKey, p: Participant): Promise<boolean> {
    const a = announced(p);
    if (!a) return Promise.resolve(false);
    const id = `${keyScope(key)}|${p.id}|${a.public_key}|${a.proof}`;
    let check = this.proofChecks.get(id);
    if (!check) {
      check = verifyProof(key, a.proof, { room: this.room, participant: p.id, publicKey: a.public_key }).catch(() => false);
      if (this.proofChecks.size > 256) this.proofChecks.clear();
      this.proofChecks.set(id, check);
    }
    return check;
  }

  /** Installs the key in `message` if it is for us, newer, from a Host/Moderator and opens. */
  private async takeKey(message: E2eeKeyMessage): Promise<boolean> {
    if (this.newest && !epochNewer(message.epoch, this.newest.epoch)) return false;
    const sender = this.roster.find((p) => p.id === message.from);
    const a = sender && announced(sender);
    if (!this.me || !sender || !a) {
      // Not in our roster yet (a resume replays events after the key): try again on the next update.
      this.pending = [...this.pending, message].slice(-MAX_PENDING_KEYS);
      return false;
    }
    if (!isModerator(sender) || sender.id === this.me) return false;
    const pair = await this.pair;
    try {
      const key = await unwrapRoomKey(pair.privateKey, await importPublicKey(a.public_key), message.wrapped, {
        room: this.room,
        from: sender.id,
        to: this.me,
        epoch: message.epoch,
      });
      if (this.newest && !epochNewer(key.epoch, this.newest.epoch)) return false;
      this.install(key);
      return true;
    } catch {
      // Tampered, not for us, or wrapped for a public key the node showed the sender: ignored.
      return false;
    }
  }

  /** Decrypt under `key` at once; encrypt under it after the switch delay (at once if it is our first). */
  private install(key: RoomKey, notify = true): void {
    this.keys.set(key.epoch, key);
    while (this.keys.size > MAX_KEYS) this.keys.delete(this.keys.keys().next().value!);
    this.decryptor.setRoomKey(key);
    this.frameEpochs.add(key.epoch);
    this.newest = key;
    if (this.newerEpoch !== null && !epochNewer(this.newerEpoch, key.epoch)) {
      this.newerEpoch = null;
      this.newerExpired = false;
      if (this.newerTimer !== null) this.clearTimer(this.newerTimer);
      this.newerTimer = null;
    }
    if (!this.sending) {
      this.switchTo(key, notify);
      return;
    }
    if (this.switchTimer !== null) this.clearTimer(this.switchTimer);
    // Derived now, so that the first frame under the new key does not wait for WebCrypto (a
    // wait there is a gap every listener hears, at the moment the key changes).
    this.nextEncryptor = this.me ? new FrameEncryptor(key, this.me) : null;
    this.switchTimer = this.setTimer(() => {
      this.switchTimer = null;
      if (!this.closed) this.switchTo(key);
    }, this.switchDelayMs);
  }

  private switchTo(key: RoomKey, notify = true): void {
    this.sending = key;
    const next = this.nextEncryptor;
    this.nextEncryptor = null;
    this.encryptor = next && next.room === key && next.senderId === this.me ? next : null;
    if (this.forgetTimer !== null) this.clearTimer(this.forgetTimer);
    this.forgetTimer = this.setTimer(() => {
      this.forgetTimer = null;
      // Frames under older keys are no longer opened (chat still is, for the history).
      for (const epoch of [...this.frameEpochs]) {
        if (epoch === this.sending?.epoch || epoch === this.newest?.epoch) continue;
        this.decryptor.forgetEpoch(epoch);
        this.frameEpochs.delete(epoch);
      }
    }, this.keepOldKeyMs);
    if (notify) this.changed();
  }

  /** Something was sent under `epoch`: if it is newer than any key we hold, the key changed. */
  private sawEpoch(epoch: number): void {
    if (this.newest && !epochNewer(epoch, this.newest.epoch)) return;
    if (this.newerEpoch !== null) {
      if (epochNewer(epoch, this.newerEpoch)) this.newerEpoch = epoch;
      return;
    }
    this.newerEpoch = epoch;
    this.newerExpired = false;
    this.newerTimer = this.setTimer(() => {
      this.newerTimer = null;
      this.newerExpired = true;
      this.changed();
    }, this.keyChangedAfterMs);
    this.changed();
  }
}
