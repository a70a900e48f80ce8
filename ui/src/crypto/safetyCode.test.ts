import { describe, expect, it } from 'vitest';
import { generateMemberKeys } from './memberKeys';
import { generateRoomKey, roomKey } from './roomKey';
import { safetyCode } from './safetyCode';

describe('safety code', () => {
  it('is 4 groups of 5 digits, the same for the same key and members in any order', async () => {
    const key = generateRoomKey(1);
    const [a, b, c] = await Promise.all([generateMemberKeys(), generateMemberKeys(), generateMemberKeys()]);
    const members = [
      { participant: 'a#1', publicKey: a.publicText },
      { participant: 'b#2', publicKey: b.publicText },
      { participant: 'c#3', publicKey: c.publicText },
    ];
    const code = await safetyCode(key, members);
    expect(code).toMatch(/^\d{5} \d{5} \d{5} \d{5}$/);
    expect(await safetyCode(roomKey(1, key.secret), [...members].reverse())).toBe(code);
  });

  it('differs when a public key is substituted, a member is added or left out, or the key differs', async () => {
    const key = generateRoomKey(1);
    const [a, b, node] = await Promise.all([generateMemberKeys(), generateMemberKeys(), generateMemberKeys()]);
    const members = [
      { participant: 'a#1', publicKey: a.publicText },
      { participant: 'b#2', publicKey: b.publicText },
    ];
    const code = await safetyCode(key, members);
    const variants = [
      await safetyCode(key, [members[0], { participant: 'b#2', publicKey: node.publicText }]),
      await safetyCode(key, [members[0]]),
      await safetyCode(key, [...members, { participant: 'n#3', publicKey: node.publicText }]),
      await safetyCode(generateRoomKey(1), members),
      await safetyCode(roomKey(2, key.secret), members),
      // Ids and keys are length-prefixed: moving a character from one field to the next changes it.
      await safetyCode(key, [members[0], { participant: 'b#2' + b.publicText[0], publicKey: b.publicText.slice(1) }]),
    ];
    for (const v of variants) expect(v).not.toBe(code);
  });
});
