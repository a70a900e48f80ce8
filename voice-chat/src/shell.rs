//! The runtime side of the engine: one engine per process. Runtime messages become engine
//! [`Input`]s; each engine [`Output`] becomes one runtime call. Every rule (retries, save
//! coalescing, which sockets are open, when to wake up) lives in the engine.
//!
//! The engine lives in a thread-local rather than in the hyperapp state struct because timer
//! wake-ups and peer answers arrive in spawned tasks, which cannot borrow the state the macro
//! hands to handlers.
use crate::clock::now_ms;
use crate::entropy::OsEntropy;
use crate::peer_requests::{Delivery, PeerSender};
use crate::state_store;
use crate::ws_push::WsPusher;
use hyperware_process_lib::http::server::WsMessageType;
use std::cell::RefCell;
use voice_chat_engine::{ConnId, ConnKind, Config, Engine, Input, OutBuf, Output, PersistedState, Refusal};

pub const OWNER_WS_PATH: &str = "/ws";
pub const GUEST_WS_PATH: &str = "/guest-ws";

pub struct Shell {
    pub engine: Engine,
    buf: OutBuf,
    pusher: WsPusher,
    peers: PeerSender,
    /// The earliest wake-up already asked of the runtime's timer.
    armed: Option<u64>,
}

thread_local! {
    static SHELL: RefCell<Option<Shell>> = const { RefCell::new(None) };
}

pub fn start(saved: Option<PersistedState>) {
    let our = hyperware_process_lib::our();
    let cfg = Config::default();
    let peers = PeerSender::new(&our.process, cfg.peer_audio_answer_ms);
    let engine = match saved {
        Some(state) => Engine::restore(state, cfg, &our.node, Box::new(OsEntropy)),
        None => Engine::new(cfg, &our.node, Box::new(OsEntropy)),
    };
    let shell = Shell { engine, buf: OutBuf::new(), pusher: WsPusher::new(&our.node), peers, armed: None };
    SHELL.with(|s| *s.borrow_mut() = Some(shell));
    with(|_| ());
}

/// Runs `f` on the shell, then carries out whatever the engine asked for and makes sure the
/// runtime wakes the engine at its next timeout.
pub fn with<R>(f: impl FnOnce(&mut Shell) -> R) -> R {
    SHELL.with(|cell| {
        let mut guard = cell.borrow_mut();
        let shell = guard.as_mut().expect("the shell starts in #[init]");
        let result = f(shell);
        shell.perform_outputs();
        shell.arm_timer();
        result
    })
}

impl Shell {
    pub fn on_ws(&mut self, conn: ConnId, message_type: WsMessageType, bytes: &mut [u8]) {
        let now = now_ms();
        if !self.engine.is_open(conn) {
            // The macro keeps WebSocketOpen to itself (a socket is learnt of at its first
            // message, or from the runtime's list at the next socket check); the path the
            // socket was opened on tells the owner's authenticated socket from a guest's. A socket the runtime does not
            // list was opened before this process (re)started: the engine answers it with
            // `unknown_connection` and closes it, so the client reconnects and resumes.
            if let Some(kind) = connection_kind(conn) {
                if open(&mut self.engine, now, conn, kind).is_err() {
                    return;
                }
            }
        }
        let input = match message_type {
            WsMessageType::Text => Input::Text { conn, text: bytes },
            WsMessageType::Binary => Input::Binary { conn, frame: bytes },
            WsMessageType::Close => {
                self.pusher.forget(conn);
                Input::Close { conn }
            }
            WsMessageType::Ping | WsMessageType::Pong => return,
        };
        // A refused frame is counted in the engine's metrics; nothing else to do.
        let _ = self.engine.handle(now, input);
    }

    pub fn on_peer_message(&mut self, from_node: &str, body: &[u8]) -> Result<(), String> {
        self.engine.handle(now_ms(), Input::PeerControl { from: from_node, body }).map_err(|refusal| match refusal {
            Refusal::Peer(refusal) => refusal.to_string(),
            other => format!("{other:?}"),
        })
    }

    pub fn on_peer_audio(&mut self, from_node: &str, batch: &mut [u8]) {
        let _ = self.engine.handle(now_ms(), Input::PeerAudio { from: from_node, batch });
    }

