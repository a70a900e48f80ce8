import { describe, expect, it } from 'vitest';
import { joinFailureText } from './joinFailure';

describe('joinFailureText', () => {
  it('explains the refusals a person can meet, and which can be retried', () => {
    expect(joinFailureText('room_not_found')).toMatchObject({ title: 'This room is not available', retry: false });
    expect(joinFailureText('name_taken').retry).toBe(true);
    expect(joinFailureText('bad_invite').retry).toBe(false);
  });

  it('has a fallback for codes it does not know', () => {
    expect(joinFailureText('something_new')).toMatchObject({ title: 'Could not join this room', retry: true });
  });
});
