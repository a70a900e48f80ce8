// The room key: 32 random bytes plus its epoch (0..255), the number frames carry in their KID so
// a receiver holding the old and the new key during a rotation picks the right one without trying.
// Whoever rotates the key bumps the epoch (mod 256); 256 rotations apart two keys share an epoch,
// which is harmless (the older one is long forgotten by then).

import { toHex } from './bytes';
import { ROOM_SECRET_LEN } from './kdf';

export interface RoomKey {
  readonly epoch: number;
  readonly secret: Uint8Array;
}

export function roomKey(epoch: number, secret: Uint8Array): RoomKey {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xff) throw new RangeError(`key epoch must be 0..=255, got ${epoch}`);
  if (secret.length !== ROOM_SECRET_LEN) throw new RangeError(`room secret must be ${ROOM_SECRET_LEN} bytes, got ${secret.length}`);
  return { epoch, secret: new Uint8Array(secret) };
}

export function generateRoomKey(epoch: number): RoomKey {
  return roomKey(epoch, globalThis.crypto.getRandomValues(new Uint8Array(ROOM_SECRET_LEN)));
}

/** A map key naming this exact key (in memory only; it contains the secret). */
export function keyScope(key: RoomKey): string {
  return `${key.epoch}:${toHex(key.secret)}`;
}
