//! The kernel's own message types (mirroring upstream `lib::types::core`), kept apart
//! from the wasmtime-generated WIT types so that runtime modules need no store.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Serialized as the string `process:package:publisher`, as upstream.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcessId {
    pub process_name: String,
    pub package_name: String,
    pub publisher_node: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdParseError {
    #[error("a process id is `process:package:publisher`, got {0:?}")]
    ProcessId(String),
    #[error("an address is `node@process:package:publisher`, got {0:?}")]
    Address(String),
    #[error("{0:?} is not hypermap-safe (process and package [a-z0-9-]+, publisher [a-z0-9.-]+)")]
    NotHypermapSafe(String),
}

impl ProcessId {
    pub fn new(process: &str, package: &str, publisher: &str) -> Self {
        ProcessId {
            process_name: process.into(),
            package_name: package.into(),
            publisher_node: publisher.into(),
        }
    }
    pub fn package_id(&self) -> String {
        format!("{}:{}", self.package_name, self.publisher_node)
    }
    /// Upstream refuses names outside these alphabets at InitializeProcess and Bind.
    pub fn check_hypermap_safe(&self) -> Result<(), IdParseError> {
        let name_ok = |s: &str| {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        let publisher_ok = !self.publisher_node.is_empty()
            && self
                .publisher_node
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if name_ok(&self.process_name) && name_ok(&self.package_name) && publisher_ok {
            Ok(())
        } else {
            Err(IdParseError::NotHypermapSafe(self.to_string()))
        }
    }
}

impl fmt::Display for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.process_name, self.package_name, self.publisher_node)
    }
}

impl FromStr for ProcessId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(IdParseError::ProcessId(s.into()));
        }
        Ok(ProcessId::new(parts[0], parts[1], parts[2]))
    }
}

/// Serialized as the string `node@process:package:publisher`, as upstream.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub node: String,
    pub process: ProcessId,
}

impl Address {
    pub fn new(node: &str, process: ProcessId) -> Self {
        Address { node: node.into(), process }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.node, self.process)
    }
}

