//! Booting nodes: a `Cluster` of nodes that share one network, each with its kernel, runtime
//! modules and HTTP listener, and the fault controls tests use.
use crate::http_server::{HttpServer, HttpServerOptions, DEFAULT_TIMEOUT_SECS};
use crate::kernel::{kernel_loop, Control, Kernel};
use crate::log::NodeLog;
use crate::modules::{homepage_module, state_module, timer_module, HomepageEntry};
use crate::net::{Link, Network};
use crate::types::*;
use anyhow::{anyhow, Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A package to install on every node: the zip kit (or `cargo xtask build`) writes.
#[derive(Clone, Debug)]
pub struct PackageSpec {
    pub zip: PathBuf,
    /// `package:publisher`; derived from a zip named `<package>:<publisher>.zip` when None.
    pub package_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub nodes: Vec<String>,
    pub packages: Vec<PackageSpec>,
    /// Each node lives in `<home>/<node>`; a temporary directory when None.
    pub home: Option<PathBuf>,
    /// The login password of every node; random per node when None.
    pub password: Option<String>,
    /// First HTTP port; node i listens on base+i. Ephemeral ports when None.
    pub base_port: Option<u16>,
    pub http_timeout_secs: u64,
    /// As the node flag `--expose-local` (needed for `local_only` bindings).
    pub expose_local: bool,
    /// Echo node terminals to stderr up to this verbosity.
    pub echo_verbosity: Option<u8>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            nodes: vec!["alice.os".into()],
            packages: vec![],
            home: None,
            password: None,
            base_port: None,
            http_timeout_secs: DEFAULT_TIMEOUT_SECS,
            expose_local: false,
            echo_verbosity: None,
        }
    }
}

impl ClusterOptions {
    pub fn nodes(mut self, nodes: &[&str]) -> Self {
        self.nodes = nodes.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn package(mut self, zip: impl Into<PathBuf>) -> Self {
        self.packages.push(PackageSpec { zip: zip.into(), package_id: None });
        self
    }
    pub fn home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }
}

pub struct Node {
    name: String,
    addr: SocketAddr,
    config: BootConfig,
    /// Packages installed on this node (latest per package id), reinstalled on reboot as a
    /// node restores its installed apps.
    installed: Mutex<Vec<(String, Vec<u8>)>>,
    running: Mutex<Running>,
}

/// What stays the same across a node's reboots (upstream: the home directory and keyfile).
struct BootConfig {
    name: String,
    home: PathBuf,
    password: String,
    jwt_secret: Vec<u8>,
    log: NodeLog,
    net: Arc<Network>,
    http_timeout_secs: u64,
    expose_local: bool,
}

/// What one boot of a node runs; replaced whole by a reboot.
struct Running {
    kernel: Arc<Kernel>,
    http: Arc<HttpServer>,
    homepage: Arc<Mutex<Vec<HomepageEntry>>>,
    tasks: Vec<JoinHandle<()>>,
}

/// A native endpoint registered as a process on a node, for tests to send and receive
/// messages as if they were a process.
pub struct Endpoint {
    pub address: Address,
    kernel: Arc<Kernel>,
    rx: mpsc::Receiver<InboxItem>,
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

impl Node {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn kernel(&self) -> Arc<Kernel> {
        self.running.lock().unwrap().kernel.clone()
    }
    fn http(&self) -> Arc<HttpServer> {
        self.running.lock().unwrap().http.clone()
    }
    pub fn home(&self) -> &Path {
        &self.config.home
    }
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
    pub fn password(&self) -> &str {
        &self.config.password
    }
    /// `name=value` of a valid owner cookie, ready for a `Cookie` header; it stays valid
    /// across reboots, as the node's keyfile does.
    pub fn login_cookie(&self) -> String {
        self.http().owner_cookie()
    }
    /// `ws://127.0.0.1:<port><path>`; `path` includes the process prefix.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }
    pub fn app_url(&self, process: &str) -> String {
        format!("http://{}/{}/", self.addr, process)
    }
    /// The node's terminal; it carries on across reboots.
    pub fn log(&self) -> &NodeLog {
        &self.config.log
    }
    pub fn homepage_entries(&self) -> Vec<HomepageEntry> {
        self.running.lock().unwrap().homepage.lock().unwrap().clone()
    }
    pub fn open_websockets(&self) -> usize {
        self.http().open_websockets()
    }
    pub fn running(&self, process: &ProcessId) -> bool {
        self.kernel().processes.lock().unwrap().get(process).is_some_and(|e| e.sender.is_some())
    }

