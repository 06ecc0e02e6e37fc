//! The secret guard: files that must not leave the machine in a build context or a bundle.
//!
//! dockdj baked `environments/*/.env` into images pushed to a public registry; stevedore
//! refuses instead, naming each file, the rule that caught it and the ignore line that would
//! keep it out. A user can still send a file on purpose with `--allow-secret PATH` (per file).
//!
//! Two kinds of rule: by name (`.env`, `server.key`, `kubeconfig`, `.netrc` ...) and by content
//! (private key headers, AWS key pairs, service-account JSON, keystore magic bytes). Content
//! rules read only the first [`SNIFF_BYTES`] of files up to [`SNIFF_MAX_FILE`], so the context
//! walk stays cheap on large trees (see BENCHMARKS.md, "Secret sniffing").

use std::io::Read;
use std::path::{Path, PathBuf};

/// How much of a file the content rules look at.
pub const SNIFF_BYTES: usize = 4096;
/// Files larger than this are judged by name only: secrets are small files, and opening every
/// large asset would slow the context stream for nothing.
pub const SNIFF_MAX_FILE: u64 = 1024 * 1024;
/// Registry configs (`.npmrc`, `.pypirc`) are read further, since a token may sit anywhere.
const CONFIG_READ_BYTES: usize = 64 * 1024;

/// A file that looks like a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHit {
    /// Path relative to the root being sent, `/`-separated.
    pub rel_path: String,
    /// The rule that caught it, e.g. `name:kubeconfig` or `content:openssh-key`.
    pub rule: &'static str,
    /// Why it counts as a secret.
    pub reason: &'static str,
    /// An ignore-file line that would exclude it.
    pub ignore_line: String,
}

/// Files whose name marks them as templates, never secrets.
const TEMPLATE_SUFFIXES: &[&str] = &[".example", ".sample", ".template", ".dist"];

/// Exact file names that hold credentials: (name, rule, reason).
const SECRET_NAMES: &[(&str, &str, &str)] = &[
    ("server.key", "name:key-file", "a private key file"),
    ("master.key", "name:rails-master-key", "a Rails master key"),
    (
        "credentials.json",
        "name:credentials-json",
        "a credentials file (cloud service account or OAuth client)",
    ),
    ("secrets.json", "name:secrets-file", "a secrets file"),
    ("secrets.yml", "name:secrets-file", "a secrets file"),
    ("secrets.yaml", "name:secrets-file", "a secrets file"),
    ("kubeconfig", "name:kubeconfig", "a Kubernetes kubeconfig (cluster credentials)"),
    (".git-credentials", "name:git-credentials", "stored git credentials"),
    (".netrc", "name:netrc", "a .netrc (login passwords)"),
    ("_netrc", "name:netrc", "a .netrc (login passwords)"),
    (".pgpass", "name:pgpass", "a PostgreSQL password file"),
    (
        "terraform.tfstate",
        "name:terraform-state",
        "Terraform state (holds resource secrets in plain text)",
    ),
    (
        "terraform.tfstate.backup",
        "name:terraform-state",
        "Terraform state (holds resource secrets in plain text)",
    ),
    (".vault-token", "name:vault-token", "a HashiCorp Vault token"),
    (".envrc", "name:envrc", "a direnv .envrc (exported secrets)"),
    (".htpasswd", "name:htpasswd", "an .htpasswd (password hashes)"),
];

/// File extensions that hold private keys or keystores: (extension, rule, reason).
const SECRET_EXTENSIONS: &[(&str, &str, &str)] = &[
    (".pem", "name:pem", "a PEM key or certificate"),
    (".key", "name:key-file", "a private key file"),
    (".ppk", "name:putty-key", "a PuTTY private key"),
    (".p12", "name:keystore", "a PKCS#12 keystore"),
    (".pfx", "name:keystore", "a PKCS#12 keystore"),
    (".jks", "name:keystore", "a Java keystore"),
    (".jceks", "name:keystore", "a Java keystore"),
    (".keystore", "name:keystore", "a Java keystore"),
    (".tfstate", "name:terraform-state", "Terraform state (holds resource secrets in plain text)"),
];

