//! stevedore's compose loader against Debian's docker-compose 1.29 `config` on the same files:
//! the resolved values of each service must agree (merge keys at any depth, lists of merges).

use std::process::Command;

use serde_json::Value;

use crate::support::{repo_root, unavailable};

/// Files of `tests/data/compose/` whose resolved services both tools must agree on.
const FILES: [&str; 2] = ["merge_nested.yml", "merge_keys.yml"];

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

fn theirs(path: &std::path::Path) -> Option<Value> {
    let out = match Command::new("docker-compose")
        .arg("-f")
        .arg(path)
        .arg("config")
        .output()
    {
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
        "docker-compose config {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_norway::from_slice(&out.stdout).expect("docker-compose prints YAML"))
}

#[test]
fn resolved_services_match_docker_compose_config() {
    for name in FILES {
        let path = repo_root().join("tests/data/compose").join(name);
        let Some(theirs) = theirs(&path) else { return };
        let none = |_: &str| None;
        let ours = stevedore::compose::load(&path, &none).expect("stevedore loads it");
        let ours = serde_json::to_value(&ours).expect("json");
        let services = theirs["services"].as_object().expect("services");
        assert!(!services.is_empty(), "{name}");
        for (service, expected) in services {
            for key in KEYS {
                let want = &expected[key];
                let got = &ours["services"][service][key];
                assert_eq!(got, want, "{name}: services.{service}.{key}");
            }
        }
    }
}
