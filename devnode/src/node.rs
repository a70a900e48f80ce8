//! One node: its kernel, runtime modules and HTTP listener, which a reboot replaces whole
//! while the home directory, port, password and login secret stay.
use crate::endpoint::Endpoint;
use crate::http_server::{HttpServer, HttpServerOptions};
use crate::kernel::{kernel_loop, Control, Kernel};
use crate::log::NodeLog;
use crate::modules::{homepage_module, state_module, timer_module, HomepageEntry};
use crate::net::Network;
use crate::types::*;
use anyhow::{anyhow, Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How to boot one node (the cluster gives every node the same).
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// The login password; random when None.
    pub password: Option<String>,
    pub http_timeout_secs: u64,
    /// As the node flag `--expose-local` (needed for `local_only` bindings).
    pub expose_local: bool,
    /// Echo the node's terminal to stderr up to this verbosity.
    pub echo_verbosity: Option<u8>,
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

    pub(crate) async fn boot(name: &str, home: PathBuf, net: Arc<Network>, opts: &NodeOptions, port: u16) -> Result<Node> {
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
        // warp, the runtime's HTTP server, sets TCP_NODELAY on every accepted connection;
        // without it small WebSocket frames wait for Nagle's algorithm.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(down).await;
        }));
        Running { kernel, http, homepage, tasks }
    }

    /// Brings the node down: HTTP stops (listener closed, sockets ended), every process is
    /// killed, and the network sees it as unreachable.
    pub(crate) fn stop(&self) {
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

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

