//! The wasmtime engine (configured as the runtime's) and the cache of compiled components.
use anyhow::Result;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// One engine per devnode process, configured as the runtime's.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.async_support(true);
        config.wasm_component_model(true);
        Engine::new(&config).expect("wasmtime engine with the runtime's configuration")
    })
}

/// Compiled components keyed by their bytes. The node compiles at boot; sharing the result
/// between nodes of one devnode changes nothing a process can observe.
pub fn compile(wasm: &[u8]) -> Result<Component> {
    static CACHE: OnceLock<Mutex<HashMap<Vec<u8>, Component>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().unwrap().get(wasm) {
        return Ok(c.clone());
    }
    let component = Component::new(engine(), wasm)?;
    cache.lock().unwrap().insert(wasm.to_vec(), component.clone());
    Ok(component)
}
