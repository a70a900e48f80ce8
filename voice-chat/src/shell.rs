//! The runtime side of the engine: one engine per process, driven by the `#[hyperapp]`
//! handlers and a 20 ms tick, its outputs carried out as pushes, peer requests and saves.
//!
//! The engine lives in a thread-local rather than in the hyperapp state struct because the
//! tick runs as a spawned task, which cannot borrow the state the macro hands to handlers.
use crate::clock::now_ms;
use crate::entropy::OsEntropy;
use crate::peers::PeerLinks;
use crate::state_store;
use crate::ws_push::WsPusher;
use hyperware_process_lib::http::server::WsMessageType;
use std::cell::RefCell;
use std::collections::BTreeSet;
use voice_chat_engine::{ConnKind, Config, Engine, Output, PeerMsg, PersistedState};

pub const OWNER_WS_PATH: &str = "/ws";
pub const GUEST_WS_PATH: &str = "/guest-ws";
pub const TICK_MS: u64 = 20;
const SAVE_INTERVAL_MS: u64 = 250;

pub struct Shell {
    pub engine: Engine,
    pusher: WsPusher,
    peers: PeerLinks,
    /// Connections the engine knows, to notice sockets the runtime has dropped.
    open: BTreeSet<u32>,
    outputs: Vec<Output>,
    save_due: bool,
    last_save_ms: u64,
}

thread_local! {
    static SHELL: RefCell<Option<Shell>> = const { RefCell::new(None) };
}

pub fn start(saved: Option<PersistedState>) {
    let our = hyperware_process_lib::our();
    let engine = match saved {
        Some(state) => Engine::restore(state, Config::default(), &our.node, Box::new(OsEntropy)),
        None => Engine::new(Config::default(), &our.node, Box::new(OsEntropy)),
    };
    let shell = Shell {
        engine,
        pusher: WsPusher::new(&our.node),
        peers: PeerLinks::new(&our.process),
        open: BTreeSet::new(),
        outputs: Vec::new(),
        save_due: false,
        last_save_ms: 0,
    };
    SHELL.with(|s| *s.borrow_mut() = Some(shell));
}

/// Runs `f` on the shell, then carries out whatever the engine asked for.
pub fn with<R>(f: impl FnOnce(&mut Shell) -> R) -> R {
    SHELL.with(|cell| {
        let mut guard = cell.borrow_mut();
        let shell = guard.as_mut().expect("the shell starts in #[init]");
        let result = f(shell);
        shell.perform_outputs();
        result
    })
}

impl Shell {
    pub fn on_ws(&mut self, conn: u32, message_type: WsMessageType, bytes: &mut [u8]) {
        let now = now_ms();
        if !self.open.contains(&conn) {
            // The macro keeps WebSocketOpen to itself; the path the socket was opened on
            // tells the owner's authenticated socket from a guest's.
            // A socket the macro does not know was opened before this process (re)started:
            // the engine answers it with `unknown_connection` and closes it, so the client
            // reconnects and resumes instead of waiting on a socket nobody reads.
            if let Some(kind) = connection_kind(conn) {
                if !self.engine.handle_open(now, conn, kind) {
                    // Over the app's socket cap: the engine queued an error and a close.
                    return;
                }
                self.open.insert(conn);
            }
        }
        match message_type {
            WsMessageType::Text => self.engine.handle_text(now, conn, bytes),
            WsMessageType::Binary => {
                if let Ok(relay) = self.engine.handle_binary(now, conn, bytes) {
                    self.pusher.push_binary(relay.conns, bytes);
                }
            }
            WsMessageType::Close => self.closed(now, conn),
            WsMessageType::Ping | WsMessageType::Pong => {}
        }
    }

    fn closed(&mut self, now: u64, conn: u32) {
        if self.open.remove(&conn) {
            self.pusher.forget(conn);
            self.engine.handle_close(now, conn);
        }
    }

    pub fn tick(&mut self) {
        let now = now_ms();
        self.reap_dropped_sockets(now);
        self.engine.handle_tick(now);
        let peers = &mut self.peers;
        self.engine.flush_peer_batches(|node, batch| peers.send_audio(node, batch));
        self.save_if_due(now);
    }

    /// The runtime tells the macro, not us, when a socket ends: compare with its channel list.
    fn reap_dropped_sockets(&mut self, now: u64) {
        let Some(server) = hyperware_process_lib::hyperapp::get_server() else { return };
        let live: BTreeSet<u32> = server.get_ws_channels().into_values().flatten().collect();
        let gone: Vec<u32> = self.open.difference(&live).copied().collect();
        for conn in gone {
            self.closed(now, conn);
        }
    }

    pub fn on_peer_message(&mut self, from_node: &str, body: &[u8]) -> Result<(), String> {
        self.engine.handle_peer_message(now_ms(), from_node, body).map_err(|refusal| refusal.to_string())
    }

    pub fn on_peer_audio(&mut self, from_node: &str, batch: &mut [u8]) {
        let pusher = &mut self.pusher;
        self.engine.handle_peer_audio(now_ms(), from_node, batch, |frame, conns| pusher.push_binary(conns, frame));
    }

    fn perform_outputs(&mut self) {
        self.engine.drain_outputs(&mut self.outputs);

        for output in self.outputs.drain(..) {
            match output {
                Output::ToConns { conns, msg } => self.pusher.push_text(&conns, &msg.to_json()),
                Output::Close { conn } => self.pusher.close(conn),
                Output::ToPeer { node, envelope } => {
                    // Only a user's command needs the envelope back on failure (its sender is
                    // told); events and the like just mark the peer unreachable.
                    let command = matches!(envelope.msg, PeerMsg::Control { .. }).then(|| envelope.clone());
                    self.peers.send_control(node, &envelope, move |node| {
                        let node = node.to_string();
                        with(|shell| match &command {
                            Some(envelope) => shell.engine.handle_peer_send_failed(now_ms(), &node, envelope),
                            None => shell.engine.handle_peer_unreachable(now_ms(), &node),
                        });
                    });
                }
                Output::PersistRequested => self.save_due = true,
            }
        }
        // Checked first so the relay path does not read the clock per frame.
        if self.save_due {
            self.save_if_due(now_ms());
        }
    }

    /// Saves before the next message is read, so a crash right after a change (a chat line,
    /// a role) loses nothing; a burst of changes is coalesced into one save per interval,
    /// since each save serializes every room.
    fn save_if_due(&mut self, now: u64) {
        if self.save_due && now.saturating_sub(self.last_save_ms) >= SAVE_INTERVAL_MS {
            self.save_due = false;
            self.last_save_ms = now;
            state_store::save(&self.engine.persisted());
        }
    }
}

fn connection_kind(conn: u32) -> Option<ConnKind> {
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
