//! The layering check: within each crate, modules import only downward, so the graph of
//! `crate::` / `super::` / `self::` references between modules has no cycle. It reads the
//! sources only (no build), so it is cheap and can check crates other helpers are editing.
//!
//! Rules: a module is a file (`src/a.rs`, `src/a/mod.rs`, `src/a/b.rs`) or an inline `mod x {`.
//! A reference resolves to the longest known module on its path. References between a module
//! and its own ancestors or descendants do not count (a parent declaring and re-exporting its
//! children, a child using its parent's helpers are one unit). The graph is checked at every
//! depth: with modules cut to their first k path segments, for k = 1, 2, ...
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path inside its crate: `[]` is the crate root, `["http", "server"]` is `crate::http::server`.
pub type ModPath = Vec<String>;

/// Edges `from -> {to}` between modules of one crate, with where each was seen (for messages).
#[derive(Default, Debug)]
pub struct ModuleGraph {
    pub modules: BTreeSet<ModPath>,
    pub edges: BTreeMap<ModPath, BTreeMap<ModPath, String>>,
}

/// Reads every `.rs` file under `src` (the crate root file is `root_file`, relative to `src`;
/// other binary roots in `skip` are left out).
pub fn graph_of_crate(src: &Path, root_file: &str, skip: &[&str]) -> std::io::Result<ModuleGraph> {
    let mut files = Vec::new();
    collect_rs(src, &mut files)?;
    let mut parsed = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("collected under src").to_string_lossy().replace('\\', "/");
        if skip.contains(&rel.as_str()) {
            continue;
        }
        let module = if rel == root_file { vec![] } else { file_module(&rel) };
        parsed.push((module, rel, fs::read_to_string(&file)?));
    }
    Ok(graph_of_sources(parsed.iter().map(|(m, rel, text)| (m.clone(), rel.as_str(), text.as_str()))))
}

/// The graph of already-read sources: `(module of the file, file name for messages, text)`.
pub fn graph_of_sources<'a>(files: impl IntoIterator<Item = (ModPath, &'a str, &'a str)>) -> ModuleGraph {
    let mut graph = ModuleGraph::default();
    let mut refs = Vec::new();
    for (module, name, text) in files {
        graph.modules.insert(module.clone());
        let scan = scan_source(&module, text);
        graph.modules.extend(scan.inline_modules);
        refs.extend(scan.references.into_iter().map(|(from, path)| (from, path, name.to_string())));
    }
    for (from, path, name) in refs {
        let Some(to) = longest_known(&graph.modules, &path) else { continue };
        if is_prefix(&to, &from) || is_prefix(&from, &to) {
            continue;
        }
        graph.edges.entry(from).or_default().entry(to).or_insert(name);
    }
    graph
}

/// Every cycle found (as a list of modules, first repeated at the end), at every depth.
pub fn cycles(graph: &ModuleGraph) -> Vec<Vec<String>> {
    let depth = graph.modules.iter().map(Vec::len).max().unwrap_or(0);
    let mut found = Vec::new();
    for k in 1..=depth {
        let cut = |m: &ModPath| m[..m.len().min(k)].to_vec();
        let mut adj: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
        for (from, tos) in &graph.edges {
            for to in tos.keys() {
                let (a, b) = (cut(from), cut(to));
                if !is_prefix(&a, &b) && !is_prefix(&b, &a) {
                    adj.entry(a).or_default().insert(b);
                }
            }
        }
        // One cycle per strongly connected group, so every tangle is reported, not just the first.
        for group in tangled_groups(&adj) {
            let inside: BTreeMap<ModPath, BTreeSet<ModPath>> = group
                .iter()
                .map(|m| (m.clone(), adj.get(m).into_iter().flatten().filter(|n| group.contains(*n)).cloned().collect()))
                .collect();
            if let Some(cycle) = find_cycle(&inside) {
                let names: Vec<String> = cycle.iter().map(display).collect();
                if !found.contains(&names) {
                    found.push(names);
                }
            }
        }
    }
    found
}