    /// Installs a package zip on this node as the app store does.
    pub fn install(&self, zip_bytes: &[u8], package_id: &str) -> Result<Vec<ProcessId>> {
        let (package, publisher) =
            package_id.split_once(':').ok_or_else(|| anyhow!("package id {package_id:?} is not package:publisher"))?;
        let ids = crate::install::install_package(&self.kernel(), package, publisher, zip_bytes)?;
        let mut installed = self.installed.lock().unwrap();
        installed.retain(|(id, _)| id != package_id);
        installed.push((package_id.to_string(), zip_bytes.to_vec()));
        Ok(ids)
    }

    /// Kills the process and starts it again at once (keeping its capabilities and saved state).
    pub fn restart_process(&self, process: &ProcessId) -> Result<()> {
        if crate::process::control(&self.kernel(), process, Control::Restart) {
            Ok(())
        } else {
            Err(anyhow!("no userspace process {process} on {}", self.name))
        }
    }

    /// Registers a native test endpoint as process `id`, holding `caps`. Endpoints do not
    /// survive a reboot.
    pub fn endpoint(&self, id: ProcessId, public: bool, caps: Vec<Capability>) -> Endpoint {
        let kernel = self.kernel();
        let rx = kernel.add_runtime_module(id.clone(), 1000, public);
        kernel.add_caps(&id, caps);
        Endpoint { address: kernel.address(id), kernel, rx }
    }

    /// Waits until `path` (full, with the process prefix) is bound — for an app that binds in
    /// `init`, the moment it can be used. `websocket` asks about WebSocket bindings.
    pub async fn wait_bound(&self, path: &str, websocket: bool, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.http().is_bound(path, websocket).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// Waits until `process` is running (its supervisor has an inbox).
    pub async fn wait_running(&self, process: &ProcessId, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.running(process) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    async fn boot(name: &str, home: PathBuf, net: Arc<Network>, opts: &ClusterOptions, port: u16) -> Result<Node> {
        std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
        let password = opts.password.clone().unwrap_or_else(|| {
            use rand::Rng;
            rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(16).map(char::from).collect()
        });
        let mut jwt_secret = vec![0u8; 32];
        rand::Rng::fill(&mut rand::thread_rng(), &mut jwt_secret[..]);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("binding 127.0.0.1:{port}"))?;
        let addr = listener.local_addr()?;
        let config = BootConfig {
            name: name.into(),
            home,
            password,
            jwt_secret,
            log: NodeLog::new(name, opts.echo_verbosity),
            net,
            http_timeout_secs: opts.http_timeout_secs,
            expose_local: opts.expose_local,
        };
        let running = Mutex::new(Node::start(&config, listener));
        Ok(Node { name: name.into(), addr, config, installed: Mutex::new(Vec::new()), running })
    }

    /// Starts the kernel, runtime modules and HTTP server of one boot on `listener`.
    fn start(c: &BootConfig, listener: tokio::net::TcpListener) -> Running {
        let (kernel, rx) = Kernel::new(&c.name, c.home.clone(), c.log.clone(), c.net.clone());
        c.net.register(&c.name, kernel.tx.clone());
        let mut tasks = vec![tokio::spawn(kernel_loop(kernel.clone(), rx))];
        let state_rx = kernel.add_runtime_module(state_id(), 1000, false);
        tasks.push(tokio::spawn(state_module(kernel.clone(), state_rx)));
        let timer_rx = kernel.add_runtime_module(timer_id(), 32, true);
        tasks.push(tokio::spawn(timer_module(kernel.clone(), timer_rx)));
        let vfs_rx = kernel.add_runtime_module(vfs_id(), 1000, false);
        tasks.push(tokio::spawn(crate::vfs::vfs_module(kernel.clone(), vfs_rx)));
        let homepage = Arc::new(Mutex::new(Vec::new()));
        let hp_rx = kernel.add_runtime_module(homepage_id(), 1000, false);
        tasks.push(tokio::spawn(homepage_module(kernel.clone(), homepage.clone(), hp_rx)));
        let http = HttpServer::new(
            kernel.clone(),
            HttpServerOptions {
                password: c.password.clone(),
                jwt_secret: c.jwt_secret.clone(),
                expose_local: c.expose_local,
                default_timeout_secs: c.http_timeout_secs,
            },
        );
        let http_rx = kernel.add_runtime_module(http_server_id(), crate::http_server::HTTP_SERVER_INBOX, false);
        tasks.push(tokio::spawn(http.clone().run_loop(http_rx)));
        let handler_http = http.clone();
        let app = axum::Router::new().fallback(move |ci, req| handler_http.clone().handle(ci, req));
        let down = http.shutdown_signal();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(down).await;
        }));
        Running { kernel, http, homepage, tasks }
    }

    /// Brings the node down: HTTP stops (listener closed, sockets ended), every process is
    /// killed, and the network sees it as unreachable.
    fn stop(&self) {
        let running = self.running.lock().unwrap();
        self.config.net.set_up(&self.name, false);
        running.http.begin_shutdown();
        for id in running.kernel.process_ids() {
            crate::process::control(&running.kernel, &id, Control::Kill);
        }
        running.kernel.processes.lock().unwrap().clear();
        for t in &running.tasks {
            t.abort();
        }
    }

    /// Stops the node and boots it again on the same port and home: installed packages come
    /// back, saved state is kept, timers, inboxes, sockets and test endpoints are lost.
    pub async fn reboot(&self) -> Result<()> {
        self.stop();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tokio::time::Instant::now() > deadline => {
                    return Err(anyhow!("rebinding {} after reboot: {e}", self.addr));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        let running = Node::start(&self.config, listener);
        *self.running.lock().unwrap() = running;
        self.config.net.set_up(&self.name, true);
        let installed = self.installed.lock().unwrap().clone();
        for (package_id, zip) in installed {
            let (package, publisher) = package_id.split_once(':').expect("stored as package:publisher");
            crate::install::install_package(&self.kernel(), package, publisher, &zip)
                .with_context(|| format!("reinstalling {package_id} on {}", self.name))?;
        }
        self.config.log.print(0, "kernel", format!("{} rebooted", self.name));
        Ok(())
    }
}

