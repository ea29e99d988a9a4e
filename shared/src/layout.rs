//! Checks of the crate's shape, run as unit tests: only `store/` speaks
//! DynamoDB, and no two modules of `shared/src` import each other, directly
//! or round a loop (at the level of top-level modules, and of the modules
//! inside each). An edge is any `crate::a::b` path (expanded from `use
//! crate::{…}` groups) or `super::` path outside `#[cfg(test)]` code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(root: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(root).expect("under src").with_extension("");
    let mut parts: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code without comments and without its test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a::{b, c::{d}}` → `[a, b]`, `[a, c, d]`.
fn expand(prefix: &[String], group: &str, out: &mut Vec<Module>) {
    let (mut depth, mut start) = (0, 0);
    let mut parts = Vec::new();
    for (i, ch) in group.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&group[start..]);
    for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once("::{") {
            Some((head, rest)) => {
                let mut p = prefix.to_vec();
                p.extend(head.split("::").map(str::to_string));
                expand(&p, rest.strip_suffix('}').unwrap_or(rest), out);
            }
            None => {
                let mut p = prefix.to_vec();
                let path = part.split(" as ").next().unwrap_or(part);
                p.extend(path.split("::").filter(|s| !s.is_empty()).map(str::to_string));
                out.push(p);
            }
        }
    }
}

fn edges(root: &Path) -> BTreeMap<Module, Vec<Module>> {
    let mut files = Vec::new();
    sources(root, &mut files);
    // `use crate::a::{b, c}`: the group's prefix may itself be a path.
    let group = regex::Regex::new(r"(?s)\buse\s+(crate|super)((?:::\w+)*)::\{(.*?)\};").unwrap();
    let path = regex::Regex::new(r"\b(crate|super)::((?:\w+::)*\w+)").unwrap();
    let mut out = BTreeMap::new();
    for file in files {
        let me = module_of(root, &file);
        let text = code(&std::fs::read_to_string(&file).expect("readable source"));
        let base = |kind: &str| -> Module {
            match kind {
                "crate" => vec![],
                _ => me[..me.len().saturating_sub(1)].to_vec(),
            }
        };
        let mut paths = Vec::new();
        for c in group.captures_iter(&text) {
            let mut prefix = base(&c[1]);
            prefix.extend(c[2].split("::").filter(|s| !s.is_empty()).map(str::to_string));
            expand(&prefix, &c[3], &mut paths);
        }
        for c in path.captures_iter(&text) {
            let mut p = base(&c[1]);
            p.extend(c[2].split("::").map(str::to_string));
            paths.push(p);
        }
        out.insert(me, paths);
    }
    out
}

/// Strongly connected components with more than one member.
fn cycles(adj: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Tarjan's algorithm; the graphs here have a few dozen nodes.
    struct T<'a> {
        adj: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        found: Vec<Vec<String>>,
    }
    fn visit(t: &mut T<'_>, v: &str) {
        let i = t.index.len();
        t.index.insert(v.into(), i);
        t.low.insert(v.into(), i);
        t.stack.push(v.into());
        for w in t.adj.get(v).into_iter().flatten() {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.stack.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                let done = w == v;
                comp.push(w);
                if done {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.found.push(comp);
            }
        }
    }
    let mut t = T {
        adj,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    let nodes: BTreeSet<&String> = adj.keys().chain(adj.values().flatten()).collect();
    for v in nodes {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.found
}

/// The module cycles of `root`, as `a <-> b` lines.
pub fn module_cycles(root: &Path) -> Vec<String> {
    let edges = edges(root);
    let modules: BTreeSet<&Module> = edges.keys().collect();
    // The longest prefix of `path` that is a module file.
    let resolve = |path: &Module| -> Option<Module> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| modules.contains(p))
    };
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut inner: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (from, paths) in &edges {
        let Some(from_top) = from.first() else { continue };
        for to in paths.iter().filter_map(&resolve) {
            if &to[0] != from_top {
                top.entry(from_top.clone()).or_default().insert(to[0].clone());
            } else if from.len() > 1 && to.len() > 1 && from[..2] != to[..2] {
                inner
                    .entry(from_top.clone())
                    .or_default()
                    .entry(from[..2].join("/"))
                    .or_default()
                    .insert(to[..2].join("/"));
            }
        }
    }
    let mut out: Vec<String> = cycles(&top).into_iter().map(|c| c.join(" <-> ")).collect();
    for adj in inner.values() {
        out.extend(cycles(adj).into_iter().map(|c| c.join(" <-> ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn no_module_cycle_in_shared() {
        let found = module_cycles(&manifest().join("src"));
        assert!(found.is_empty(), "module cycles: {found:#?}");
    }

    #[test]
    fn the_checker_sees_a_cycle() {
        let dir = std::env::temp_dir().join(format!("lodge-layout-{}", crate::crypto::random_token(6)));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::write(dir.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
        std::fs::write(dir.join("a/mod.rs"), "pub mod x;\npub mod y;\nuse crate::b::B;\n").unwrap();
        std::fs::write(dir.join("a/x.rs"), "use super::y::Y;\n").unwrap();
        std::fs::write(dir.join("a/y.rs"), "use crate::a::{x::X, z};\n").unwrap();
        std::fs::write(dir.join("b.rs"), "fn f() { crate::a::x::g() }\n").unwrap();
        let found = module_cycles(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found, ["a <-> b", "a/x <-> a/y"]);
    }

    #[test]
    fn only_the_store_speaks_dynamodb() {
        let mut files = Vec::new();
        sources(&manifest().join("src"), &mut files);
        sources(&manifest().join("../functions"), &mut files);
        let store = manifest().join("src/store");
        let offenders: Vec<_> = files
            .iter()
            .filter(|f| !f.starts_with(&store))
            .filter(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                // Spelt in two halves so that this file does not match itself.
                text.contains(concat!(".client", "()")) || text.contains(concat!("aws_sdk_dynamodb", "::types"))
            })
            .collect();
        assert!(offenders.is_empty(), "DynamoDB outside shared/src/store: {offenders:?}");
    }
}
