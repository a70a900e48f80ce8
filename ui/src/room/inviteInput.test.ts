import { describe, expect, it } from 'vitest';
import { targetFromInvite } from './inviteInput';
import { RoomTargetError } from './roomTarget';

const current = { room: 'r1', host: 'alice.os' };

describe('targetFromInvite', () => {
  it('takes the room and invite from a guest link, keeping the node we were trying', () => {
    expect(targetFromInvite('http://127.0.0.1:8080/voice-chat:voice-chat:template.os/room/r1?invite=tok', current)).toEqual({
      room: 'r1',
      host: 'alice.os',
      invite: 'tok',
    });
  });

  it('takes the node from a link that names it', () => {
    expect(targetFromInvite('http://x/app/room/r2?invite=t2&node=carol.os', current)).toEqual({ room: 'r2', host: 'carol.os', invite: 't2' });
    expect(targetFromInvite('http://x/app/room/r1@alice.os?invite=t3', { room: 'r9' })).toEqual({ room: 'r1', host: 'alice.os', invite: 't3' });
  });

  it('takes room, node and invite from the room address "Copy room@node" gives', () => {
    expect(targetFromInvite('r2@carol.os?invite=t4', current)).toEqual({ room: 'r2', host: 'carol.os', invite: 't4' });
    expect(() => targetFromInvite('r2@carol.os?x=1', current)).toThrow(RoomTargetError);
  });

  it('accepts a bare token for the current room', () => {
    expect(targetFromInvite('  tok-9 ', current)).toEqual({ room: 'r1', host: 'alice.os', invite: 'tok-9' });
  });

  it('refuses a link without an invite, and text that is neither', () => {
    expect(() => targetFromInvite('http://x/app/room/r1', current)).toThrow(RoomTargetError);
    expect(() => targetFromInvite('not a token!', current)).toThrow(RoomTargetError);
    expect(() => targetFromInvite('', current)).toThrow(RoomTargetError);
  });
});
