//! devnode: a local Hyperware node for development and tests (see docs/devnode.md).
//! It hosts real process components in wasmtime and gives them what the runtime gives:
//! the kernel, http-server, vfs, state, timer, homepage and networking between nodes.
pub mod admin;
pub mod cluster;
pub mod endpoint;
pub mod http_server;
pub mod install;
pub mod kernel;
pub mod log;
pub mod modules;
pub mod net;
pub mod node;
pub mod process;
pub mod types;
pub mod unzip;
pub mod vfs;

pub use cluster::{Cluster, ClusterOptions, Endpoint, Node, PackageSpec};
pub use net::Link;
pub use types::{Address, Blob, Capability, KernelMessage, Message, ProcessId, Request, Response, SendErrorKind};
