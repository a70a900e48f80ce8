// Debian's coturn as the WebRTC anchor's TURN relay, on 127.0.0.1 only (shared/browser.md has
// the set-up that works on these machines). Installs the package when it is missing.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

const TURNSERVER = '/usr/bin/turnserver';

function ensureInstalled() {
  if (existsSync(TURNSERVER)) return;
  console.log('coturn is missing; installing it with apt-get');
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'coturn'], { stdio: 'inherit' });
}

/** A free UDP port on 127.0.0.1. */
async function freeUdpPort() {
  const socket = createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

/** Whether a STUN binding request to 127.0.0.1:port is answered within 200 ms. */
async function answersStun(port) {
  const socket = createSocket('udp4');
  const request = Buffer.alloc(20);
  request.writeUInt16BE(0x0001, 0);
  request.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(request, 8);
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 200);
      socket.once('message', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.send(request, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

/** Starts turnserver; resolves { port, stop() } once it listens. Credentials u / p. */
export async function startTurn() {
  ensureInstalled();
  const port = await freeUdpPort();
  const min = 50000 + Math.floor(Math.random() * 100) * 100;
  const args = [
    '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`,
    '--lt-cred-mech', '--user=u:p', '--realm=test', '--no-tls', '--no-dtls', '--allow-loopback-peers',
    '--no-cli', `--min-port=${min}`, `--max-port=${min + 99}`, '--log-file=stdout',
  ];
  const child = spawn(TURNSERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 10_000;
  while (!(await answersStun(port))) {
    if (exited !== null) throw new Error(`turnserver exited with ${exited}: ${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`turnserver did not answer STUN on 127.0.0.1:${port}: ${output}`);
    }
  }
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { port, stop };
}
