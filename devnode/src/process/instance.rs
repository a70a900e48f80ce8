//! One running instance of a process: its store state (message queue, prompting message,
//! blobs, outstanding contexts) and the messaging machinery the world's functions share,
//! as upstream `hyperdrive/src/kernel/standard_host_v1.rs` keeps them.
use super::compile::engine;
use super::bindings::*;
use crate::kernel::Kernel;
use crate::types::*;
use anyhow::{anyhow, Result};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::Store;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::p2::{IoView, WasiCtx, WasiCtxBuilder, WasiView};

/// Upstream keeps about the last 5000 bytes of stderr for the crash report.
pub(super) const STACK_TRACE_SIZE: usize = 5000;

/// How the host starts a spawned child: (kernel, id, wasm path, component, on-exit, caps, public).
pub(super) type StartChild = fn(&Arc<Kernel>, ProcessId, &str, Component, OnExit, Vec<Capability>, bool);

fn linker() -> &'static Linker<ProcessState> {
    static LINKER: OnceLock<Linker<ProcessState>> = OnceLock::new();
    LINKER.get_or_init(|| {
        let mut linker = Linker::new(engine());
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("WASI p2 links");
        ProcessV1::add_to_linker(&mut linker, |s: &mut ProcessState| s).expect("process world links");
        linker
    })
}

pub(super) struct ProcessContext {
    pub(super) prompting_message: Option<KernelMessage>,
    pub(super) context: Option<Vec<u8>>,
}

pub struct ProcessState {
    /// Starts a spawned child; given by the supervisor, which the host does not know.
    pub(super) start_child: StartChild,
    pub(super) our: Address,
    pub(super) kernel: Arc<Kernel>,
    pub(super) inbox: mpsc::Receiver<InboxItem>,
    pub(super) self_tx: mpsc::Sender<InboxItem>,
    pub(super) prompting_message: Option<KernelMessage>,
    pub(super) last_blob: Option<Blob>,
    pub(super) last_message_blobbed: bool,
    pub(super) contexts: HashMap<u64, (ProcessContext, tokio::task::AbortHandle)>,
    pub(super) message_queue: VecDeque<InboxItem>,
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
}

impl Drop for ProcessState {
    fn drop(&mut self) {
        // Pending timeouts die with the run, as upstream's contexts do on restart.
        for (_, (_, handle)) in self.contexts.drain() {
            handle.abort();
        }
    }
}

impl IoView for ProcessState {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}
impl WasiView for ProcessState {
    fn ctx(&mut self) -> &mut WasiCtx {
        &mut self.wasi
    }
}

pub(super) type Received = std::result::Result<(wit::Address, wit::Message), (wit::SendError, Option<Vec<u8>>)>;

impl ProcessState {
    pub(super) async fn next_message(&mut self) -> Received {
        let item = match self.message_queue.pop_front() {
            Some(item) => item,
            None => self.ingest().await,
        };
        self.receive_result(item)
    }

    pub(super) async fn specific_message(&mut self, id: u64) -> Received {
        if let Some(i) = self.message_queue.iter().position(|m| matches!(m, Ok(km) if km.id == id)) {
            let item = self.message_queue.remove(i).expect("index from position");
            return self.receive_result(item);
        }
        loop {
            let item = self.ingest().await;
            let item_id = match &item {
                Ok(km) => km.id,
                Err(e) => e.id,
            };
            if item_id == id {
                return self.receive_result(item);
            }
            self.message_queue.push_back(item);
        }
    }

    /// Responses and errors without an outstanding context are dropped here, as upstream.
    pub(super) async fn ingest(&mut self) -> InboxItem {
        loop {
            // The sender half lives in `self_tx`, so the channel never closes under us.
            let item = self.inbox.recv().await.expect("a process holds its own inbox sender");
            let id = match &item {
                Ok(km) if matches!(km.message, Message::Request(_)) => return item,
                Ok(km) => km.id,
                Err(e) => e.id,
            };
            if let Some((_, handle)) = self.contexts.get(&id) {
                handle.abort();
                return item;
            }
        }
    }

    pub(super) fn take_blob(&mut self, km: &mut KernelMessage) {
        if let Some(blob) = km.blob.take() {
            self.last_blob = Some(blob);
            self.last_message_blobbed = true;
        } else {
            self.last_message_blobbed = false;
        }
    }

    #[allow(clippy::result_large_err)] // the shape is the WIT's `receive` result
    pub(super) fn receive_result(&mut self, item: InboxItem) -> Received {
        match item {
            Ok(mut km) => {
                let is_request_expecting = match &km.message {
                    Message::Request(req) => Some(req.expects_response.is_some()),
                    Message::Response(..) => None,
                };
                let context = match is_request_expecting {
                    Some(expects) => {
                        self.take_blob(&mut km);
                        if expects || km.rsvp.is_some() {
                            self.prompting_message = Some(km.clone());
                        }
                        None
                    }
                    None => match self.contexts.remove(&km.id) {
                        Some((ctx, _)) => {
                            self.take_blob(&mut km);
                            self.prompting_message = ctx.prompting_message;
                            ctx.context
                        }
                        None => {
                            self.take_blob(&mut km);
                            self.prompting_message = Some(km.clone());
                            None
                        }
                    },
                };
                Ok((en_addr(&km.source), en_message(&km.message, context)))
            }
            Err(e) => {
                self.last_message_blobbed = false;
                match self.contexts.remove(&e.id) {
                    None => Err((en_send_error(&e.error), None)),
                    Some((ctx, _)) => {
                        self.prompting_message = ctx.prompting_message;
                        Err((en_send_error(&e.error), ctx.context))
                    }
                }
            }
        }
    }

