//! Path bindings: `/<process-id><path>` routes matched with route-recognizer as upstream, for
//! HTTP and for WebSockets.
use super::{HttpServer, HttpServerError};
use crate::types::*;

pub(super) struct BoundPath {
    pub(super) app: Option<ProcessId>,
    pub(super) path: String,
    pub(super) authenticated: bool,
    pub(super) local_only: bool,
    pub(super) static_content: Option<Blob>,
}

pub(super) struct BoundWsPath {
    pub(super) app: Option<ProcessId>,
    pub(super) authenticated: bool,
    pub(super) extension: bool,
}

impl HttpServer {
    /// Whether `path` (the full path, with the process prefix) is bound exactly, for HTTP or
    /// (with `websocket`) for WebSockets.
    pub async fn is_bound(&self, path: &str, websocket: bool) -> bool {
        let path = path.strip_suffix('/').unwrap_or(path);
        if websocket {
            let b = self.ws_bindings.read().await;
            b.recognize(path).is_ok_and(|m| m.handler().app.is_some() && m.params().iter().next().is_none())
        } else {
            let b = self.bindings.read().await;
            b.recognize(path).is_ok_and(|m| m.handler().app.is_some() && m.handler().path == path)
        }
    }

    pub(super) fn format_path(process: &ProcessId, path: &str) -> String {
        let norm = path.strip_suffix('/').unwrap_or(path);
        if *process == homepage_id() {
            norm.to_string()
        } else if path.starts_with('/') {
            format!("/{process}{norm}")
        } else {
            format!("/{process}/{norm}")
        }
    }



    /// Bind and SecureBind: a path of the sending process, static when `cache` (the blob).
    pub(super) async fn bind(&self, km: &KernelMessage, source: &ProcessId, path: &str, authenticated: bool, local_only: bool, cache: bool) -> Result<(), HttpServerError> {
        source.check_hypermap_safe().map_err(|_| HttpServerError::InvalidSourceProcess)?;
        let static_content = match (cache, &km.blob) {
            (false, _) => None,
            (true, Some(blob)) => Some(blob.clone()),
            (true, None) => return Err(HttpServerError::NoBlob),
        };
        let path = Self::format_path(source, path);
        self.kernel.log.print(3, "http-server", format!("http: binding {path}"));
        self.bindings.write().await.add(
            &path.clone(),
            BoundPath { app: Some(source.clone()), path, authenticated, local_only, static_content },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_paths_get_the_process_prefix_and_lose_a_trailing_slash() {
        let p = ProcessId::new("voice-chat", "voice-chat", "template.os");
        assert_eq!(HttpServer::format_path(&p, "/"), "/voice-chat:voice-chat:template.os");
        assert_eq!(HttpServer::format_path(&p, "/api/"), "/voice-chat:voice-chat:template.os/api");
        assert_eq!(HttpServer::format_path(&p, "api"), "/voice-chat:voice-chat:template.os/api");
        assert_eq!(HttpServer::format_path(&homepage_id(), "/our.js"), "/our.js");
    }
}
