//! WIT definitions of the crate's own types: lookup in the crate's sources and rendering of
//! structs, enums and type aliases as kit renders them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use syn::{Fields, Item, ItemEnum, ItemStruct, ItemType};

use super::names::{kebab, strip_leading_underscore, validate, wit_ident};
use super::types::wit_type;

/// The parsed `.rs` files under the crate's `src/`, in path order.
pub struct Sources {
    files: Vec<(PathBuf, syn::File)>,
}

/// A rendered definition (unindented; kit indents it when it places it in the interface) and
/// the kebab names of the types it refers to.
pub struct Definition {
    pub text: String,
    pub refers_to: BTreeSet<String>,
}

impl Sources {
    /// Reads every `.rs` file below `src_dir`, whether or not it is part of the module tree:
    /// kit scans files, not modules. kit parses them lazily and so ignores a broken file that
    /// it never needs; this reads all of them and fails on any that does not parse.
    pub fn load(src_dir: &Path) -> Result<Self> {
        let mut paths = Vec::new();
        collect_rs_files(src_dir, &mut paths)?;
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let text =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let ast =
                syn::parse_file(&text).with_context(|| format!("parsing {}", path.display()))?;
            files.push((path, ast));
        }
        Ok(Self { files })
    }

    /// The definition of the type whose kebab name is `kebab_name`, from the top-level items of
    /// the crate's files (items inside inline `mod { }` blocks are not seen, as in kit).
    ///
    /// Within one file the first matching item wins, as in kit. Across files kit takes the
    /// first file in directory-listing order, which the file system decides; rather than
    /// guess, a name defined in more than one file is an error here.
    pub fn definition(&self, kebab_name: &str) -> Result<Option<Definition>> {
        let mut found: Option<(&Path, &Item)> = None;
        for (path, file) in &self.files {
            let Some(item) = file
                .items
                .iter()
                .find(|item| item_kebab(item).as_deref() == Some(kebab_name))
            else {
                continue;
            };
            if let Some((first, _)) = found {
                bail!(
                    "type `{kebab_name}` is defined in both {} and {}; kit would pick one by \
                     directory order, so rename one of them",
                    first.display(),
                    path.display()
                );
            }
            found = Some((path, item));
        }
        let Some((_, item)) = found else {
            return Ok(None);
        };
        let mut refers_to = BTreeSet::new();
        let text = match item {
            Item::Struct(s) => render_struct(s, &mut refers_to)?,
            Item::Enum(e) => render_enum(e, &mut refers_to)?,
            Item::Type(t) => render_alias(t, &mut refers_to)?,
            _ => unreachable!("item_kebab only names structs, enums and type aliases"),
        };
        Ok(Some(Definition { text, refers_to }))
    }
}

fn collect_rs_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        // Like kit's directory walk: symlinked directories are not entered, symlinked files
        // are read.
        if entry.file_type()?.is_dir() {
            collect_rs_files(&path, out)?;
        } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The kebab name under which kit would find `item`. Names with `__` are skipped by kit as
/// generated internals.
fn item_kebab(item: &Item) -> Option<String> {
    let ident = match item {
        Item::Struct(s) => &s.ident,
        Item::Enum(e) => &e.ident,
        Item::Type(t) => &t.ident,
        _ => return None,
    };
    let name = ident.to_string();
    (!name.contains("__")).then(|| kebab(&name))
}

fn render_struct(s: &ItemStruct, refers_to: &mut BTreeSet<String>) -> Result<String> {
    let name = s.ident.to_string();
    validate(&name, "Struct")?;
    let ident = wit_ident(&kebab(&name));
    let fields = match &s.fields {
        Fields::Named(named) => {
            let mut fields = Vec::new();
            for field in &named.named {
                let Some(field_ident) = &field.ident else {
                    continue;
                };
                let field_name = field_ident.to_string();
                let field_name = strip_leading_underscore(&field_name);
                validate(field_name, "Field")?;
                let ty = wit_type(&field.ty, refers_to)
                    .with_context(|| format!("field `{field_name}` of struct `{name}`"))?;
                fields.push(format!("{}: {ty}", wit_ident(&kebab(field_name))));
            }
            fields
        }
        // A newtype is written as a WIT alias of its inner type.
        Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
            let ty = wit_type(&unnamed.unnamed[0].ty, refers_to)
                .with_context(|| format!("newtype struct `{name}`"))?;
            return Ok(format!("type {ident} = {ty};"));
        }
        Fields::Unnamed(unnamed) => bail!(
            "struct `{name}` has {} unnamed fields; kit only supports named fields or a \
             single-field newtype",
            unnamed.unnamed.len()
        ),
        Fields::Unit => Vec::new(),
    };
    Ok(block("record", &ident, &fields))
}

fn render_enum(e: &ItemEnum, refers_to: &mut BTreeSet<String>) -> Result<String> {
    let name = e.ident.to_string();
    validate(&name, "Enum")?;
    let ident = wit_ident(&kebab(&name));
    let mut cases = Vec::new();
    let mut carries_data = false;
    for variant in &e.variants {
        let variant_name = variant.ident.to_string();
        validate(&variant_name, "Variant")?;
        let case = wit_ident(&kebab(&variant_name));
        match &variant.fields {
            Fields::Unit => cases.push(case),
            Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                carries_data = true;
                let ty = wit_type(&unnamed.unnamed[0].ty, refers_to)
                    .with_context(|| format!("variant `{variant_name}` of enum `{name}`"))?;
                cases.push(format!("{case}({ty})"));
            }
            Fields::Named(_) => bail!(
                "enum `{name}` has variant `{variant_name}` with struct-like fields {{ .. }}; \
                 kit supports only unit variants and single-field tuple variants"
            ),
            Fields::Unnamed(unnamed) => bail!(
                "enum `{name}` has variant `{variant_name}` with {} unnamed fields; kit \
                 supports only unit variants and single-field tuple variants",
                unnamed.unnamed.len()
            ),
        }
    }
    let keyword = if carries_data { "variant" } else { "enum" };
    Ok(block(keyword, &ident, &cases))
}

/// kit neither validates an alias's own name nor keeps its generics: `type Ids<T> = Vec<T>`
/// becomes `type ids = list<t>`, which then fails because `t` is not defined.
fn render_alias(t: &ItemType, refers_to: &mut BTreeSet<String>) -> Result<String> {
    let ident = wit_ident(&kebab(&t.ident.to_string()));
    let ty = wit_type(&t.ty, refers_to).with_context(|| format!("type alias `{}`", t.ident))?;
    Ok(format!("type {ident} = {ty};"))
}

fn block(keyword: &str, ident: &str, members: &[String]) -> String {
    if members.is_empty() {
        return format!("{keyword} {ident} {{}}");
    }
    let body = members
        .iter()
        .map(|m| format!("    {m}"))
        .collect::<Vec<_>>()
        .join(",\n");
    format!("{keyword} {ident} {{\n{body}\n}}")
}
