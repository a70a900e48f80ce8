//! The WIT files of the app's API, generated from the process crate as `kit build --hyperapp`
//! (kit 3.2.1) generates them, so that `api/` can be kept exactly as kit would write it
//! without running kit.
//!
//! What kit does, and so what this does: the `#[hyperapp]` impl in `src/lib.rs` names the
//! interface (its type minus a trailing `State`, kebab-cased) and the world (`wit_world`).
//! Every `#[http]`, `#[local]` and `#[remote]` method becomes a `<fn>-signature-<kind>` record;
//! every non-std type named in those signatures is looked up among the top-level structs,
//! enums and type aliases of the crate's `.rs` files and written out, with the types those
//! refer to, transitively. A type that cannot be found there (one from another crate, say) is
//! an error, as it is for kit.

mod defs;
mod handlers;
mod names;
mod types;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use syn::{ImplItem, Item, Type};

use defs::Sources;
use names::{is_builtin, kebab, validate, wit_ident};

/// The files kit 3.2.1 would write into an empty `api/` for the process crate at `crate_dir`,
/// as (file name, content) pairs sorted by file name: `<interface>.wit` (left out, as kit
/// does, when the impl has no exposed handler), `<wit_world>.wit` and `types-<wit_world>.wit`.
///
/// kit merges world files with ones already in `api/` (it keeps their imports and includes
/// and adds its own) and never deletes stale files; the result here is what a clean `api/`
/// gets, which is also what kit leaves unchanged when it runs over that same `api/` again.
///
/// Errors where kit errors (bad names, unsupported types, types not defined in the crate,
/// handlers without a return type, ...), and also where kit's output would depend on things
/// this does not reproduce (see `wit_world` and the duplicate-definition check); a crate
/// without `src/lib.rs` or without a `#[hyperapp]` impl, which kit silently skips, is an
/// error too.
pub fn generate(crate_dir: &Path) -> Result<Vec<(String, String)>> {
    let lib_rs = crate_dir.join("src").join("lib.rs");
    let lib_text =
        fs::read_to_string(&lib_rs).with_context(|| format!("reading {}", lib_rs.display()))?;
    let lib =
        syn::parse_file(&lib_text).with_context(|| format!("parsing {}", lib_rs.display()))?;

    let (attr, block) = lib
        .items
        .iter()
        .find_map(|item| match item {
            Item::Impl(block) => block
                .attrs
                .iter()
                .find(|a| handlers::is_hyperapp_attr(a))
                .map(|attr| (attr, block)),
            _ => None,
        })
        .ok_or_else(|| anyhow!("no #[hyperapp] impl block in {}", lib_rs.display()))?;
    let world = handlers::wit_world(attr)?;
    let state_name = match &*block.self_ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
    .ok_or_else(|| anyhow!("the #[hyperapp] impl is not for a named type"))?;
    validate(&state_name, "Interface")?;
    let interface = kebab(state_name.strip_suffix("State").unwrap_or(&state_name));

    let mut records = Vec::new();
    let mut used = BTreeSet::new();
    for item in &block.items {
        if let ImplItem::Fn(method) = item {
            records.extend(handlers::signature_records(method, &mut used)?);
        }
    }

    let definitions = collect_definitions(&crate_dir.join("src"), &used)?;
    let interface_text = interface_file(&interface, &records, &used, &definitions);

    if format!("types-{world}") == interface || world == interface {
        bail!("wit_world `{world}` collides with the interface file `{interface}.wit`");
    }
    let mut files = Vec::new();
    let imports = match interface_text {
        Some(text) => {
            files.push((format!("{interface}.wit"), text));
            vec![format!("import {};", wit_ident(&interface))]
        }
        None => Vec::new(),
    };
    files.push((
        format!("{world}.wit"),
        world_file(&world, &imports, "include process-v1;"),
    ));
    files.push((
        format!("types-{world}.wit"),
        world_file(&format!("types-{world}"), &imports, "include lib;"),
    ));
    files.sort();
    Ok(files)
}

/// Collected definitions: kebab name → definition. Together with `used` they are everything
/// the interface needs.
struct Definitions {
    text: BTreeMap<String, String>,
    /// Every custom type named by any collected definition, found or not.
    referenced: BTreeSet<String>,
}