    pub(super) async fn send_request_inner(
        &mut self,
        fake_source: Option<Address>,
        target: Address,
        mut request: Request,
        context: Option<Vec<u8>>,
        blob: Option<Blob>,
    ) -> u64 {
        let source = fake_source.unwrap_or_else(|| self.our.clone());
        let id = match (&self.prompting_message, request.inherit) {
            (Some(prompt), true) => prompt.id,
            _ => loop {
                let id: u64 = rand::random();
                if !self.contexts.contains_key(&id) {
                    break id;
                }
            },
        };
        let blob = match blob {
            Some(b) => Some(b),
            None if request.inherit => self.last_blob.clone(),
            None => None,
        };
        if !request.capabilities.is_empty() {
            // A process can only pass on capabilities it holds (upstream FilterCaps).
            let procs = self.kernel.processes.lock().unwrap();
            let held = procs.get(&self.our.process).map(|e| e.caps.clone()).unwrap_or_default();
            request.capabilities.retain(|c| held.contains(c));
        }
        if let Some(secs) = request.expects_response {
            let self_tx = self.self_tx.clone();
            let err = WrappedSendError {
                id,
                source: target.clone(),
                error: SendError {
                    kind: SendErrorKind::Timeout,
                    target: target.clone(),
                    message: Message::Request(request.clone()),
                    blob: blob.clone(),
                },
            };
            let handle = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                let _ = self_tx.send(Err(err)).await;
            })
            .abort_handle();
            self.contexts.insert(id, (ProcessContext { prompting_message: self.prompting_message.clone(), context }, handle));
        }
        let rsvp = match (request.expects_response, request.inherit, &self.prompting_message) {
            (Some(_), _, _) => Some(self.our.clone()),
            (None, true, Some(prompt)) => prompt.rsvp.clone(),
            _ => None,
        };
        let km = KernelMessage { id, source, target, rsvp, message: Message::Request(request), blob };
        self.kernel.send(km).await;
        id
    }

    pub(super) async fn send_and_await_inner(
        &mut self,
        fake_source: Option<Address>,
        target: Address,
        request: Request,
        blob: Option<Blob>,
    ) -> Result<std::result::Result<(wit::Address, wit::Message), wit::SendError>> {
        if request.expects_response.is_none() {
            return Err(anyhow!(
                "kernel: got invalid send_and_await_response() Request from {}: must expect response",
                self.our.process
            ));
        }
        if target == self.our {
            return Err(anyhow!(
                "kernel: got invalid send_and_await_response() Request from and to {}: cannot await a Request to `our`: will deadlock",
                self.our
            ));
        }
        let id = self.send_request_inner(fake_source, target, request, None, blob).await;
        match self.specific_message(id).await {
            Ok((addr, msg @ wit::Message::Response(_))) => Ok(Ok((addr, msg))),
            Ok((_, wit::Message::Request(_))) => Err(anyhow!("fatal: received Request instead of Response")),
            Err((e, _)) => Ok(Err(e)),
        }
    }

    /// get/set/clear-state go to `state:distro:sys` with the kernel as faked source and a 5 s
    /// timeout, exactly as upstream, so their effects on blobs and queued messages match.
    pub(super) async fn state_call(&mut self, action: serde_json::Value, blob: Option<Blob>) -> Result<std::result::Result<(wit::Address, wit::Message), wit::SendError>> {
        let kernel = self.kernel.address(kernel_id());
        let target = self.kernel.address(state_id());
        let mut req = Request::new(serde_json::to_vec(&action)?).expecting(5);
        req.metadata = Some(self.our.process.to_string());
        self.send_and_await_inner(Some(kernel), target, req, blob).await
    }

    pub(super) fn print(&self, verbosity: u8, content: &str) {
        let p = &self.our.process;
        self.kernel.log.print(verbosity, p.to_string(), format!("{}:{}: {}", p.package_name, p.publisher_node, content));
    }
}

/// One run of a process: a fresh store and instance, `init` called until it returns or traps.
/// Returns how it ended and what it wrote to stderr.
pub(super) async fn run_once(
    kernel: Arc<Kernel>,
    our: Address,
    component: &Component,
    inbox: mpsc::Receiver<InboxItem>,
    self_tx: mpsc::Sender<InboxItem>,
    start_child: StartChild,
) -> (Result<()>, String) {
    // Upstream gives WASI only stderr (kept for crash reports): no preopens, env or stdout.
    let stderr = MemoryOutputPipe::new(1 << 20);
    let wasi = WasiCtxBuilder::new().stderr(stderr.clone()).build();
    let state = ProcessState {
        start_child,
        our: our.clone(),
        kernel,
        inbox,
        self_tx,
        prompting_message: None,
        last_blob: None,
        last_message_blobbed: false,
        contexts: HashMap::new(),
        message_queue: VecDeque::new(),
        wasi,
        table: ResourceTable::new(),
    };
    let mut store = Store::new(engine(), state);
    let result = async {
        let bindings = ProcessV1::instantiate_async(&mut store, component, linker()).await?;
        bindings.call_init(&mut store, &our.to_string()).await
    }
    .await;
    drop(store);
    (result, String::from_utf8_lossy(&stderr.contents()).into_owned())
}
