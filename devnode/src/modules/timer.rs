//! `timer:distro:sys` as upstream `hyperdrive/src/timer.rs`.
use super::respond;
use crate::kernel::Kernel;
use crate::types::*;
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::mpsc;

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

