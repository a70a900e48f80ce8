//! A probe process for devnode's tests. Requests from `tester:devnode:sys` on its own node are
//! commands (JSON `Command`); everything else it receives is reported to that tester as JSON,
//! so a test can observe exactly what the runtime hands a process.
use serde::Deserialize;
use serde_json::{json, Value};

wit_bindgen::generate!({
    path: "../../wit",
    world: "process-v1",
});

use hyperware::process::standard::{self as wit, Address, LazyLoadBlob, Message, ProcessId, Request, Response};

struct Component;
export!(Component);

#[derive(Deserialize)]
enum Command {
    SendRequest {
        target: String,
        body: String,
        #[serde(default)]
        expects_response: Option<u64>,
        #[serde(default)]
        inherit: bool,
        #[serde(default)]
        context: Option<String>,
        #[serde(default)]
        blob: Option<String>,
        /// A blob of this many bytes instead of `blob` (for size limits).
        #[serde(default)]
        blob_size: Option<usize>,
    },
    /// Sends `count` fire-and-forget WebSocket pushes of `size` bytes each to a channel.
    PushMany { channel_id: u32, count: u32, size: usize },
    SendAndAwait {
        target: String,
        body: String,
        #[serde(default)]
        expects_response: Option<u64>,
        #[serde(default)]
        blob: Option<String>,
    },
    Respond {
        body: String,
        #[serde(default)]
        inherit: bool,
        #[serde(default)]
        blob: Option<String>,
    },
    Blobs,
    SetState(String),
    GetState,
    ClearState,
    Print { verbosity: u8, text: String },
    Sleep { ms: u64 },
    Trap,
    Exit,
    SetOnExit(String),
    Ping(String),
    OurCaps,
    Spawn { name: String, wasm_path: String },
}

fn tester(our: &Address) -> Address {
    Address {
        node: our.node.clone(),
        process: ProcessId { process_name: "tester".into(), package_name: "devnode".into(), publisher_node: "sys".into() },
    }
}

fn addr_str(a: &Address) -> String {
    format!("{}@{}:{}:{}", a.node, a.process.process_name, a.process.package_name, a.process.publisher_node)
}

