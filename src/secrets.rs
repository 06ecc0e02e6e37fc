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

/// How much of a file the content rules read: key headers and credential shapes sit at the
/// start, and reading a few KiB keeps the guard cheap on contexts of many files.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// Files larger than this are not sniffed (keys, tokens and credential files are small; a big
/// file is data or an artefact).
pub const SNIFF_MAX_FILE: u64 = 1024 * 1024;

/// Classify one file. `head` gives up to [`SNIFF_BYTES`] of its content (or `None` when it is
/// unreadable or larger than [`SNIFF_MAX_FILE`]); it is called only when no name rule matched,
/// and not at all for templates.
pub fn classify(rel_path: &str, head: impl FnOnce() -> Option<Vec<u8>>) -> Option<SecretHit> {
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
    if TEMPLATE_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return None;
    }
    if let Some((reason, line)) = by_name(rel_path, name) {
        return hit(reason, line);
    }
    let head = head()?;
    if matches!(name, ".npmrc" | ".pypirc") && holds_token(&String::from_utf8_lossy(&head)) {
        return hit(
            "a package-registry config holding a token",
            format!("**/{name}"),
        );
    }
    by_content(&head).and_then(|reason| hit(reason, format!("/{rel_path}")))
}

/// Rules on the name (or path) alone: `(reason, ignore line)`.
fn by_name(rel_path: &str, name: &str) -> Option<(&'static str, String)> {
    let lower = name.to_ascii_lowercase();
    let extension = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let ends_with_path = |tail: &str| rel_path == tail || rel_path.ends_with(&format!("/{tail}"));
    let named = |pattern: &str| format!("**/{pattern}");
    Some(match () {
        _ if extension == "pem" => ("a PEM key or certificate", named("*.pem")),
        _ if extension == "key" => ("a private key file", named("*.key")),
        _ if extension == "ppk" => ("a PuTTY private key", named("*.ppk")),
        _ if matches!(extension, "p12" | "pfx") => {
            ("a PKCS#12 keystore", named(&format!("*.{extension}")))
        }
        _ if matches!(extension, "jks" | "keystore") => {
            ("a Java keystore", named(&format!("*.{extension}")))
        }
        _ if ["id_rsa", "id_ed25519", "id_ecdsa", "id_dsa"]
            .iter()
            .any(|k| name.starts_with(k) && !name.ends_with(".pub")) =>
        {
            let key = ["id_rsa", "id_ed25519", "id_ecdsa", "id_dsa"]
                .into_iter()
                .find(|k| name.starts_with(k))
                .unwrap_or("id_rsa");
            ("an SSH private key", named(&format!("{key}*")))
        }
        _ if name == "deploy_key" || (name.ends_with("_deploy_key") && !name.ends_with(".pub")) => {
            ("an SSH deploy key", named(name))
        }
        _ if ends_with_path(".aws/credentials") => ("AWS credentials", named(".aws")),
        _ if ends_with_path(".docker/config.json") => {
            ("Docker registry credentials", named(".docker"))
        }
        _ if ends_with_path(".kube/config") || lower.starts_with("kubeconfig") => {
            ("a Kubernetes config (cluster credentials)", named(name))
        }
        _ if matches!(name, ".git-credentials" | ".netrc" | "_netrc") => {
            ("stored login credentials", named(name))
        }
        _ if matches!(name, ".vault-token" | ".htpasswd" | ".envrc" | "master.key") => {
            ("a credentials file", named(name))
        }
        _ if lower.starts_with("terraform.tfstate") => (
            "Terraform state (holds resource secrets)",
            named("*.tfstate*"),
        ),
        _ if matches!(
            lower.as_str(),
            "credentials.json" | "secrets.json" | "secrets.yml" | "secrets.yaml"
        ) || (lower.starts_with("client_secret") && extension == "json") =>
        {
            ("a credentials file", named(name))
        }
        _ => return None,
    })
}

