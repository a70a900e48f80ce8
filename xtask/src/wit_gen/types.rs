//! Rust type → WIT type text, as kit's generator maps it.

use std::collections::BTreeSet;

use anyhow::{anyhow, bail, Result};
use quote::ToTokens;
use syn::{GenericArgument, PathArguments, Type};

use super::names::{kebab, validate};

/// What kit produces for `()`. It is only meaningful inside `Result` (where it becomes WIT's
/// `_`); kit rejects it as a bare return type and leaves it as is anywhere else.
pub const UNIT: &str = "_";

/// Maps `ty` to WIT text. Every non-std type name met on the way is recorded in `used`, in
/// kebab case, so its definition can be looked up in the crate's sources afterwards.
///
/// kit looks only at the last path segment: `voice_chat_engine::RoomInfo` and a local
/// `RoomInfo` are the same type to it, and the generic arguments of a user type are dropped.
pub fn wit_type(ty: &Type, used: &mut BTreeSet<String>) -> Result<String> {
    match ty {
        Type::Path(type_path) => {
            let last = type_path
                .path
                .segments
                .last()
                .ok_or_else(|| anyhow!("empty type path: {}", show(ty)))?;
            let name = last.ident.to_string();
            let primitive = match name.as_str() {
                "i8" => Some("s8"),
                "u8" => Some("u8"),
                "i16" => Some("s16"),
                "u16" => Some("u16"),
                "i32" => Some("s32"),
                "u32" => Some("u32"),
                "i64" => Some("s64"),
                "u64" => Some("u64"),
                // WIT 1.0 has no 128-bit integers; kit sends them as decimal strings.
                "i128" | "u128" => Some("string"),
                "f32" => Some("f32"),
                "f64" => Some("f64"),
                "usize" => Some("u64"),
                "isize" => Some("s64"),
                "String" => Some("string"),
                "bool" => Some("bool"),
                _ => None,
            };
            if let Some(p) = primitive {
                return Ok(p.to_string());
            }
            let args = type_args(&last.arguments);
            match name.as_str() {
                "Vec" | "HashSet" | "BTreeSet" => {
                    let inner = first_type_arg(&args, &name, ty)?;
                    Ok(format!("list<{}>", wit_type(inner, used)?))
                }
                "Option" => {
                    let inner = first_type_arg(&args, &name, ty)?;
                    Ok(format!("option<{}>", wit_type(inner, used)?))
                }
                "Result" => {
                    let Some(args) = args else {
                        bail!("Result without type arguments: {}", show(ty));
                    };
                    if args.len() != 2 {
                        bail!(
                            "Result needs exactly two type arguments (Result<T, E>), found {}: {}",
                            args.len(),
                            show(ty)
                        );
                    }
                    let (GenericArgument::Type(ok), GenericArgument::Type(err)) =
                        (args[0], args[1])
                    else {
                        bail!("Result arguments must be types: {}", show(ty));
                    };
                    let ok = wit_type(ok, used)?;
                    let err = wit_type(err, used)?;
                    Ok(match (ok.as_str(), err.as_str()) {
                        (UNIT, UNIT) => "result".to_string(),
                        (ok, UNIT) => format!("result<{ok}>"),
                        (UNIT, err) => format!("result<_, {err}>"),
                        (ok, err) => format!("result<{ok}, {err}>"),
                    })
                }
                "HashMap" | "BTreeMap" => {
                    // A third argument (a hasher) is allowed and ignored, as kit does.
                    let (key, value) = match args.as_deref() {
                        Some([GenericArgument::Type(k), GenericArgument::Type(v), ..]) => (k, v),
                        _ => bail!("{name} needs key and value type arguments: {}", show(ty)),
                    };
                    let key = wit_type(key, used)?;
                    let value = wit_type(value, used)?;
                    Ok(format!("list<tuple<{key}, {value}>>"))
                }
                custom => {
                    validate(custom, "Type")?;
                    let k = kebab(custom);
                    used.insert(k.clone());
                    Ok(k)
                }
            }
        }
        Type::Reference(r) => wit_type(&r.elem, used),
        Type::Tuple(t) if t.elems.is_empty() => Ok(UNIT.to_string()),
        Type::Tuple(t) => {
            let elems = t
                .elems
                .iter()
                .map(|e| wit_type(e, used))
                .collect::<Result<Vec<_>>>()?;
            Ok(format!("tuple<{}>", elems.join(", ")))
        }
        other => bail!(
            "type `{}` has no WIT mapping in kit's generator (arrays, slices, trait objects, \
             fn pointers, ... are not supported)",
            show(other)
        ),
    }
}

fn type_args(args: &PathArguments) -> Option<Vec<&GenericArgument>> {
    match args {
        PathArguments::AngleBracketed(a) => Some(a.args.iter().collect()),
        _ => None,
    }
}

fn first_type_arg<'a>(
    args: &Option<Vec<&'a GenericArgument>>,
    name: &str,
    whole: &Type,
) -> Result<&'a Type> {
    match args.as_deref() {
        Some([GenericArgument::Type(inner), ..]) => Ok(inner),
        _ => bail!("cannot read the element type of {name}: {}", show(whole)),
    }
}

fn show(ty: &Type) -> String {
    ty.to_token_stream().to_string()
}
