//! The secret guard: files that must not leave the machine in a build context or a bundle.
//!
//! dockdj baked `environments/*/.env` into images pushed to a public registry; stevedore
//! refuses instead, naming each file and the ignore line that would keep it out. A user can
//! still send a file on purpose with `--allow-secret PATH`.

use std::path::{Path, PathBuf};

/// A file that looks like a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHit {
    /// Path relative to the root being sent, `/`-separated.
    pub rel_path: String,
    /// Why it counts as a secret.
    pub reason: &'static str,
    /// An ignore-file line that would exclude it.
    pub ignore_line: String,
}

/// Files whose name marks them as templates, never secrets.
const TEMPLATE_SUFFIXES: &[&str] = &[".example", ".sample", ".template", ".dist"];

/// Classify one file. `read` gives its content, for files that are secrets only when they hold
/// a token (`.npmrc`, `.pypirc`).
pub fn classify(rel_path: &str, read: impl FnOnce() -> Option<String>) -> Option<SecretHit> {
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    let hit = |reason, ignore_line: String| {
        Some(SecretHit {
            rel_path: rel_path.to_owned(),
            reason,
            ignore_line,
        })
    };
    if is_env_file(name) {
        let line = if is_env_dir_dotenv(rel_path) {
            "environments/*/.env".to_owned()
        } else {
            format!("**/{name}")
        };
        return hit("a .env file (runtime secrets)", line);
    }
    if name.ends_with(".pem") {
        return hit("a PEM key or certificate", "**/*.pem".into());
    }
    for key in ["id_rsa", "id_ed25519", "id_ecdsa", "id_dsa"] {
        if name.starts_with(key) && !name.ends_with(".pub") {
            return hit("an SSH private key", format!("**/{key}*"));
        }
    }
    if rel_path == ".aws/credentials" || rel_path.ends_with("/.aws/credentials") {
        return hit("AWS credentials", "**/.aws".into());
    }
    if rel_path == ".docker/config.json" || rel_path.ends_with("/.docker/config.json") {
        return hit("Docker registry credentials", "**/.docker".into());
    }
    if matches!(name, ".npmrc" | ".pypirc") && read().is_some_and(|text| holds_token(&text)) {
        return hit(
            "a package-registry config holding a token",
            format!("**/{name}"),
        );
    }
    None
}

/// `.env`, `.env.local`, `.env.production`, but not `.env.example`.
fn is_env_file(name: &str) -> bool {
    (name == ".env" || name.starts_with(".env."))
        && !TEMPLATE_SUFFIXES.iter().any(|s| name.ends_with(s))
}

fn is_env_dir_dotenv(rel_path: &str) -> bool {
    let parts: Vec<&str> = rel_path.split('/').collect();
    parts.len() == 3 && parts[0] == "environments" && parts[2] == ".env"
}

/// `_authToken=`, `_auth=`, `_password=` (npm) or `password:`/`password =` (pypirc).
fn holds_token(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim().to_ascii_lowercase();
        !line.starts_with('#')
            && !line.starts_with(';')
            && (line.contains("_authtoken")
                || line.contains("_auth=")
                || line.contains("_auth =")
                || line.contains("_password")
                || line.starts_with("password"))
    })
}

/// Check every file in `rel_paths` (relative to `root`); files listed in `allowed` (relative to
/// `root`, or absolute) pass.
pub fn scan<'a>(
    root: &Path,
    rel_paths: impl IntoIterator<Item = &'a str>,
    allowed: &[PathBuf],
) -> Vec<SecretHit> {
    let allowed: Vec<PathBuf> = allowed
        .iter()
        .map(|p| {
            normalise(&if p.is_absolute() {
                p.clone()
            } else {
                root.join(p)
            })
        })
        .collect();
    rel_paths
        .into_iter()
        .filter(|rel| !allowed.contains(&normalise(&root.join(rel))))
        .filter_map(|rel| classify(rel, || std::fs::read_to_string(root.join(rel)).ok()))
        .collect()
}

/// Lexically normalise `.` and `..` so `--allow-secret ./environments/prod/.env` matches.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The user-facing explanation of `hits`, for an error message.
pub fn describe(hits: &[SecretHit], ignore_file: &str, what: &str) -> String {
    let mut text = format!("refusing to send secrets in {what}:\n");
    for hit in hits {
        text.push_str(&format!(
            "  {} — {}; add `{}` to {ignore_file}\n",
            hit.rel_path, hit.reason, hit.ignore_line
        ));
    }
    text.push_str("Exclude them, or pass --allow-secret <PATH> for a file that must be sent.");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(path: &str, content: &str) -> Option<String> {
        classify(path, || Some(content.to_owned())).map(|h| h.ignore_line)
    }

    #[test]
    fn table() {
        let table: &[(&str, &str, Option<&str>)] = &[
            ("environments/prod/.env", "", Some("environments/*/.env")),
            ("environments/dev/.env", "", Some("environments/*/.env")),
            ("environments/prod/.env.example", "", None),
            ("app/.env", "", Some("**/.env")),
            (".env", "", Some("**/.env")),
            (".env.production", "", Some("**/.env.production")),
            (".env.sample", "", None),
            ("certs/server.pem", "", Some("**/*.pem")),
            ("home/.ssh/id_rsa", "", Some("**/id_rsa*")),
            ("home/.ssh/id_rsa.pub", "", None),
            ("id_ed25519", "", Some("**/id_ed25519*")),
            (".aws/credentials", "", Some("**/.aws")),
            ("home/.aws/credentials", "", Some("**/.aws")),
            (".aws/config", "", None),
            (".docker/config.json", "", Some("**/.docker")),
            (
                ".npmrc",
                "//registry.npmjs.org/:_authToken=abc\n",
                Some("**/.npmrc"),
            ),
            (".npmrc", "registry=https://registry.npmjs.org/\n", None),
            (
                ".pypirc",
                "[pypi]\nusername = __token__\npassword = pypi-abc\n",
                Some("**/.pypirc"),
            ),
            (".pypirc", "[distutils]\nindex-servers = pypi\n", None),
            ("app/www/index.html", "", None),
            ("docs/environment.md", "", None),
        ];
        for (path, content, want) in table {
            assert_eq!(reason(path, content).as_deref(), *want, "{path}");
        }
    }

    #[test]
    fn allowed_paths_pass_relative_or_absolute() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let files = ["environments/prod/.env", "app/.env"];
        assert_eq!(scan(root, files, &[]).len(), 2);
        let allowed = vec![
            PathBuf::from("./environments/prod/.env"),
            root.join("app/.env"),
        ];
        assert!(scan(root, files, &allowed).is_empty());
    }

    #[test]
    fn description_names_file_and_fix() {
        let hits = vec![SecretHit {
            rel_path: "environments/prod/.env".into(),
            reason: "a .env file (runtime secrets)",
            ignore_line: "environments/*/.env".into(),
        }];
        let text = describe(&hits, ".dockerignore", "the build context of app");
        assert!(text.contains("environments/prod/.env"));
        assert!(text.contains("add `environments/*/.env` to .dockerignore"));
        assert!(text.contains("--allow-secret"));
    }
}
