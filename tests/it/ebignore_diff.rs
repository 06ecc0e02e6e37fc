//! Differential test: the files and links of stevedore's bundle zip against what the EB CLI would
//! zip for the same tree and `.ebignore`, as `tests/data/ebignore_oracle.py` computes it with the
//! real `pathspec==0.12.1` (the EB CLI's own matcher, applied the way its `_zipdir` applies it).
//! Cases are rows of `tests/data/ebignore_trees.tsv`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use stevedore::bundle::{self, MemberKind};

const CASES: &str = include_str!("../data/ebignore_trees.tsv");

/// One row of the table.
struct Case {
    line: usize,
    name: String,
    tree: Vec<String>,
    ebignore: String,
}

fn parse_cases() -> Vec<Case> {
    CASES
        .lines()
        .enumerate()
        .filter(|(_, row)| !row.starts_with('#') && !row.trim().is_empty())
        .map(|(index, row)| {
            let cells: Vec<&str> = row.split('\t').collect();
            assert_eq!(cells.len(), 3, "line {}: {row:?}", index + 1);
            let ebignore = match cells[2] {
                "(empty)" => String::new(),
                text => text.split(" ;; ").collect::<Vec<_>>().join("\n") + "\n",
            };
            Case {
                line: index + 1,
                name: cells[0].to_owned(),
                tree: cells[1]
                    .split(" ;; ")
                    .map(|e| e.replace("{SP}", " "))
                    .collect(),
                ebignore: ebignore.replace("{SP}", " "),
            }
        })
        .collect()
}

fn build_tree(root: &Path, case: &Case) {
    for entry in &case.tree {
        if let Some((link, target)) = entry.split_once(" -> ") {
            let path = root.join(link);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::os::unix::fs::symlink(target, &path).expect("symlink");
        } else if let Some(dir) = entry.strip_suffix('/') {
            std::fs::create_dir_all(root.join(dir)).expect("mkdir");
        } else {
            let path = root.join(entry);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, entry).expect("write");
        }
    }
    std::fs::write(root.join(".ebignore"), &case.ebignore).expect(".ebignore");
}

/// What the EB CLI would zip (files and links), or `Err` where it would fail.
fn oracle(root: &Path) -> Result<BTreeSet<String>, String> {
    let script = crate::support::repo_root().join("tests/data/ebignore_oracle.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(root)
        .arg("--files")
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// The files and links of the zip stevedore writes for the tree (no run files staged).
fn ours(root: &Path, out: &Path) -> Result<BTreeSet<String>, String> {
    let selection = bundle::select(root, &root.join("environments/none"), &[], &[])
        .map_err(|e| e.to_string())?;
    bundle::write_zip(
        &selection.members,
        out,
        bundle::MAX_BUNDLE_BYTES,
        &mut |_, _| {},
    )
    .map_err(|e| e.to_string())?;
    let links: BTreeSet<&str> = selection
        .members
        .iter()
        .filter(|m| matches!(m.kind, MemberKind::Symlink { .. }))
        .map(|m| m.name.as_str())
        .collect();
    let file = std::fs::File::open(out).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
    let mut names = BTreeSet::new();
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| e.to_string())?;
        let name = entry.name().map_err(|e| e.to_string())?.into_owned();
        if entry.is_symlink() != links.contains(name.as_str()) {
            return Err(format!("{name}: stored as the wrong kind"));
        }
        if !name.ends_with('/') {
            names.insert(name);
        }
    }
    Ok(names)
}

fn pathspec_available() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import pathspec, sys; sys.exit(pathspec.__version__ != '0.12.1')",
        ])
        .status()
        .is_ok_and(|s| s.success());
    ok || crate::support::unavailable(
        "python3 with pathspec==0.12.1",
        "pip install pathspec==0.12.1 (.ci/run does)",
    )
}

#[test]
fn bundle_files_match_what_the_eb_cli_would_zip() {
    if !pathspec_available() {
        return;
    }
    let cases = parse_cases();
    assert!(cases.len() >= 25, "only {} trees", cases.len());
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("project");
        std::fs::create_dir_all(&root).expect("mkdir");
        build_tree(&root, case);
        let expected = oracle(&root);
        let got = ours(&root, &dir.path().join("bundle.zip"));
        match (&expected, &got) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(_), Err(_)) => refused.push(case.name.as_str()),
            _ => failures.push(format!(
                "line {} ({}):\n  EB CLI:    {expected:?}\n  stevedore: {got:?}",
                case.line, case.name
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Only the broken-link trees make both refuse; every other tree compared real file sets.
    let expected: Vec<&str> = cases
        .iter()
        .filter(|c| c.name.starts_with("broken_"))
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(refused, expected);
}
