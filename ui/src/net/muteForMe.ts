// "Mute for me": the participants this browser chose not to hear, and what the socket must be
// told so that their audio stops at the server (docs/protocol.md, "Subscriptions"). Pure: the
// connection asks `plan` after every change of room or socket and sends what it returns.
//
// The choice is per participant id; the server's rule is per stream id
// (`room.<id>.audio.<stream>`). A join or resume resets the socket to `room.<id>.**`, so after
// every `welcome` the connection calls `reset` and plans again; a snapshot that moves a
// participant to another stream is planned like any other change (the old stream subscribed
// again, the new one unsubscribed).

import { audioTopic, type ParticipantId } from '../protocol/control';
import type { RoomState } from './roomState';

/** What the page shows for a participant muted for me: asked, or confirmed by the server. */
export type MuteForMeStatus = 'pending' | 'muted';

export interface SubscriptionOp {
  type: 'subscribe' | 'unsubscribe';
  pattern: string;
  stream: number;
  /** Whose stream it was when planned (null: nobody holds it any more). */
  participant: ParticipantId | null;
}

export class MuteForMe {
  /** The user's choice, kept for the page's session whatever the socket does. */
  private readonly chosen = new Set<ParticipantId>();
  /** Streams this socket has unsubscribed (sent; answered or not). */
  private readonly off = new Map<number, ParticipantId>();
  /** Streams whose `unsubscribed` answer arrived (after which none of their frames come). */
  private readonly confirmed = new Set<number>();
  /** Sent and not answered yet, by ref. */
  private readonly inFlight = new Map<string, SubscriptionOp>();
  private room: string | null = null;

  choose(participant: ParticipantId, muted: boolean): void {
    if (muted) this.chosen.add(participant);
    else this.chosen.delete(participant);
  }

  isChosen(participant: ParticipantId): boolean {
    return this.chosen.has(participant);
  }

  /** A new socket joined: the server forgot every subscription (the socket has `room.<id>.**`). */
  reset(): void {
    this.off.clear();
    this.confirmed.clear();
    this.inFlight.clear();
    this.room = null;
  }

  /**
   * What to send so that the socket gets no audio of the participants chosen and all of the
   * others'; from then on this is taken as done (an error for one of them calls `refused`).
   */
  plan(state: RoomState): SubscriptionOp[] {
    if (state.ended || (this.chosen.size === 0 && this.off.size === 0)) return [];
    if (this.room !== null && this.room !== state.room) this.reset();
    this.room = state.room;
    const wanted = new Map<number, ParticipantId>();
    for (const p of state.participants) {
      if (p.id !== state.me && this.chosen.has(p.id)) wanted.set(p.stream, p.id);
    }
    const ops: SubscriptionOp[] = [];
    for (const [stream, holder] of this.off) {
      if (wanted.has(stream)) continue;
      this.off.delete(stream);
      this.confirmed.delete(stream);
      const now = state.participants.find((p) => p.stream === stream)?.id ?? null;
      ops.push({ type: 'subscribe', pattern: audioTopic(state.room, stream), stream, participant: now ?? holder });
    }
    for (const [stream, participant] of wanted) {
      if (this.off.has(stream)) {
        this.off.set(stream, participant);
        continue;
      }
      this.off.set(stream, participant);
      ops.push({ type: 'unsubscribe', pattern: audioTopic(state.room, stream), stream, participant });
    }
    return ops;
  }

  sent(ref: string, op: SubscriptionOp): void {
    this.inFlight.set(ref, op);
  }

  /** A `subscribed` / `unsubscribed` answer (they carry the pattern, not our ref). */
  answered(type: 'subscribed' | 'unsubscribed', pattern: string): void {
    const want = type === 'subscribed' ? 'subscribe' : 'unsubscribe';
    let stream: number | null = null;
    for (const [ref, op] of this.inFlight) {
      if (op.type === want && op.pattern === pattern) {
        this.inFlight.delete(ref);
        stream = op.stream;
        break;
      }
    }
    if (stream === null || type === 'subscribed') return;
    const undone = [...this.inFlight.values()].some((op) => op.type === 'subscribe' && op.stream === stream);
    if (this.off.has(stream) && !undone) this.confirmed.add(stream);
  }

  /**
   * The server refused one of ours (its `error` echoed the ref): the socket's subscription did
   * not change, so the choice follows what is true. Returns the op, or null if the ref is not ours.
   */
  refused(ref: string | null): SubscriptionOp | null {
    if (ref === null) return null;
    const op = this.inFlight.get(ref);
    if (!op) return null;
    this.inFlight.delete(ref);
    if (op.type === 'unsubscribe') {
      // Still heard: not muted for me (the user may try again).
      if (this.off.get(op.stream) === op.participant) this.off.delete(op.stream);
      this.confirmed.delete(op.stream);
      if (op.participant !== null) this.chosen.delete(op.participant);
    } else if (op.participant !== null && !this.off.has(op.stream)) {
      // Still not heard: muted for me, as the server has it.
      this.off.set(op.stream, op.participant);
      this.confirmed.add(op.stream);
      this.chosen.add(op.participant);
    }
    return op;
  }

  /** Each participant of the room muted for me, and whether the server has confirmed it. */
  status(state: RoomState | null): Readonly<Record<ParticipantId, MuteForMeStatus>> {
    const out: Record<ParticipantId, MuteForMeStatus> = {};
    if (!state) return out;
    for (const p of state.participants) {
      if (p.id === state.me || !this.chosen.has(p.id)) continue;
      out[p.id] = this.off.get(p.stream) === p.id && this.confirmed.has(p.stream) ? 'muted' : 'pending';
    }
    return out;
  }
}
