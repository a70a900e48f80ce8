import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useRoomActions, useRoomSelector, useTypingNames } from '../../room/hooks';

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
  const { send } = useRoomActions();
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
    if (send({ type: 'chat', text: message }) !== null) {
      setText('');
      lastTyping.current = 0;
    }
  }

  return (
    <section className="card chat" data-testid="chat">
      <h3>Chat</h3>
      <ol ref={list}>
        {chat.map((m) => (
          <li key={m.id} data-testid="chat-message">
            <span className="from">{m.name}</span>
            <span className="time">{new Date(m.at_ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</span>
            <p>{m.text}</p>
          </li>
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
