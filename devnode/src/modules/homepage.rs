//! `homepage:homepage:sys`: the app tiles processes add, in the format of process_lib's `homepage.rs`.
use crate::kernel::Kernel;
use crate::types::*;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

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
