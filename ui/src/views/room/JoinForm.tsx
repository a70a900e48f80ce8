import { useState, type FormEvent } from 'react';
import { toast } from 'sonner';
import { prefs } from '../../room/prefs';
import { ourNode } from '../Home';

export function JoinForm({ title, guest, onJoin }: { title: string; guest: boolean; onJoin: (name: string) => void }) {
  const [name, setName] = useState(prefs.displayName() ?? (guest ? '' : (ourNode() ?? '')));
  function submit(e: FormEvent) {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      toast.error('Enter the name others will see.');
      return;
    }
    onJoin(trimmed);
  }
  return (
    <main className="notice">
      <form className="card join" onSubmit={submit} data-testid="join-form">
        <h1>{title}</h1>
        {guest && <p className="muted">You are joining as a guest with an invite link.</p>}
        <label>
          Your name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={40} autoFocus />
        </label>
        <button className="primary" data-testid="join">
          Join
        </button>
      </form>
    </main>
  );
}
