import { describe, expect, it } from 'vitest';
import { AckCounter } from './ackCounter';

describe('AckCounter', () => {
  it('acks the cumulative total every 5 frames', () => {
    const acks = new AckCounter();
    const due = Array.from({ length: 12 }, () => acks.received());
    expect(due).toEqual([null, null, null, null, 5, null, null, null, null, 10, null, null]);
    expect(acks.count).toBe(12);
  });

  it('counts a batch at once', () => {
    const acks = new AckCounter();
    expect(acks.received(3)).toBeNull();
    expect(acks.received(4)).toBe(7);
  });

  it('wraps at 2^32 like the wire field', () => {
    const acks = new AckCounter(1);
    acks.received(0xffffffff);
    expect(acks.received(2)).toBe(1);
  });

  it('starts over on a new connection', () => {
    const acks = new AckCounter();
    acks.received(4);
    acks.reset();
    expect(acks.received(4)).toBeNull();
    expect(acks.received()).toBe(5);
  });

  it('refuses a zero interval', () => {
    expect(() => new AckCounter(0)).toThrow(/positive/);
  });
});
