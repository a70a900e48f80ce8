// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Router } from 'wouter';
import { memoryLocation } from 'wouter/memory-location';
import { JoinRefused } from './JoinRefused';

afterEach(cleanup);

const refusal = (code: string) => ({ type: 'error' as const, code, message: `refused: ${code}`, ref: null });

function show(code: string) {
  const location = memoryLocation({ path: '/room/r1@alice.os', record: true });
  const onRetry = vi.fn();
  render(
    <Router hook={location.hook}>
      <JoinRefused failure={refusal(code)} target={{ room: 'r1', host: 'alice.os' }} onRetry={onRetry} />
    </Router>,
  );
  return { location, onRetry };
}

describe('JoinRefused', () => {
  it('asks for an invite link on bad_invite and opens the room with the pasted one', () => {
    const { location } = show('bad_invite');
    expect(screen.getByTestId('join-refused').dataset.code).toBe('bad_invite');
    expect(screen.getByTestId('next-step').textContent).toBe('Ask the host for an invite link and paste it here.');
    expect(screen.queryByRole('button', { name: 'Try again' })).toBeNull();
    fireEvent.change(screen.getByLabelText('invite link'), {
      target: { value: 'http://127.0.0.1:8080/voice-chat:voice-chat:template.os/room/r1?invite=tok' },
    });
    fireEvent.submit(screen.getByTestId('paste-invite'));
    expect(location.history.at(-1)).toBe('/room/r1@alice.os?invite=tok');
  });

  it('says why and offers a retry only where one can help, with no invite field', () => {
    const full = show('room_full');
    expect(screen.getByText('The room is full')).toBeTruthy();
    expect(screen.queryByTestId('paste-invite')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(full.onRetry).toHaveBeenCalledOnce();
    cleanup();
    show('banned');
    expect(screen.getByText('You are banned from this room')).toBeTruthy();
    expect(screen.getByTestId('next-step').textContent).toMatch(/you cannot rejoin/);
    expect(screen.queryByRole('button', { name: 'Try again' })).toBeNull();
    expect(screen.queryByTestId('paste-invite')).toBeNull();
  });
});
