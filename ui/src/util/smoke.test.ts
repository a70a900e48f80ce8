import { describe, expect, it } from 'vitest';
import { BASE } from '../../vite.config';

describe('build config', () => {
  it('serves the UI under the process id', () => {
    expect(BASE).toBe('/voice-chat:voice-chat:template.os/');
  });
});
