import { describe, expect, it } from 'vitest';
import type { ProtocolErrorMessage } from '../protocol/control';
import { UnsentChats } from './unsentChats';

const error = (ref: string | null, code = 'host_unreachable'): ProtocolErrorMessage => ({ type: 'error', code, message: code, ref });

describe('UnsentChats', () => {
  it('gives a refused message its text back, once', () => {
    const chats = new UnsentChats();
    const back: string[] = [];
    chats.sent('c1', 'first', (t) => back.push(t));
    chats.sent('c2', 'second', (t) => back.push(t));
    expect(chats.refused(error('c2'))).toBe(true);
    expect(chats.refused(error('c2'))).toBe(false);
    expect(back).toEqual(['second']);
  });

  it('ignores errors without a ref or for other messages', () => {
    const chats = new UnsentChats();
    const back: string[] = [];
    chats.sent('c1', 'first', (t) => back.push(t));
    expect(chats.refused(error(null))).toBe(false);
    expect(chats.refused(error('c9'))).toBe(false);
    expect(back).toEqual([]);
  });

  it('remembers only the newest 32', () => {
    const chats = new UnsentChats();
    const back: string[] = [];
    for (let i = 1; i <= 33; i++) chats.sent(`c${i}`, `m${i}`, (t) => back.push(t));
    expect(chats.refused(error('c1'))).toBe(false);
    expect(chats.refused(error('c2'))).toBe(true);
    expect(chats.refused(error('c33'))).toBe(true);
    expect(back).toEqual(['m2', 'm33']);
  });
});
