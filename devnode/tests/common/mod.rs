//! Shared test helpers: building the probe component, packaging it, and driving it through a
//! native `tester:devnode:sys` endpoint.
#![allow(dead_code)]
use devnode::types::*;
use devnode::{Cluster, ClusterOptions, Endpoint, Node};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("devnode sits in the workspace root").to_path_buf()
}

/// Builds `devnode-probe` as a process component the one way the project builds components
/// (`cargo xtask component`: wasm32-wasip1 release, wasmtime 33 reactor adapter). Once per test
/// binary; each binary writes its own file so parallel binaries do not race.
pub fn probe_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let out_dir = tempfile::tempdir().expect("temp dir for the probe component");
        let out = out_dir.path().join("probe.wasm");
        let output = Command::new(env!("CARGO"))
            .args(["xtask", "component", "--package", "devnode-probe", "--out"])
            .arg(&out)
            .current_dir(workspace_root())
            .output()
            .expect("running `cargo xtask component`");
        assert!(
            output.status.success(),
            "`cargo xtask component --package devnode-probe` failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read(&out).expect("the probe component")
    })
}

pub const PROBE_PACKAGE: &str = "probe:devnode.os";

pub fn probe_id() -> ProcessId {
    "probe:probe:devnode.os".parse().unwrap()
}

pub fn tester_id() -> ProcessId {
    "tester:devnode:sys".parse().unwrap()
}

/// A manifest entry for the probe; tests adjust fields.
pub fn probe_entry() -> Value {
    json!({
        "process_name": "probe",
        "process_wasm_path": "/probe.wasm",
        "on_exit": "Restart",
        "request_networking": true,
        "request_capabilities": ["http-server:distro:sys", "vfs:distro:sys", "tester:devnode:sys"],
        "grant_capabilities": ["http-server:distro:sys", "timer:distro:sys", "tester:devnode:sys"],
        "public": false
    })
}

pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap();
    }
    buf.into_inner()
}

pub fn probe_zip(entries: &[Value]) -> Vec<u8> {
    let manifest = serde_json::to_vec(entries).unwrap();
    zip_of(&[("manifest.json", &manifest), ("probe.wasm", probe_wasm())])
}

pub struct Probe {
    pub tester: Endpoint,
    pub address: Address,
}

impl Probe {
    /// Installs the probe (with `entry`) on `node` and waits for its Started report.
    pub async fn install(node: &Node, entry: Value) -> (Probe, Value) {
        let tester = node.endpoint(
            tester_id(),
            true,
            vec![Capability::messaging(Address::new(node.name(), probe_id()))],
        );
        node.install(&probe_zip(&[entry]), PROBE_PACKAGE).expect("install probe");
        let mut probe = Probe { tester, address: Address::new(node.name(), probe_id()) };
        let started = probe.report().await;
        assert!(started.get("Started").is_some(), "first report is Started, got {started}");
        (probe, started)
    }

    pub async fn command(&self, c: Value) {
        self.tester.send(self.address.clone(), Request::new(c.to_string()), None).await;
    }

    /// The next report (a request from the probe to the tester), as JSON.
    pub async fn report(&mut self) -> Value {
        self.try_report(Duration::from_secs(20)).await.expect("a report from the probe within 20 s")
    }

    pub async fn try_report(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let item = self.tester.recv(left).await?;
            match item {
                Ok(km) if matches!(km.message, Message::Request(_)) => {
                    return Some(serde_json::from_slice(km.message.body()).expect("probe reports JSON"));
                }
                _ => continue,
            }
        }
    }

    /// Round-trips a Ping so everything the probe reported before it has arrived.
    pub async fn sync(&mut self, tag: &str) -> Vec<Value> {
        self.command(json!({"Ping": tag})).await;
        let mut before = Vec::new();
        loop {
            let r = self.report().await;
            if r == json!({"Pong": tag}) {
                return before;
            }
            before.push(r);
        }
    }
}

pub async fn one_node() -> Cluster {
    Cluster::start(ClusterOptions::default().nodes(&["alice.os"])).await.expect("boot alice.os")
}
