//! The layout rules docs/architecture.md states, checked on the source: no import circle between
//! files of the library or of the macro crate, and `results/` (the serde model at the bottom)
//! importing nothing from the crate outside it.
//!
//! A file imports another when it names a path into it: `crate::a::b`, `super::x`, `self::y`, a
//! `use` group, or (in a `mod.rs`/`lib.rs`) a child module by name; a path to a `mod.rs` that
//! re-exports the named item counts as a path to the file it comes from. Test-only modules
//! (`#[cfg(test)] mod … { … }`) are left out: tests may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

type Module = Vec<String>;

struct Crate {
    /// Each file (relative to `src/`) and its text without comments and test modules.
    files: BTreeMap<String, String>,
    /// Module path → file.
    modules: BTreeMap<Module, String>,
    /// (module of a `mod.rs`, item it re-exports) → the file the item comes from.
    reexports: BTreeMap<(Module, String), String>,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(rel: &str) -> Module {
    let mut parts: Module = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn is_parent_file(rel: &str) -> bool {
    rel.ends_with("mod.rs") || rel == "lib.rs"
}

/// The text without `//` comments and without `#[cfg(test)] mod name { … }` blocks.
fn strip(text: &str) -> String {
    let no_comments: String = text
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let test_module = Regex::new(r"#\[cfg\(test\)\][ \t\r\n]*(pub(\([a-z]+\))? )?mod [a-z_]+ \{")
        .expect("a valid pattern");
    let mut out = String::new();
    let mut at = 0;
    while let Some(found) = test_module.find_at(&no_comments, at) {
        out.push_str(&no_comments[at..found.start()]);
        let mut depth = 0usize;
        let mut end = no_comments.len();
        for (offset, c) in no_comments[found.end() - 1..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = found.end() - 1 + offset + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        at = end;
    }
    out.push_str(&no_comments[at..]);
    out
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut paths = Vec::new();
        rust_files(src, &mut paths);
        let mut files = BTreeMap::new();
        for path in paths {
            let rel = path
                .strip_prefix(src)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            files.insert(rel, strip(&text));
        }
        let modules: BTreeMap<Module, String> = files
            .keys()
            .map(|rel| (module_of(rel), rel.clone()))
            .collect();
        let reexport = Regex::new(
            r"pub use (?:self::)?([a-z_][a-z0-9_]*)::(\{[^;]*\}|[A-Za-z_][A-Za-z0-9_]*|\*)[ \t\r\n]*;",
        )
        .expect("a valid pattern");
        let mut reexports = BTreeMap::new();
        for (rel, text) in &files {
            if !is_parent_file(rel) {
                continue;
            }
            let here = module_of(rel);
            for found in reexport.captures_iter(text) {
                let mut child = here.clone();
                child.push(found[1].to_string());
                let Some(file) = modules.get(&child) else {
                    continue;
                };
                for item in found[2].trim_matches(['{', '}']).split(',') {
                    let item = item.split(" as ").last().unwrap_or_default().trim();
                    let item = item.rsplit("::").next().unwrap_or_default();
                    if !item.is_empty() {
                        reexports.insert((here.clone(), item.to_string()), file.clone());
                    }
                }
            }
        }
        Crate {
            files,
            modules,
            reexports,
        }
    }

    /// The file a path names: the longest module prefix, or the file a `mod.rs` re-exports the
    /// next segment from.
    fn resolve(&self, path: &[String]) -> Option<&String> {
        (0..=path.len()).rev().find_map(|len| {
            let prefix = path[..len].to_vec();
            let file = self.modules.get(&prefix)?;
            if let Some(next) = path.get(len) {
                for item in [next.as_str(), "*"] {
                    if let Some(source) = self.reexports.get(&(prefix.clone(), item.to_string())) {
                        return Some(source);
                    }
                }
            }
            Some(file)
        })
    }

    /// Every file each file imports.
    fn edges(&self) -> BTreeMap<&String, BTreeSet<&String>> {
        let path = Regex::new(r"(?-u:\b)(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
            .expect("a valid pattern");
        let group =
            Regex::new(r"(?-u:\b)use (crate|super|self)::((?:[a-z_][a-z0-9_]*::)*)\{([^;]*)\};")
                .expect("a valid pattern");
        let child =
            Regex::new(r"(?:^|[^:A-Za-z0-9_])([a-z_][a-z0-9_]*)::").expect("a valid pattern");
        let declaration = Regex::new(r"(pub(\([a-z]+\))? )?mod [a-z_]+;").expect("a valid pattern");
        let mut edges = BTreeMap::new();
        for (rel, text) in &self.files {
            let here = module_of(rel);
            let base_of = |head: &str| -> Module {
                match head {
                    "crate" => Vec::new(),
                    "super" => here[..here.len().saturating_sub(1)].to_vec(),
                    _ => here.clone(),
                }
            };
            let mut out = BTreeSet::new();
            let mut add = |path: Module| {
                if let Some(target) = self.resolve(&path) {
                    if target != rel {
                        out.insert(target);
                    }
                }
            };
            for found in path.captures_iter(text) {
                let mut base = base_of(&found[1]);
                let mut tail: Vec<&str> = found[2].split("::").skip(1).collect();
                while tail.first() == Some(&"super") {
                    base.pop();
                    tail.remove(0);
                }
                base.extend(tail.iter().map(|s| s.to_string()));
                add(base);
            }
            for found in group.captures_iter(text) {
                let mut base = base_of(&found[1]);
                base.extend(
                    found[2]
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
                for item in found[3].split(',') {
                    let item = item.replace(['{', '}'], "");
                    let item = item.split(" as ").next().unwrap_or_default().trim();
                    if item.is_empty() {
                        continue;
                    }
                    let mut path = base.clone();
                    path.extend(
                        item.split("::")
                            .filter(|s| !s.is_empty() && *s != "self")
                            .map(str::to_string),
                    );
                    add(path);
                }
            }
            if is_parent_file(rel) {
                let body = declaration.replace_all(text, "");
                for found in child.captures_iter(&body) {
                    let mut path = here.clone();
                    path.push(found[1].to_string());
                    if let Some(target) = self.modules.get(&path) {
                        if target != rel {
                            out.insert(target);
                        }
                    }
                }
            }
            edges.insert(rel, out);
        }
        edges
    }
}

/// The strongly connected groups of more than one file (Tarjan), each sorted.
fn circles<'a>(edges: &BTreeMap<&'a String, BTreeSet<&'a String>>) -> Vec<Vec<&'a String>> {
    struct State<'a> {
        index: BTreeMap<&'a String, usize>,
        low: BTreeMap<&'a String, usize>,
        stack: Vec<&'a String>,
        on_stack: BTreeSet<&'a String>,
        next: usize,
        found: Vec<Vec<&'a String>>,
    }
    fn visit<'a>(
        v: &'a String,
        edges: &BTreeMap<&'a String, BTreeSet<&'a String>>,
        s: &mut State<'a>,
    ) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, edges, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w);
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.found.push(group);
            }
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for &v in edges.keys() {
        if !state.index.contains_key(v) {
            visit(v, edges, &mut state);
        }
    }
    state.found
}

