//! What goes into the zip: the project files `.ebignore` selects (the EB CLI's semantics, see
//! [`crate::ignore::eb`]), the environment's `.ebextensions/`, and the run files, each with its
//! normalised member name (no `./` prefixes, unlike the EB CLI), sorted.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{BundleError, COMPOSE_FILE, DOCKERRUN, StagedFile};
use crate::ignore::eb::{self, BundleEntryKind, EbIgnore};
use crate::secrets;

/// Where a member's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    /// A directory entry.
    Dir,
    /// A file on disk (symlinks under `.ebextensions/` are read through).
    File {
        /// The file.
        path: PathBuf,
        /// Whether any execute bit is set (the only mode bit kept, so umasks do not matter).
        executable: bool,
        /// Its size in bytes.
        size: u64,
    },
    /// A symlink, stored as a link.
    Symlink {
        /// The target as `readlink` gives it.
        target: String,
    },
    /// A file made for the bundle.
    Staged {
        /// Its contents.
        data: Vec<u8>,
    },
}

/// One zip member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member name: `dir/`, `dir/file`, `dir/link`.
    pub name: String,
    /// What it is.
    pub kind: MemberKind,
}

/// The members, and what the user should know about the choice.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Sorted by name (bytes).
    pub members: Vec<Member>,
    /// Files left out or replaced, links that leave the bundle.
    pub notes: Vec<String>,
    /// How many files and links came from the project tree.
    pub from_tree: usize,
}

/// Root names the bundle's own files decide; a copy in the tree would change what runs.
const RESERVED: &[&str] = &[DOCKERRUN, COMPOSE_FILE, "docker-compose.yaml", "Dockerfile"];

/// Select the members for the project at `root`, environment directory `env_dir` and run files
/// `staged`. Secrets (by [`secrets::classify`]) are refused unless listed in `allowed`.
pub fn select(
    root: &Path,
    env_dir: &Path,
    staged: &[StagedFile],
    allowed: &[PathBuf],
) -> Result<Selection, BundleError> {
    let mut notes = Vec::new();
    let mut members: BTreeMap<String, MemberKind> = BTreeMap::new();
    let mut scanned: Vec<String> = Vec::new();
    let env_extensions = env_dir.join(".ebextensions");
    let extension_files = walk_files(&env_extensions)?;
    match EbIgnore::read(&root.join(eb::EBIGNORE_FILE))? {
        Some(ignore) => {
            for entry in eb::bundle_entries(root, &ignore)? {
                let kind = match entry.kind {
                    BundleEntryKind::Dir => continue,
                    BundleEntryKind::File => file_kind(&root.join(&entry.rel_path))?,
                    BundleEntryKind::Symlink { target } => {
                        let target = target.to_string_lossy().into_owned();
                        if leaves_bundle(&entry.rel_path, &target) {
                            notes.push(format!(
                                "{} is a symlink to {target}, outside the bundle: it will dangle \
                                 on the instance",
                                entry.rel_path
                            ));
                        }
                        MemberKind::Symlink { target }
                    }
                };
                if RESERVED.contains(&entry.rel_path.as_str()) {
                    notes.push(format!(
                        "{} at the project root is left out: the bundle's run files come from \
                         the environment{}",
                        entry.rel_path,
                        if entry.rel_path == "Dockerfile" {
                            " (a Dockerfile would make instances build instead of running the pinned image)"
                        } else {
                            ""
                        }
                    ));
                    continue;
                }
                if let Some(rel) = entry.rel_path.strip_prefix(".ebextensions/")
                    && extension_files.iter().any(|(name, _)| name == rel)
                {
                    notes.push(format!(
                        "{} is replaced by the environment's {}",
                        entry.rel_path,
                        relative(root, &env_extensions.join(rel))
                    ));
                    continue;
                }
                scanned.push(entry.rel_path.clone());
                members.insert(entry.rel_path, kind);
            }
        }
        None => notes.push(
            "no .ebignore: the bundle holds only the run files and .ebextensions (add a \
             .ebignore to ship files the containers mount)"
                .to_owned(),
        ),
    }
    let from_tree = members.len();
    for (rel, path) in &extension_files {
        scanned.push(relative(root, path));
        members.insert(format!(".ebextensions/{rel}"), file_kind(path)?);
    }
    let hits = secrets::scan(root, scanned.iter().map(String::as_str), allowed);
    if !hits.is_empty() {
        return Err(BundleError::Secrets(secrets::describe(
            &hits,
            ".ebignore",
            "the Elastic Beanstalk bundle",
        )));
    }
    for file in staged {
        members.insert(
            file.name.clone(),
            MemberKind::Staged {
                data: file.data.clone(),
            },
        );
    }
    let dirs: BTreeSet<String> = members
        .keys()
        .flat_map(|name| {
            name.match_indices('/')
                .map(|(i, _)| format!("{}/", &name[..i]))
                .collect::<Vec<_>>()
        })
        .collect();
    for dir in dirs {
        members.insert(dir, MemberKind::Dir);
    }
    Ok(Selection {
        members: members
            .into_iter()
            .map(|(name, kind)| Member { name, kind })
            .collect(),
        notes,
        from_tree,
    })
}

