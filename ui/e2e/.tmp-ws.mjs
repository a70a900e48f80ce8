import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
const ready = JSON.parse(readFileSync('/tmp/uidev/log', 'utf8').split('\n').find((l) => l.startsWith('DEVNODE_READY')).slice(14));
const alice = ready.nodes[0];
const base = alice.url + '/voice-chat:voice-chat:template.os';
const created = await (await fetch(base + '/api', { method: 'POST', headers: { cookie: alice.cookie }, body: JSON.stringify({ CreateRoom: { name: 'T', capacity: 10, default_role: 'speaker', guests_allowed: false, guests_may_speak: false } }) })).json();
console.log(created);
const ws = new WebSocket(base.replace('http', 'ws') + '/ws', { headers: { cookie: alice.cookie } });
ws.on('message', (d, bin) => console.log('<-', bin ? `binary ${d.length}` : d.toString().slice(0, 120)));
ws.on('open', () => {
  ws.send(JSON.stringify({ type: 'ping', v: 1, t: 1.5 }));
  ws.send(JSON.stringify({ type: 'join', v: 1, room: created.Ok.id, name: 'X', ref: 'join' }));
  setTimeout(() => ws.send(JSON.stringify({ type: 'ping', v: 1, t: 2.5 })), 300);
  setTimeout(() => ws.send(JSON.stringify({ type: 'ping', v: 1, t: 3.5 })), 2300);
  setTimeout(() => process.exit(0), 3000);
});
