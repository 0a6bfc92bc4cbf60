//! The shape of the source, read from every file under `src/`: the modules import
//! each other without a cycle (each file a module, as `cargo modules` sees them), so a
//! module never needs one that needs it back; and no function reaches 60 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every module of the library, by its path from the crate root, with its source
/// (the code above its tests).
fn modules() -> BTreeMap<Module, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files
        .into_iter()
        .filter_map(|file| {
            let relative = file.strip_prefix(&root).ok()?.with_extension("");
            let mut module: Module = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|last| last == "mod") {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                return None;
            }
            let text = std::fs::read_to_string(&file).ok()?;
            Some((module, library_code(&text)))
        })
        .collect()
}

/// The code of a file without its comments, its literals' contents, and its test
/// module (`#[cfg(test)] mod …`), which may import what it likes.
fn library_code(text: &str) -> String {
    let code = code_only(text);
    let mut kept = String::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        kept.push_str(&rest[..at]);
        let after = rest[at + "#[cfg(test)]".len()..].trim_start();
        rest = match after.strip_prefix("mod ") {
            Some(module) => skip_block(module),
            None => after,
        };
    }
    kept.push_str(rest);
    kept
}

/// What follows the `{…}` block that `text` opens (or nothing, if it never closes).
fn skip_block(text: &str) -> &str {
    let Some(open) = text.find('{') else { return "" };
    let mut depth = 0;
    for (at, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + at + 1..];
                }
            }
            _ => {}
        }
    }
    ""
}

/// `text` with comments removed and every string, raw string and character literal
/// emptied, so that their braces, semicolons and slashes are not read as code.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        let next = chars.get(at + 1).copied();
        if c == '/' && next == Some('/') {
            while at < chars.len() && chars[at] != '\n' {
                at += 1;
            }
        } else if c == '/' && next == Some('*') {
            at = chars[at..]
                .windows(2)
                .position(|w| w == ['*', '/'])
                .map_or(chars.len(), |p| at + p + 2);
        } else if c == 'r' && matches!(next, Some('"' | '#')) && (at == 0 || !is_ident(chars[at - 1])) {
            let hashes = chars[at + 1..].iter().take_while(|c| **c == '#').count();
            let body = at + 1 + hashes + 1;
            let close: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let end = chars[body.min(chars.len())..]
                .windows(close.len())
                .position(|w| w == close.as_slice());
            at = end.map_or(chars.len(), |p| body + p + close.len());
            out.push_str("\"\"");
        } else if c == '"' {
            at += 1;
            while at < chars.len() && chars[at] != '"' {
                at += if chars[at] == '\\' { 2 } else { 1 };
            }
            at += 1;
            out.push_str("\"\"");
        } else if c == '\'' && is_char_literal(&chars[at..]) {
            at += 1;
            while at < chars.len() && chars[at] != '\'' {
                at += if chars[at] == '\\' { 2 } else { 1 };
            }
            at += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            at += 1;
        }
    }
    out
}

/// `'x'` or `'\n'`, as opposed to a lifetime `'a`.
fn is_char_literal(chars: &[char]) -> bool {
    match chars.get(1) {
        Some('\\') => true,
        Some(_) => chars.get(2) == Some(&'\''),
        None => false,
    }
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ can be read").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path in `code` (`a::b::C`, with `use a::{b, c::D}` groups spread out).
fn paths(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let starts = is_ident(chars[at]) && (at == 0 || !(is_ident(chars[at - 1]) || chars[at - 1] == ':'));
        if starts {
            at = read_path(&chars, at, Vec::new(), &mut found);
        } else {
            at += 1;
        }
    }
    found
}

/// Reads the path starting at `at` after `prefix`; returns where it ended.
fn read_path(chars: &[char], mut at: usize, mut prefix: Vec<String>, found: &mut Vec<Vec<String>>) -> usize {
    loop {
        let start = at;
        while at < chars.len() && is_ident(chars[at]) {
            at += 1;
        }
        prefix.push(chars[start..at].iter().collect());
        if chars.get(at) != Some(&':') || chars.get(at + 1) != Some(&':') {
            break;
        }
        at += 2;
        if chars.get(at) == Some(&'{') {
            return read_group(chars, at + 1, &prefix, found);
        }
        if chars.get(at) == Some(&'*') {
            // A glob import uses the module it names.
            prefix.push("*".into());
            found.push(prefix);
            return at + 1;
        }
        if !chars.get(at).copied().is_some_and(is_ident) {
            break;
        }
    }
    found.push(prefix);
    at
}

/// The items of a `{…}` group, each a path after `prefix`.
fn read_group(chars: &[char], mut at: usize, prefix: &[String], found: &mut Vec<Vec<String>>) -> usize {
    while at < chars.len() && chars[at] != '}' {
        if is_ident(chars[at]) {
            at = read_path(chars, at, prefix.to_vec(), found);
        } else {
            at += 1;
        }
    }
    at + 1
}

/// The module a path names (its longest prefix that is one), from inside `from`.
fn resolve(
    path: &[String],
    from: &Module,
    children: &BTreeSet<String>,
    all: &BTreeMap<Module, String>,
) -> Option<Module> {
    let mut absolute: Module = match path.first()?.as_str() {
        "crate" => Vec::new(),
        "self" => from.clone(),
        "super" => from.clone(),
        child if children.contains(child) => from.clone(),
        _ => return None,
    };
    for part in path {
        match part.as_str() {
            "crate" | "self" => {}
            "super" => {
                absolute.pop();
            }
            name => absolute.push(name.to_string()),
        }
    }
    (1..=absolute.len())
        .rev()
        .map(|len| absolute[..len].to_vec())
        .find(|prefix| all.contains_key(prefix))
}

