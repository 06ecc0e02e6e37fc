//! `stevedore publish`: push to a real registry, record the verified digest, push only the
//! release branch and tag; failures exit 5 and record nothing.

use std::path::Path;

use crate::support::Project;
use crate::support::docker::{self, Cleanup, unique};
use crate::support::registry::Registry;

use crate::support::git as git_in;

/// A released demo project (prod, 1.0.0) whose repository is on `registry` and whose `origin`
/// is a bare repository; `auth` writes a Docker config for the registry.
pub(crate) struct Setup {
    pub(crate) project: Project,
    pub(crate) remote: tempfile::TempDir,
    pub(crate) name: String,
    _cleanup: Cleanup,
}

pub(crate) fn released(registry: &Registry, auth: Option<(&str, &str)>) -> Setup {
    released_at(&registry.host(), auth, &[])
}

/// [`released`] for a registry reached as `host` (e.g. an ECR-shaped name mapped to loopback).
pub(crate) fn released_at(host: &str, auth: Option<(&str, &str)>, env: &[(&str, String)]) -> Setup {
    let name = unique("it-pub");
    let repository = format!("{host}/{name}");
    let mut cleanup = Cleanup::default();
    for service in ["app", "proxy"] {
        cleanup.image(&format!("{name}-{service}:prod"));
    }
    for tag in ["1.0.0", "prod"] {
        cleanup.image(&format!("{repository}:{tag}"));
        cleanup.image(&format!("{repository}-proxy:{tag}"));
    }
    let mut project = Project::demo()
        .env("STEVEDORE_PROJECT_NAME", &name)
        .env("STEVEDORE_REPOSITORY", &repository)
        .git_init();
    for (key, value) in env {
        project = project.env(key, value);
    }
    if let Some((user, password)) = auth {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        project = project.home_file(
            ".docker/config.json",
            &format!("{{\"auths\":{{\"{host}\":{{\"auth\":\"{token}\"}}}}}}"),
        );
    }
    let remote = tempfile::tempdir().expect("remote dir");
    git_in(remote.path(), &["init", "-q", "--bare"]);
    git_in(
        &project.root(),
        &[
            "remote",
            "add",
            "origin",
            remote.path().to_str().expect("utf8"),
        ],
    );
    // An older tag that must not be pushed (the original pushed every tag).
    git_in(&project.root(), &["tag", "unrelated-tag"]);
    project.run(["image", "build", "prod"]).success();
    project.run(["release", "prod", "1.0.0"]).success();
    Setup {
        project,
        remote,
        name,
        _cleanup: cleanup,
    }
}

pub(crate) fn tag_message(project: &Project) -> String {
    git_in(
        &project.root(),
        &["tag", "-l", "--format=%(contents)", "v1.0.0"],
    )
}

pub(crate) fn remote_refs(remote: &Path) -> Vec<String> {
    let mut refs: Vec<String> = git_in(remote, &["for-each-ref", "--format=%(refname)"])
        .lines()
        .map(str::to_owned)
        .collect();
    refs.sort();
    refs
}

/// Each push's progress bar has one total from its first event to its last, and its position
/// only moves forward, ending full.
fn check_progress_moves_forward(lines: &[serde_json::Value]) {
    let mut bars: std::collections::BTreeMap<String, Vec<(u64, u64)>> = Default::default();
    for line in lines.iter().filter(|l| l["event"] == "progress") {
        let id = line["id"].as_str().expect("progress id").to_owned();
        let current = line["current"].as_u64().expect("current");
        let total = line["total"].as_u64().expect("total");
        bars.entry(id).or_default().push((current, total));
    }
    assert!(!bars.is_empty(), "publish reports push progress");
    for (id, positions) in &bars {
        let total = positions[0].1;
        assert!(total > 0, "{id}: {positions:?}");
        assert!(
            positions.iter().all(|(_, t)| *t == total),
            "{id}: the total moved: {positions:?}"
        );
        assert!(
            positions.windows(2).all(|w| w[0].0 <= w[1].0),
            "{id}: went backwards: {positions:?}"
        );
        assert_eq!(
            positions.last().map(|p| p.0),
            Some(total),
            "{id}: ends full"
        );
    }
}

