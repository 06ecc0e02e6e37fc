//! The conformance table: every `tests/data/compose/**/<name>.yml` is loaded and checked against
//! `<name>.expect` beside it. All failing cases are reported at once.
//!
//! An `.expect` file has one directive per line (`#` starts a comment line):
//! - `vars: {"NAME": "value"}` — the variable source (`HOME` is `/home/tester` unless given);
//! - `json: {…}` — must match the loaded file's JSON form, where objects match when every
//!   expected key matches (`null` matches an absent key), arrays element by element, and
//!   `$DATA` in strings stands for the table's directory;
//! - `warning: text` — some warning contains `text`; `warnings: N` — exactly N warnings;
//! - `error: text` — loading fails with a message containing `text`; `line: N` (required with
//!   `error:`) — the message points at `<file name>:N:` (`in: name` — of that file instead);
//! - `files: a.yml b.yml` — more compose files (relative to the case) merged over it, as
//!   `-f case.yml -f a.yml -f b.yml`; `profiles: a b` — the active profiles (`--compose-profile`);
//!   `targeted: a` — services the command names (`run a`), whose profiles join the active ones.
//!
//! Files under a `parts/` directory are not cases: cases read them (`files:`, `extends`,
//! `include`).

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::{Request, load_project};

#[derive(Default)]
struct Expect {
    vars: Vec<(String, String)>,
    json: Vec<Json>,
    warnings: Vec<String>,
    warning_count: Option<usize>,
    error: Option<String>,
    line: Option<usize>,
    line_in: Option<String>,
    files: Vec<String>,
    profiles: Option<Vec<String>>,
    targeted: Vec<String>,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/compose")
}

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "parts") {
                continue;
            }
            cases(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}

fn parse_expect(text: &str) -> Result<Expect, String> {
    let mut expect = Expect::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (directive, rest) = line
            .split_once(':')
            .ok_or_else(|| format!("`{line}` is not `directive: value`"))?;
        let rest = rest.trim();
        match directive {
            "vars" => {
                let map: serde_json::Map<String, Json> =
                    serde_json::from_str(rest).map_err(|e| format!("vars: {e}"))?;
                for (k, v) in map {
                    let v = v.as_str().ok_or("vars values must be strings")?.to_owned();
                    expect.vars.push((k, v));
                }
            }
            "json" => expect
                .json
                .push(serde_json::from_str(rest).map_err(|e| format!("json: {e}"))?),
            "warning" => expect.warnings.push(rest.to_owned()),
            "warnings" => expect.warning_count = Some(rest.parse().map_err(|_| "warnings: N")?),
            "error" => expect.error = Some(rest.to_owned()),
            "line" => expect.line = Some(rest.parse().map_err(|_| "line: N")?),
            "in" => expect.line_in = Some(rest.to_owned()),
            "files" => expect.files = rest.split_whitespace().map(str::to_owned).collect(),
            "profiles" => {
                expect.profiles = Some(rest.split_whitespace().map(str::to_owned).collect());
            }
            "targeted" => expect.targeted = rest.split_whitespace().map(str::to_owned).collect(),
            other => return Err(format!("unknown directive `{other}`")),
        }
    }
    if expect.error.is_some() && expect.line.is_none() {
        return Err("an `error:` case must give `line:`".into());
    }
    if expect.error.is_none()
        && expect.json.is_empty()
        && expect.warnings.is_empty()
        && expect.warning_count.is_none()
    {
        return Err("the case expects nothing".into());
    }
    Ok(expect)
}

/// `actual` matches `expected` when every expected key matches (see the module docs).
fn subset(expected: &Json, actual: &Json, at: &str, problems: &mut Vec<String>) {
    match (expected, actual) {
        (Json::Object(want), Json::Object(got)) => {
            for (key, want_value) in want {
                let got_value = got.get(key).unwrap_or(&Json::Null);
                subset(want_value, got_value, &format!("{at}.{key}"), problems);
            }
        }
        (Json::Array(want), Json::Array(got)) => {
            if want.len() != got.len() {
                problems.push(format!(
                    "{at}: expected {} items, got {}: {}",
                    want.len(),
                    got.len(),
                    actual
                ));
                return;
            }
            for (i, (w, g)) in want.iter().zip(got).enumerate() {
                subset(w, g, &format!("{at}[{i}]"), problems);
            }
        }
        (want, got) if want == got => {}
        (want, got) => problems.push(format!("{at}: expected {want}, got {got}")),
    }
}