fn describe(edges: &BTreeMap<&String, BTreeSet<&String>>, circles: &[Vec<&String>]) -> String {
    circles
        .iter()
        .map(|group| {
            let lines: Vec<String> = group
                .iter()
                .map(|file| {
                    let inside: Vec<&str> = edges[file]
                        .iter()
                        .filter(|target| group.contains(target))
                        .map(|target| target.as_str())
                        .collect();
                    format!("  {file} -> {}", inside.join(", "))
                })
                .collect();
            lines.join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn source_dir(package: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(package)
        .join("src")
}

#[test]
fn no_file_of_the_library_or_the_macro_crate_imports_itself_through_others() {
    for package in ["model-bench", "model-bench-macros"] {
        let krate = Crate::read(&source_dir(package));
        let edges = krate.edges();
        let found = circles(&edges);
        assert!(
            found.is_empty(),
            "{package}: import circles between files:\n{}",
            describe(&edges, &found)
        );
    }
}

#[test]
fn results_imports_nothing_from_the_crate_outside_it() {
    let krate = Crate::read(&source_dir("model-bench"));
    let edges = krate.edges();
    let outside: Vec<String> = edges
        .iter()
        .filter(|(file, _)| file.starts_with("results/"))
        .flat_map(|(file, targets)| {
            targets
                .iter()
                .filter(|target| !target.starts_with("results/"))
                .map(move |target| format!("{file} -> {target}"))
        })
        .collect();
    assert!(outside.is_empty(), "{}", outside.join("\n"));
}

/// The checks above can fail: a circle and an upward import planted in a small tree are found.
#[test]
fn a_planted_circle_and_an_upward_import_are_found() {
    let dir = std::env::temp_dir().join(format!("model-bench-layout-{}", std::process::id()));
    let write = |rel: &str, text: &str| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a temp dir");
        std::fs::write(path, text).expect("a temp file");
    };
    write("lib.rs", "pub mod a;\npub mod results;\nmod b;\n");
    write("a.rs", "use crate::b::Thing;\npub struct Other;\n");
    write(
        "b.rs",
        "pub struct Thing(crate::a::Other);\n#[cfg(test)]\nmod tests {\n    use crate::results::R;\n}\n",
    );
    write("results/mod.rs", "mod model;\npub use model::R;\n");
    write("results/model.rs", "pub struct R(pub crate::a::Other);\n");
    let krate = Crate::read(&dir);
    let edges = krate.edges();
    let found = circles(&edges);
    assert_eq!(found.len(), 1, "{}", describe(&edges, &found));
    assert_eq!(found[0], [&"a.rs".to_string(), &"b.rs".to_string()]);
    let results = &edges[&"results/model.rs".to_string()];
    assert!(results.contains(&"a.rs".to_string()), "{results:?}");
    // The test module's path to results/ is not an import; the re-export resolves to model.rs.
    assert!(!edges[&"b.rs".to_string()].contains(&"results/model.rs".to_string()));
    std::fs::remove_dir_all(&dir).ok();
}
