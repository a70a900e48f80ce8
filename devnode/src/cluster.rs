//! Booting nodes: a `Cluster` of nodes that share one network, and the fault controls tests use.
use crate::http_server::DEFAULT_TIMEOUT_SECS;
use crate::net::{Link, Network};
use crate::types::*;
use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use crate::endpoint::Endpoint;
pub use crate::node::Node;
use crate::node::NodeOptions;

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
        let node_opts = NodeOptions {
            password: opts.password.clone(),
            http_timeout_secs: opts.http_timeout_secs,
            expose_local: opts.expose_local,
            echo_verbosity: opts.echo_verbosity,
        };
        let mut nodes = Vec::new();
        for (i, name) in opts.nodes.iter().enumerate() {
            let port = opts.base_port.map(|b| b + i as u16).unwrap_or(0);
            let node = Node::boot(name, home.join(name), net.clone(), &node_opts, port).await?;
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
        self.nodes.iter().find(|n| n.name() == name).unwrap_or_else(|| panic!("no node {name} in this cluster"))
    }

    pub fn try_node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name() == name)
    }

    /// Takes a node off the network (its processes and HTTP keep running): messages to and
    /// from it fail with `offline` after about a second.
    pub fn set_offline(&self, node: &str, offline: bool) {
        self.net.set_online(node, !offline);
    }

    /// Latency and loss between two nodes, both directions, without jitter.
    pub fn set_link(&self, a: &str, b: &str, latency: Duration, loss: f64) {
        self.set_link_faults(a, b, Link { latency, jitter: Duration::ZERO, loss });
    }

    /// All faults of the link between two nodes (both directions): latency, jitter (a random
    /// extra delay per message, uniform in [0, jitter], order kept) and loss (clamped to [0, 1]).
    pub fn set_link_faults(&self, a: &str, b: &str, link: Link) {
        self.net.set_link(a, b, Link { loss: link.loss.clamp(0.0, 1.0), ..link });
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
            self.net.unregister(n.name());
        }
        // Let aborted tasks and killed instances unwind before the home directory goes.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Ends the per-pair network workers, which would otherwise keep the network alive.
        for n in &self.nodes {
            self.net.unregister(n.name());
        }
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
