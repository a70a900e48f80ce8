import { describe, expect, it } from 'vitest';
import { pollUrl, socketUrl } from './socketUrl';

describe('socketUrl', () => {
  it('puts the owner on /ws and guests on /guest-ws under the process, matching the page scheme', () => {
    expect(socketUrl({ protocol: 'http:', host: '127.0.0.1:8080' }, false)).toBe(
      'ws://127.0.0.1:8080/voice-chat:voice-chat:template.os/ws',
    );
    expect(socketUrl({ protocol: 'https:', host: 'alice.example' }, true)).toBe(
      'wss://alice.example/voice-chat:voice-chat:template.os/guest-ws',
    );
  });

  it('polls the owner on /api and guests on /guest-api under the process', () => {
    expect(pollUrl(false)).toBe('/voice-chat:voice-chat:template.os/api');
    expect(pollUrl(true)).toBe('/voice-chat:voice-chat:template.os/guest-api');
  });
});
