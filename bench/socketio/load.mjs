// Load generator for the Socket.IO relay: the same workload and the same metrics as the Rust
// load generator (bench/src/load.rs), so the driver can print one table. Frames use the
// voice-chat binary frame format; the payload starts with the send time (monotonic clock,
// ns) and the speaker's index, so receivers measure what the relay adds.
//
// Usage: node load.mjs '{"url":"http://127.0.0.1:PORT","participants":50,"speakers":5,
//   "warmupMs":2000,"measureMs":10000,"payload":80,"ackEvery":5,"frameMs":20}'
// Prints MEASURE_START / MEASURE_END when the window opens and closes (the driver samples
// the server's CPU then), and finally RESULT {json}.
import { io } from "socket.io-client";

const cfg = JSON.parse(process.argv[2]);
const N = cfg.participants;
const S = cfg.speakers;
const HEADER = 16;
const now = () => process.hrtime.bigint();

function wsHeaderLen(len) {
  // Server-to-client frames are unmasked: 2 bytes, +2 for 126..65535, +8 beyond.
  return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

function frame(speaker, seq, level) {
  const b = Buffer.alloc(HEADER + cfg.payload);
  b[0] = 0x01;
  b[1] = seq === 0 ? 0x03 : 0x01;
  b.writeUInt16BE(0, 2);
  b.writeUInt32BE(seq >>> 0, 4);
  b.writeUInt32BE((seq * 960) >>> 0, 8);
  b[12] = level;
  b.writeUInt16BE(cfg.payload, 14);
  b.writeBigUInt64BE(now(), HEADER);
  b.writeUInt16BE(speaker, HEADER + 8);
  for (let i = HEADER + 10; i < b.length; i++) b[i] = (seq * 31 + i) & 0xff;
  return b;
}

function connect() {
  return new Promise((resolve, reject) => {
    const sock = io(cfg.url, { transports: ["websocket"], forceNew: true, reconnection: false });
    sock.once("connect_error", reject);
    sock.once("connect", () => {
      sock.emit("join", "bench", () => resolve(sock));
    });
  });
}

const start = now();
// Set once everyone is in. Bytes count while the window is open; a frame counts when it was
// sent inside the window and arrives before `stop` (half a second of grace for the last ones).
let windowStart = 1n << 62n;
let windowEnd = 0n;
let stop = 0n;
const inWindow = (t) => t >= windowStart && t < windowEnd;

const clients = [];
for (let i = 0; i < N; i++) clients.push(await connect());
const joinedAt = now();

const stats = {
  sent: new Array(S).fill(0),
  received: 0,
  listenerReceived: 0,
  listenerBytes: 0,
  receivedBytes: 0,
  lat: [],
};

const stalledFrom = N - (cfg.stalled ?? 0);
clients.forEach((sock, i) => {
  const isListener = i >= S && i < stalledFrom;
  let total = 0;
  const ws = sock.io.engine.transport.ws;
  ws.on("message", (data) => {
    const t = now();
    if (!inWindow(t)) return;
    const wire = data.length + wsHeaderLen(data.length);
    stats.receivedBytes += wire;
    if (isListener) stats.listenerBytes += wire;
  });
  sock.on("a", (raw) => {
    const t = now();
    const b = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    total++;
    if (total % cfg.ackEvery === 0) sock.emit("k", total);
    if (t >= stop || b.length < HEADER + 10) return;
    const sentAt = b.readBigUInt64BE(HEADER);
    if (!inWindow(sentAt)) return;
    stats.received++;
    if (isListener) stats.listenerReceived++;
    stats.lat.push(Number(t - sentAt) / 1e3);
  });
});

const frameNs = BigInt(cfg.frameMs) * 1000000n;
const begin = now() + 100000000n;
windowStart = begin + BigInt(cfg.warmupMs) * 1000000n;
windowEnd = windowStart + BigInt(cfg.measureMs) * 1000000n;
stop = windowEnd + 500000000n;

// Each speaker keeps its own 20 ms clock and catches up if the event loop was late, as a
// microphone would keep producing frames.
for (let s = 0; s < S; s++) {
  const sock = clients[s];
  const level = 10 + 10 * s;
  let seq = 0;
  const phase = (frameNs * BigInt(s)) / BigInt(S);
  let next = begin + phase;
  const tick = () => {
    let t = now();
    while (next <= t && next < windowEnd) {
      const f = frame(s, seq, level);
      if (inWindow(f.readBigUInt64BE(HEADER))) stats.sent[s]++;
      sock.emit("a", f);
      seq++;
      next += frameNs;
    }
    if (next < windowEnd) setTimeout(tick, Math.max(0, Number(next - now()) / 1e6));
  };
  setTimeout(tick, Number(next - now()) / 1e6);
}

const sleepUntil = (t) => new Promise((r) => setTimeout(r, Math.max(0, Number(t - now()) / 1e6)));
await sleepUntil(windowStart);
// Stalled listeners stop reading their socket (a frozen tab) and are left out of the counts.
for (let i = stalledFrom; i < N; i++) clients[i].io.engine.transport.ws.pause();
const cpu0 = process.cpuUsage();
console.log("MEASURE_START");
await sleepUntil(windowEnd);
const cpu1 = process.cpuUsage(cpu0);
console.log("MEASURE_END");
await sleepUntil(stop);

const lat = Float64Array.from(stats.lat).sort();
const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] : NaN);
const result = {
  window_secs: cfg.measureMs / 1000,
  setup_secs: Number(joinedAt - start) / 1e9,
  sent_per_speaker: stats.sent,
  received_frames: stats.received,
  listener_received_frames: stats.listenerReceived,
  listener_bytes: stats.listenerBytes,
  received_bytes: stats.receivedBytes,
  listeners: N - S - (cfg.stalled ?? 0),
  stalled: cfg.stalled ?? 0,
  latency_ms: { p50: pct(50) / 1e3, p99: pct(99) / 1e3, max: lat.length ? lat[lat.length - 1] / 1e3 : NaN, samples: lat.length },
  client_cpu_secs: (cpu1.user + cpu1.system) / 1e6,
};
console.log(`RESULT ${JSON.stringify(result)}`);
for (const c of clients) c.close();
process.exit(0);
