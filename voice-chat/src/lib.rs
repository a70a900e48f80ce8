//! The voice-chat process: a thin `#[hyperapp]` shell around the room engine.
use hyperapp_macro::hyperapp;
use hyperware_process_lib::hyperapp::SaveOptions;
use serde::{Deserialize, Serialize};

const PROTOCOL_VERSION: u32 = 1;

#[derive(Default, Debug, Serialize, Deserialize)]
pub struct VoiceChatState {}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    pub protocol_version: u32,
}

#[hyperapp(
    name = "Voice Chat",
    ui = Some(HttpBindingConfig::default()),
    endpoints = vec![
        Binding::Http {
            path: "/api",
            config: HttpBindingConfig::default(),
        },
    ],
    save_config = SaveOptions::EveryMessage,
    wit_world = "voice-chat-template-dot-os-v0"
)]
impl VoiceChatState {
    #[init]
    async fn initialize(&mut self) {
        hyperware_process_lib::logging::init_logging(
            hyperware_process_lib::logging::Level::WARN,
            hyperware_process_lib::logging::Level::INFO,
            None,
            None,
            None,
        )
        .ok();
    }

    #[http(method = "GET", path = "/api/info")]
    async fn get_info(&mut self) -> AppInfo {
        AppInfo {
            name: "voice-chat".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol_version: PROTOCOL_VERSION,
        }
    }
}
