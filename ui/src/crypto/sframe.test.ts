// The SFrame building blocks against RFC 9605's own test vectors (Appendix C), suite 0x0002
// (AES_128_CTR_HMAC_SHA256_64): header encoding, the CTR+HMAC AEAD, and derive_key_salt.
import { describe, expect, it } from 'vitest';
import { fromBase64Url, fromHex, toBase64Url, toHex } from './bytes';
import { importAeadKeys, open, seal } from './ctrHmac';
import { deriveKeySalt, sframeKeyLabel, sframeSaltLabel } from './kdf';
import { makeNonce } from './nonce';
import { decodeSframeHeader, encodeSframeHeader, sframeHeaderLength } from './sframeHeader';

describe('SFrame header (RFC 9605 §4.3, vectors from Appendix C.1)', () => {
  const cases: [bigint, bigint, string][] = [
    [0n, 0n, '00'],
    [7n, 7n, '77'],
    [0x123n, 0x4567n, '9901234567'],
    [0x00ffffffffffffffn, 0n, 'e0ffffffffffffff'],
    [0x00ffffffffffffffn, 0xffn, 'e8ffffffffffffffff'],
    [0x00ffffffffffffffn, 0x10000n, 'eaffffffffffffff010000'],
    [0x0100000000000000n, 0x0100000000000000n, 'ff01000000000000000100000000000000'],
    [0xffffffffffffffffn, 0xffffffffffffffffn, 'ffffffffffffffffffffffffffffffffff'],
  ];
  for (const [kid, ctr, hex] of cases) {
    it(`kid ${kid.toString(16)} ctr ${ctr.toString(16)} → ${hex}`, () => {
      expect(toHex(encodeSframeHeader({ kid, ctr }))).toBe(hex);
      expect(sframeHeaderLength(kid, ctr)).toBe(hex.length / 2);
      expect(decodeSframeHeader(fromHex(hex + 'abcd'))).toEqual({ kid, ctr, length: hex.length / 2 });
    });
  }

  it('refuses a header cut short and values over 64 bits', () => {
    expect(() => decodeSframeHeader(fromHex('9901'))).toThrow(/needs 5 bytes/);
    expect(() => decodeSframeHeader(new Uint8Array(0))).toThrow();
    expect(() => encodeSframeHeader({ kid: 1n << 64n, ctr: 0n })).toThrow(RangeError);
  });
});

describe('AES_128_CTR_HMAC_SHA256_64 AEAD (RFC 9605 Appendix C.2, suite 0x0002)', () => {
  const key = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f');
  const nonce = fromHex('101112131415161718191a1b');
  const aad = fromHex('4945544620534672616d65205747');
  const pt = fromHex('64726166742d696574662d736672616d652d656e63');
  const ct = '6339af04ada1d064688a442b8dc69d5b6bfa40f4be6e93b7da076927bb';

  it('encrypts to the RFC ciphertext and back', async () => {
    const keys = await importAeadKeys(key);
    expect(toHex(await seal(keys, nonce, aad, pt))).toBe(ct);
    expect(toHex((await open(keys, nonce, aad, fromHex(ct)))!)).toBe(toHex(pt));
  });

  it('refuses a flipped bit anywhere in ciphertext, tag, AAD or nonce', async () => {
    const keys = await importAeadKeys(key);
    const sealed = fromHex(ct);
    for (let i = 0; i < sealed.length; i++) {
      const bad = new Uint8Array(sealed);
      bad[i] ^= 0x01;
      expect(await open(keys, nonce, aad, bad)).toBeNull();
    }
    const badAad = new Uint8Array(aad);
    badAad[0] ^= 0x80;
    expect(await open(keys, nonce, badAad, sealed)).toBeNull();
    const badNonce = new Uint8Array(nonce);
    badNonce[11] ^= 1;
    expect(await open(keys, badNonce, aad, sealed)).toBeNull();
    expect(await open(keys, nonce, aad, sealed.subarray(0, 7))).toBeNull();
  });
});

describe('SFrame encryption (RFC 9605 Appendix C.3, suite 0x0002)', () => {
  it('derives the RFC key, salt and nonce and produces the RFC ciphertext', async () => {
    const kid = 0x123n;
    const ctr = 0x4567n;
    expect(toHex(sframeKeyLabel(kid))).toBe('534672616d6520312e30205365637265' + '74206b65792000000000000001230002');
    expect(toHex(sframeSaltLabel(kid))).toBe('534672616d6520312e30205365637265742073616c742000000000000001230002');
    const { key, salt } = await deriveKeySalt(fromHex('000102030405060708090a0b0c0d0e0f'), kid);
    expect(toHex(key)).toBe(
      'e2ec5c797540310483b16bf6e7a570d2a27d192fe869c7ccd8584a8d9dab91549fbe553f5113461ec6aa83bf3865553e',
    );
    expect(toHex(salt)).toBe('e68ac8dd3d02fbcd368c5577');
    const nonce = makeNonce(salt, ctr);
    expect(toHex(nonce)).toBe('e68ac8dd3d02fbcd368c1010');
    const header = encodeSframeHeader({ kid, ctr });
    const metadata = fromHex('4945544620534672616d65205747');
    const aad = new Uint8Array([...header, ...metadata]);
    expect(toHex(aad)).toBe('99012345674945544620534672616d65205747');
    const sealed = await seal(await importAeadKeys(key), nonce, aad, fromHex('64726166742d696574662d736672616d652d656e63'));
    expect(toHex(header) + toHex(sealed)).toBe('99012345673f31438db4d09434e43afa0f8a2f00867a2be085046a9f5cb4f101d607');
  });
});

describe('base64url', () => {
  it('round-trips every length 0..40 and uses only the URL-safe alphabet', () => {
    for (let n = 0; n <= 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 251) & 0xff);
      const text = toBase64Url(bytes);
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(toHex(fromBase64Url(text))).toBe(toHex(bytes));
      expect(text).toBe(Buffer.from(bytes).toString('base64url'));
    }
  });
  it('refuses foreign characters and non-canonical trailing bits', () => {
    expect(() => fromBase64Url('ab+c')).toThrow();
    expect(() => fromBase64Url('AB')).toThrow(/trailing/); // 'AB' has bits set past the one byte
    expect(() => fromBase64Url('A')).toThrow();
  });
});