pub fn display(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// Groups of two or more modules that all reach each other (the graphs are small: O(n²) is fine).
fn tangled_groups(adj: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<BTreeSet<ModPath>> {
    let reach = |from: &ModPath| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for n in adj.get(&m).into_iter().flatten() {
                if seen.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&ModPath, BTreeSet<ModPath>> = adj.keys().map(|m| (m, reach(m))).collect();
    let mut groups: Vec<BTreeSet<ModPath>> = Vec::new();
    for (m, r) in &reaches {
        if groups.iter().any(|g| g.contains(*m)) || !r.contains(*m) {
            continue;
        }
        let group: BTreeSet<ModPath> =
            r.iter().filter(|n| reaches.get(n).is_some_and(|back| back.contains(*m))).cloned().collect();
        groups.push(group);
    }
    groups
}

fn find_cycle(adj: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Option<Vec<ModPath>> {
    // Iterative-enough DFS: module graphs are tiny, recursion depth is the module count.
    fn visit(
        node: &ModPath,
        adj: &BTreeMap<ModPath, BTreeSet<ModPath>>,
        state: &mut BTreeMap<ModPath, u8>,
        stack: &mut Vec<ModPath>,
    ) -> Option<Vec<ModPath>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in adj.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|m| m == next).expect("on the stack");
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, adj, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in adj.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(node, adj, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn is_prefix(a: &ModPath, b: &ModPath) -> bool {
    a.len() <= b.len() && b[..a.len()] == a[..]
}

fn longest_known(modules: &BTreeSet<ModPath>, path: &[String]) -> Option<ModPath> {
    (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| modules.contains(p))
}

fn collect_rs(dir: &Path, into: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_rs(&path, into)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
    Ok(())
}

/// `a.rs` → `[a]`, `a/mod.rs` → `[a]`, `a/b.rs` → `[a, b]`.
fn file_module(rel: &str) -> ModPath {
    let mut parts: Vec<String> = rel.trim_end_matches(".rs").split('/').map(String::from).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Star,
    Other,
}

/// Tokens of Rust source with comments, strings and char literals removed.
fn tokens(text: &str) -> Vec<Tok> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Other);
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            } else {
                let ch_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                if b.get(i + 1 + ch_len) == Some(&b'\'') {
                    i += 2 + ch_len;
                } else {
                    i += 1;
                }
            }
            out.push(Tok::Other);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let ident = &text[start..i];
            if (ident == "r" || ident == "br") && raw_string_ahead(b, i) {
                i = skip_raw_string(b, i);
                out.push(Tok::Other);
            } else {
                out.push(Tok::Ident(ident.to_string()));
            }
        } else if c == b':' && b.get(i + 1) == Some(&b':') {
            out.push(Tok::PathSep);
            i += 2;
        } else {
            out.push(match c {
                b'{' => Tok::Open,
                b'}' => Tok::Close,
                b',' => Tok::Comma,
                b'*' => Tok::Star,
                _ => Tok::Other,
            });
            i += if c.is_ascii() { 1 } else { text[i..].chars().next().map_or(1, char::len_utf8) };
        }
    }
    out
}

/// After the `r` of a raw string at `j` (`#`s, then `"`): the index after its closing quote and `#`s.
fn skip_raw_string(b: &[u8], mut j: usize) -> usize {
    let mut hashes = 0;
    while b.get(j) == Some(&b'#') {
        hashes += 1;
        j += 1;
    }
    j += 1;
    while j < b.len() {
        if b[j] == b'"' && b.len() >= j + 1 + hashes && b[j + 1..j + 1 + hashes].iter().all(|&h| h == b'#') {
            return j + 1 + hashes;
        }
        j += 1;
    }
    j
}

fn raw_string_ahead(b: &[u8], mut j: usize) -> bool {
    while b.get(j) == Some(&b'#') {
        j += 1;
    }
    b.get(j) == Some(&b'"')
}

struct Scan {
    inline_modules: Vec<ModPath>,
    /// (the module the reference is in, the absolute path it names)
    references: Vec<(ModPath, Vec<String>)>,
}