/// Classify one file. `read(n)` gives up to `n` leading bytes of its content (or `None` when it
/// cannot or should not be read); it is called at most twice, only when a name rule needs the
/// content or no name rule matched.
pub fn classify(
    rel_path: &str,
    mut read: impl FnMut(usize) -> Option<Vec<u8>>,
) -> Option<SecretHit> {
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    let hit = |rule, reason, ignore_line: String| {
        Some(SecretHit {
            rel_path: rel_path.to_owned(),
            rule,
            reason,
            ignore_line,
        })
    };
    if TEMPLATE_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return None;
    }
    if is_env_file(name) {
        let line = if is_env_dir_dotenv(rel_path) {
            "environments/*/.env".to_owned()
        } else {
            format!("**/{name}")
        };
        return hit("name:dotenv", "a .env file (runtime secrets)", line);
    }
    if let Some((_, rule, reason)) = SECRET_NAMES.iter().find(|(n, _, _)| *n == name) {
        return hit(rule, reason, format!("**/{name}"));
    }
    if let Some((ext, rule, reason)) = SECRET_EXTENSIONS
        .iter()
        .find(|(ext, _, _)| name.len() > ext.len() && name.ends_with(ext))
    {
        return hit(rule, reason, format!("**/*{ext}"));
    }
    for key in ["id_rsa", "id_ed25519", "id_ecdsa", "id_dsa", "deploy_key"] {
        if name.starts_with(key) && !name.ends_with(".pub") {
            return hit("name:ssh-key", "an SSH private key", format!("**/{key}*"));
        }
    }
    if rel_path == ".aws/credentials" || rel_path.ends_with("/.aws/credentials") {
        return hit("name:aws-credentials", "AWS credentials", "**/.aws".into());
    }
    if rel_path == ".docker/config.json" || rel_path.ends_with("/.docker/config.json") {
        return hit(
            "name:docker-config",
            "Docker registry credentials",
            "**/.docker".into(),
        );
    }
    if rel_path == ".kube/config" || rel_path.ends_with("/.kube/config") {
        return hit(
            "name:kubeconfig",
            "a Kubernetes kubeconfig (cluster credentials)",
            "**/.kube".into(),
        );
    }
    if matches!(name, ".npmrc" | ".pypirc") {
        let token = read(CONFIG_READ_BYTES)
            .is_some_and(|bytes| holds_token(&String::from_utf8_lossy(&bytes)));
        return if token {
            hit(
                "content:registry-token",
                "a package-registry config holding a token",
                format!("**/{name}"),
            )
        } else {
            None
        };
    }
    let head = read(SNIFF_BYTES)?;
    let (rule, reason) = sniff(&head)?;
    hit(rule, reason, rel_path.to_owned())
}

/// The content rules, on the first bytes of a file: (rule, reason) of the first that matches.
///
/// Every rule is gated by a byte search for its marker, so a file that holds none (nearly all of
/// them) costs a few `memmem` passes over at most [`SNIFF_BYTES`].
pub fn sniff(head: &[u8]) -> Option<(&'static str, &'static str)> {
    use memchr::memmem::find;
    if head.starts_with(&[0xFE, 0xED, 0xFE, 0xED]) || head.starts_with(&[0xCE, 0xCE, 0xCE, 0xCE])
    {
        return Some(("content:keystore", "a Java keystore (by its magic bytes)"));
    }
    if is_pkcs12(head) {
        return Some(("content:keystore", "a PKCS#12 keystore (by its DER header)"));
    }
    if head.starts_with(b"PuTTY-User-Key-File-") {
        return Some(("content:putty-key", "a PuTTY private key"));
    }
    if find(head, b"PRIVATE KEY").is_some()
        && let Some(kind) = pem_private_key(&String::from_utf8_lossy(head))
    {
        return Some(kind);
    }
    if find(head, b"\"service_account\"").is_some() && find(head, b"\"private_key\"").is_some() {
        return Some((
            "content:service-account",
            "a cloud service-account key (JSON with a private_key)",
        ));
    }
    if find(head, b"kind: Config").is_some()
        && [&b"client-key-data:"[..], b"token:", b"password:"]
            .iter()
            .any(|k| find(head, k).is_some())
    {
        return Some((
            "content:kubeconfig",
            "a Kubernetes kubeconfig (cluster credentials)",
        ));
    }
    if (find(head, b"AKIA").is_some() || find(head, b"ASIA").is_some())
        && aws_key_pair(&String::from_utf8_lossy(head))
    {
        return Some((
            "content:aws-key-pair",
            "an AWS access key id with its secret key",
        ));
    }
    None
}

