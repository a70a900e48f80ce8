import { describe, expect, it } from 'vitest';
import { socketUrl } from './socketUrl';

describe('socketUrl', () => {
  it('puts the owner on /ws and guests on /guest-ws under the process, matching the page scheme', () => {
    expect(socketUrl({ protocol: 'http:', host: '127.0.0.1:8080' }, false)).toBe(
      'ws://127.0.0.1:8080/voice-chat:voice-chat:template.os/ws',
    );
    expect(socketUrl({ protocol: 'https:', host: 'alice.example' }, true)).toBe(
      'wss://alice.example/voice-chat:voice-chat:template.os/guest-ws',
    );
  });
});
