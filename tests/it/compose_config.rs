//! stevedore's compose loader against Debian's docker-compose 1.29 `config` on the same files:
//! the resolved values of each service must agree (merge keys at any depth, lists of merges,
//! override files, `extends` chains within a file and across files, profiles).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::{repo_root, unavailable};

/// Cases of `tests/data/compose/` whose resolved services both tools must agree on: the files
/// (`-f` each, in order) and the active profiles.
const CASES: &[(&[&str], &[&str])] = &[
    (&["merge_nested.yml"], &[]),
    (&["merge_keys.yml"], &[]),
    (&["loader/tracker.yml"], &["monitoring"]),
    (&["loader/tracker.yml"], &["attachments", "debug"]),
    (
        &["loader/override_base.yml", "loader/parts/override_prod.yml"],
        &[],
    ),
    (&["loader/extends_chain.yml"], &[]),
    (&["extends.yml"], &[]),
];

/// The keys compared, in the form both tools print.
const KEYS: [&str; 8] = [
    "image",
    "restart",
    "user",
    "working_dir",
    "labels",
    "environment",
    "command",
    "entrypoint",
];

fn theirs(paths: &[PathBuf], profiles: &[&str]) -> Option<Value> {
    let mut command = Command::new("docker-compose");
    for path in paths {
        command.arg("-f").arg(path);
    }
    for profile in profiles {
        command.args(["--profile", profile]);
    }
    let out = match command.arg("config").output() {
        Ok(out) => out,
        Err(err) => {
            unavailable(
                "docker-compose",
                &format!("install Debian's docker-compose: {err}"),
            );
            return None;
        }
    };
    assert!(
        out.status.success(),
        "docker-compose config {paths:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_norway::from_slice(&out.stdout).expect("docker-compose prints YAML"))
}

#[test]
fn resolved_services_match_docker_compose_config() {
    for (files, profiles) in CASES {
        let dir = repo_root().join("tests/data/compose");
        let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
        let Some(theirs) = theirs(&paths, profiles) else {
            return;
        };
        let none = |_: &str| None;
        let active: Vec<String> = profiles.iter().map(|p| (*p).to_owned()).collect();
        let ours = stevedore::compose::load_project(&stevedore::compose::Request {
            targeted: &[],
            files: &paths,
            vars: &none,
            profiles: Some(&active),
            read_env_files: true,
        })
        .expect("stevedore loads it");
        let ours = serde_json::to_value(&ours).expect("json");
        let services = theirs["services"].as_object().expect("services");
        assert!(!services.is_empty(), "{files:?}");
        for (service, expected) in services {
            // docker-compose 1.29 `config` lists every service whatever its profiles; the
            // model holds only those the active profiles turn on.
            let enabled = expected["profiles"].as_array().is_none_or(|p| {
                p.iter()
                    .any(|p| profiles.contains(&p.as_str().unwrap_or("")))
            });
            let got = &ours["services"][service];
            assert_eq!(
                got.is_object(),
                enabled,
                "{files:?}: services.{service} enabled"
            );
            if !enabled {
                continue;
            }
            for key in KEYS {
                let want = &expected[key];
                let got = &got[key];
                assert_eq!(got, want, "{files:?}: services.{service}.{key}");
            }
        }
    }
}