/// PKCS#12 (`.p12`/`.pfx`): a DER SEQUENCE whose first member is `INTEGER 3` (the PFX version).
fn is_pkcs12(head: &[u8]) -> bool {
    let rest = match head {
        [0x30, 0x80, rest @ ..] => rest,
        [0x30, 0x81, _, rest @ ..] => rest,
        [0x30, 0x82, _, _, rest @ ..] => rest,
        [0x30, 0x83, _, _, _, rest @ ..] => rest,
        _ => return false,
    };
    rest.starts_with(&[0x02, 0x01, 0x03, 0x30])
}

/// `-----BEGIN … PRIVATE KEY-----` (or a PGP private key block) followed by key material, not
/// merely the header string inside source code that parses keys.
fn pem_private_key(text: &str) -> Option<(&'static str, &'static str)> {
    let mut from = 0;
    while let Some(at) = text[from..].find("-----BEGIN ") {
        let start = from + at + "-----BEGIN ".len();
        from = start;
        let Some(end) = text[start..].find("-----") else {
            break;
        };
        let label = &text[start..start + end];
        if label.len() > 40 || !(label.ends_with("PRIVATE KEY") || label == "PGP PRIVATE KEY BLOCK")
        {
            continue;
        }
        let body = &text[start + end + "-----".len()..];
        if !followed_by_key_material(body) {
            continue;
        }
        return Some(match label {
            "OPENSSH PRIVATE KEY" => ("content:openssh-key", "an OpenSSH private key"),
            "PGP PRIVATE KEY BLOCK" => ("content:pgp-key", "a PGP private key"),
            _ => ("content:pem-private-key", "a PEM private key"),
        });
    }
    None
}

/// After a PEM header: optional whitespace or escaped newlines (a key inside JSON or YAML), then
/// either encryption headers or a run of base64.
fn followed_by_key_material(body: &str) -> bool {
    let mut rest = body;
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        let trimmed = trimmed
            .strip_prefix("\\r")
            .or_else(|| trimmed.strip_prefix("\\n"))
            .unwrap_or(trimmed);
        if trimmed.len() == rest.len() {
            break;
        }
        rest = trimmed;
    }
    if rest.starts_with("Proc-Type:") || rest.starts_with("Version:") {
        return true;
    }
    rest.bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        .count()
        >= 32
}

