import { describe, expect, it } from 'vitest';
import { keyFromFragment, parseRoomTarget, roomAddress, roomPath, RoomTargetError } from './roomTarget';

describe('parseRoomTarget', () => {
  it('reads a local id and id@node', () => {
    expect(parseRoomTarget(' abc_D-9 ')).toEqual({ room: 'abc_D-9' });
    expect(parseRoomTarget('abc@Bob.os')).toEqual({ room: 'abc', host: 'bob.os' });
  });

  it('reads an invite link with the host node', () => {
    const link = 'http://localhost:8080/voice-chat:voice-chat:template.os/room/r1?invite=tok_1&node=alice.os';
    expect(parseRoomTarget(link)).toEqual({ room: 'r1', host: 'alice.os', invite: 'tok_1' });
  });

  it('reads a room path with @node', () => {
    expect(parseRoomTarget('/voice-chat:voice-chat:template.os/room/r1@carol.dev.os')).toEqual({ room: 'r1', host: 'carol.dev.os' });
  });

  it('reads id@node?invite=token, the address "Copy room@node" gives', () => {
    expect(parseRoomTarget(' r1@alice.os?invite=tok_1 ')).toEqual({ room: 'r1', host: 'alice.os', invite: 'tok_1' });
    expect(() => parseRoomTarget('r1@alice.os?node=x')).toThrow(/invite/);
  });

  it('says what is wrong', () => {
    expect(() => parseRoomTarget('')).toThrow(RoomTargetError);
    expect(() => parseRoomTarget('bad id')).toThrow(/not a room id/);
    expect(() => parseRoomTarget('r1@nodot')).toThrow(/not a node name/);
    expect(() => parseRoomTarget('https://x/elsewhere')).toThrow(/does not point at a room/);
  });
});

describe('roomPath', () => {
  it('keeps the host only when it is not our node', () => {
    expect(roomPath({ room: 'r1', host: 'bob.os' }, 'alice.os')).toBe('/room/r1@bob.os');
    expect(roomPath({ room: 'r1', host: 'alice.os' }, 'alice.os')).toBe('/room/r1');
    expect(roomPath({ room: 'r1', invite: 'a b' })).toBe('/room/r1?invite=a%20b');
  });
});

describe('roomAddress', () => {
  it('carries the invite, and reads back to the same room, node and invite', () => {
    const target = { room: 'r1', host: 'alice.os', invite: 'tok-A_9' };
    expect(roomAddress(target)).toBe('r1@alice.os?invite=tok-A_9');
    expect(parseRoomTarget(roomAddress(target))).toEqual(target);
    expect(roomAddress({ room: 'r1', host: 'alice.os' })).toBe('r1@alice.os');
    expect(parseRoomTarget(roomAddress({ room: 'r1', host: 'alice.os', invite: null }))).toEqual({ room: 'r1', host: 'alice.os' });
  });

  it('opens, through the join form, the page that joins with the invite', () => {
    const path = roomPath(parseRoomTarget(roomAddress({ room: 'r1', host: 'alice.os', invite: 'tok' })), 'bob.os');
    expect(path).toBe('/room/r1@alice.os?invite=tok');
  });
});

describe('the room key in the fragment', () => {
  const key = '0.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';

  it('is read from a full invite link and from a room address, and kept apart from the invite', () => {
    const link = `http://localhost:8080/voice-chat:voice-chat:template.os/room/r1?invite=tok_1&node=alice.os#k=${key}`;
    expect(parseRoomTarget(link)).toEqual({ room: 'r1', host: 'alice.os', invite: 'tok_1', key });
    expect(parseRoomTarget(`r1@alice.os?invite=tok_1#k=${key}`)).toEqual({ room: 'r1', host: 'alice.os', invite: 'tok_1', key });
    expect(parseRoomTarget(`r1@alice.os#k=${key}`)).toEqual({ room: 'r1', host: 'alice.os', key });
  });

  it('goes back into the fragment, never into the query a node sees', () => {
    const target = { room: 'r1', host: 'alice.os', invite: 'tok', key };
    expect(roomAddress(target)).toBe(`r1@alice.os?invite=tok#k=${key}`);
    expect(parseRoomTarget(roomAddress(target))).toEqual(target);
    const path = roomPath(target, 'bob.os');
    expect(path).toBe(`/room/r1@alice.os?invite=tok#k=${key}`);
    expect(new URL(path, 'http://x').search).toBe('?invite=tok');
  });

  it('a fragment without k= is ignored; a damaged key is refused with a clear message', () => {
    expect(parseRoomTarget('r1@alice.os#other')).toEqual({ room: 'r1', host: 'alice.os' });
    expect(keyFromFragment('')).toBeUndefined();
    expect(keyFromFragment(`#k=${key}`)).toBe(key);
    expect(() => parseRoomTarget('r1@alice.os#k=bad key!')).toThrow(/key in that link is damaged/);
  });
});