fn parse_addr(s: &str) -> Address {
    let (node, pid) = s.split_once('@').expect("address node@process:package:publisher");
    let parts: Vec<&str> = pid.split(':').collect();
    Address {
        node: node.into(),
        process: ProcessId { process_name: parts[0].into(), package_name: parts[1].into(), publisher_node: parts[2].into() },
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn blob_of(s: Option<String>) -> Option<LazyLoadBlob> {
    s.map(|b| LazyLoadBlob { mime: None, bytes: b.into_bytes() })
}

fn request(body: String, expects_response: Option<u64>, inherit: bool) -> Request {
    Request { inherit, expects_response, body: body.into_bytes(), metadata: None, capabilities: vec![] }
}

fn report(our: &Address, v: Value) {
    wit::send_request(&tester(our), &request(v.to_string(), None, false), None, None);
}

fn describe_message(source: &Address, message: &Message) -> Value {
    let blob = wit::get_blob().map(|b| text(&b.bytes));
    let last = wit::last_blob().map(|b| text(&b.bytes));
    match message {
        Message::Request(r) => json!({
            "source": addr_str(source), "kind": "Request", "body": text(&r.body),
            "expects_response": r.expects_response, "has_blob": wit::has_blob(), "blob": blob, "last_blob": last,
        }),
        Message::Response((r, context)) => json!({
            "source": addr_str(source), "kind": "Response", "body": text(&r.body),
            "context": context.as_ref().map(|c| text(c)), "has_blob": wit::has_blob(), "blob": blob, "last_blob": last,
        }),
    }
}

impl Guest for Component {
    fn init(our: String) {
        let our = parse_addr(&our);
        let state = wit::get_state().map(|s| text(&s));
        report(&our, json!({ "Started": { "state": state } }));
        loop {
            match wit::receive() {
                Err((e, context)) => {
                    let body = match &e.message {
                        Message::Request(r) => text(&r.body),
                        Message::Response((r, _)) => text(&r.body),
                    };
                    let kind = match e.kind {
                        wit::SendErrorKind::Offline => "Offline",
                        wit::SendErrorKind::Timeout => "Timeout",
                    };
                    report(&our, json!({ "SendError": {
                        "kind": kind, "target": addr_str(&e.target), "body": body,
                        "context": context.map(|c| text(&c)), "blob": e.lazy_load_blob.map(|b| text(&b.bytes)),
                    }}));
                }
                Ok((source, message)) => {
                    let is_command = addr_str(&source) == addr_str(&tester(&our)) && matches!(message, Message::Request(_));
                    let command = if is_command {
                        serde_json::from_slice::<Command>(match &message {
                            Message::Request(r) => &r.body,
                            Message::Response(_) => &[],
                        })
                        .ok()
                    } else {
                        None
                    };
                    match command {
                        None => report(&our, json!({ "Received": describe_message(&source, &message) })),
                        Some(c) => {
                            if !run(&our, c) {
                                return;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Runs one command; false means "return from init".
fn run(our: &Address, c: Command) -> bool {
    match c {
        Command::SendRequest { target, body, expects_response, inherit, context, blob, blob_size } => {
            let ctx = context.map(|c| c.into_bytes());
            let blob = match blob_size {
                Some(n) => Some(LazyLoadBlob { mime: None, bytes: vec![b'x'; n] }),
                None => blob_of(blob),
            };
            wit::send_request(&parse_addr(&target), &request(body, expects_response, inherit), ctx.as_deref(), blob.as_ref());
        }
        Command::PushMany { channel_id, count, size } => {
            let http = Address {
                node: our.node.clone(),
                process: ProcessId { process_name: "http-server".into(), package_name: "distro".into(), publisher_node: "sys".into() },
            };
            let body = json!({"WebSocketPush": {"channel_id": channel_id, "message_type": "Binary"}}).to_string();
            for i in 0..count {
                let mut bytes = vec![0u8; size.max(4)];
                bytes[..4].copy_from_slice(&i.to_be_bytes());
                wit::send_request(&http, &request(body.clone(), None, false), None, Some(&LazyLoadBlob { mime: None, bytes }));
            }
            report(our, json!({ "Pushed": count }));
        }
        Command::SendAndAwait { target, body, expects_response, blob } => {
            let r = wit::send_and_await_response(&parse_addr(&target), &request(body, expects_response, false), blob_of(blob).as_ref());
            let v = match r {
                Ok((source, message)) => json!({ "Ok": describe_message(&source, &message) }),
                Err(e) => json!({ "Err": match e.kind { wit::SendErrorKind::Offline => "Offline", wit::SendErrorKind::Timeout => "Timeout" } }),
            };
            report(our, json!({ "AwaitResult": v }));
        }
        Command::Respond { body, inherit, blob } => {
            let resp = Response { inherit, body: body.into_bytes(), metadata: None, capabilities: vec![] };
            wit::send_response(&resp, blob_of(blob).as_ref());
        }
        Command::Blobs => {
            let v = json!({
                "has_blob": wit::has_blob(),
                "blob": wit::get_blob().map(|b| text(&b.bytes)),
                "last_blob": wit::last_blob().map(|b| text(&b.bytes)),
            });
            report(our, json!({ "Blobs": v }));
        }
        Command::SetState(s) => {
            wit::set_state(s.as_bytes());
            report(our, json!({ "StateSet": s }));
        }
        Command::GetState => {
            let s = wit::get_state().map(|s| text(&s));
            report(our, json!({ "State": s }));
        }
        Command::ClearState => {
            wit::clear_state();
            report(our, json!("StateCleared"));
        }
        Command::Print { verbosity, text } => wit::print_to_terminal(verbosity, &text),
        Command::Sleep { ms } => {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            report(our, json!({ "Slept": ms }));
        }
        Command::Trap => panic!("probe trapped on command"),
        Command::Exit => return false,
        Command::SetOnExit(s) => {
            let on_exit = match s.as_str() {
                "Restart" => wit::OnExit::Restart,
                _ => wit::OnExit::None,
            };
            wit::set_on_exit(&on_exit);
        }
        Command::Ping(s) => report(our, json!({ "Pong": s })),
        Command::OurCaps => {
            let caps: Vec<Value> = wit::our_capabilities()
                .iter()
                .map(|c| json!({"issuer": addr_str(&c.issuer), "params": c.params}))
                .collect();
            report(our, json!({ "Caps": caps }));
        }
        Command::Spawn { name, wasm_path } => {
            let r = wit::spawn(Some(&name), &wasm_path, &wit::OnExit::None, &[], &[], false);
            let v = match r {
                Ok(id) => json!({"Ok": format!("{}:{}:{}", id.process_name, id.package_name, id.publisher_node)}),
                Err(wit::SpawnError::NameTaken) => json!({"Err": "NameTaken"}),
                Err(wit::SpawnError::NoFileAtPath) => json!({"Err": "NoFileAtPath"}),
            };
            report(our, json!({ "Spawned": v }));
        }
    }
    true
}
