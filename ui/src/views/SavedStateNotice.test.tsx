// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SavedStateNotice } from './SavedStateNotice';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const KEPT_IN = '/voice-chat:template.os/saved-state/unreadable-1764502822000.bin';

const held = {
  format: 1,
  loaded_from: null,
  unreadable: { reason: 'the saved state (format 1) is damaged: expected value', kept_in: KEPT_IN, kept_at_ms: 1764502822000, size: 412 },
  unsaved_changes: true,
};
const fine = { format: 1, loaded_from: 1, unreadable: null, unsaved_changes: false };

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A node whose saved state answers `statuses` in turn; records the calls. */
function node(statuses: unknown[], discardAnswer: unknown = { Ok: null }, discardStatus = 200) {
  const calls: { url: string; body?: string }[] = [];
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    calls.push({ url, body: init?.body as string | undefined });
    if (url.endsWith('/api/saved-state')) return json(statuses.length > 1 ? statuses.shift() : statuses[0]);
    return json(discardAnswer, discardStatus);
  });
  vi.stubGlobal('fetch', fetch);
  return calls;
}

describe('SavedStateNotice', () => {
  it('says the saved rooms could not be read and where they were kept', async () => {
    node([held]);
    render(<SavedStateNotice />);
    const notice = await screen.findByTestId('saved-state-notice');
    expect(notice.querySelector('h2')?.textContent).toBe(`Saved rooms could not be read; they were kept in ${KEPT_IN}`);
    expect(notice.textContent).toContain('damaged');
    expect(notice.textContent).toContain('there are such changes now');
  });

  it('shows nothing when the saved state was read', async () => {
    const calls = node([fine]);
    render(<SavedStateNotice />);
    await waitFor(() => expect(calls.length).toBe(1));
    expect(screen.queryByTestId('saved-state-notice')).toBeNull();
  });

  it('starts fresh only after a confirmation, naming the copy it was shown, then goes away', async () => {
    const calls = node([held, fine]);
    render(<SavedStateNotice />);
    fireEvent.click(await screen.findByRole('button', { name: 'Start fresh…' }));
    expect(calls.filter((c) => c.body)).toEqual([]);
    fireEvent.click(screen.getByRole('button', { name: 'Yes, start fresh' }));
    await waitFor(() => expect(screen.queryByTestId('saved-state-notice')).toBeNull());
    expect(JSON.parse(calls.find((c) => c.body)!.body!)).toEqual({ DiscardUnreadableState: KEPT_IN });
  });

  it('keeps the notice and shows the refusal when the node refuses', async () => {
    node([held], { Err: { code: 'stale_kept_copy', message: 'that is not the kept copy' } }, 409);
    render(<SavedStateNotice />);
    fireEvent.click(await screen.findByRole('button', { name: 'Start fresh…' }));
    fireEvent.click(screen.getByRole('button', { name: 'Yes, start fresh' }));
    expect(await screen.findByText('that is not the kept copy')).toBeTruthy();
    expect(screen.getByTestId('saved-state-notice')).toBeTruthy();
  });
});
