// Boots devnode (our local Hyperware node) with the package installed, for browser tests
// across two nodes, and drives its fault API. devnode prints one DEVNODE_READY line with the
// nodes' URLs and login cookies once every node is up.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const APP_ID = 'voice-chat:voice-chat:template.os';

/**
 * Starts `devnode up`; resolves once it is ready with
 * { nodes: [{ node, url, app_url, cookie, password }], admin, stop() }.
 */
export async function bootDevnode({ devnode, packageZip, packageId = 'voice-chat:template.os', nodes = ['alice.os', 'bob.os'], timeoutMs = 60_000 }) {
  const home = mkdtempSync(join(tmpdir(), 'voice-chat-devnode-'));
  const args = ['up', '--package', packageZip, '--package-id', packageId, '--home', home];
  for (const node of nodes) args.push('--node', node);
  const child = spawn(devnode, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`devnode not ready within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`devnode exited with ${code} before it was ready`));
    });
    lines.on('line', (line) => {
      if (!line.startsWith('DEVNODE_READY ')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line.slice('DEVNODE_READY '.length)));
    });
  });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { ...ready, home, stop };
}

export function appUrl(node, path = '') {
  return `${node.url}/${APP_ID}${path}`;
}

/** A page of `context` (from launchChromium) logged in to `node` with its auth cookie. */
export async function loginContext(context, node) {
  const at = node.cookie.indexOf('=');
  await context.addCookies([
    { name: node.cookie.slice(0, at), value: node.cookie.slice(at + 1), domain: new URL(node.url).hostname, path: '/' },
  ]);
}

/** Voice processing off in this context's pages, so a tone is measured as it was sent. */
export async function disableVoiceProcessing(context) {
  await context.addInitScript(() => localStorage.setItem('voiceChat.voiceProcessing', 'off'));
}

/** Calls the app's HTTP API as the node owner: `{"Method": args}` → the Ok value. */
export async function api(node, method, args = null) {
  const response = await fetch(appUrl(node, '/api'), {
    method: 'POST',
    headers: { cookie: node.cookie, 'content-type': 'application/json' },
    body: JSON.stringify({ [method]: args }),
  });
  const body = await response.json();
  if ('Err' in body) throw new Error(`${method}: ${body.Err.code}: ${body.Err.message}`);
  return body.Ok;
}

async function admin(ready, path, body) {
  const response = await fetch(`${ready.admin}${path}`, {
    method: 'POST',
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`devnode admin ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

export const faults = {
  offline: (ready, node) => admin(ready, `/nodes/${node}/offline`),
  online: (ready, node) => admin(ready, `/nodes/${node}/online`),
  restartApp: (ready, node) => admin(ready, `/nodes/${node}/restart/${APP_ID}`),
  link: (ready, a, b, { latencyMs = 0, loss = 0, jitterMs } = {}) =>
    admin(ready, '/link', { a, b, latency_ms: latencyMs, loss, ...(jitterMs === undefined ? {} : { jitter_ms: jitterMs }) }),
};
