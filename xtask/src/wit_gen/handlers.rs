//! The `#[hyperapp]` impl block: finding it, its world name, and one WIT signature record per
//! exposed handler, in kit's text format.

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};
use proc_macro2::TokenTree;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, FnArg, Ident, ImplItemFn, LitStr, Meta, Pat, ReturnType, Token};

use super::names::{kebab, pascal, strip_leading_underscore, validate, wit_ident};
use super::types::{wit_type, UNIT};

/// Handler attributes kit accepts on the methods of the `#[hyperapp]` impl.
const EXPOSED: &[&str] = &["remote", "local", "http"];
const SILENT: &[&str] = &["init", "ws", "ws_client", "eth"];

pub fn is_hyperapp_attr(attr: &Attribute) -> bool {
    let path = attr.path();
    if path.is_ident("hyperapp") {
        return true;
    }
    let segments: Vec<_> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments == ["hyperapp_macro", "hyperapp"]
}

/// The `wit_world = "..."` argument of the `#[hyperapp(...)]` attribute.
///
/// kit finds it by searching the attribute's debug text for the first `wit_world` and taking
/// the string literal after it. That agrees with reading the `wit_world = "..."` argument
/// whenever `wit_world` occurs once and its value is a plain string; anything else is
/// refused here instead of guessing what kit's text search would pick.
pub fn wit_world(attr: &Attribute) -> Result<String> {
    let Meta::List(list) = &attr.meta else {
        bail!("#[hyperapp] has no arguments, so no wit_world");
    };
    let occurrences = list.tokens.to_string().matches("wit_world").count();
    if occurrences != 1 {
        bail!(
            "#[hyperapp(...)] mentions `wit_world` {occurrences} times; write it exactly once, \
             as `wit_world = \"...\"`"
        );
    }
    let tokens: Vec<TokenTree> = list.tokens.clone().into_iter().collect();
    for window in tokens.windows(3) {
        let [TokenTree::Ident(key), TokenTree::Punct(eq), TokenTree::Literal(lit)] = window else {
            continue;
        };
        if key != "wit_world" || eq.as_char() != '=' {
            continue;
        }
        let text = lit.to_string();
        let plain = text.len() >= 2
            && text.starts_with('"')
            && text.ends_with('"')
            && !text[1..text.len() - 1].contains(['"', '\\']);
        if !plain {
            bail!("wit_world must be a plain string literal without escapes, found {text}");
        }
        return Ok(text[1..text.len() - 1].to_string());
    }
    bail!("wit_world not found in #[hyperapp(...)]: write it as `wit_world = \"...\"`")
}

/// The signature records of one method (one per exposed attribute it carries, in kit's
/// remote, local, http order), or none for `#[init]`, `#[ws]`, `#[ws_client]`, `#[eth]`.
pub fn signature_records(method: &ImplItemFn, used: &mut BTreeSet<String>) -> Result<Vec<String>> {
    let name = method.sig.ident.to_string();
    let has = |attr: &str| method.attrs.iter().any(|a| a.path().is_ident(attr));
    if !EXPOSED.iter().chain(SILENT).any(|attr| has(attr)) {
        bail!(
            "method `{name}` of the #[hyperapp] impl has none of the handler attributes \
             #[remote], #[local], #[http], #[init], #[ws], #[ws_client], #[eth]; kit refuses it"
        );
    }
    // kit checks the name of every handler, even of those it writes nothing for.
    validate(&name, "Function")?;
    if SILENT.iter().any(|attr| has(attr)) {
        return Ok(Vec::new());
    }
    let fn_kebab = kebab(&name);
    let mut records = Vec::new();
    for kind in EXPOSED {
        if has(kind) {
            records.push(
                record(&fn_kebab, kind, method, used)
                    .with_context(|| format!("handler `{name}` (#[{kind}])"))?,
            );
        }
    }
    Ok(records)
}