fn scan_source(file_module: &ModPath, text: &str) -> Scan {
    let toks = tokens(text);
    let mut scan = Scan { inline_modules: Vec::new(), references: Vec::new() };
    // Inline `mod name {` blocks: (module path, brace depth at which it closes).
    let mut inline: Vec<(ModPath, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let current = inline.last().map_or(file_module, |(m, _)| m).clone();
        match &toks[i] {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) = (toks.get(i + 1), toks.get(i + 2)) {
                    let mut m = current.clone();
                    m.push(name.clone());
                    scan.inline_modules.push(m.clone());
                    inline.push((m, depth));
                    depth += 1;
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(head) if matches!(head.as_str(), "crate" | "super" | "self") && toks.get(i + 1) == Some(&Tok::PathSep) => {
                // Skip `$crate::` in macros and `foo::crate` (not a path start).
                let preceded_by_sep = i > 0 && toks[i - 1] == Tok::PathSep;
                if !preceded_by_sep {
                    let (paths, next) = use_tree(&toks, i);
                    for p in paths {
                        if let Some(abs) = absolute(&current, &p) {
                            scan.references.push((current.clone(), abs));
                        }
                    }
                    i = next;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    scan
}

/// Parses a path or use tree at `i` (`a::b::{c, d::e}`, `a::*`); returns its full paths
/// (idents only) and the index after it.
fn use_tree(toks: &[Tok], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        match toks.get(i) {
            Some(Tok::Ident(name)) => {
                prefix.push(name.clone());
                i += 1;
                if toks.get(i) == Some(&Tok::PathSep) {
                    i += 1;
                    continue;
                }
                return (vec![prefix], i);
            }
            Some(Tok::Open) => {
                i += 1;
                let mut all = Vec::new();
                loop {
                    match toks.get(i) {
                        Some(Tok::Close) => {
                            i += 1;
                            break;
                        }
                        Some(Tok::Comma) => i += 1,
                        None => break,
                        _ => {
                            let (inner, next) = use_tree(toks, i);
                            if next == i {
                                i += 1;
                            } else {
                                i = next;
                            }
                            for p in inner {
                                let mut full = prefix.clone();
                                full.extend(p);
                                all.push(full);
                            }
                        }
                    }
                }
                if all.is_empty() {
                    all.push(prefix);
                }
                return (all, i);
            }
            Some(Tok::Star) => return (vec![prefix], i + 1),
            _ => return (vec![prefix], i),
        }
    }
}

/// Turns `crate::a::b` / `super::x` / `self::y` seen in `current` into an absolute path.
fn absolute(current: &ModPath, path: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String>;
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base = Vec::new();
            rest = &rest[1..];
        }
        Some("self") => {
            base = current.clone();
            rest = &rest[1..];
        }
        Some("super") => {
            base = current.clone();
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().filter(|s| s.as_str() != "self").cloned());
    Some(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout;

    /// The crates whose layering is enforced: (name, src dir, root file, other roots to skip).
    /// The engine and the process shell are being refactored; they join once they are clean
    /// (see `crates_with_known_cycles_are_listed_until_clean`).
    const CHECKED: &[(&str, &str, &str, &[&str])] = &[
        ("devnode", "devnode/src", "devnode.rs", &["main.rs"]),
        ("xtask", "xtask/src", "main.rs", &[]),
        ("voice-chat-engine", "crates/engine/src", "lib.rs", &[]),
        ("voice-chat", "voice-chat/src", "lib.rs", &[]),
    ];
    const NOT_YET_CHECKED: &[(&str, &str, &str, &[&str])] = &[];

    fn graph(src: &str, root: &str, skip: &[&str]) -> ModuleGraph {
        graph_of_crate(&layout::root().join(src), root, skip).unwrap_or_else(|e| panic!("reading {src}: {e}"))
    }

    #[test]
    fn checked_crates_have_no_import_cycles() {
        let mut report = Vec::new();
        for (name, src, root, skip) in CHECKED {
            let g = graph(src, root, skip);
            assert!(g.modules.len() > 3, "{name}: found only {:?} under {src}", g.modules);
            for cycle in cycles(&g) {
                report.push(format!("{name}: {}", cycle.join(" -> ")));
            }
        }
        assert!(report.is_empty(), "import cycles (layers must only look down):\n{}", report.join("\n"));
    }

    /// Prints the state of the crates not yet enforced, so moving one to CHECKED is a decision
    /// made with the facts; it fails if such a crate cannot be read at all.
    #[test]
    fn crates_with_known_cycles_are_listed_until_clean() {
        for (name, src, root, skip) in NOT_YET_CHECKED {
            let g = graph(src, root, skip);
            let found = cycles(&g);
            if found.is_empty() {
                println!("{name}: no cycles; it can move to CHECKED");
            }
            for cycle in found {
                println!("{name}: {}", cycle.join(" -> "));
            }
        }
    }

    fn g(files: &[(&str, &str)]) -> ModuleGraph {
        graph_of_sources(files.iter().map(|(rel, text)| {
            let m = if *rel == "lib.rs" { vec![] } else { file_module(rel) };
            (m, *rel, *text)
        }))
    }

    fn names(cs: Vec<Vec<String>>) -> Vec<String> {
        cs.into_iter().map(|c| c.join(" -> ")).collect()
    }

    #[test]
    fn a_use_line_cycle_is_found() {
        let graph = g(&[("lib.rs", "mod a; mod b;"), ("a.rs", "use crate::b::B;"), ("b.rs", "use crate::a::{A, x::Y};")]);
        assert_eq!(names(cycles(&graph)), vec!["a -> b -> a"]);
    }

    #[test]
    fn every_separate_cycle_is_reported() {
        let graph = g(&[
            ("lib.rs", ""),
            ("a.rs", "use crate::b::B;"),
            ("b.rs", "use crate::a::A;"),
            ("c.rs", "use crate::d::D;"),
            ("d.rs", "use crate::c::C; use crate::a::A;"),
        ]);
        assert_eq!(names(cycles(&graph)), vec!["a -> b -> a", "c -> d -> c"]);
    }

    #[test]
    fn an_inline_path_counts_like_a_use_line() {
        let graph = g(&[("a.rs", "fn f() { crate::b::g() }"), ("b.rs", "use crate::a;"), ("lib.rs", "")]);
        assert_eq!(names(cycles(&graph)), vec!["a -> b -> a"]);
    }

    #[test]
    fn a_three_module_cycle_through_a_group_is_found() {
        let graph = g(&[
            ("lib.rs", ""),
            ("install.rs", "use crate::{process, types::*};"),
            ("process.rs", "use crate::vfs::read;"),
            ("vfs.rs", "fn f() { crate::install::unzip(); }"),
            ("types.rs", ""),
        ]);
        assert_eq!(names(cycles(&graph)), vec!["install -> process -> vfs -> install"]);
    }

    #[test]
    fn downward_imports_parents_and_children_are_not_cycles() {
        let graph = g(&[
            ("lib.rs", "pub use crate::a::A;"),
            ("a.rs", "use crate::b::B; use super::Root;"),
            ("b.rs", "use crate::c::*;"),
            ("c.rs", ""),
            ("m/mod.rs", "mod x; pub use self::x::X; use crate::c;"),
            ("m/x.rs", "use super::helper; use crate::b;"),
        ]);
        assert!(cycles(&graph).is_empty(), "{:?}", cycles(&graph));
    }

    #[test]
    fn siblings_inside_a_directory_module_are_checked_too() {
        let graph = g(&[("lib.rs", ""), ("m/mod.rs", ""), ("m/x.rs", "use super::y::Y;"), ("m/y.rs", "use super::x::X;")]);
        assert_eq!(names(cycles(&graph)), vec!["m::x -> m::y -> m::x"]);
    }

    #[test]
    fn comments_strings_and_chars_are_not_references() {
        let graph = g(&[
            ("lib.rs", ""),
            ("a.rs", "use crate::b::B;"),
            (
                "b.rs",
                "// use crate::a;\n/* crate::a::x */ const S: &str = \"crate::a::y\"; const R: &str = r#\"crate::a\"#; const C: char = '\"'; fn f<'a>() {}",
            ),
        ]);
        assert!(cycles(&graph).is_empty(), "{:?}", graph.edges);
        assert_eq!(graph.edges.len(), 1);
    }

    #[test]
    fn inline_test_modules_resolve_super_to_their_file() {
        let graph = g(&[("lib.rs", ""), ("a.rs", "mod tests { use super::*; use crate::b::B; }"), ("b.rs", "use crate::a::A;")]);
        // a::tests -> b -> a: at depth 1 this is a -> b -> a.
        assert_eq!(names(cycles(&graph)), vec!["a -> b -> a"]);
    }
}