/// An access key id (`AKIA…`/`ASIA…`, 20 characters) and a 40-character secret key in the same
/// head. AWS's documentation pair (ending in `EXAMPLE`) passes, as does an id alone (a log line,
/// a policy) or an id beside a git hash.
fn aws_key_pair(text: &str) -> bool {
    let tokens: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '+'))
        .filter(|t| !t.is_empty())
        .collect();
    let id = tokens.iter().any(|t| {
        t.len() == 20
            && (t.starts_with("AKIA") || t.starts_with("ASIA"))
            && t.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && !t.ends_with("EXAMPLE")
    });
    id && tokens.iter().any(|t| {
        t.len() == 40
            && t.bytes().any(|b| b.is_ascii_lowercase())
            && t.bytes().any(|b| b.is_ascii_uppercase())
            && t.bytes().any(|b| b.is_ascii_digit() || b == b'/' || b == b'+')
            && !t.ends_with("EXAMPLEKEY")
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

/// Up to `limit` leading bytes of `path`, or `None` for a file over [`SNIFF_MAX_FILE`] (judged
/// by name only) or one that cannot be read (the archiver reports that, naming the file).
pub fn read_head(path: &Path, limit: usize) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > SNIFF_MAX_FILE {
        return None;
    }
    let mut head = Vec::with_capacity(limit.min(meta.len() as usize));
    file.take(limit as u64).read_to_end(&mut head).ok()?;
    Some(head)
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

/// [`scan`], with content sniffing switchable so the benchmark can price it.
#[doc(hidden)]
pub fn scan_with<'a>(
    root: &Path,
    rel_paths: impl IntoIterator<Item = &'a str>,
    allowed: &[PathBuf],
    sniff_content: bool,
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
        .filter(|rel| allowed.is_empty() || !allowed.contains(&normalise(&root.join(rel))))
        .filter_map(|rel| {
            classify(rel, |limit| {
                if sniff_content || limit == CONFIG_READ_BYTES {
                    read_head(&root.join(rel), limit)
                } else {
                    None
                }
            })
        })
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
            "  {} — {} (rule {}); add `{}` to {ignore_file}\n",
            hit.rel_path, hit.reason, hit.rule, hit.ignore_line
        ));
    }
    text.push_str(
        "Exclude them, or pass --allow-secret <PATH> (once per file) for a file that must be sent.",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tests/data/secrets_cases.tsv`: path, content (escaped), expected rule or `-`.
    const CASES: &str = include_str!("../tests/data/secrets_cases.tsv");

    /// `\n`, `\r`, `\t`, `\\`, `\"` and `\xNN` escapes, so binary magic and multi-line keys fit on one row.
    fn unescape(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\\' && i + 1 < bytes.len() {
                match bytes[i + 1] {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'\\' => out.push(b'\\'),
                    b'"' => out.push(b'"'),
                    b'x' => {
                        let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).expect("hex");
                        out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                        i += 4;
                        continue;
                    }
                    other => panic!("unknown escape \\{}", other as char),
                }
                i += 2;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn table() {
        let mut rows = 0;
        let (mut caught, mut passed) = (0, 0);
        for line in CASES.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "row needs 3 TAB-separated columns: {line}");
            let (path, content, want) = (cols[0], unescape(cols[1]), cols[2]);
            let got = classify(path, |limit| {
                Some(content[..content.len().min(limit)].to_vec())
            });
            let got_rule = got.as_ref().map_or("-", |h| h.rule);
            assert_eq!(got_rule, want, "{path}: content {:?}", cols[1]);
            if want == "-" {
                passed += 1;
            } else {
                caught += 1;
            }
            rows += 1;
        }
        assert!(rows >= 40, "the table holds {rows} cases");
        assert!(caught >= 20 && passed >= 15, "{caught} caught, {passed} look-alikes");
    }

    #[test]
    fn content_past_the_sniff_window_is_not_read() {
        let mut content = vec![b' '; SNIFF_BYTES];
        content.extend_from_slice(b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n");
        let got = classify("notes.txt", |limit| {
            Some(content[..content.len().min(limit)].to_vec())
        });
        assert_eq!(got, None);
        let got = classify("notes.txt", |_| Some(content.clone()));
        assert_eq!(got.map(|h| h.rule), Some("content:openssh-key"));
    }

    #[test]
    fn files_on_disk_are_sniffed_and_large_ones_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let key = b"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4UbaDzY5Qd6w0fFbGkzQ7cJmZ9\n";
        std::fs::write(root.join("backup.txt"), key).expect("write");
        let mut big = key.to_vec();
        big.resize(SNIFF_MAX_FILE as usize + 1, b'A');
        std::fs::write(root.join("big.bin"), &big).expect("write");
        let hits = scan(root, ["backup.txt", "big.bin"], &[]);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].rel_path, "backup.txt");
        assert_eq!(hits[0].rule, "content:pem-private-key");
        assert_eq!(hits[0].ignore_line, "backup.txt");
        assert!(scan_with(root, ["backup.txt"], &[], false).is_empty());
        assert!(scan(root, ["backup.txt"], &[PathBuf::from("backup.txt")]).is_empty());
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
        // The opt-in is per file: allowing one leaves the other refused.
        let hits = scan(root, files, &allowed[..1]);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].rel_path, "app/.env");
    }

    #[test]
    fn description_names_file_rule_and_fix() {
        let hits = vec![SecretHit {
            rel_path: "environments/prod/.env".into(),
            rule: "name:dotenv",
            reason: "a .env file (runtime secrets)",
            ignore_line: "environments/*/.env".into(),
        }];
        let text = describe(&hits, ".dockerignore", "the build context of app");
        assert!(text.contains("environments/prod/.env"));
        assert!(text.contains("rule name:dotenv"));
        assert!(text.contains("add `environments/*/.env` to .dockerignore"));
        assert!(text.contains("--allow-secret"));
    }
}

/// The price of content sniffing on a large context, run by `bench/secret-sniff.sh` (ignored in
/// the suite: it prints figures, it asserts no timings).
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
            let (t, n2, h) = walk_and_scan(&root, true);
            sniffed.push(t);
            hits.1 = h;
            files = n.max(n2);
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

