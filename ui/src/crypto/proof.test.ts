import { describe, expect, it } from 'vitest';
import { makeProof, proofEpoch, verifyProof } from './proof';
import { generateRoomKey, roomKey } from './roomKey';

const SUBJECT = { room: 'room-1', participant: 'bob#2', publicKey: 'B'.repeat(87) };

describe('proof', () => {
  it('is "<epoch>." and 22 base64url characters, and verifies under the key it was made with', async () => {
    const key = generateRoomKey(12);
    const proof = await makeProof(key, SUBJECT);
    expect(proof).toMatch(/^12\.[A-Za-z0-9_-]{22}$/);
    expect(proofEpoch(proof)).toBe(12);
    expect(await verifyProof(key, proof, SUBJECT)).toBe(true);
    // Deterministic: the same key and subject give the same proof (a hello sent again is the same).
    expect(await makeProof(key, SUBJECT)).toBe(proof);
  });

  it('fails under another key, another epoch of the same secret, or another subject', async () => {
    const key = generateRoomKey(3);
    const proof = await makeProof(key, SUBJECT);
    expect(await verifyProof(generateRoomKey(3), proof, SUBJECT)).toBe(false);
    expect(await verifyProof(roomKey(4, key.secret), proof, SUBJECT)).toBe(false);
    expect(await verifyProof(key, proof, { ...SUBJECT, room: 'room-2' })).toBe(false);
    expect(await verifyProof(key, proof, { ...SUBJECT, participant: 'eve#9' })).toBe(false);
    expect(await verifyProof(key, proof, { ...SUBJECT, publicKey: 'C'.repeat(87) })).toBe(false);
    // The epoch in clear cannot be changed either: it must name the key's epoch.
    expect(await verifyProof(key, proof.replace(/^3\./, '4.'), SUBJECT)).toBe(false);
  });

  it('parses only well-formed proofs', () => {
    const mac = 'A'.repeat(22);
    expect(proofEpoch(`0.${mac}`)).toBe(0);
    expect(proofEpoch(`255.${mac}`)).toBe(255);
    for (const bad of [`256.${mac}`, `01.${mac}`, `-1.${mac}`, `1.${mac}A`, `1.${mac.slice(1)}`, `1${mac}`, `x.${mac}`, `1.${mac.slice(1)}+`]) {
      expect(proofEpoch(bad), bad).toBeNull();
    }
  });
});
