//! `state:distro:sys` as upstream `hyperdrive/src/state.rs`: process state keyed by process id.
use super::respond;
use crate::kernel::Kernel;
use crate::types::*;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;

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

