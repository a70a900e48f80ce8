// The process's HTTP API, in one place so it is easy to align with docs/http-api.md.
// Handlers with arguments take a hyperapp-style body on POST /api: {"Method": args}; results
// come back as {"Ok": value} or {"Err": {code, message}}.

import type { Settings } from '../protocol/control';
import { PROCESS_BASE } from './base';

export interface AppInfo {
  name: string;
  version: string;
  protocol_version: number;
  node?: string;
}

/** A room as the list and lookups give it (the engine's RoomSummary; older shapes tolerated). */
export interface RoomSummary {
  id: string;
  settings?: Settings;
  participants?: number;
  seq?: number;
  created_ms?: number;
  name?: string;
  invite?: string | null;
}

export interface RoomCreated {
  id: string;
  invite: string;
}

export function roomName(room: RoomSummary): string {
  return room.settings?.name ?? room.name ?? room.id;
}

export const DEFAULT_CAPACITY = 50;

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The node answers an unauthenticated request with its login page (HTML, status 200). */
export class LoginRequiredError extends ApiError {
  constructor() {
    super('login_required', 'Log in to your node to use Voice Chat.');
    this.name = 'LoginRequiredError';
  }
}

export const LOGIN_URL = '/login';

export async function parseResponse(response: Response): Promise<unknown> {
  const type = response.headers.get('content-type') ?? '';
  const text = await response.text();
  if (type.includes('text/html') || /^\s*</.test(text)) throw new LoginRequiredError();
  if (response.status === 408) throw new ApiError('timeout', 'The node did not answer in time (408).', 408);
  let body: unknown;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    throw new ApiError('bad_response', `HTTP ${response.status}: ${text.slice(0, 200)}`, response.status);
  }
  const err = errorOf(body);
  if (err) throw new ApiError(err.code, err.message, response.status);
  if (!response.ok) throw new ApiError('http_error', `HTTP ${response.status}: ${text.slice(0, 200)}`, response.status);
  if (body && typeof body === 'object' && 'Ok' in body) return (body as { Ok: unknown }).Ok;
  return body;
}

function errorOf(body: unknown): { code: string; message: string } | null {
  if (!body || typeof body !== 'object' || !('Err' in body)) return null;
  const err = (body as { Err: unknown }).Err;
  if (err && typeof err === 'object') {
    const { code, message } = err as { code?: unknown; message?: unknown };
    return { code: String(code ?? 'error'), message: String(message ?? JSON.stringify(err)) };
  }
  return { code: 'error', message: String(err) };
}

async function request(path: string, init?: RequestInit): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${PROCESS_BASE}${path}`, { credentials: 'same-origin', ...init });
  } catch (e) {
    throw new ApiError('network', `Could not reach the node: ${String(e)}`);
  }
  return parseResponse(response);
}

export function call<T>(method: string, args: unknown = null): Promise<T> {
  return request('/api', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ [method]: args }),
  }) as Promise<T>;
}

export const api = {
  info: () => request('/api/info') as Promise<AppInfo>,
  listRooms: () => request('/api/rooms') as Promise<RoomSummary[]>,
  createRoom: (settings: Settings) => call<RoomCreated>('CreateRoom', settings),
  getRoom: (id: string) => call<RoomSummary>('GetRoom', id),
  getInvite: (id: string) => call<string>('GetInvite', id),
  /** A new invite token; the old link stops working (people already in stay). */
  rotateInvite: (id: string) => call<string>('RotateInvite', id),
  updateSettings: (id: string, settings: Partial<Settings>) => call<Settings>('UpdateSettings', [id, settings]),
  closeRoom: (id: string) => call<null>('CloseRoom', id),
};

export function inviteLink(origin: string, room: { id: string; invite?: string | null; key?: string | null }, hostNode?: string): string {
  const url = new URL(`${PROCESS_BASE}/room/${encodeURIComponent(room.id)}`, origin);
  if (room.invite) url.searchParams.set('invite', room.invite);
  if (hostNode) url.searchParams.set('node', hostNode);
  // The key of an end-to-end encrypted room goes in the fragment: browsers never send it.
  if (room.key) url.hash = `k=${room.key}`;
  return url.toString();
}
