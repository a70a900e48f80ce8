//! The process host: one wasmtime component instance per process, with the
//! `hyperware:process/standard` imports implemented as upstream
//! `hyperdrive/src/kernel/standard_host_v1.rs` and the on-exit supervisor of
//! `hyperdrive/src/kernel/process.rs`.
use crate::kernel::{Control, Kernel, PROCESS_INBOX};
use crate::types::*;
use anyhow::{anyhow, Result};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::p2::{IoView, WasiCtx, WasiCtxBuilder, WasiView};

wasmtime::component::bindgen!({
    path: "wit",
    world: "process-v1",
    async: true,
    trappable_imports: true,
});

use hyperware::process::standard as wit;

/// Upstream keeps about the last 5000 bytes of stderr for the crash report.
const STACK_TRACE_SIZE: usize = 5000;
const BASE_BACKOFF_SECS: u64 = 1;
const MAX_BACKOFF_SECS: u64 = 600;
const MAX_HEALTHY_DURATION_SECS: u64 = 50 * 60;
const HEALTHY_RUN_MULTIPLIER: u32 = 5;

/// One engine per devnode process, configured as the runtime's.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.async_support(true);
        config.wasm_component_model(true);
        Engine::new(&config).expect("wasmtime engine with the runtime's configuration")
    })
}

/// Compiled components keyed by their bytes. The node compiles at boot; sharing the result
/// between nodes of one devnode changes nothing a process can observe.
pub fn compile(wasm: &[u8]) -> Result<Component> {
    static CACHE: OnceLock<Mutex<HashMap<Vec<u8>, Component>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().unwrap().get(wasm) {
        return Ok(c.clone());
    }
    let component = Component::new(engine(), wasm)?;
    cache.lock().unwrap().insert(wasm.to_vec(), component.clone());
    Ok(component)
}

fn linker() -> &'static Linker<ProcessState> {
    static LINKER: OnceLock<Linker<ProcessState>> = OnceLock::new();
    LINKER.get_or_init(|| {
        let mut linker = Linker::new(engine());
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("WASI p2 links");
        ProcessV1::add_to_linker(&mut linker, |s: &mut ProcessState| s).expect("process world links");
        linker
    })
}

struct ProcessContext {
    prompting_message: Option<KernelMessage>,
    context: Option<Vec<u8>>,
}

