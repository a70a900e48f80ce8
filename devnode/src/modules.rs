//! The small runtime modules: `state:distro:sys` (persisted process state), `timer:distro:sys`
//! and `homepage:homepage:sys`. Their message formats follow upstream `hyperdrive/src/state.rs`,
//! `hyperdrive/src/timer.rs` and process_lib's `homepage.rs`.
use crate::kernel::Kernel;
use crate::types::*;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

pub(crate) async fn respond(kernel: &Kernel, from: ProcessId, km: &KernelMessage, body: Vec<u8>, blob: Option<Blob>) {
    let target = km.rsvp.clone().unwrap_or_else(|| km.source.clone());
    kernel
        .send(KernelMessage {
            id: km.id,
            source: kernel.address(from),
            target,
            rsvp: None,
            message: Message::Response(Response::new(body), None),
            blob,
        })
        .await;
}

/// Upstream's names, which all end in State.
#[allow(clippy::enum_variant_names)]
#[derive(Deserialize)]
enum StateAction {
    GetState(ProcessId),
    SetState(ProcessId),
    DeleteState(ProcessId),
}

pub fn state_dir(home: &std::path::Path) -> PathBuf {
    home.join("state")
}

fn state_file(home: &std::path::Path, id: &ProcessId) -> PathBuf {
    // Process ids are hypermap-safe ([a-z0-9.-] and ':'), so they are safe file names.
    state_dir(home).join(id.to_string())
}

/// Stored synchronously (write to a temp file, fsync, rename) before the reply, as upstream's
/// RocksDB put is; keyed by process id, so it survives restarts and reboots.
pub async fn state_module(kernel: Arc<Kernel>, mut rx: mpsc::Receiver<InboxItem>) {
    let _ = std::fs::create_dir_all(state_dir(&kernel.home));
    while let Some(item) = rx.recv().await {
        let Ok(km) = item else { continue };
        let Message::Request(req) = &km.message else { continue };
        let home = kernel.home.clone();
        let result: Result<(&str, Option<Vec<u8>>), String> = match serde_json::from_slice::<StateAction>(&req.body) {
            Err(e) => Err(format!("{{\"BadJson\":{{\"error\":{:?}}}}}", e.to_string())),
            Ok(StateAction::SetState(id)) => match &km.blob {
                None => Err("{\"BadBytes\":{\"action\":\"SetState\"}}".into()),
                Some(blob) => {
                    let path = state_file(&home, &id);
                    let tmp = path.with_extension("tmp");
                    let write = (|| -> std::io::Result<()> {
                        use std::io::Write;
                        let mut f = std::fs::File::create(&tmp)?;
                        f.write_all(&blob.bytes)?;
                        f.sync_all()?;
                        std::fs::rename(&tmp, &path)
                    })();
                    write.map(|_| ("\"SetState\"", None)).map_err(|e| format!("{{\"IOError\":{:?}}}", e.to_string()))
                }
            },
            Ok(StateAction::GetState(id)) => match std::fs::read(state_file(&home, &id)) {
                Ok(bytes) => Ok(("\"GetState\"", Some(bytes))),
                Err(_) => Err(format!("{{\"NotFound\":{{\"process_id\":\"{id}\"}}}}")),
            },
            Ok(StateAction::DeleteState(id)) => {
                let _ = std::fs::remove_file(state_file(&home, &id));
                Ok(("\"DeleteState\"", None))
            }
        };
        match result {
            Ok((body, bytes)) => {
                respond(&kernel, state_id(), &km, body.as_bytes().to_vec(), bytes.map(|b| Blob { mime: None, bytes: b })).await
            }
            Err(e) => respond(&kernel, state_id(), &km, format!("{{\"Err\":{e}}}").into_bytes(), None).await,
        }
    }
}

#[derive(Deserialize)]
enum TimerAction {
    Debug(serde::de::IgnoredAny),
    SetTimer(u64),
}

/// Timers live in memory only, as upstream's; the reply is an empty Response after the time.
pub async fn timer_module(kernel: Arc<Kernel>, mut rx: mpsc::Receiver<InboxItem>) {
    while let Some(item) = rx.recv().await {
        let Ok(km) = item else { continue };
        let Message::Request(req) = &km.message else { continue };
        match serde_json::from_slice::<TimerAction>(&req.body) {
            Ok(TimerAction::SetTimer(ms)) => {
                let kernel = kernel.clone();
                tokio::spawn(async move {
                    if ms > 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(ms.saturating_sub(1))).await;
                    }
                    respond(&kernel, timer_id(), &km, vec![], None).await;
                });
            }
            Ok(TimerAction::Debug(_)) => {}
            Err(_) => kernel.log.print(1, "timer", format!("timer: got malformed request from {}", km.source)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct HomepageEntry {
    pub process: ProcessId,
    pub label: String,
    pub icon: Option<String>,
    pub path: Option<String>,
    pub widget: Option<String>,
}

#[derive(Deserialize)]
enum HomepageRequest {
    Add { label: String, icon: Option<String>, path: Option<String>, widget: Option<String> },
    Remove,
    #[serde(other)]
    Other,
}

/// Accepts the app tiles that processes add (fire-and-forget, no response), storing the path as
/// `/<process-id>/<path>` as the real homepage does.
pub async fn homepage_module(kernel: Arc<Kernel>, entries: Arc<Mutex<Vec<HomepageEntry>>>, mut rx: mpsc::Receiver<InboxItem>) {
    while let Some(item) = rx.recv().await {
        let Ok(km) = item else { continue };
        let Message::Request(req) = &km.message else { continue };
        let process = km.source.process.clone();
        match serde_json::from_slice::<HomepageRequest>(&req.body) {
            Ok(HomepageRequest::Add { label, icon, path, widget }) => {
                let path = path.map(|p| format!("/{}/{}", process, p.trim_start_matches('/')));
                let mut e = entries.lock().unwrap();
                e.retain(|x| x.process != process);
                e.push(HomepageEntry { process, label, icon, path, widget });
            }
            Ok(HomepageRequest::Remove) => entries.lock().unwrap().retain(|x| x.process != process),
            Ok(HomepageRequest::Other) | Err(_) => {
                kernel.log.print(2, "homepage", format!("homepage: ignored request from {}", km.source))
            }
        }
    }
}
