import type { ProtocolErrorMessage } from '../protocol/control';

/** How many sent chat messages are remembered for a refusal; the server answers within seconds. */
const REMEMBERED = 32;

/**
 * Chat messages sent and not refused (so far), by the ref they went out with: when the
 * server refuses one (`host_unreachable`, `rate_limited`, …) the page gets its text back
 * instead of losing it. The server confirms nothing, so the oldest are forgotten.
 */
export class UnsentChats {
  private readonly byRef = new Map<string, (text: string, error: ProtocolErrorMessage) => void>();
  private readonly texts = new Map<string, string>();

  sent(ref: string, text: string, onRefused: (text: string, error: ProtocolErrorMessage) => void): void {
    this.byRef.set(ref, onRefused);
    this.texts.set(ref, text);
    while (this.byRef.size > REMEMBERED) {
      const oldest = this.byRef.keys().next().value as string;
      this.byRef.delete(oldest);
      this.texts.delete(oldest);
    }
  }

  /** True when `error` answered one of our chat messages (its text went back to the sender). */
  refused(error: ProtocolErrorMessage): boolean {
    const ref = error.ref;
    if (ref == null) return false;
    const onRefused = this.byRef.get(ref);
    const text = this.texts.get(ref);
    if (!onRefused || text === undefined) return false;
    this.byRef.delete(ref);
    this.texts.delete(ref);
    onRefused(text, error);
    return true;
  }
}
