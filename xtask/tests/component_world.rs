//! The built process component has the world the runtime instantiates: it imports
//! `hyperware:process/standard@1.0.0` and WASI only, and exports `init: func(our: string)`.
use std::path::PathBuf;
use wit_component::DecodedWasm;
use wit_parser::{Type, WorldItem, WorldKey};

fn built_component() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pkg/voice-chat.wasm");
    std::fs::read(&path).unwrap_or_else(|_| {
        panic!("{} is missing: run `cargo xtask build` first", path.display())
    })
}

fn key_name(resolve: &wit_parser::Resolve, key: &WorldKey) -> String {
    match key {
        WorldKey::Name(name) => name.clone(),
        WorldKey::Interface(id) => resolve.id_of(*id).expect("named interface"),
    }
}

#[test]
fn component_imports_hyperware_standard_and_wasi_only_and_exports_init() {
    let decoded = wit_component::decode(&built_component()).expect("a valid component");
    let DecodedWasm::Component(resolve, world_id) = decoded else {
        panic!("pkg/voice-chat.wasm is a WIT package, not a component");
    };
    let world = &resolve.worlds[world_id];

    let imports: Vec<String> = world.imports.keys().map(|k| key_name(&resolve, k)).collect();
    assert!(
        imports.iter().any(|i| i == "hyperware:process/standard@1.0.0"),
        "standard is not imported: {imports:?}"
    );
    let foreign: Vec<&String> = imports
        .iter()
        .filter(|i| *i != "hyperware:process/standard@1.0.0" && !i.starts_with("wasi:"))
        .collect();
    assert!(foreign.is_empty(), "imports beyond standard and wasi: {foreign:?}");

    let exports: Vec<(String, &WorldItem)> =
        world.exports.iter().map(|(k, v)| (key_name(&resolve, k), v)).collect();
    assert_eq!(exports.len(), 1, "exactly one export expected, got {:?}", exports.iter().map(|e| &e.0).collect::<Vec<_>>());
    let (name, item) = &exports[0];
    assert_eq!(name, "init");
    let WorldItem::Function(init) = item else { panic!("init is not a function") };
    assert_eq!(init.params.len(), 1);
    assert_eq!(init.params[0].0, "our");
    assert_eq!(init.params[0].1, Type::String);
    assert_eq!(init.results.len(), 0, "init returns nothing");
}

#[test]
fn wasi_imports_are_the_preview2_0_2_3_interfaces_the_runtime_links() {
    let DecodedWasm::Component(resolve, world_id) = wit_component::decode(&built_component()).unwrap() else {
        panic!("not a component");
    };
    for key in resolve.worlds[world_id].imports.keys() {
        let name = key_name(&resolve, key);
        if name.starts_with("wasi:") {
            assert!(name.ends_with("@0.2.3"), "{name} is not a wasi 0.2.3 interface (wasmtime 33 adapter)");
        }
    }
}