/// Rules on the first bytes of a file.
///
/// Each text rule is gated by a byte search for its marker before the head is decoded: nearly
/// every file holds none, and decoding and splitting every head into words made the context walk
/// of a 30,000-file tree 30 times slower (BENCHMARKS.md, "Secret sniffing").
fn by_content(head: &[u8]) -> Option<&'static str> {
    use memchr::memmem::find;
    // Java keystores announce themselves: JKS 0xFEEDFEED, JCEKS 0xCECECECE.
    if head.starts_with(&[0xFE, 0xED, 0xFE, 0xED]) || head.starts_with(&[0xCE, 0xCE, 0xCE, 0xCE]) {
        return Some("a Java keystore (by its magic bytes)");
    }
    if head.starts_with(b"PuTTY-User-Key-File-") {
        return Some("a PuTTY private key");
    }
    let pem = find(head, b"-----BEGIN ").is_some();
    let service_account = find(head, b"service_account").is_some();
    let aws = find(head, b"AKIA").is_some() || find(head, b"ASIA").is_some();
    if !(pem || service_account || aws) {
        return None;
    }
    let text = String::from_utf8_lossy(head);
    if let Some(at) = text.find("-----BEGIN ")
        && text[at..]
            .lines()
            .next()
            .is_some_and(|l| l.contains("PRIVATE KEY-----"))
    {
        return Some("a private key (PEM/OpenSSH header)");
    }
    if text.contains("\"type\"")
        && text.contains("service_account")
        && text.contains("\"private_key\"")
    {
        return Some("a cloud service-account key (JSON)");
    }
    if aws && aws_key_pair(&text) {
        return Some("an AWS access key id with its secret key");
    }
    None
}

/// An AWS access key id (`AKIA…`/`ASIA…`, 20 characters) and, in the same text, a 40-character
/// secret-shaped word: one alone is an id in docs or a random string.
fn aws_key_pair(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '+'))
        .filter(|w| !w.is_empty())
        .collect();
    let key_id = words.iter().any(|w| {
        w.len() == 20
            && (w.starts_with("AKIA") || w.starts_with("ASIA"))
            && w.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    });
    key_id
        && words.iter().any(|w| {
            w.len() == 40
                && w.chars().any(|c| c.is_ascii_lowercase())
                && w.chars()
                    .any(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
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

/// Up to [`SNIFF_BYTES`] of the file at `path`, when it is a regular file of at most
/// [`SNIFF_MAX_FILE`] bytes.
pub fn read_head(path: &Path) -> Option<Vec<u8>> {
    read_head_checked(path).ok().flatten()
}

/// [`read_head`], telling a file that cannot be read (`Err`) from one that is not sniffed.
fn read_head_checked(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > SNIFF_MAX_FILE {
        return Ok(None);
    }
    let mut head = Vec::with_capacity(SNIFF_BYTES.min(meta.len() as usize));
    file.take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
    Ok(Some(head))
}

/// What a scan of a build context found.
#[derive(Debug, Default)]
pub struct ContextScan {
    /// Files that look like secrets.
    pub hits: Vec<SecretHit>,
    /// The first file whose head could not be read (relative path, why): the scan opens
    /// nearly every file anyway, so a file the user cannot read is found here at no cost.
    pub unreadable: Option<(String, std::io::Error)>,
}

/// Check every file in `rel_paths` (relative to `root`); files listed in `allowed` (relative to
/// `root`, or absolute) pass.
pub fn scan<'a>(
    root: &Path,
    rel_paths: impl IntoIterator<Item = &'a str>,
    allowed: &[PathBuf],
) -> Vec<SecretHit> {
    scan_with(root, rel_paths, allowed, true)
}

/// [`scan`], also noting the first file that cannot be read. Files refused by name, templates
/// and allowed files are not opened, so they are not checked for readability here.
pub fn scan_context<'a>(
    root: &Path,
    rel_paths: impl IntoIterator<Item = &'a str>,
    allowed: &[PathBuf],
) -> ContextScan {
    let mut unreadable = None;
    let hits = scan_paths(root, rel_paths, allowed, |rel| {
        match read_head_checked(&root.join(rel)) {
            Ok(head) => head,
            Err(err) => {
                unreadable.get_or_insert((rel.to_owned(), err));
                None
            }
        }
    });
    ContextScan { hits, unreadable }
}

/// [`scan`], with reading file heads switchable so `bench/secret-sniff.sh` can price it (without
/// it only the name rules run).
#[doc(hidden)]
pub fn scan_with<'a>(
    root: &Path,
    rel_paths: impl IntoIterator<Item = &'a str>,
    allowed: &[PathBuf],
    sniff_content: bool,
) -> Vec<SecretHit> {
    scan_paths(root, rel_paths, allowed, |rel| {
        if sniff_content {
            read_head(&root.join(rel))
        } else {
            None
        }
    })
}