pub struct Cluster {
    nodes: Vec<Node>,
    net: Arc<Network>,
    _tmp: Option<tempfile::TempDir>,
}

/// `voice-chat:template.zip` → `voice-chat:template.os` (kit drops the publisher's `.os`).
pub fn package_id_from_zip_name(zip: &Path) -> Result<String> {
    let stem = zip
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".zip"))
        .ok_or_else(|| anyhow!("{} is not a .zip", zip.display()))?;
    let (package, publisher) =
        stem.split_once(':').ok_or_else(|| anyhow!("cannot tell the package id from {}; give it explicitly", zip.display()))?;
    let publisher = if publisher.contains('.') { publisher.to_string() } else { format!("{publisher}.os") };
    Ok(format!("{package}:{publisher}"))
}

impl Cluster {
    pub async fn start(opts: ClusterOptions) -> Result<Cluster> {
        let (home, tmp) = match &opts.home {
            Some(h) => (h.clone(), None),
            None => {
                let t = tempfile::tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let mut packages = Vec::new();
        for p in &opts.packages {
            let bytes = std::fs::read(&p.zip).with_context(|| {
                format!("reading package {} (build it first: `cargo xtask build`)", p.zip.display())
            })?;
            let id = match &p.package_id {
                Some(id) => id.clone(),
                None => package_id_from_zip_name(&p.zip)?,
            };
            packages.push((bytes, id));
        }
        let net = Network::new();
        let mut nodes = Vec::new();
        for (i, name) in opts.nodes.iter().enumerate() {
            let port = opts.base_port.map(|b| b + i as u16).unwrap_or(0);
            let node = Node::boot(name, home.join(name), net.clone(), &opts, port).await?;
            for (bytes, id) in &packages {
                node.install(bytes, id).with_context(|| format!("installing {id} on {name}"))?;
            }
            nodes.push(node);
        }
        Ok(Cluster { nodes, net, _tmp: tmp })
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, name: &str) -> &Node {
        self.nodes.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no node {name} in this cluster"))
    }

    pub fn try_node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Takes a node off the network (its processes and HTTP keep running): messages to and
    /// from it fail with `offline` after about a second.
    pub fn set_offline(&self, node: &str, offline: bool) {
        self.net.set_online(node, !offline);
    }

    pub fn set_link(&self, a: &str, b: &str, latency: Duration, loss: f64) {
        self.net.set_link(a, b, Link { latency, loss: loss.clamp(0.0, 1.0) });
    }

    /// Reboots a node (see `Node::reboot`).
    pub async fn reboot_node(&self, node: &str) -> Result<()> {
        self.try_node(node).ok_or_else(|| anyhow!("no node {node}"))?.reboot().await
    }

    pub fn restart_process(&self, node: &str, process: &ProcessId) -> Result<()> {
        self.try_node(node).ok_or_else(|| anyhow!("no node {node}"))?.restart_process(process)
    }

    pub async fn shutdown(self) {
        for n in &self.nodes {
            n.stop();
            self.net.unregister(&n.name);
        }
        // Let aborted tasks and killed instances unwind before the home directory goes.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Ends the per-pair network workers, which would otherwise keep the network alive.
        for n in &self.nodes {
            self.net.unregister(&n.name);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_ids_come_from_kit_style_zip_names() {
        assert_eq!(package_id_from_zip_name(Path::new("target/voice-chat:template.zip")).unwrap(), "voice-chat:template.os");
        assert_eq!(package_id_from_zip_name(Path::new("x/app:pub.dev.zip")).unwrap(), "app:pub.dev");
        assert!(package_id_from_zip_name(Path::new("x/app.zip")).is_err());
        assert!(package_id_from_zip_name(Path::new("x/app:pub.tar")).is_err());
    }
}
