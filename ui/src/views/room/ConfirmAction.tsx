// "Are you sure?" inside the page, not with window.confirm(): a modal dialog stops the page's
// main thread, where the encoder's output and the socket live, so while it is open the person
// asking goes silent for everyone (the end-to-end tests measured it). This asks in place.

import { useState } from 'react';

export function ConfirmAction({
  label,
  question,
  yes,
  onConfirm,
  className = 'danger',
  title,
}: {
  label: string;
  question: string;
  /** The confirming button's text. */
  yes: string;
  onConfirm: () => void;
  className?: string;
  title?: string;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button className={className} title={title} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return <Ask question={question} yes={yes} onYes={() => (setAsking(false), onConfirm())} onNo={() => setAsking(false)} />;
}

/** The question with its two answers, for a caller that keeps the "asking" state itself. */
export function Ask({ question, yes, onYes, onNo }: { question: string; yes: string; onYes: () => void; onNo: () => void }) {
  return (
    <span className="confirm-inline" role="group" aria-label={question} data-testid="confirm">
      <span className="question">{question}</span>{' '}
      <button className="danger" data-testid="confirm-yes" onClick={onYes} autoFocus>
        {yes}
      </button>{' '}
      <button data-testid="confirm-no" onClick={onNo}>
        Cancel
      </button>
    </span>
  );
}