impl FromStr for Address {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (node, process) = s.split_once('@').ok_or_else(|| IdParseError::Address(s.into()))?;
        if node.is_empty() {
            return Err(IdParseError::Address(s.into()));
        }
        Ok(Address { node: node.into(), process: process.parse().map_err(|_| IdParseError::Address(s.into()))? })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Capability {
    pub issuer: Address,
    /// JSON text; messaging caps are the JSON string `"messaging"` (with quotes).
    pub params: String,
}

impl Capability {
    pub fn messaging(issuer: Address) -> Self {
        Capability { issuer, params: "\"messaging\"".into() }
    }
    pub fn network(node: &str) -> Self {
        Capability { issuer: Address::new(node, kernel_id()), params: "\"network\"".into() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blob {
    pub mime: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub inherit: bool,
    pub expects_response: Option<u64>,
    pub body: Vec<u8>,
    pub metadata: Option<String>,
    pub capabilities: Vec<Capability>,
}

impl Request {
    pub fn new(body: impl Into<Vec<u8>>) -> Self {
        Request { inherit: false, expects_response: None, body: body.into(), metadata: None, capabilities: vec![] }
    }
    pub fn expecting(mut self, secs: u64) -> Self {
        self.expects_response = Some(secs);
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub inherit: bool,
    pub body: Vec<u8>,
    pub metadata: Option<String>,
    pub capabilities: Vec<Capability>,
}

impl Response {
    pub fn new(body: impl Into<Vec<u8>>) -> Self {
        Response { inherit: false, body: body.into(), metadata: None, capabilities: vec![] }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Request(Request),
    /// The context travels with the response inside the kernel but the receiver discards it
    /// and uses its own saved context, as upstream does.
    Response(Response, Option<Vec<u8>>),
}

impl Message {
    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r, _) => &r.body,
        }
    }
    pub fn expects_response(&self) -> Option<u64> {
        match self {
            Message::Request(r) => r.expects_response,
            Message::Response(..) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelMessage {
    pub id: u64,
    pub source: Address,
    pub target: Address,
    pub rsvp: Option<Address>,
    pub message: Message,
    pub blob: Option<Blob>,
}

impl KernelMessage {
    /// The size upstream's net module limits: body, blob, metadata and addresses.
    /// Upstream measures the msgpack encoding; the framing overhead is a few dozen bytes.
    pub fn wire_size(&self) -> usize {
        let caps_len = |caps: &[Capability]| caps.iter().map(|c| c.params.len() + 64).sum::<usize>();
        let msg = match &self.message {
            Message::Request(r) => r.body.len() + r.metadata.as_ref().map_or(0, |m| m.len()) + caps_len(&r.capabilities) + 16,
            Message::Response(r, c) => {
                r.body.len() + r.metadata.as_ref().map_or(0, |m| m.len()) + caps_len(&r.capabilities) + c.as_ref().map_or(0, |c| c.len())
            }
        };
        let addr = |a: &Address| a.node.len() + a.process.to_string().len() + 8;
        msg + self.blob.as_ref().map_or(0, |b| b.bytes.len() + b.mime.as_ref().map_or(0, |m| m.len()))
            + addr(&self.source)
            + addr(&self.target)
            + self.rsvp.as_ref().map_or(0, addr)
            + 16
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendErrorKind {
    Offline,
    Timeout,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendError {
    pub kind: SendErrorKind,
    pub target: Address,
    pub message: Message,
    pub blob: Option<Blob>,
}

/// A send error on its way back to the process that sent the failed message;
/// `id` is the failed message's id, which the process matches to its saved context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedSendError {
    pub id: u64,
    pub source: Address,
    pub error: SendError,
}

/// What a process inbox carries, as upstream's `ProcessMessageSender`.
pub type InboxItem = Result<KernelMessage, WrappedSendError>;

/// What a kernel's event loop receives: from its own processes and from the network, which
/// sits below the kernel and so only knows this type, not the kernel.
pub enum KernelEvent {
    Message(KernelMessage),
    /// An `offline` from the network for the process that sent the failed message.
    NetError(WrappedSendError),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnExit {
    None,
    Restart,
    Requests(Vec<(Address, Request, Option<Blob>)>),
}

pub fn kernel_id() -> ProcessId {
    ProcessId::new("kernel", "distro", "sys")
}
pub fn http_server_id() -> ProcessId {
    ProcessId::new("http-server", "distro", "sys")
}
pub fn timer_id() -> ProcessId {
    ProcessId::new("timer", "distro", "sys")
}
pub fn vfs_id() -> ProcessId {
    ProcessId::new("vfs", "distro", "sys")
}
pub fn state_id() -> ProcessId {
    ProcessId::new("state", "distro", "sys")
}
pub fn net_id() -> ProcessId {
    ProcessId::new("net", "distro", "sys")
}
pub fn homepage_id() -> ProcessId {
    ProcessId::new("homepage", "homepage", "sys")
}

macro_rules! string_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
string_serde!(ProcessId);
string_serde!(Address);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_print_and_serialize_as_strings() {
        let a: Address = "alice.os@voice-chat:voice-chat:template.os".parse().unwrap();
        assert_eq!(a.process.package_id(), "voice-chat:template.os");
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"alice.os@voice-chat:voice-chat:template.os\"");
        assert_eq!(serde_json::from_str::<Address>("\"alice.os@a:b:c\"").unwrap().process, ProcessId::new("a", "b", "c"));
        assert!("a:b".parse::<ProcessId>().is_err());
        assert!("a::c".parse::<ProcessId>().is_err());
        assert!("a:b:c:d".parse::<ProcessId>().is_err());
        assert!("@a:b:c".parse::<Address>().is_err());
        assert!(serde_json::from_str::<ProcessId>("\"nope\"").is_err());
    }

    #[test]
    fn hypermap_safety_follows_upstream_alphabets() {
        assert!(ProcessId::new("voice-chat", "voice-chat", "template.os").check_hypermap_safe().is_ok());
        assert!(ProcessId::new("Voice", "voice-chat", "template.os").check_hypermap_safe().is_err());
        assert!(ProcessId::new("voice", "voice.chat", "template.os").check_hypermap_safe().is_err());
        assert!(ProcessId::new("voice", "chat", "template_os").check_hypermap_safe().is_err());
    }
}
