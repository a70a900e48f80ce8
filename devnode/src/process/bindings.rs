//! The `process-v1` world bound from `devnode/wit/`, and the conversions between the kernel's
//! types and the generated WIT types (one place, so the host and supervisor never convert).
wasmtime::component::bindgen!({
    path: "wit",
    world: "process-v1",
    async: true,
    trappable_imports: true,
});

pub(super) use hyperware::process::standard as wit;
use crate::types::*;

pub(super) fn en_pid(p: &ProcessId) -> wit::ProcessId {
    wit::ProcessId {
        process_name: p.process_name.clone(),
        package_name: p.package_name.clone(),
        publisher_node: p.publisher_node.clone(),
    }
}
pub(super) fn de_pid(p: wit::ProcessId) -> ProcessId {
    ProcessId { process_name: p.process_name, package_name: p.package_name, publisher_node: p.publisher_node }
}
pub(super) fn en_addr(a: &Address) -> wit::Address {
    wit::Address { node: a.node.clone(), process: en_pid(&a.process) }
}
pub(super) fn de_addr(a: wit::Address) -> Address {
    Address { node: a.node, process: de_pid(a.process) }
}
pub(super) fn en_cap(c: &Capability) -> wit::Capability {
    wit::Capability { issuer: en_addr(&c.issuer), params: c.params.clone() }
}
pub(super) fn de_cap(c: wit::Capability) -> Capability {
    Capability { issuer: de_addr(c.issuer), params: c.params }
}
pub(super) fn en_blob(b: &Blob) -> wit::LazyLoadBlob {
    wit::LazyLoadBlob { mime: b.mime.clone(), bytes: b.bytes.clone() }
}
pub(super) fn de_blob(b: wit::LazyLoadBlob) -> Blob {
    Blob { mime: b.mime, bytes: b.bytes }
}
pub(super) fn en_request(r: &Request) -> wit::Request {
    wit::Request {
        inherit: r.inherit,
        expects_response: r.expects_response,
        body: r.body.clone(),
        metadata: r.metadata.clone(),
        capabilities: r.capabilities.iter().map(en_cap).collect(),
    }
}
pub(super) fn de_request(r: wit::Request) -> Request {
    Request {
        inherit: r.inherit,
        expects_response: r.expects_response,
        body: r.body,
        metadata: r.metadata,
        capabilities: r.capabilities.into_iter().map(de_cap).collect(),
    }
}
pub(super) fn en_response(r: &Response) -> wit::Response {
    wit::Response {
        inherit: r.inherit,
        body: r.body.clone(),
        metadata: r.metadata.clone(),
        capabilities: r.capabilities.iter().map(en_cap).collect(),
    }
}
pub(super) fn de_response(r: wit::Response) -> Response {
    Response { inherit: r.inherit, body: r.body, metadata: r.metadata, capabilities: r.capabilities.into_iter().map(de_cap).collect() }
}
pub(super) fn en_message(m: &Message, context: Option<Vec<u8>>) -> wit::Message {
    match m {
        Message::Request(r) => wit::Message::Request(en_request(r)),
        Message::Response(r, _) => wit::Message::Response((en_response(r), context)),
    }
}
pub(super) fn en_send_error(e: &SendError) -> wit::SendError {
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
pub(super) fn en_on_exit(o: &OnExit) -> wit::OnExit {
    match o {
        OnExit::None => wit::OnExit::None,
        OnExit::Restart => wit::OnExit::Restart,
        OnExit::Requests(rs) => wit::OnExit::Requests(
            rs.iter().map(|(a, r, b)| (en_addr(a), en_request(r), b.as_ref().map(en_blob))).collect(),
        ),
    }
}
pub(super) fn de_on_exit(o: wit::OnExit) -> OnExit {
    match o {
        wit::OnExit::None => OnExit::None,
        wit::OnExit::Restart => OnExit::Restart,
        wit::OnExit::Requests(rs) => {
            OnExit::Requests(rs.into_iter().map(|(a, r, b)| (de_addr(a), de_request(r), b.map(de_blob))).collect())
        }
    }
}
