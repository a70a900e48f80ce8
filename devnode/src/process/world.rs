//! The world's functions (`hyperware:process/standard`), as upstream
//! `hyperdrive/src/kernel/standard_host_v1.rs` implements them.
use super::compile::compile;
use super::instance::{ProcessState, Received};
use super::bindings::*;
use crate::types::*;
use anyhow::{anyhow, Result};

impl wit::Host for ProcessState {
    async fn print_to_terminal(&mut self, verbosity: u8, message: String) -> Result<()> {
        self.print(verbosity, &message);
        Ok(())
    }

    async fn our(&mut self) -> Result<wit::Address> {
        Ok(en_addr(&self.our))
    }

    async fn get_on_exit(&mut self) -> Result<wit::OnExit> {
        let procs = self.kernel.processes.lock().unwrap();
        Ok(en_on_exit(procs.get(&self.our.process).map(|e| &e.on_exit).unwrap_or(&OnExit::None)))
    }

    async fn set_on_exit(&mut self, on_exit: wit::OnExit) -> Result<()> {
        if let Some(e) = self.kernel.processes.lock().unwrap().get_mut(&self.our.process) {
            e.on_exit = de_on_exit(on_exit);
        }
        Ok(())
    }

    async fn get_state(&mut self) -> Result<Option<Vec<u8>>> {
        let old_last_blob = self.last_blob.clone();
        let action = serde_json::json!({ "GetState": self.our.process });
        let res = match self.state_call(action, None).await? {
            Ok(_) if self.last_message_blobbed => self.last_blob.as_ref().map(|b| b.bytes.clone()),
            _ => None,
        };
        self.last_blob = old_last_blob;
        Ok(res)
    }

    async fn set_state(&mut self, bytes: Vec<u8>) -> Result<()> {
        let old_last_blob = self.last_blob.clone();
        let action = serde_json::json!({ "SetState": self.our.process });
        let res = self.state_call(action, Some(Blob { mime: None, bytes })).await?;
        self.last_blob = old_last_blob;
        match res {
            Ok(_) => Ok(()),
            Err(_) => Err(anyhow!("filesystem did not respond properly to SetState!!")),
        }
    }

    async fn clear_state(&mut self) -> Result<()> {
        let old_last_blob = self.last_blob.clone();
        let action = serde_json::json!({ "DeleteState": self.our.process });
        let res = self.state_call(action, None).await?;
        self.last_blob = old_last_blob;
        match res {
            Ok(_) => Ok(()),
            Err(_) => Err(anyhow!("filesystem did not respond properly to ClearState!!")),
        }
    }

    async fn spawn(
        &mut self,
        name: Option<String>,
        wasm_path: String,
        on_exit: wit::OnExit,
        request_capabilities: Vec<wit::Capability>,
        grant_capabilities: Vec<(wit::ProcessId, String)>,
        public: bool,
    ) -> Result<std::result::Result<wit::ProcessId, wit::SpawnError>> {
        let Ok(bytes) = crate::vfs::read_package_file(&self.kernel, &self.our.process, &wasm_path) else {
            return Ok(Err(wit::SpawnError::NoFileAtPath));
        };
        let name = name.unwrap_or_else(|| rand::random::<u64>().to_string());
        let id = ProcessId::new(&name, &self.our.process.package_name, &self.our.process.publisher_node);
        id.check_hypermap_safe()?;
        if self.kernel.processes.lock().unwrap().contains_key(&id) {
            return Ok(Err(wit::SpawnError::NameTaken));
        }
        let held = self.kernel.processes.lock().unwrap().get(&self.our.process).map(|e| e.caps.clone()).unwrap_or_default();
        let mut caps: Vec<Capability> =
            request_capabilities.into_iter().map(de_cap).filter(|c| held.contains(c)).collect();
        // Child and parent may always message each other.
        caps.push(Capability::messaging(self.our.clone()));
        let Ok(component) = compile(&bytes) else {
            return Ok(Err(wit::SpawnError::NoFileAtPath));
        };
        let child = self.kernel.address(id.clone());
        for (pid, params) in grant_capabilities {
            self.kernel.add_caps(&de_pid(pid), [Capability { issuer: child.clone(), params }]);
        }
        (self.start_child)(&self.kernel, id.clone(), &wasm_path, component, de_on_exit(on_exit), caps, public);
        self.kernel.add_caps(&self.our.process, [Capability::messaging(child)]);
        self.print(2, "spawned a new process");
        Ok(Ok(en_pid(&id)))
    }

