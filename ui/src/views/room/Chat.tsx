import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ChatMessage } from '../../protocol/control';
import { useChatText, useE2ee, useRoomActions, useRoomSelector, useTypingNames } from '../../room/hooks';

const TYPING_EVERY_MS = 2000;
const MAX_CHAT = 2000;

function typingLine(names: string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length <= 3) return `${names.join(', ')} are typing…`;
  return `${names.length} people are typing…`;
}

export function Chat() {
  const chat = useRoomSelector((s) => s?.chat);
  const typing = useTypingNames();
  const { send, sendChat } = useRoomActions();
  const e2ee = useE2ee();
  const [text, setText] = useState('');
  const lastTyping = useRef(0);
  const list = useRef<HTMLOListElement>(null);
  const count = chat?.length ?? 0;

  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [count]);

  if (!chat) return null;

  function change(value: string) {
    setText(value);
    const t = Date.now();
    if (value.trim() && t - lastTyping.current > TYPING_EVERY_MS) {
      lastTyping.current = t;
      send({ type: 'typing' });
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const message = text.trim();
    if (!message) return;
    setText('');
    lastTyping.current = 0;
    // Not sent (offline, could not be encrypted) or refused by the server later: the text
    // comes back to edit and send again, unless something new is being typed.
    const giveBack = (back: string) => setText((now) => (now === '' ? back : now));
    void sendChat(message, giveBack).then((sent) => {
      if (!sent) giveBack(message);
    });
  }

  return (
    <section className="card chat" data-testid="chat">
      <h3>Chat</h3>
      {e2ee.kind !== 'off' && (
        <p className="muted e2ee-note" data-testid="e2ee-chat-note">
          🔒 Messages are end-to-end encrypted. Names, roles and who is present stay visible to the nodes.
        </p>
      )}
      <ol ref={list}>
        {chat.map((m) => (
          <ChatLine key={m.id} message={m} />
        ))}
      </ol>
      <div className="typing" data-testid="typing">
        {typingLine(typing)}
      </div>
      <form onSubmit={submit} className="row">
        <input
          value={text}
          onChange={(e) => change(e.target.value)}
          maxLength={MAX_CHAT}
          placeholder="Message"
          aria-label="chat message"
        />
        <button className="primary">Send</button>
      </form>
    </section>
  );
}

function ChatLine({ message: m }: { message: ChatMessage }) {
  const shown = useChatText(m);
  return (
    <li data-testid="chat-message" data-kind={shown.kind}>
      <span className="from">{m.name}</span>
      <span className="time">{new Date(m.at_ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</span>
      {shown.kind === 'clear' || shown.kind === 'opened' ? (
        <p>{shown.text}</p>
      ) : shown.kind === 'pending' ? (
        <p className="muted">…</p>
      ) : (
        <p className="muted">🔒 This message cannot be read here (sent under a key this page does not have).</p>
      )}
    </li>
  );
}