fn file_kind(path: &Path) -> Result<MemberKind, BundleError> {
    let meta = std::fs::metadata(path).map_err(|source| BundleError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(MemberKind::File {
        path: path.to_owned(),
        executable: meta.permissions().mode() & 0o111 != 0,
        size: meta.len(),
    })
}

/// The files below `dir` (following symlinks to files), `/`-separated names relative to it.
fn walk_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, BundleError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| BundleError::Io {
            path: e.path().map_or_else(|| dir.to_owned(), Path::to_owned),
            source: e.into(),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        files.push((rel, entry.path().to_owned()));
    }
    Ok(files)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Whether a link at `rel` pointing at `target` ends outside the bundle's root.
fn leaves_bundle(rel: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return true;
    }
    let mut depth: i64 = rel.matches('/').count() as i64;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, contents) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            std::fs::write(full, contents).expect("write");
        }
        dir
    }

    fn names(selection: &Selection) -> Vec<&str> {
        selection.members.iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn tree_extensions_and_run_files_merge_sorted_with_directories() {
        let t = tree(&[
            (
                ".ebignore",
                "*\n!docker/**\n!.ebextensions/**\n!Dockerrun.aws.json\n",
            ),
            ("docker/proxy/nginx.conf", "x"),
            ("Dockerrun.aws.json", "{}"),
            (".ebextensions/00-tree.config", "tree"),
            (".ebextensions/01-logs.config", "tree"),
            ("environments/prod/.ebextensions/01-logs.config", "env"),
            ("environments/prod/.ebextensions/sub/02.config", "env"),
            ("app/main.py", "x"),
        ]);
        let staged = [StagedFile::new(
            DOCKERRUN,
            b"{\"AWSEBDockerrunVersion\":2}".to_vec(),
        )];
        let s = select(t.path(), &t.path().join("environments/prod"), &staged, &[]).expect("ok");
        assert_eq!(
            names(&s),
            vec![
                ".ebextensions/",
                ".ebextensions/00-tree.config",
                ".ebextensions/01-logs.config",
                ".ebextensions/sub/",
                ".ebextensions/sub/02.config",
                "Dockerrun.aws.json",
                "docker/",
                "docker/proxy/",
                "docker/proxy/nginx.conf",
            ]
        );
        let logs = s
            .members
            .iter()
            .find(|m| m.name == ".ebextensions/01-logs.config")
            .expect("member");
        assert!(
            matches!(&logs.kind, MemberKind::File { path, .. } if path.ends_with("environments/prod/.ebextensions/01-logs.config"))
        );
        assert!(matches!(
            &s.members
                .iter()
                .find(|m| m.name == DOCKERRUN)
                .expect("run file")
                .kind,
            MemberKind::Staged { .. }
        ));
        assert_eq!(s.notes.len(), 2, "{:?}", s.notes);
    }

    #[test]
    fn secrets_are_refused_unless_allowed() {
        let t = tree(&[
            (".ebignore", "app/\n"),
            ("environments/prod/.env", "SECRET=x"),
        ]);
        let env = t.path().join("environments/prod");
        let err = select(t.path(), &env, &[], &[]).expect_err("secret");
        assert!(err.to_string().contains("environments/prod/.env"), "{err}");
        let allowed = [PathBuf::from("environments/prod/.env")];
        assert!(select(t.path(), &env, &[], &allowed).is_ok());
    }

    #[test]
    fn without_ebignore_only_staged_files() {
        let t = tree(&[("app/main.py", "x")]);
        let staged = [StagedFile::new(DOCKERRUN, b"{}".to_vec())];
        let s = select(t.path(), &t.path().join("environments/prod"), &staged, &[]).expect("ok");
        assert_eq!(names(&s), vec![DOCKERRUN]);
        assert!(s.notes[0].contains("no .ebignore"));
    }

    #[test]
    fn links_that_leave_the_bundle() {
        assert!(leaves_bundle("a", "/etc/passwd"));
        assert!(leaves_bundle("a", "../x"));
        assert!(!leaves_bundle("d/a", "../x"));
        assert!(leaves_bundle("d/a", "../../x"));
        assert!(!leaves_bundle("a", "b/../c"));
    }
}
