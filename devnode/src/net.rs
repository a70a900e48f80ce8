//! Networking between the nodes of one devnode, with upstream's observable behaviour
//! (`hyperdrive/src/net/`): the true source address, one FIFO queue per ordered pair of nodes,
//! `offline` after about a second for a node that cannot be reached, and the 10,485,800-byte
//! message limit that closes the "connection" and loses what was queued behind it.
//! Faults (offline nodes; latency, jitter and loss per pair) are set by tests.
//!
//! Jitter delays each message by an extra random amount but never reorders a pair's messages:
//! upstream carries all messages between two nodes over one TCP or WebSocket connection, so
//! a late message holds back the ones behind it (head-of-line blocking) instead of being
//! overtaken.
use crate::types::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Upstream `MESSAGE_MAX_SIZE` in `net/utils.rs`.
pub const MAX_MESSAGE_SIZE: usize = 10_485_800;
/// How long a connection attempt to an unreachable node takes before `offline`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The faults of the link between two nodes (both directions).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Link {
    /// Fixed delay of every message.
    pub latency: Duration,
    /// Each message is delayed by a further random amount, uniform in [0, jitter]; order is kept.
    pub jitter: Duration,
    /// Probability in [0, 1] that a message is lost.
    pub loss: f64,
}

impl Link {
    /// When a message sent at `sent_at` may be delivered, with this message's own jitter drawn.
    fn due(&self, sent_at: Instant) -> Instant {
        let jitter = if self.jitter > Duration::ZERO { self.jitter.mul_f64(rand::random::<f64>()) } else { Duration::ZERO };
        sent_at + self.latency + jitter
    }
}

struct Peer {
    kernel: mpsc::Sender<KernelEvent>,
    /// Set by tests: on the network or not.
    online: bool,
    /// False while the node is down (between a shutdown and its reboot).
    up: bool,
}

/// One ordered pair's FIFO: messages with the time they were sent.
type PairQueue = mpsc::UnboundedSender<(Instant, KernelMessage)>;

#[derive(Default)]
pub struct Network {
    peers: Mutex<HashMap<String, Peer>>,
    links: Mutex<HashMap<(String, String), Link>>,
    queues: Mutex<HashMap<(String, String), PairQueue>>,
}

fn pair_key(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.into(), b.into())
    } else {
        (b.into(), a.into())
    }
}

impl Network {
    pub fn new() -> Arc<Network> {
        Arc::new(Network::default())
    }

    /// Adds a node, or points a rebooted node at its new kernel (keeping its online flag).
    pub fn register(&self, node: &str, kernel: mpsc::Sender<KernelEvent>) {
        let mut peers = self.peers.lock().unwrap();
        match peers.get_mut(node) {
            Some(p) => p.kernel = kernel,
            None => {
                peers.insert(node.into(), Peer { kernel, online: true, up: true });
            }
        }
    }

    /// A node that is down (rebooting) is unreachable like an offline one.
    pub fn set_up(&self, node: &str, up: bool) {
        if let Some(p) = self.peers.lock().unwrap().get_mut(node) {
            p.up = up;
        }
    }

    pub fn unregister(&self, node: &str) {
        self.peers.lock().unwrap().remove(node);
        self.queues.lock().unwrap().retain(|(a, b), _| a != node && b != node);
    }

    pub fn set_online(&self, node: &str, online: bool) {
        if let Some(p) = self.peers.lock().unwrap().get_mut(node) {
            p.online = online;
        }
    }

    pub fn is_online(&self, node: &str) -> bool {
        self.peers.lock().unwrap().get(node).is_some_and(|p| p.online && p.up)
    }

    pub fn set_link(&self, a: &str, b: &str, link: Link) {
        self.links.lock().unwrap().insert(pair_key(a, b), link);
    }

    fn link(&self, a: &str, b: &str) -> Link {
        self.links.lock().unwrap().get(&pair_key(a, b)).copied().unwrap_or_default()
    }

    fn kernel_of(&self, node: &str) -> Option<mpsc::Sender<KernelEvent>> {
        self.peers.lock().unwrap().get(node).map(|p| p.kernel.clone())
    }

    /// Called by a kernel for a message whose target is another node. Never blocks: upstream
    /// queues per peer without bound.
    pub fn send(self: &Arc<Self>, km: KernelMessage) {
        let from = km.source.node.clone();
        let to = km.target.node.clone();
        if self.kernel_of(&to).is_none() {
            // Not in the PKI: offline at once.
            let net = self.clone();
            tokio::spawn(async move { net.offline(km).await });
            return;
        }
        let key = (from.clone(), to.clone());
        let mut queues = self.queues.lock().unwrap();
        let tx = queues.entry(key).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(self.clone().pair_worker(from, to, rx));
            tx
        });
        let _ = tx.send((Instant::now(), km));
    }

    async fn offline(&self, km: KernelMessage) {
        let Some(sender_kernel) = self.kernel_of(&km.source.node) else { return };
        let err = WrappedSendError {
            id: km.id,
            source: km.source.clone(),
            error: SendError { kind: SendErrorKind::Offline, target: km.target, message: km.message, blob: km.blob },
        };
        let _ = sender_kernel.send(KernelEvent::NetError(err)).await;
    }

    async fn pair_worker(self: Arc<Self>, from: String, to: String, mut rx: mpsc::UnboundedReceiver<(Instant, KernelMessage)>) {
        while let Some((sent_at, km)) = rx.recv().await {
            if !self.is_online(&from) || !self.is_online(&to) {
                // A failed connection fails everything queued for the peer.
                tokio::time::sleep(CONNECT_TIMEOUT).await;
                self.offline(km).await;
                while let Ok((_, km)) = rx.try_recv() {
                    self.offline(km).await;
                }
                continue;
            }
            if km.wire_size() > MAX_MESSAGE_SIZE {
                // The write fails and the connection closes: this message and the ones queued
                // behind it are lost without an error; senders see only their own timeouts.
                let mut lost = 1;
                while rx.try_recv().is_ok() {
                    lost += 1;
                }
                eprintln!("[devnode net] {from} -> {to}: message over {MAX_MESSAGE_SIZE} bytes closed the connection; {lost} lost");
                continue;
            }
            let link = self.link(&from, &to);
            // One worker per pair delivers in order: a message due earlier than the one ahead of
            // it waits for that one, as on a single connection.
            let due = link.due(sent_at);
            if due > Instant::now() {
                tokio::time::sleep_until(due).await;
            }
            if link.loss > 0.0 && rand::random::<f64>() < link.loss {
                continue;
            }
            let Some(kernel) = self.kernel_of(&to) else { continue };
            let _ = kernel.send(KernelEvent::Message(km)).await;
        }
    }
}