/// Who imports whom.
fn imports() -> BTreeMap<Module, BTreeSet<Module>> {
    let all = modules();
    let mut graph = BTreeMap::new();
    for (module, code) in &all {
        let children: BTreeSet<String> = code
            .lines()
            .filter_map(|line| {
                let line = line.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
                line.strip_prefix("mod ")?.strip_suffix(';').map(String::from)
            })
            .collect();
        let uses: BTreeSet<Module> = paths(code)
            .iter()
            .filter(|path| path.len() > 1)
            .filter_map(|path| resolve(path, module, &children, &all))
            .filter(|target| target != module)
            .collect();
        graph.insert(module.clone(), uses);
    }
    graph
}

fn reaches(graph: &BTreeMap<Module, BTreeSet<Module>>, from: &Module, to: &Module) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.clone()];
    while let Some(module) = stack.pop() {
        if &module == to {
            return true;
        }
        if seen.insert(module.clone()) {
            stack.extend(graph.get(&module).into_iter().flatten().cloned());
        }
    }
    false
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = imports();
    assert!(graph.len() > 50, "every module is read: {}", graph.len());
    let name = |m: &Module| m.join("::");
    let cycles: Vec<String> = graph
        .iter()
        .flat_map(|(module, uses)| uses.iter().map(move |used| (module, used)))
        .filter(|(module, used)| reaches(&graph, used, module))
        .map(|(module, used)| format!("{} -> {}", name(module), name(used)))
        .collect();
    assert!(cycles.is_empty(), "imports that close a cycle:\n{}", cycles.join("\n"));
}

#[test]
fn the_reading_sees_groups_children_and_parents() {
    let found = paths("use crate::a::{b, c::D};\nuse super::e;\nuse super::*;\nlet x = child::f(\"x::y\");");
    let as_text: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    for expected in ["crate::a::b", "crate::a::c::D", "super::e", "super::*", "child::f"] {
        assert!(as_text.iter().any(|p| p == expected), "{expected} in {as_text:?}");
    }
    let all: BTreeMap<Module, String> = [vec!["a".to_string()], vec!["a".into(), "b".into()], vec!["x".into()]]
        .into_iter()
        .map(|m| (m, String::new()))
        .collect();
    let from = vec!["a".to_string(), "b".to_string()];
    let none = BTreeSet::new();
    let to = |path: &str| {
        let parts: Vec<String> = path.split("::").map(String::from).collect();
        resolve(&parts, &from, &none, &all)
    };
    assert_eq!(to("super::Thing"), Some(vec!["a".to_string()]));
    assert_eq!(to("crate::x::Y"), Some(vec!["x".to_string()]));
    assert_eq!(to("std::fmt"), None);
    assert_eq!(to("super::*"), Some(vec!["a".to_string()]));
    let code = library_code("fn a() { let s = \"} // {\"; }\n#[cfg(test)]\nmod tests { fn b() {} }\nfn c() {}");
    assert!(
        code.contains("fn a()") && code.contains("fn c()") && !code.contains("fn b()"),
        "{code}"
    );
}

/// Each function of the library (outside tests) with its length in lines: from its
/// `fn` to the brace that closes its body. A declaration without a body (a trait's)
/// ends at a `;` outside brackets.
fn function_lengths() -> Vec<(usize, String)> {
    let mut lengths = Vec::new();
    for (module, code) in modules() {
        let chars: Vec<char> = code.chars().collect();
        let mut at = 0;
        while let Some(offset) = find_fn(&chars[at..]) {
            let start = at + offset;
            let name: String = chars[start + 3..].iter().take_while(|c| is_ident(**c)).collect();
            match body_end(&chars[start..]) {
                Some(end) => {
                    let lines = chars[start..start + end].iter().filter(|c| **c == '\n').count() + 1;
                    lengths.push((lines, format!("{}::{name}", module.join("::"))));
                }
                None => assert!(
                    chars[start..].contains(&';'),
                    "{}::{name}: neither a body nor a declaration",
                    module.join("::")
                ),
            }
            at = start + 3;
        }
    }
    lengths
}

/// Where the next `fn` keyword starts.
fn find_fn(chars: &[char]) -> Option<usize> {
    (0..chars.len().saturating_sub(3))
        .find(|&at| chars[at..at + 3] == ['f', 'n', ' '] && (at == 0 || !is_ident(chars[at - 1])))
}

/// The end of the body of the function starting at `chars[0]`; `None` for a
/// declaration without one.
fn body_end(chars: &[char]) -> Option<usize> {
    let mut brackets = 0i32;
    let mut depth = 0i32;
    for (at, c) in chars.iter().enumerate() {
        match c {
            '(' | '[' | '<' if depth == 0 => brackets += 1,
            ')' | ']' | '>' if depth == 0 && chars.get(at.wrapping_sub(1)) != Some(&'-') => brackets -= 1,
            ';' if depth == 0 && brackets <= 0 => return None,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[test]
fn no_function_reaches_sixty_lines() {
    let lengths = function_lengths();
    assert!(lengths.len() > 300, "every function is read: {}", lengths.len());
    let long: Vec<String> = lengths
        .iter()
        .filter(|(lines, _)| *lines >= 60)
        .map(|(lines, name)| format!("{name}: {lines} lines"))
        .collect();
    assert!(long.is_empty(), "functions of 60 lines or more:\n{}", long.join("\n"));
}