fn collect_definitions(src_dir: &Path, used: &BTreeSet<String>) -> Result<Definitions> {
    let mut defs = Definitions {
        text: BTreeMap::new(),
        referenced: BTreeSet::new(),
    };
    let mut pending: BTreeSet<String> = used.iter().filter(|t| !is_builtin(t)).cloned().collect();
    if pending.is_empty() {
        return Ok(defs);
    }
    let sources = Sources::load(src_dir)?;
    let mut missing = BTreeSet::new();
    while let Some(name) = pending.pop_first() {
        if defs.text.contains_key(&name) || missing.contains(&name) {
            continue;
        }
        let Some(def) = sources.definition(&name)? else {
            missing.insert(name);
            continue;
        };
        for dep in &def.refers_to {
            defs.referenced.insert(dep.clone());
            if !is_builtin(dep) && !defs.text.contains_key(dep) {
                pending.insert(dep.clone());
            }
        }
        defs.text.insert(name, def.text);
    }

    // kit knows one type it never finds in the sources: serde_json's `Value`, sent as a string.
    missing.remove(JSON_VALUE);
    if !missing.is_empty() {
        bail!(
            "types used by the handlers are neither WIT built-ins nor defined at the top level \
             of a .rs file under {}: {:?}. kit looks types up by their last path segment in the \
             process crate's own sources only, so a type from another crate (or from an inline \
             module) must get a local struct/enum definition to appear in a handler signature",
            src_dir.display(),
            missing
        );
    }
    Ok(defs)
}

const JSON_VALUE: &str = "value";

fn interface_file(
    interface: &str,
    records: &[String],
    used: &BTreeSet<String>,
    defs: &Definitions,
) -> Option<String> {
    let ordered = definition_order(used, &defs.text);
    if records.is_empty() && ordered.is_empty() {
        return None;
    }
    let mut body = String::from("use standard.{address};\n");

    let json_value_used = used.contains(JSON_VALUE) || defs.referenced.contains(JSON_VALUE);
    if json_value_used && !defs.text.contains_key(JSON_VALUE) {
        body.push_str("\n    // Arbitrary JSON value; encoded as string for WIT 1.0 (TS: unknown, Rust: serde_json::Value)\n");
        body.push_str(&format!("    type {} = string;\n", wit_ident(JSON_VALUE)));
    }

    if !ordered.is_empty() {
        body.push('\n');
        let blocks: Vec<String> = ordered
            .iter()
            .map(|name| indent(&defs.text[*name]))
            .collect();
        body.push_str(&blocks.join("\n\n"));
        body.push('\n');
    }

    if !records.is_empty() {
        let mut records = records.to_vec();
        // kit sorts the whole record texts, comments included, as plain strings.
        records.sort();
        body.push('\n');
        body.push_str(&records.join("\n\n"));
    }

    Some(format!(
        "interface {} {{\n{}\n}}\n",
        wit_ident(interface),
        body.trim()
    ))
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("    {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The order in which kit writes the type definitions.
///
/// kit decides that type A depends on type B when B's name occurs *anywhere* in A's WIT text
/// (a plain substring test, so `user` "depends on" `user-id` if the record `user` has a
/// `user-id` field, and also if it merely has a field called `user-id-hint`). It then runs
/// Kahn's algorithm on that graph, always taking the alphabetically first ready type, where
/// "ready" means no remaining type depends on it: types that others use come *after* them.
/// Types left in a cycle follow, alphabetically. Reproduced as is, because the order shows in
/// the output.
fn definition_order<'a>(
    used: &BTreeSet<String>,
    defs: &'a BTreeMap<String, String>,
) -> Vec<&'a String> {
    let mut needed: BTreeMap<&'a String, Vec<&'a String>> = BTreeMap::new();
    let mut pending: BTreeSet<&String> = used.iter().filter(|t| !is_builtin(t)).collect();
    while let Some(name) = pending.pop_first() {
        let Some((key, text)) = defs.get_key_value(name) else {
            continue;
        };
        if needed.contains_key(key) {
            continue;
        }
        let deps: Vec<&String> = defs
            .keys()
            .filter(|other| *other != key && text.contains(other.as_str()))
            .collect();
        for dep in &deps {
            if !needed.contains_key(dep) {
                pending.insert(dep);
            }
        }
        needed.insert(key, deps);
    }

    let mut dependents: BTreeMap<&String, usize> = needed.keys().map(|k| (*k, 0)).collect();
    for deps in needed.values() {
        for dep in deps {
            *dependents.get_mut(dep).expect("deps are defined types") += 1;
        }
    }
    let mut ready: BTreeSet<&String> = dependents
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut order = Vec::with_capacity(needed.len());
    while let Some(name) = ready.pop_first() {
        order.push(name);
        for dep in &needed[name] {
            let n = dependents.get_mut(dep).expect("deps are defined types");
            *n -= 1;
            if *n == 0 {
                ready.insert(dep);
            }
        }
    }
    for name in needed.keys() {
        if !order.contains(name) {
            order.push(name);
        }
    }
    order
}

/// kit's world file: no trailing newline, and an empty line where the imports would be when
/// there are none.
fn world_file(name: &str, imports: &[String], include: &str) -> String {
    let imports: Vec<String> = imports.iter().map(|i| format!("    {i}")).collect();
    format!("world {name} {{\n{}\n    {include}\n}}", imports.join("\n"))
}