/// Classify each path not in `allowed`, reading heads with `head`.
fn scan_paths<'a>(
    root: &Path,
    rel_paths: impl IntoIterator<Item = &'a str>,
    allowed: &[PathBuf],
    mut head: impl FnMut(&str) -> Option<Vec<u8>>,
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
        .filter_map(|rel| classify(rel, || head(rel)))
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
        classify(path, || Some(content.as_bytes().to_vec())).map(|h| h.ignore_line)
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

    /// `\n` and `\xNN` escapes of the table's content column.
    fn unescape(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match (bytes[i], bytes.get(i + 1)) {
                (b'\\', Some(b'n')) => {
                    out.push(b'\n');
                    i += 2;
                }
                (b'\\', Some(b'x')) => {
                    let hex = &text[i + 2..i + 4];
                    out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                    i += 4;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        out
    }

    #[test]
    fn data_table_of_names_contents_and_look_alikes() {
        let table = include_str!("../tests/data/secrets.tsv");
        let mut rows = 0;
        for line in table
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "{line}");
            let (path, content, want) = (cols[0], unescape(cols[1]), cols[2]);
            let got = classify(path, || Some(content.clone()));
            match (want, got) {
                ("-", None) => {}
                ("-", Some(hit)) => panic!("{path} must pass, refused as {}", hit.reason),
                (word, None) => panic!("{path} must be refused ({word}), passed"),
                (word, Some(hit)) => assert!(
                    hit.reason.contains(word),
                    "{path}: reason `{}` lacks `{word}`",
                    hit.reason
                ),
            }
            rows += 1;
        }
        assert!(rows >= 40, "{rows} rows");
    }

    #[test]
    fn only_the_head_of_small_regular_files_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("big.bin");
        std::fs::write(&big, vec![b'a'; (SNIFF_MAX_FILE + 1) as usize]).expect("write");
        assert_eq!(read_head(&big), None, "too big to sniff");
        let small = dir.path().join("small.txt");
        std::fs::write(&small, vec![b'b'; SNIFF_BYTES * 3]).expect("write");
        assert_eq!(read_head(&small).map(|h| h.len()), Some(SNIFF_BYTES));
        assert_eq!(read_head(dir.path()), None, "a directory is not sniffed");
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
    fn a_context_scan_names_the_first_file_it_cannot_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::write(root.join("a.txt"), "plain\n").expect("write");
        // Listed, then gone (or unreadable): the scan, which opens it for its head, says so.
        let found = scan_context(root, ["a.txt", "gone.txt", "also-gone.txt"], &[]);
        assert!(found.hits.is_empty());
        let (rel, err) = found.unreadable.expect("an unreadable file");
        assert_eq!(
            (rel.as_str(), err.kind()),
            ("gone.txt", std::io::ErrorKind::NotFound)
        );
        assert!(scan_context(root, ["a.txt"], &[]).unreadable.is_none());
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

/// The price of content sniffing on a large context, run by `bench/secret-sniff.sh` (ignored in
/// the suite: it prints figures and asserts no timings).
#[cfg(test)]
mod bench {
    use super::*;
    use crate::ignore::docker::{self, DockerIgnore, EntryKind};
    use std::time::{Duration, Instant};

    fn walk_and_scan(root: &Path, sniff_content: bool) -> (Duration, usize, usize) {
        let start = Instant::now();
        let entries = docker::context_entries(root, &DockerIgnore::empty(), &[]).expect("walk");
        let files: Vec<&str> = entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| e.rel_path.as_str())
            .collect();
        let hits = scan_with(root, files.iter().copied(), &[], sniff_content);
        (start.elapsed(), files.len(), hits.len())
    }

    #[test]
    #[ignore = "benchmark: bench/secret-sniff.sh"]
    fn context_walk_with_and_without_sniffing() {
        let Some(root) = std::env::var_os("STEVEDORE_BENCH_TREE") else {
            panic!("set STEVEDORE_BENCH_TREE to the tree to walk");
        };
        let root = PathBuf::from(root);
        let runs: usize = std::env::var("STEVEDORE_BENCH_RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(5);
        walk_and_scan(&root, true); // warm the page cache for both sides alike
        let (mut names, mut sniffed) = (Vec::new(), Vec::new());
        let (mut files, mut hits) = (0, (0, 0));
        for _ in 0..runs {
            let (t, n, h) = walk_and_scan(&root, false);
            names.push(t);
            hits.0 = h;
            let (t, _, h) = walk_and_scan(&root, true);
            sniffed.push(t);
            hits.1 = h;
            files = n;
        }
        names.sort();
        sniffed.sort();
        let (a, b) = (names[runs / 2], sniffed[runs / 2]);
        println!(
            "files={files} runs={runs} names-only median={:.3}s (hits {}) sniffing median={:.3}s (hits {}) ratio={:.2}",
            a.as_secs_f64(),
            hits.0,
            b.as_secs_f64(),
            hits.1,
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}
