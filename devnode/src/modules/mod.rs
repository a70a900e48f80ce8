//! The small runtime modules: `state:distro:sys` (persisted process state), `timer:distro:sys`
//! and `homepage:homepage:sys`.
mod homepage;
mod state;
mod timer;

pub use homepage::{homepage_module, HomepageEntry};
pub use state::{state_dir, state_module};
pub use timer::timer_module;

use crate::kernel::Kernel;
use crate::types::*;

pub(crate) async fn respond(kernel: &Kernel, from: ProcessId, km: &KernelMessage, body: Vec<u8>, blob: Option<Blob>) {
    let target = km.rsvp.clone().unwrap_or_else(|| km.source.clone());
    kernel
        .send(KernelMessage {
            id: km.id,
            source: kernel.address(from),
            target,
            rsvp: None,
            message: Message::Response(Response::new(body), None),
            blob,
        })
        .await;
}

