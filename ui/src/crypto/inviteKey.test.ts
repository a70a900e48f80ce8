import { describe, expect, it } from 'vitest';
import { toBase64Url } from './bytes';
import { InviteKeyError, findInviteKey, formatInviteKey, inviteKeyText, parseInviteKey } from './inviteKey';
import { generateRoomKey } from './roomKey';

describe('invite key', () => {
  it('formats "#k=<epoch>.<base64url>" and reads it back from every form', () => {
    const key = generateRoomKey(42);
    const text = inviteKeyText(key);
    expect(text).toMatch(/^42\.[A-Za-z0-9_-]{43}$/);
    expect(formatInviteKey(key)).toBe(`#k=${text}`);
    for (const form of [
      text,
      `k=${text}`,
      `#k=${text}`,
      `  https://alice.os/voice-chat:voice-chat:template.os/room/r1?invite=abc&node=alice.os#k=${text}  `,
      `r1@alice.os?invite=abc#k=${text}`,
      `/room/r1#x=1&k=${text}`,
    ]) {
      const read = parseInviteKey(form);
      expect(read.epoch, form).toBe(42);
      expect(read.secret).toEqual(key.secret);
    }
  });

  it('finds no key in links, addresses and ids without one', () => {
    for (const text of ['r1', 'r1@alice.os', 'https://alice.os/room/r1?invite=abc', 'alice.os', 'https://alice.os/room/r1#other=1']) {
      expect(findInviteKey(text), text).toBeNull();
      expect(() => parseInviteKey(text)).toThrow(/full invite link/);
    }
  });

  it('says what is wrong with a damaged key', () => {
    const secret = toBase64Url(new Uint8Array(32).fill(7));
    const cases: [string, RegExp][] = [
      [`#k=${secret}`, /no key epoch/],
      [`#k=256.${secret}`, /not a number 0..255/],
      [`#k=x.${secret}`, /not a number 0..255/],
      [`#k=01.${secret}`, /not a number 0..255/],
      [`#k=1.${secret.slice(0, 20)}`, /cut off/],
      [`#k=1.${secret}AAAA`, /35 bytes, not 32/],
      [`#k=1.${secret.slice(0, -1)}!`, /not base64url/],
      [`https://a.os/room/r1#k=`, /no key epoch/],
    ];
    for (const [text, message] of cases) {
      expect(() => findInviteKey(text), text).toThrow(InviteKeyError);
      expect(() => findInviteKey(text), text).toThrow(message);
    }
  });
});
