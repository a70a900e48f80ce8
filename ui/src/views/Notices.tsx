import type { ReactNode } from 'react';
import { Link } from 'wouter';
import { LOGIN_URL } from '../api/client';

export function Notice({ title, children, tone = 'info' }: { title: string; children?: ReactNode; tone?: 'info' | 'error' }) {
  return (
    <main className={`notice notice-${tone}`} data-testid="notice">
      <h1>{title}</h1>
      {children}
      <p>
        <Link href="/">Back to your rooms</Link>
      </p>
    </main>
  );
}

export function LoginRequired() {
  return (
    <main className="notice" data-testid="login-required">
      <h1>Log in to your node</h1>
      <p>Voice Chat runs on your Hyperware node, and your node needs you to log in first.</p>
      <p>
        <a className="button primary" href={LOGIN_URL}>
          Log in
        </a>
      </p>
    </main>
  );
}

export function NotFound() {
  return (
    <Notice title="Nothing here" tone="error">
      <p>This page does not exist.</p>
    </Notice>
  );
}
