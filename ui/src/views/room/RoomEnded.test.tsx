// @vitest-environment jsdom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { Router } from 'wouter';
import { memoryLocation } from 'wouter/memory-location';
import type { Ended } from '../../net/roomState';
import { RoomEnded } from './RoomEnded';

afterEach(cleanup);

function show(ended: Ended) {
  render(
    <Router hook={memoryLocation({ path: '/room/r1' }).hook}>
      <RoomEnded ended={ended} />
    </Router>,
  );
  return { title: screen.getByRole('heading').textContent, text: screen.getByTestId('ended').textContent };
}

describe('RoomEnded', () => {
  it('tells a kicked person they were removed', () => {
    const { title, text } = show({ why: 'kicked' });
    expect(title).toBe('You were removed from this room');
    expect(text).toBe('A moderator removed you from this room.');
  });

  it('tells a banned person they were removed and cannot rejoin', () => {
    const { title, text } = show({ why: 'banned' });
    expect(title).toBe('You were removed from this room');
    expect(text).toMatch(/cannot rejoin this room/);
  });

  it('keeps the closed and timed-out pages apart from a removal', () => {
    expect(show({ why: 'closed', by: null }).title).toBe('The room was closed');
    cleanup();
    const gone = show({ why: 'removed', reason: 'timed out' });
    expect(gone.title).toBe('You left the room');
    expect(gone.text).toMatch(/timed out/);
  });
});