fn record(
    fn_kebab: &str,
    kind: &str,
    method: &ImplItemFn,
    used: &mut BTreeSet<String>,
) -> Result<String> {
    let mut comments = vec![format!("// Function signature for: {fn_kebab} ({kind})")];
    if kind == "http" {
        let http = http_args(&method.attrs)?;
        let verb = http.method.unwrap_or_else(|| "POST".to_string());
        let path = match http.path {
            Some(p) if p.starts_with('/') => p,
            Some(p) => format!("/{p}"),
            None => format!("/api/{fn_kebab}"),
        };
        comments.push(format!("// HTTP: {verb} {path}"));
    }

    let mut fields = vec![if kind == "http" {
        "target: string".to_string()
    } else {
        "target: address".to_string()
    }];

    let mut params: Vec<(String, String)> = Vec::new();
    for input in &method.sig.inputs {
        // kit only sees `name: Type` parameters; patterns such as `_: T` or `(a, b): (A, B)`
        // are silently left out of the signature by kit, and so here too.
        let FnArg::Typed(typed) = input else { continue };
        let Pat::Ident(pat) = &*typed.pat else {
            continue;
        };
        let raw = pat.ident.to_string();
        if raw == "self" {
            continue;
        }
        validate(&raw, "Parameter")?;
        let param = wit_ident(&kebab(strip_leading_underscore(&raw)));
        let ty = wit_type(&typed.ty, used).with_context(|| format!("parameter `{raw}`"))?;
        params.push((param, ty));
    }

    let json_key = pascal(fn_kebab);
    if params.is_empty() {
        comments.push("// args: none".to_string());
        if kind != "http" {
            comments.push(format!("// json fmt: {{\"{json_key}\": null}}"));
        }
    } else {
        let named: Vec<String> = params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        comments.push(format!("// args: ({})", named.join(", ")));
        if kind != "http" {
            let snake: Vec<String> = params.iter().map(|(n, _)| n.replace('-', "_")).collect();
            let body = match snake.as_slice() {
                [one] => one.clone(),
                many => format!("[{}]", many.join(", ")),
            };
            comments.push(format!("// json fmt: {{\"{json_key}\": {body}}}"));
        }
        let types: Vec<&str> = params.iter().map(|(_, t)| t.as_str()).collect();
        fields.push(format!("arg-types: tuple<{}>", types.join(", ")));
    }

    let ReturnType::Type(_, ret) = &method.sig.output else {
        bail!(
            "no return type; kit requires one for exposed handlers \
             (use e.g. `-> Result<(), ApiError>`)"
        );
    };
    let returning = wit_type(ret, used).context("return type")?;
    if returning == UNIT {
        bail!("returns `()`, which kit refuses; return e.g. `Result<(), ApiError>` instead");
    }
    fields.push(format!("returning: {returning}"));

    let mut text = String::new();
    for comment in &comments {
        text.push_str("    ");
        text.push_str(comment);
        text.push('\n');
    }
    text.push_str(&format!("    record {fn_kebab}-signature-{kind} {{\n"));
    let fields: Vec<String> = fields.iter().map(|f| format!("        {f}")).collect();
    text.push_str(&fields.join(",\n"));
    text.push_str("\n    }");
    Ok(text)
}

#[derive(Default)]
struct HttpArgs {
    method: Option<String>,
    path: Option<String>,
}

struct KeyValue {
    key: Ident,
    value: LitStr,
}

impl Parse for KeyValue {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = input.parse()?;
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(Self { key, value })
    }
}

/// `method` and `path` of the first `#[http(...)]` attribute. Like kit: the method is
/// upper-cased, unknown keys are ignored, a later duplicate key wins.
fn http_args(attrs: &[Attribute]) -> Result<HttpArgs> {
    let Some(attr) = attrs.iter().find(|a| a.path().is_ident("http")) else {
        return Ok(HttpArgs::default());
    };
    let Meta::List(list) = &attr.meta else {
        return Ok(HttpArgs::default());
    };
    let pairs = list
        .parse_args_with(Punctuated::<KeyValue, Token![,]>::parse_terminated)
        .context("#[http(...)] arguments must be `key = \"value\"` pairs")?;
    let mut args = HttpArgs::default();
    for pair in pairs {
        match pair.key.to_string().as_str() {
            "method" => args.method = Some(pair.value.value().to_uppercase()),
            "path" => args.path = Some(pair.value.value()),
            _ => {}
        }
    }
    Ok(args)
}
