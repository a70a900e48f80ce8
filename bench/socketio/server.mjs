// A Socket.IO room relay: the idiomatic way to build voice rooms on Node. Every binary
// "a" event goes to every other socket of the sender's room (socket.to(room)), which
// Socket.IO encodes once per broadcast. Flow-control acks ("k") are received and ignored,
// so the upstream load matches the other relays.
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2] ?? 0);
const http = createServer();
const io = new Server(http, {
  transports: ["websocket"],
  perMessageDeflate: false,
  serveClient: false,
  maxHttpBufferSize: 1 << 16,
});

io.on("connection", (socket) => {
  let room = null;
  socket.on("join", (name, done) => {
    room = String(name);
    socket.join(room);
    if (typeof done === "function") done({ ok: true });
  });
  socket.on("a", (frame) => {
    if (room !== null) socket.to(room).emit("a", frame);
  });
  socket.on("k", () => {});
});

http.listen(port, "127.0.0.1", () => {
  console.log(`SOCKETIO_READY ${JSON.stringify({ port: http.address().port, pid: process.pid })}`);
});