pub struct ProcessState {
    our: Address,
    kernel: Arc<Kernel>,
    inbox: mpsc::Receiver<InboxItem>,
    self_tx: mpsc::Sender<InboxItem>,
    prompting_message: Option<KernelMessage>,
    last_blob: Option<Blob>,
    last_message_blobbed: bool,
    contexts: HashMap<u64, (ProcessContext, tokio::task::AbortHandle)>,
    message_queue: VecDeque<InboxItem>,
    wasi: WasiCtx,
    table: ResourceTable,
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

// ---- conversions between kernel types and the generated WIT types ----

fn en_pid(p: &ProcessId) -> wit::ProcessId {
    wit::ProcessId {
        process_name: p.process_name.clone(),
        package_name: p.package_name.clone(),
        publisher_node: p.publisher_node.clone(),
    }
}
fn de_pid(p: wit::ProcessId) -> ProcessId {
    ProcessId { process_name: p.process_name, package_name: p.package_name, publisher_node: p.publisher_node }
}
fn en_addr(a: &Address) -> wit::Address {
    wit::Address { node: a.node.clone(), process: en_pid(&a.process) }
}
fn de_addr(a: wit::Address) -> Address {
    Address { node: a.node, process: de_pid(a.process) }
}
fn en_cap(c: &Capability) -> wit::Capability {
    wit::Capability { issuer: en_addr(&c.issuer), params: c.params.clone() }
}
fn de_cap(c: wit::Capability) -> Capability {
    Capability { issuer: de_addr(c.issuer), params: c.params }
}
fn en_blob(b: &Blob) -> wit::LazyLoadBlob {
    wit::LazyLoadBlob { mime: b.mime.clone(), bytes: b.bytes.clone() }
}
fn de_blob(b: wit::LazyLoadBlob) -> Blob {
    Blob { mime: b.mime, bytes: b.bytes }
}
fn en_request(r: &Request) -> wit::Request {
    wit::Request {
        inherit: r.inherit,
        expects_response: r.expects_response,
        body: r.body.clone(),
        metadata: r.metadata.clone(),
        capabilities: r.capabilities.iter().map(en_cap).collect(),
    }
}
fn de_request(r: wit::Request) -> Request {
    Request {
        inherit: r.inherit,
        expects_response: r.expects_response,
        body: r.body,
        metadata: r.metadata,
        capabilities: r.capabilities.into_iter().map(de_cap).collect(),
    }
}
fn en_response(r: &Response) -> wit::Response {
    wit::Response {
        inherit: r.inherit,
        body: r.body.clone(),
        metadata: r.metadata.clone(),
        capabilities: r.capabilities.iter().map(en_cap).collect(),
    }
}
fn de_response(r: wit::Response) -> Response {
    Response { inherit: r.inherit, body: r.body, metadata: r.metadata, capabilities: r.capabilities.into_iter().map(de_cap).collect() }
}
fn en_message(m: &Message, context: Option<Vec<u8>>) -> wit::Message {
    match m {
        Message::Request(r) => wit::Message::Request(en_request(r)),
        Message::Response(r, _) => wit::Message::Response((en_response(r), context)),
    }
}
fn en_send_error(e: &SendError) -> wit::SendError {
    wit::SendError {
        kind: match e.kind {
            SendErrorKind::Offline => wit::SendErrorKind::Offline,
            SendErrorKind::Timeout => wit::SendErrorKind::Timeout,
        },
        target: en_addr(&e.target),
        message: en_message(&e.message, None),
        lazy_load_blob: e.blob.as_ref().map(en_blob),
    }
}
fn en_on_exit(o: &OnExit) -> wit::OnExit {
    match o {
        OnExit::None => wit::OnExit::None,
        OnExit::Restart => wit::OnExit::Restart,
        OnExit::Requests(rs) => wit::OnExit::Requests(
            rs.iter().map(|(a, r, b)| (en_addr(a), en_request(r), b.as_ref().map(en_blob))).collect(),
        ),
    }
}
fn de_on_exit(o: wit::OnExit) -> OnExit {
    match o {
        wit::OnExit::None => OnExit::None,
        wit::OnExit::Restart => OnExit::Restart,
        wit::OnExit::Requests(rs) => {
            OnExit::Requests(rs.into_iter().map(|(a, r, b)| (de_addr(a), de_request(r), b.map(de_blob))).collect())
        }
    }
}

type Received = std::result::Result<(wit::Address, wit::Message), (wit::SendError, Option<Vec<u8>>)>;

impl ProcessState {
    async fn next_message(&mut self) -> Received {
        let item = match self.message_queue.pop_front() {
            Some(item) => item,
            None => self.ingest().await,
        };
        self.receive_result(item)
    }