    async fn save_capabilities(&mut self, caps: Vec<wit::Capability>) -> Result<()> {
        self.kernel.add_caps(&self.our.process, caps.into_iter().map(de_cap));
        Ok(())
    }

    async fn drop_capabilities(&mut self, caps: Vec<wit::Capability>) -> Result<()> {
        if let Some(e) = self.kernel.processes.lock().unwrap().get_mut(&self.our.process) {
            for c in caps {
                e.caps.remove(&de_cap(c));
            }
        }
        Ok(())
    }

    async fn our_capabilities(&mut self) -> Result<Vec<wit::Capability>> {
        let procs = self.kernel.processes.lock().unwrap();
        Ok(procs.get(&self.our.process).map(|e| e.caps.iter().map(en_cap).collect()).unwrap_or_default())
    }

    async fn receive(&mut self) -> Result<Received> {
        Ok(self.next_message().await)
    }

    async fn has_blob(&mut self) -> Result<bool> {
        Ok(self.last_message_blobbed)
    }

    async fn get_blob(&mut self) -> Result<Option<wit::LazyLoadBlob>> {
        Ok(if self.last_message_blobbed { self.last_blob.as_ref().map(en_blob) } else { None })
    }

    async fn last_blob(&mut self) -> Result<Option<wit::LazyLoadBlob>> {
        Ok(self.last_blob.as_ref().map(en_blob))
    }

    async fn send_request(
        &mut self,
        target: wit::Address,
        request: wit::Request,
        context: Option<Vec<u8>>,
        lazy_load_blob: Option<wit::LazyLoadBlob>,
    ) -> Result<()> {
        self.send_request_inner(None, de_addr(target), de_request(request), context, lazy_load_blob.map(de_blob)).await;
        Ok(())
    }

    async fn send_requests(
        &mut self,
        requests: Vec<(wit::Address, wit::Request, Option<Vec<u8>>, Option<wit::LazyLoadBlob>)>,
    ) -> Result<()> {
        for (target, request, context, blob) in requests {
            self.send_request_inner(None, de_addr(target), de_request(request), context, blob.map(de_blob)).await;
        }
        Ok(())
    }

    async fn send_response(&mut self, response: wit::Response, lazy_load_blob: Option<wit::LazyLoadBlob>) -> Result<()> {
        let mut response = de_response(response);
        let Some(prompt) = &self.prompting_message else {
            self.kernel.log.print(0, "kernel", format!("kernel: need non-None prompting_message to handle Response {response:?}"));
            return Ok(());
        };
        let id = prompt.id;
        let target = prompt.rsvp.clone().unwrap_or_else(|| prompt.source.clone());
        let blob = if response.inherit { self.last_blob.clone() } else { lazy_load_blob.map(de_blob) };
        if !response.capabilities.is_empty() {
            let procs = self.kernel.processes.lock().unwrap();
            let held = procs.get(&self.our.process).map(|e| e.caps.clone()).unwrap_or_default();
            response.capabilities.retain(|c| held.contains(c));
        }
        let km = KernelMessage { id, source: self.our.clone(), target, rsvp: None, message: Message::Response(response, None), blob };
        self.kernel.send(km).await;
        Ok(())
    }

    async fn send_and_await_response(
        &mut self,
        target: wit::Address,
        request: wit::Request,
        lazy_load_blob: Option<wit::LazyLoadBlob>,
    ) -> Result<std::result::Result<(wit::Address, wit::Message), wit::SendError>> {
        self.send_and_await_inner(None, de_addr(target), de_request(request), lazy_load_blob.map(de_blob)).await
    }
}