/// Replace the table directory in every string with `$DATA`, so expectations are portable.
fn portable(value: &mut Json, data: &str) {
    match value {
        Json::String(s) => *s = s.replace(data, "$DATA"),
        Json::Array(items) => items.iter_mut().for_each(|v| portable(v, data)),
        Json::Object(map) => map.values_mut().for_each(|v| portable(v, data)),
        _ => {}
    }
}

fn run_case(yml: &Path, data: &str) -> Result<(), String> {
    let expect_path = yml.with_extension("expect");
    let text = std::fs::read_to_string(&expect_path)
        .map_err(|e| format!("cannot read {}: {e}", expect_path.display()))?;
    let expect = parse_expect(&text)?;
    let vars = |name: &str| {
        expect
            .vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| (name == "HOME").then(|| "/home/tester".to_owned()))
    };
    let dir = yml.parent().unwrap_or(Path::new("."));
    let files: Vec<PathBuf> = std::iter::once(yml.to_owned())
        .chain(expect.files.iter().map(|f| dir.join(f)))
        .collect();
    let loaded = load_project(&Request {
        files: &files,
        vars: &vars,
        profiles: expect.profiles.as_deref(),
        targeted: &expect.targeted,
        read_env_files: true,
    });
    let file_name = match &expect.line_in {
        Some(name) => name.clone(),
        None => yml
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    match (loaded, &expect.error) {
        (Err(err), Some(want)) => {
            let msg = err.to_string().replace(data, "$DATA");
            let mut problems = Vec::new();
            if !msg.contains(want.as_str()) {
                problems.push(format!("error lacks `{want}`"));
            }
            if let Some(line) = expect.line
                && !msg.contains(&format!("{file_name}:{line}:"))
            {
                problems.push(format!("error does not point at line {line}"));
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(format!("{}\n    error: {msg}", problems.join("; ")))
            }
        }
        (Err(err), None) => Err(format!("unexpected error: {err}")),
        (Ok(_), Some(want)) => Err(format!("loaded, but expected an error with `{want}`")),
        (Ok(file), None) => {
            let mut actual = serde_json::to_value(&file).map_err(|e| e.to_string())?;
            portable(&mut actual, data);
            let mut problems = Vec::new();
            for want in &expect.json {
                subset(want, &actual, "$", &mut problems);
            }
            let warnings = actual
                .get("warnings")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default();
            let warnings: Vec<String> = warnings
                .iter()
                .filter_map(|w| w.as_str().map(str::to_owned))
                .collect();
            for want in &expect.warnings {
                if !warnings.iter().any(|w| w.contains(want.as_str())) {
                    problems.push(format!("no warning contains `{want}`"));
                }
            }
            if let Some(count) = expect.warning_count
                && warnings.len() != count
            {
                problems.push(format!("expected {count} warnings, got {}", warnings.len()));
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{}\n    warnings: {warnings:?}\n    json: {actual}",
                    problems.join("\n    ")
                ))
            }
        }
    }
}

#[test]
fn conformance_table() {
    let dir = data_dir();
    let data = dir.to_string_lossy().into_owned();
    let mut files = Vec::new();
    cases(&dir, &mut files);
    files.sort();
    let mut failures = Vec::new();
    for yml in &files {
        if let Err(problem) = run_case(yml, &data) {
            let name = yml.strip_prefix(&dir).unwrap_or(yml);
            failures.push(format!("{}: {problem}", name.display()));
        }
    }
    if files.len() < 30 {
        failures.push(format!("only {} cases in {}", files.len(), dir.display()));
    }
    assert!(
        failures.is_empty(),
        "{} of {} compose cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
