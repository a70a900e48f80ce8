import { describe, expect, it } from 'vitest';
import { joinFailureText } from './joinFailure';

describe('joinFailureText', () => {
  it('explains the refusals a person can meet, and which can be retried', () => {
    expect(joinFailureText('room_not_found')).toMatchObject({ title: 'This room is not available', retry: false });
    expect(joinFailureText('name_taken').retry).toBe(true);
    expect(joinFailureText('bad_invite').retry).toBe(false);
  });

  it('gives the next step for every final refusal, an invite link for bad_invite', () => {
    expect(joinFailureText('bad_invite')).toMatchObject({ hint: 'Ask the host for an invite link and paste it here.', pasteInvite: true });
    for (const code of ['room_not_found', 'guests_not_allowed', 'room_full', 'banned', 'host_unreachable']) {
      const text = joinFailureText(code);
      expect(text.title).not.toBe('Could not join this room');
      expect(text.pasteInvite).toBeUndefined();
    }
    expect(joinFailureText('banned').retry).toBe(false);
  });

  it('explains a full polling fallback (too_many_sessions) as the connection limit, worth a retry', () => {
    expect(joinFailureText('too_many_sessions')).toMatchObject({ title: 'The node is at its connection limit', retry: true });
  });

  it('has a fallback for codes it does not know', () => {
    expect(joinFailureText('something_new')).toMatchObject({ title: 'Could not join this room', retry: true });
  });
});
