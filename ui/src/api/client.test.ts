import { describe, expect, it } from 'vitest';
import { ApiError, inviteLink, LoginRequiredError, parseResponse, roomName } from './client';

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

describe('parseResponse', () => {
  it('unwraps Ok and passes plain bodies through', async () => {
    expect(await parseResponse(json({ Ok: { id: 'r1' } }))).toEqual({ id: 'r1' });
    expect(await parseResponse(json({ name: 'voice-chat' }))).toEqual({ name: 'voice-chat' });
  });

  it('turns Err into an ApiError with the code and message', async () => {
    const e = await failure(parseResponse(json({ Err: { code: 'room_not_found', message: 'no such room' } }, 404)));
    expect(e.code).toBe('room_not_found');
    expect(e.message).toBe('no such room');
    expect(e.status).toBe(404);
  });

  it('recognises the node login page served with status 200', async () => {
    const page = new Response('<!DOCTYPE html><html><body>Login</body></html>', {
      status: 200,
      headers: { 'content-type': 'text/html' },
    });
    expect(await failure(parseResponse(page))).toBeInstanceOf(LoginRequiredError);
  });

  it('reports 408 and garbage clearly', async () => {
    expect((await failure(parseResponse(new Response('', { status: 408 })))).code).toBe('timeout');
    expect((await failure(parseResponse(new Response('oops', { status: 500 })))).message).toMatch(/HTTP 500: oops/);
    expect((await failure(parseResponse(json({ what: 1 }, 500)))).code).toBe('http_error');
  });
});

describe('inviteLink', () => {
  it('points at the room page under the process with token and host node', () => {
    expect(inviteLink('http://127.0.0.1:8080', { id: 'r1', invite: 'tok' }, 'alice.os')).toBe(
      'http://127.0.0.1:8080/voice-chat:voice-chat:template.os/room/r1?invite=tok&node=alice.os',
    );
  });
});

describe('roomName', () => {
  it('reads the name from the settings of the engine summary', () => {
    expect(
      roomName({
        id: 'r1',
        settings: { name: 'Stand-up', capacity: 5, default_role: 'speaker', guests_allowed: false, guests_may_speak: false },
      }),
    ).toBe('Stand-up');
    expect(roomName({ id: 'r1' })).toBe('r1');
  });
});