    fn perform_outputs(&mut self) {
        while let Some(output) = self.engine.poll_output(&mut self.buf) {
            match output {
                Output::Text => self.pusher.push_text(&self.buf.conns, &self.buf.bytes),
                Output::Binary => self.pusher.push_binary(&self.buf.conns, &self.buf.bytes),
                Output::Close { conn } => self.pusher.close(conn),
                Output::PeerControl { node, request, timeout_ms } => {
                    self.peers.send_control(self.engine.peer_name(node), &self.buf.bytes, timeout_ms, move |delivery| {
                        let input = match delivery {
                            Delivery::Answered => Input::PeerDelivered { request },
                            Delivery::Failed => Input::PeerSendFailed { request },
                        };
                        with(|shell| {
                            let _ = shell.engine.handle(now_ms(), input);
                        });
                    });
                }
                Output::PeerAudio { node } => self.peers.send_audio(node.0, self.engine.peer_name(node), &self.buf.bytes),
                Output::Persist(state) => state_store::save(&state),
                Output::ListSockets => {
                    // Without the server's list there is nothing to compare with.
                    let Some((live, unknown)) = live_sockets(&self.engine) else { continue };
                    self.pusher.retain(&live);
                    let now = now_ms();
                    let _ = self.engine.handle(now, Input::LiveSockets { conns: &live });
                    // Sockets that opened and have not sent anything yet: counted toward the
                    // cap and held to the join deadline from now on.
                    for (conn, kind) in unknown {
                        let _ = open(&mut self.engine, now, conn, kind);
                    }
                }
            }
        }
    }

    /// Asks the runtime's timer for a wake-up at the engine's next timeout, unless an
    /// earlier one is already on its way.
    fn arm_timer(&mut self) {
        let Some(at) = self.engine.poll_timeout() else { return };
        if self.armed.is_some_and(|armed| armed <= at) {
            return;
        }
        self.armed = Some(at);
        let wait = at.saturating_sub(now_ms());
        hyperware_process_lib::hyperapp::spawn(async move {
            let _ = hyperware_process_lib::hyperapp::sleep(wait).await;
            with(|shell| {
                if shell.armed == Some(at) {
                    shell.armed = None;
                }
                let _ = shell.engine.handle(now_ms(), Input::Timeout);
            });
        });
    }
}

/// Tells the engine of a socket, with the client address the runtime gave for it (the
/// macro keeps it from `WebSocketOpen`: `forwarded_for`, else the socket's peer address).
fn open(engine: &mut Engine, now: u64, conn: ConnId, kind: ConnKind) -> Result<(), Refusal> {
    let addr = hyperware_process_lib::hyperapp::get_server().and_then(|s| s.get_ws_channel_addr(conn).cloned());
    match addr {
        Some(addr) => engine.handle(now, Input::OpenFrom { conn, kind, addr: &addr }),
        None => engine.handle(now, Input::Open { conn, kind }),
    }
}

/// The runtime's open sockets, and those of them on our two paths the engine does not know.
fn live_sockets(engine: &Engine) -> Option<(Vec<ConnId>, Vec<(ConnId, ConnKind)>)> {
    let server = hyperware_process_lib::hyperapp::get_server()?;
    let channels = server.get_ws_channels();
    let live = channels.values().flatten().copied().collect();
    let mut unknown = Vec::new();
    for (path, kind) in [(OWNER_WS_PATH, ConnKind::Owner), (GUEST_WS_PATH, ConnKind::Guest)] {
        let conns = channels.get(path).into_iter().flatten();
        unknown.extend(conns.filter(|c| !engine.is_open(**c)).map(|c| (*c, kind)));
    }
    Some((live, unknown))
}

fn connection_kind(conn: ConnId) -> Option<ConnKind> {
    let server = hyperware_process_lib::hyperapp::get_server()?;
    let channels = server.get_ws_channels();
    if channels.get(OWNER_WS_PATH).is_some_and(|c| c.contains(&conn)) {
        Some(ConnKind::Owner)
    } else if channels.get(GUEST_WS_PATH).is_some_and(|c| c.contains(&conn)) {
        Some(ConnKind::Guest)
    } else {
        None
    }
}
