//! The on-exit supervisor of `hyperdrive/src/kernel/process.rs`: registers a process, runs it,
//! and on exit restarts it (with backoff), removes it, or sends its on-exit requests.
use super::backoff::Backoff;
use super::instance::{run_once, STACK_TRACE_SIZE};
use crate::kernel::{Control, Kernel, PROCESS_INBOX};
use crate::types::*;
use anyhow::Result;
use std::sync::Arc;
use tokio::sync::mpsc;
use wasmtime::component::Component;

/// Adds the process to the kernel's table with `caps` and starts its supervisor.
pub fn start(
    kernel: &Arc<Kernel>,
    id: ProcessId,
    wasm_path: &str,
    component: Component,
    on_exit: OnExit,
    caps: Vec<Capability>,
    public: bool,
) {
    let control = register(kernel, id.clone(), wasm_path, on_exit, caps, public);
    run(kernel, id, component, control);
}

/// Adds the process to the kernel's table, not yet running: messages to it fail until `run`.
pub fn register(
    kernel: &Arc<Kernel>,
    id: ProcessId,
    wasm_path: &str,
    on_exit: OnExit,
    caps: Vec<Capability>,
    public: bool,
) -> mpsc::UnboundedReceiver<Control> {
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    kernel.processes.lock().unwrap().insert(
        id,
        crate::kernel::ProcessEntry {
            sender: None,
            public,
            caps: caps.into_iter().collect(),
            on_exit,
            userspace: Some(crate::kernel::Userspace { wasm_path: wasm_path.into(), control: control_tx }),
        },
    );
    control_rx
}

/// Starts the supervisor of a registered process.
pub fn run(kernel: &Arc<Kernel>, id: ProcessId, component: Component, control: mpsc::UnboundedReceiver<Control>) {
    tokio::spawn(supervise(kernel.clone(), id, component, control));
}

enum RunEnd {
    Exited(Result<()>, String),
    Control(Control),
}

async fn supervise(kernel: Arc<Kernel>, id: ProcessId, component: Component, mut control: mpsc::UnboundedReceiver<Control>) {
    let our = kernel.address(id.clone());
    let mut backoff = Backoff::new();
    loop {
        let (tx, rx) = mpsc::channel(PROCESS_INBOX);
        {
            let mut procs = kernel.processes.lock().unwrap();
            let Some(entry) = procs.get_mut(&id) else { return };
            entry.sender = Some(tx.clone());
        }
        backoff.last_start = tokio::time::Instant::now();
        let end = tokio::select! {
            r = run_once(kernel.clone(), our.clone(), &component, rx, tx, start) => RunEnd::Exited(r.0, r.1),
            c = control.recv() => RunEnd::Control(c.unwrap_or(Control::Kill)),
        };
        if matches!(end, RunEnd::Control(Control::Kill)) {
            // Whoever killed the process owns its table entry (it may already be replaced).
            return;
        }
        let on_exit = {
            let mut procs = kernel.processes.lock().unwrap();
            let Some(entry) = procs.get_mut(&id) else { return };
            entry.sender = None;
            entry.on_exit.clone()
        };
        match end {
            RunEnd::Control(Control::Restart) => {
                kernel.log.print(1, "kernel", format!("restarting {id} on request"));
                continue;
            }
            RunEnd::Control(Control::Kill) => return,
            RunEnd::Exited(Ok(()), _) => kernel.log.print(1, id.to_string(), format!("process {our} returned without error")),
            RunEnd::Exited(Err(e), stderr) => {
                let tail = &stderr[stderr.len().saturating_sub(STACK_TRACE_SIZE)..];
                kernel.log.print(0, id.to_string(), format!("process {our} ended with error:\n{tail}{e:?}"));
            }
        }
        match on_exit {
            OnExit::None => {
                kernel.processes.lock().unwrap().remove(&id);
                return;
            }
            OnExit::Requests(requests) => {
                kernel.processes.lock().unwrap().remove(&id);
                for (target, mut request, blob) in requests {
                    request.expects_response = None;
                    let km = KernelMessage { id: rand::random(), source: our.clone(), target, rsvp: None, message: Message::Request(request), blob };
                    kernel.send(km).await;
                }
                return;
            }
            OnExit::Restart => {
                if let Some(wait) = backoff.on_exit() {
                    kernel.log.print(0, "kernel", format!("{id} crashed again quickly; restarting in {}s", wait.as_secs()));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        c = control.recv() => match c {
                            Some(Control::Restart) => {}
                            _ => return,
                        },
                    }
                }
            }
        }
    }
}

/// Asks a userspace process's supervisor to act; false if there is no such process.
pub fn control(kernel: &Kernel, id: &ProcessId, c: Control) -> bool {
    let procs = kernel.processes.lock().unwrap();
    match procs.get(id).and_then(|e| e.userspace.as_ref()) {
        Some(u) => u.control.send(c).is_ok(),
        None => false,
    }
}
