// A UDP relay between the WebRTC pages and coturn that applies the same link faults devnode
// applies between nodes: added latency, jitter and loss. Only TURN ChannelData (the media; the
// first byte 0x40–0x4f) is delayed or dropped, and only from the clients towards coturn, so each
// direction of the call crosses the fault once, as a message between two nodes does; STUN and
// TURN control messages pass at once. Everything stays on 127.0.0.1.
import { createSocket } from 'node:dgram';

export async function startUdpLink(turnPort) {
  const front = createSocket('udp4');
  await new Promise((resolve) => front.bind(0, '127.0.0.1', resolve));
  const clients = new Map();
  let fault = { latencyMs: 0, jitterMs: 0, loss: 0 };
  /** In-order delivery per client, like a stream link: a packet never overtakes the one before it. */
  const lastDue = new Map();

  function upstream(address, port) {
    const key = `${address}:${port}`;
    let socket = clients.get(key);
    if (!socket) {
      socket = createSocket('udp4');
      socket.bind(0, '127.0.0.1');
      socket.on('message', (msg) => front.send(msg, port, address));
      clients.set(key, socket);
    }
    return socket;
  }

  front.on('message', (msg, rinfo) => {
    const socket = upstream(rinfo.address, rinfo.port);
    const send = () => socket.send(msg, turnPort, '127.0.0.1');
    const media = msg.length > 0 && msg[0] >= 0x40 && msg[0] <= 0x4f;
    if (!media || (fault.latencyMs === 0 && fault.jitterMs === 0 && fault.loss === 0)) return send();
    if (fault.loss > 0 && Math.random() < fault.loss) return;
    const now = performance.now();
    const key = `${rinfo.address}:${rinfo.port}`;
    const due = Math.max(lastDue.get(key) ?? 0, now + fault.latencyMs + Math.random() * fault.jitterMs);
    lastDue.set(key, due);
    setTimeout(send, due - now);
  });

  return {
    port: front.address().port,
    set(next) {
      fault = { latencyMs: 0, jitterMs: 0, loss: 0, ...next };
    },
    close() {
      for (const socket of clients.values()) socket.close();
      front.close();
    },
  };
}