    async fn specific_message(&mut self, id: u64) -> Received {
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
    async fn ingest(&mut self) -> InboxItem {
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

    fn take_blob(&mut self, km: &mut KernelMessage) {
        if let Some(blob) = km.blob.take() {
            self.last_blob = Some(blob);
            self.last_message_blobbed = true;
        } else {
            self.last_message_blobbed = false;
        }
    }

    #[allow(clippy::result_large_err)] // the shape is the WIT's `receive` result
    fn receive_result(&mut self, item: InboxItem) -> Received {
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

    async fn send_request_inner(
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

    async fn send_and_await_inner(
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
    async fn state_call(&mut self, action: serde_json::Value, blob: Option<Blob>) -> Result<std::result::Result<(wit::Address, wit::Message), wit::SendError>> {
        let kernel = self.kernel.address(kernel_id());
        let target = self.kernel.address(state_id());
        let mut req = Request::new(serde_json::to_vec(&action)?).expecting(5);
        req.metadata = Some(self.our.process.to_string());
        self.send_and_await_inner(Some(kernel), target, req, blob).await
    }

    fn print(&self, verbosity: u8, content: &str) {
        let p = &self.our.process;
        self.kernel.log.print(verbosity, p.to_string(), format!("{}:{}: {}", p.package_name, p.publisher_node, content));
    }
}

impl wit::Host for ProcessState {
    async fn print_to_terminal(&mut self, verbosity: u8, message: String) -> Result<()> {
        self.print(verbosity, &message);
        Ok(())
    }

    async fn our(&mut self) -> Result<wit::Address> {
        Ok(en_addr(&self.our))
    }

    async fn get_on_exit(&mut self) -> Result<wit::OnExit> {
        let procs = self.kernel.processes.lock().unwrap();
        Ok(en_on_exit(procs.get(&self.our.process).map(|e| &e.on_exit).unwrap_or(&OnExit::None)))
    }

    async fn set_on_exit(&mut self, on_exit: wit::OnExit) -> Result<()> {
        if let Some(e) = self.kernel.processes.lock().unwrap().get_mut(&self.our.process) {
            e.on_exit = de_on_exit(on_exit);
        }
        Ok(())
    }

    async fn get_state(&mut self) -> Result<Option<Vec<u8>>> {
        let old_last_blob = self.last_blob.clone();
        let action = serde_json::json!({ "GetState": self.our.process });
        let res = match self.state_call(action, None).await? {
            Ok(_) if self.last_message_blobbed => self.last_blob.as_ref().map(|b| b.bytes.clone()),
            _ => None,
        };
        self.last_blob = old_last_blob;
        Ok(res)
    }

    async fn set_state(&mut self, bytes: Vec<u8>) -> Result<()> {
        let old_last_blob = self.last_blob.clone();
        let action = serde_json::json!({ "SetState": self.our.process });
        let res = self.state_call(action, Some(Blob { mime: None, bytes })).await?;
        self.last_blob = old_last_blob;
        match res {
            Ok(_) => Ok(()),
            Err(_) => Err(anyhow!("filesystem did not respond properly to SetState!!")),
        }
    }

    async fn clear_state(&mut self) -> Result<()> {
        let old_last_blob = self.last_blob.clone();
        let action = serde_json::json!({ "DeleteState": self.our.process });
        let res = self.state_call(action, None).await?;
        self.last_blob = old_last_blob;
        match res {
            Ok(_) => Ok(()),
            Err(_) => Err(anyhow!("filesystem did not respond properly to ClearState!!")),
        }
    }

    async fn spawn(
        &mut self,
        name: Option<String>,
        wasm_path: String,
        on_exit: wit::OnExit,
        request_capabilities: Vec<wit::Capability>,
        grant_capabilities: Vec<(wit::ProcessId, String)>,
        public: bool,
    ) -> Result<std::result::Result<wit::ProcessId, wit::SpawnError>> {
        let Ok(bytes) = crate::vfs::read_package_file(&self.kernel, &self.our.process, &wasm_path) else {
            return Ok(Err(wit::SpawnError::NoFileAtPath));
        };
        let name = name.unwrap_or_else(|| rand::random::<u64>().to_string());
        let id = ProcessId::new(&name, &self.our.process.package_name, &self.our.process.publisher_node);
        id.check_hypermap_safe()?;
        if self.kernel.processes.lock().unwrap().contains_key(&id) {
            return Ok(Err(wit::SpawnError::NameTaken));
        }
        let held = self.kernel.processes.lock().unwrap().get(&self.our.process).map(|e| e.caps.clone()).unwrap_or_default();
        let mut caps: Vec<Capability> =
            request_capabilities.into_iter().map(de_cap).filter(|c| held.contains(c)).collect();
        // Child and parent may always message each other.
        caps.push(Capability::messaging(self.our.clone()));
        let Ok(component) = compile(&bytes) else {
            return Ok(Err(wit::SpawnError::NoFileAtPath));
        };
        let child = self.kernel.address(id.clone());
        for (pid, params) in grant_capabilities {
            self.kernel.add_caps(&de_pid(pid), [Capability { issuer: child.clone(), params }]);
        }
        start(&self.kernel, id.clone(), &wasm_path, component, de_on_exit(on_exit), caps, public);
        self.kernel.add_caps(&self.our.process, [Capability::messaging(child)]);
        self.print(2, "spawned a new process");
        Ok(Ok(en_pid(&id)))
    }

    async fn save_capabilities(&mut self, caps: Vec<wit::Capability>) -> Result<()> {
        self.kernel.add_caps(&self.our.process, caps.into_iter().map(de_cap));
        Ok(())
    }

    async fn drop_capabilities(&mut self, caps: Vec<wit::Capability>) -> Result<()> {
        if let Some(e) = self.kernel.processes.lock().unwrap().get_mut(&self.our.process) {
            for c in caps {
                e.caps.remove(&de_cap(c));
            }
        }
        Ok(())
    }

    async fn our_capabilities(&mut self) -> Result<Vec<wit::Capability>> {
        let procs = self.kernel.processes.lock().unwrap();
        Ok(procs.get(&self.our.process).map(|e| e.caps.iter().map(en_cap).collect()).unwrap_or_default())
    }

    async fn receive(&mut self) -> Result<Received> {
        Ok(self.next_message().await)
    }

    async fn has_blob(&mut self) -> Result<bool> {
        Ok(self.last_message_blobbed)
    }

    async fn get_blob(&mut self) -> Result<Option<wit::LazyLoadBlob>> {
        Ok(if self.last_message_blobbed { self.last_blob.as_ref().map(en_blob) } else { None })
    }

    async fn last_blob(&mut self) -> Result<Option<wit::LazyLoadBlob>> {
        Ok(self.last_blob.as_ref().map(en_blob))
    }

    async fn send_request(
        &mut self,
        target: wit::Address,
        request: wit::Request,
        context: Option<Vec<u8>>,
        lazy_load_blob: Option<wit::LazyLoadBlob>,
    ) -> Result<()> {
        self.send_request_inner(None, de_addr(target), de_request(request), context, lazy_load_blob.map(de_blob)).await;
        Ok(())
    }

    async fn send_requests(
        &mut self,
        requests: Vec<(wit::Address, wit::Request, Option<Vec<u8>>, Option<wit::LazyLoadBlob>)>,
    ) -> Result<()> {
        for (target, request, context, blob) in requests {
            self.send_request_inner(None, de_addr(target), de_request(request), context, blob.map(de_blob)).await;
        }
        Ok(())
    }

    async fn send_response(&mut self, response: wit::Response, lazy_load_blob: Option<wit::LazyLoadBlob>) -> Result<()> {
        let mut response = de_response(response);
        let Some(prompt) = &self.prompting_message else {
            self.kernel.log.print(0, "kernel", format!("kernel: need non-None prompting_message to handle Response {response:?}"));
            return Ok(());
        };
        let id = prompt.id;
        let target = prompt.rsvp.clone().unwrap_or_else(|| prompt.source.clone());
        let blob = if response.inherit { self.last_blob.clone() } else { lazy_load_blob.map(de_blob) };
        if !response.capabilities.is_empty() {
            let procs = self.kernel.processes.lock().unwrap();
            let held = procs.get(&self.our.process).map(|e| e.caps.clone()).unwrap_or_default();
            response.capabilities.retain(|c| held.contains(c));
        }
        let km = KernelMessage { id, source: self.our.clone(), target, rsvp: None, message: Message::Response(response, None), blob };
        self.kernel.send(km).await;
        Ok(())
    }

    async fn send_and_await_response(
        &mut self,
        target: wit::Address,
        request: wit::Request,
        lazy_load_blob: Option<wit::LazyLoadBlob>,
    ) -> Result<std::result::Result<(wit::Address, wit::Message), wit::SendError>> {
        self.send_and_await_inner(None, de_addr(target), de_request(request), lazy_load_blob.map(de_blob)).await
    }
}

/// Backoff bookkeeping across runs of one process (upstream `RestartBackoff`).
struct Backoff {
    consecutive_attempts: u32,
    current_backoff: Duration,
    last_start: tokio::time::Instant,
}

impl Backoff {
    /// Returns how long to wait before the next start, after an exit now.
    fn on_exit(&mut self) -> Option<Duration> {
        let now = tokio::time::Instant::now();
        let uptime = now.saturating_duration_since(self.last_start);
        let max_healthy = Duration::from_secs(MAX_HEALTHY_DURATION_SECS);
        let healthy = self.current_backoff.checked_mul(HEALTHY_RUN_MULTIPLIER).unwrap_or(max_healthy).min(max_healthy);
        if uptime >= healthy {
            self.consecutive_attempts = 1;
            self.current_backoff = Duration::from_secs(BASE_BACKOFF_SECS);
        } else {
            self.consecutive_attempts = self.consecutive_attempts.saturating_add(1);
            let exp = self.consecutive_attempts.saturating_sub(1).min(63);
            let secs = if exp >= 63 { u64::MAX } else { 1u64 << exp };
            self.current_backoff = Duration::from_secs(secs.clamp(BASE_BACKOFF_SECS, MAX_BACKOFF_SECS));
        }
        (self.consecutive_attempts > 1).then_some(self.current_backoff)
    }
}

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
    let mut backoff = Backoff {
        consecutive_attempts: 1,
        current_backoff: Duration::from_secs(BASE_BACKOFF_SECS),
        last_start: tokio::time::Instant::now(),
    };
    loop {
        let (tx, rx) = mpsc::channel(PROCESS_INBOX);
        {
            let mut procs = kernel.processes.lock().unwrap();
            let Some(entry) = procs.get_mut(&id) else { return };
            entry.sender = Some(tx.clone());
        }
        backoff.last_start = tokio::time::Instant::now();
        let end = tokio::select! {
            r = run_once(kernel.clone(), our.clone(), &component, rx, tx) => RunEnd::Exited(r.0, r.1),
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

async fn run_once(
    kernel: Arc<Kernel>,
    our: Address,
    component: &Component,
    inbox: mpsc::Receiver<InboxItem>,
    self_tx: mpsc::Sender<InboxItem>,
) -> (Result<()>, String) {
    // Upstream gives WASI only stderr (kept for crash reports): no preopens, env or stdout.
    let stderr = MemoryOutputPipe::new(1 << 20);
    let wasi = WasiCtxBuilder::new().stderr(stderr.clone()).build();
    let state = ProcessState {
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

/// Asks a userspace process's supervisor to act; false if there is no such process.
pub fn control(kernel: &Kernel, id: &ProcessId, c: Control) -> bool {
    let procs = kernel.processes.lock().unwrap();
    match procs.get(id).and_then(|e| e.userspace.as_ref()) {
        Some(u) => u.control.send(c).is_ok(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff {
            consecutive_attempts: 1,
            current_backoff: Duration::from_secs(BASE_BACKOFF_SECS),
            last_start: tokio::time::Instant::now(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn quick_exits_back_off_by_powers_of_two_up_to_ten_minutes() {
        let mut b = backoff();
        let mut waits = Vec::new();
        for _ in 0..12 {
            let wait = b.on_exit();
            waits.push(wait.map(|d| d.as_secs()));
            tokio::time::advance(wait.unwrap_or_default()).await;
            b.last_start = tokio::time::Instant::now();
        }
        let expected: Vec<Option<u64>> =
            [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600].into_iter().map(Some).collect();
        assert_eq!(waits, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn a_healthy_run_resets_the_backoff_and_restarts_at_once() {
        let mut b = backoff();
        assert_eq!(b.on_exit(), Some(Duration::from_secs(2)));
        b.last_start = tokio::time::Instant::now();
        // Healthy = at least 5 × the current backoff (2 s).
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(b.on_exit(), None);
        assert_eq!(b.current_backoff, Duration::from_secs(1));
        b.last_start = tokio::time::Instant::now();
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(b.on_exit(), Some(Duration::from_secs(2)), "4 s is short of 5 × 1 s");
    }
}
