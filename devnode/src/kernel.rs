//! One node's kernel: the process table, capability checks and the single event loop that
//! delivers every message with an awaited send (so a full inbox stalls the node, as upstream
//! `hyperdrive/src/kernel/mod.rs` does).
use crate::log::NodeLog;
use crate::net::Network;
use crate::types::*;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Upstream `PROCESS_CHANNEL_CAPACITY`.
pub const PROCESS_INBOX: usize = 100;
/// Upstream `EVENT_LOOP_CHANNEL_CAPACITY`.
pub const KERNEL_INBOX: usize = 100_000;

/// Commands to a running userspace process's supervisor.
#[derive(Debug)]
pub enum Control {
    /// Kill the instance and start it again at once (a fault injected by a test).
    Restart,
    /// Kill the instance for good.
    Kill,
}

pub struct ProcessEntry {
    /// None while the process is between runs (restart backoff) or not started yet:
    /// messages to it then fail as if it did not exist.
    pub sender: Option<mpsc::Sender<InboxItem>>,
    pub public: bool,
    pub caps: BTreeSet<Capability>,
    pub on_exit: OnExit,
    pub userspace: Option<Userspace>,
}

pub struct Userspace {
    pub wasm_path: String,
    pub control: mpsc::UnboundedSender<Control>,
}

pub struct Kernel {
    pub our: String,
    pub home: PathBuf,
    pub tx: mpsc::Sender<KernelEvent>,
    pub processes: Mutex<HashMap<ProcessId, ProcessEntry>>,
    pub log: NodeLog,
    pub net: Arc<Network>,
}

impl Kernel {
    pub fn new(our: &str, home: PathBuf, log: NodeLog, net: Arc<Network>) -> (Arc<Kernel>, mpsc::Receiver<KernelEvent>) {
        let (tx, rx) = mpsc::channel(KERNEL_INBOX);
        (Arc::new(Kernel { our: our.into(), home, tx, processes: Mutex::new(HashMap::new()), log, net }), rx)
    }

    pub fn address(&self, process: ProcessId) -> Address {
        Address::new(&self.our, process)
    }

    /// Registers a runtime module (or a native test endpoint) under `id` with an inbox of `capacity`.
    pub fn add_runtime_module(&self, id: ProcessId, capacity: usize, public: bool) -> mpsc::Receiver<InboxItem> {
        let (tx, rx) = mpsc::channel(capacity);
        self.processes.lock().unwrap().insert(
            id,
            ProcessEntry { sender: Some(tx), public, caps: BTreeSet::new(), on_exit: OnExit::None, userspace: None },
        );
        rx
    }

    pub fn add_caps(&self, on: &ProcessId, caps: impl IntoIterator<Item = Capability>) {
        if let Some(e) = self.processes.lock().unwrap().get_mut(on) {
            e.caps.extend(caps);
        }
    }

    pub fn has_cap(&self, on: &ProcessId, cap: &Capability) -> bool {
        self.processes.lock().unwrap().get(on).is_some_and(|e| e.caps.contains(cap))
    }

    pub fn process_ids(&self) -> Vec<ProcessId> {
        self.processes.lock().unwrap().keys().cloned().collect()
    }

    pub async fn send(&self, km: KernelMessage) {
        // The kernel's inbox only closes when the node shuts down; then nothing is delivered anyway.
        let _ = self.tx.send(KernelEvent::Message(km)).await;
    }

    fn sender_of(&self, id: &ProcessId) -> Option<mpsc::Sender<InboxItem>> {
        self.processes.lock().unwrap().get(id).and_then(|e| e.sender.clone())
    }

    fn is_userspace(&self, id: &ProcessId) -> bool {
        self.processes.lock().unwrap().get(id).is_some_and(|e| e.userspace.is_some())
    }

    /// Upstream `throw_timeout`: an immediate Timeout for a refused local send, only for
    /// userspace requests that expect a response.
    async fn throw_timeout(&self, km: KernelMessage) {
        let Message::Request(req) = &km.message else { return };
        if req.expects_response.is_none() || !self.is_userspace(&km.source.process) {
            return;
        }
        if let Some(sender) = self.sender_of(&km.source.process) {
            let err = WrappedSendError {
                id: km.id,
                source: self.address(kernel_id()),
                error: SendError { kind: SendErrorKind::Timeout, target: km.target, message: km.message, blob: km.blob },
            };
            let _ = sender.send(Err(err)).await;
        }
    }

    async fn route(&self, mut km: KernelMessage) {
        if km.source.node == "our" {
            km.source.node = self.our.clone();
        }
        if km.target.node == "our" {
            km.target.node = self.our.clone();
        }
        let network = Capability::network(&self.our);
        if km.source.node == self.our && km.target.node != self.our {
            let may_network = self.processes.lock().unwrap().get(&km.source.process).map(|e| e.caps.contains(&network));
            match may_network {
                None => return,
                Some(false) => {
                    self.log.print(0, "kernel", format!("{} may not send networked messages", km.source.process));
                    self.throw_timeout(km).await;
                    return;
                }
                Some(true) => {
                    self.net.send(km);
                    return;
                }
            }
        } else if km.source.node != self.our {
            // Remote senders need no messaging cap and ignore `public`, but the target must hold `network`.
            let may_receive = self.processes.lock().unwrap().get(&km.target.process).map(|e| e.caps.contains(&network));
            if may_receive != Some(true) {
                self.log.print(
                    if may_receive.is_none() { 2 } else { 0 },
                    "kernel",
                    format!("dropped a message from {} for {}: no such process or no networking", km.source, km.target.process),
                );
                return;
            }
        } else if ![kernel_id(), state_id(), vfs_id()].contains(&km.source.process) {
            let verdict = {
                let procs = self.processes.lock().unwrap();
                match (procs.get(&km.source.process), procs.get(&km.target.process)) {
                    (Some(src), Some(dst)) => {
                        dst.public || src.caps.contains(&Capability::messaging(Address::new(&self.our, km.target.process.clone())))
                    }
                    _ => false,
                }
            };
            if !verdict {
                self.log.print(
                    0,
                    "kernel",
                    format!("{} may not message {} (no such process or no capability)", km.source.process, km.target.process),
                );
                self.throw_timeout(km).await;
                return;
            }
        }
        if km.target.process == kernel_id() {
            return;
        }
        match self.sender_of(&km.target.process) {
            // The awaited send is the point: a full inbox blocks this loop, as upstream.
            Some(sender) => {
                let _ = sender.send(Ok(km)).await;
            }
            None => self.throw_timeout(km).await,
        }
    }
}

pub async fn kernel_loop(kernel: Arc<Kernel>, mut rx: mpsc::Receiver<KernelEvent>) {
    while let Some(event) = rx.recv().await {
        match event {
            KernelEvent::Message(km) => kernel.route(km).await,
            KernelEvent::NetError(err) => {
                if let Some(sender) = kernel.sender_of(&err.source.process) {
                    let _ = sender.send(Err(err)).await;
                }
            }
        }
    }
}