pub(crate) fn check_published(registry: &Registry, setup: &Setup) {
    let p = &setup.project;
    let out = p.run(["--json", "publish", "prod", "1.0.0"]).success();
    check_progress_moves_forward(&out.json_lines());
    let digests = out.summary()["data"]["digests"].clone();
    let app = digests
        .as_array()
        .and_then(|d| d.iter().find(|d| d["service"] == "app").cloned())
        .expect("app digest");
    let registry_digest = registry
        .manifest_digest(&setup.name, "1.0.0")
        .expect("manifest in registry");
    let recorded = format!("{}/{}@{registry_digest}", registry.host(), setup.name);
    assert_eq!(app["pinned"], recorded.as_str());
    // The record is in the tag, where deploy and a fresh clone find it.
    assert!(
        tag_message(p).contains(&format!("Digests:\n  app {recorded}")),
        "{}",
        tag_message(p)
    );
    assert!(
        registry
            .manifest_digest(&format!("{}-proxy", setup.name), "1.0.0")
            .is_some()
    );
    assert!(
        registry.manifest_digest(&setup.name, "prod").is_some(),
        "env tag pushed too"
    );
    assert_eq!(
        remote_refs(setup.remote.path()),
        vec![
            "refs/heads/release-v1.0".to_owned(),
            "refs/tags/v1.0.0".to_owned()
        ]
    );
    // A fresh clone reads the same digest from the pushed tag.
    let clone = tempfile::tempdir().expect("clone dir");
    git_in(
        clone.path(),
        &[
            "clone",
            "-q",
            setup.remote.path().to_str().expect("utf8"),
            "c",
        ],
    );
    let cloned = git_in(
        &clone.path().join("c"),
        &["tag", "-l", "--format=%(contents)", "v1.0.0"],
    );
    assert!(cloned.contains(&recorded), "{cloned}");
    // Publishing again changes nothing.
    p.run(["publish", "prod", "1.0.0"]).success();
    assert_eq!(remote_refs(setup.remote.path()).len(), 2);
}

#[test]
fn publishes_to_an_open_registry_and_records_the_verified_digest() {
    if !docker::ready() {
        return;
    }
    let Some(registry) = Registry::start() else {
        return;
    };
    let setup = released(&registry, None);
    check_published(&registry, &setup);
}

/// bollard encodes X-Registry-Auth with the standard base64 alphabet; these characters make the
/// daemon drop the header unless stevedore re-encodes it (rust-deps.md §1.4).
#[test]
fn publishes_with_a_password_holding_tilde_question_mark_and_greater_than() {
    if !docker::ready() {
        return;
    }
    let password = "p~ss?w>rd~?>";
    let Some(registry) = Registry::start_with_auth("ci", password) else {
        return;
    };
    let setup = released(&registry, Some(("ci", password)));
    check_published(&registry, &setup);
}

#[test]
fn a_wrong_password_exits_5_and_records_nothing() {
    if !docker::ready() {
        return;
    }
    let Some(registry) = Registry::start_with_auth("ci", "right-password") else {
        return;
    };
    let setup = released(&registry, Some(("ci", "wrong-password")));
    let out = setup.project.run(["publish", "prod", "1.0.0"]).code(5);
    out.stderr_has(&format!("docker login {}", registry.host()))
        .nowhere("wrong-password");
    assert!(
        !tag_message(&setup.project).contains("Digests:"),
        "nothing recorded"
    );
    assert!(
        remote_refs(setup.remote.path()).is_empty(),
        "nothing pushed to git"
    );
}

#[test]
fn a_registry_that_is_down_exits_5() {
    if !docker::ready() {
        return;
    }
    let Some(registry) = Registry::start() else {
        return;
    };
    let setup = released(&registry, None);
    drop(registry);
    setup
        .project
        .run(["publish", "prod", "1.0.0"])
        .code(5)
        .stderr_has("connection refused");
    assert!(!tag_message(&setup.project).contains("Digests:"));
    assert!(remote_refs(setup.remote.path()).is_empty());
}

#[test]
fn an_unreleased_version_is_exit_3() {
    Project::demo()
        .env("STEVEDORE_REPOSITORY", "127.0.0.1:1/x")
        .git_init()
        .run(["publish", "prod", "9.9.9"])
        .code(3)
        .stderr_has("run `stevedore release prod 9.9.9` first");
}

#[test]
fn publishes_with_credentials_from_a_cred_helpers_entry() {
    if !docker::ready() {
        return;
    }
    let password = format!("pw-{}", unique("helper"));
    let Some(registry) = Registry::start_with_auth("ci", &password) else {
        return;
    };
    let helper = crate::support::registry::credential_helper("stevedore-it", "ci", &password);
    let path = format!(
        "{}:{}",
        helper.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let setup = released_at(&registry.host(), None, &[("PATH", path)]);
    std::fs::create_dir_all(setup.project.home().join(".docker")).expect("mkdir");
    std::fs::write(
        setup.project.home().join(".docker/config.json"),
        format!(
            r#"{{"credHelpers":{{"{}":"stevedore-it"}}}}"#,
            registry.host()
        ),
    )
    .expect("config.json");
    check_published(&registry, &setup);
}
