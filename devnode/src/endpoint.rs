//! A native endpoint registered as a process on a node, for tests.
use crate::kernel::Kernel;
use crate::types::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A native endpoint registered as a process on a node, for tests to send and receive
/// messages as if they were a process.
pub struct Endpoint {
    pub address: Address,
    pub(crate) kernel: Arc<Kernel>,
    pub(crate) rx: mpsc::Receiver<InboxItem>,
}

impl Endpoint {
    pub async fn send(&self, target: Address, request: Request, blob: Option<Blob>) -> u64 {
        let id = rand::random();
        let rsvp = request.expects_response.map(|_| self.address.clone());
        self.kernel
            .send(KernelMessage { id, source: self.address.clone(), target, rsvp, message: Message::Request(request), blob })
            .await;
        id
    }

    /// Answers `to` (a received request) the way a runtime module does.
    pub async fn respond(&self, to: &KernelMessage, response: Response, blob: Option<Blob>) {
        let target = to.rsvp.clone().unwrap_or_else(|| to.source.clone());
        self.kernel
            .send(KernelMessage {
                id: to.id,
                source: self.address.clone(),
                target,
                rsvp: None,
                message: Message::Response(response, None),
                blob,
            })
            .await;
    }

    pub async fn recv(&mut self, timeout: Duration) -> Option<InboxItem> {
        tokio::time::timeout(timeout, self.rx.recv()).await.ok().flatten()
    }
}

