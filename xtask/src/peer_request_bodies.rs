//! The process sends other nodes requests whose bodies it writes as constants
//! (`voice-chat/src/peer_requests.rs`) in the runtime's JSON, `{"<Handler>":null}`, where
//! `<Handler>` is the `#[remote]` handler's name in CamelCase as the `#[hyperapp]` macro reads
//! it. Nothing in the compiler ties the two: this check does, on the sources (the process crate
//! cannot run native tests).
use crate::layout;
use anyhow::{bail, Context, Result};
use syn::{ImplItem, Item, Lit};

/// `{"<CamelCase>":null}` for every `#[remote]` method of the process that takes no argument
/// besides `&mut self`; a `#[remote]` method with arguments is an error here, because the
/// peer requests carry their payload in the blob.
fn remote_handler_bodies(lib_rs: &str) -> Result<Vec<String>> {
    let file = syn::parse_file(lib_rs).context("parsing voice-chat/src/lib.rs")?;
    let mut bodies = Vec::new();
    for item in &file.items {
        let Item::Impl(block) = item else { continue };
        for member in &block.items {
            let ImplItem::Fn(method) = member else { continue };
            if !method.attrs.iter().any(|a| a.path().is_ident("remote")) {
                continue;
            }
            let name = method.sig.ident.to_string();
            if method.sig.inputs.len() != 1 {
                bail!("#[remote] {name} takes arguments; peer requests carry their payload in the blob");
            }
            bodies.push(format!(r#"{{"{}":null}}"#, camel_case(&name)));
        }
    }
    Ok(bodies)
}

fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// The byte-string constants whose names end in `_BODY`.
fn body_constants(source: &str) -> Result<Vec<(String, String)>> {
    let file = syn::parse_file(source).context("parsing voice-chat/src/peer_requests.rs")?;
    let mut found = Vec::new();
    for item in &file.items {
        let Item::Const(constant) = item else { continue };
        let name = constant.ident.to_string();
        if !name.ends_with("_BODY") {
            continue;
        }
        let syn::Expr::Lit(expr) = constant.expr.as_ref() else { bail!("{name} is not a literal") };
        let Lit::ByteStr(bytes) = &expr.lit else { bail!("{name} is not a byte string") };
        found.push((name, String::from_utf8(bytes.value()).context("body is UTF-8")?));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process_source(file: &str) -> String {
        let path = layout::root().join(layout::PROCESS_CRATE).join("src").join(file);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn each_peer_request_body_names_a_remote_handler_and_each_handler_has_one() {
        let handlers = remote_handler_bodies(&process_source("lib.rs")).unwrap();
        let bodies = body_constants(&process_source("peer_requests.rs")).unwrap();
        assert!(!bodies.is_empty(), "no *_BODY constants found in peer_requests.rs");
        for (name, body) in &bodies {
            assert!(handlers.contains(body), "{name} = {body} matches no #[remote] handler in lib.rs: {handlers:?}");
        }
        for handler in &handlers {
            assert!(bodies.iter().any(|(_, b)| b == handler), "#[remote] handler {handler} has no body constant in peer_requests.rs");
        }
    }

    #[test]
    fn a_renamed_handler_or_a_handler_with_arguments_is_caught() {
        let lib = "impl App { #[remote] fn peer_msg(&mut self) {} #[http] fn other(&mut self) {} }";
        assert_eq!(remote_handler_bodies(lib).unwrap(), [r#"{"PeerMsg":null}"#]);
        let with_args = "impl App { #[remote] fn peer_message(&mut self, envelope: String) {} }";
        assert!(remote_handler_bodies(with_args).is_err());
        let consts = r###"pub const PEER_MESSAGE_BODY: &[u8] = br#"{"PeerMessage":null}"#; const OTHER: u8 = 1;"###;
        assert_eq!(body_constants(consts).unwrap(), [("PEER_MESSAGE_BODY".to_string(), r#"{"PeerMessage":null}"#.to_string())]);
    }
}
