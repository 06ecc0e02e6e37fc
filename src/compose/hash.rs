//! A service's configuration hash, stored as a container label so `start` can tell whether a
//! running container still matches the file (recreate only when it doesn't).
//!
//! Included: everything that shapes the container — image, command, entrypoint, the resolved
//! environment (env files and `environment:` together, so moving a variable between them
//! changes nothing), ports, expose, mounts, volumes_from, links, external links, health check,
//! working dir, user, restart policy, labels, tty, stdin_open, container name, hostname,
//! networks and the runtime keys (capabilities, namespaces, resources, logging, secrets, …;
//! absent from the hashed form when a service uses none, so older containers keep their hash).
//! Left out, as Compose leaves them out: `build` (a rebuilt image has a new image ID, which the
//! caller compares separately), `depends_on` (start order, not container configuration), and
//! `env_file` paths and the unresolved `environment` (their effect is in the resolved
//! environment). Map order does not matter; list order does (it does for Docker).

use serde::Serialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::Service;

/// Bumped when the hashed form changes on purpose, so every container is recreated once.
const HASH_VERSION: &str = "stevedore-compose-hash-v1";

/// The hashed view of a service: references only, serialised like the model.
#[derive(Serialize)]
struct Hashed<'a> {
    image: &'a Option<String>,
    command: &'a Option<Vec<String>>,
    entrypoint: &'a Option<Vec<String>>,
    environment: &'a indexmap::IndexMap<String, String>,
    ports: &'a [super::PortMapping],
    expose: &'a [super::ExposedPort],
    volumes: &'a [super::Mount],
    volumes_from: &'a [super::VolumesFrom],
    links: &'a [super::Link],
    external_links: &'a [super::ExternalLink],
    healthcheck: &'a Option<super::Healthcheck>,
    working_dir: &'a Option<String>,
    user: &'a Option<String>,
    restart: &'a Option<super::Restart>,
    labels: &'a indexmap::IndexMap<String, String>,
    tty: bool,
    stdin_open: bool,
    container_name: &'a Option<String>,
    hostname: &'a Option<String>,
    networks: &'a indexmap::IndexMap<String, super::ServiceNetwork>,
    /// Left out when empty, so services that use none of it keep their hash.
    #[serde(skip_serializing_if = "no_runtime")]
    runtime: &'a super::runtime::Runtime,
}

fn no_runtime(runtime: &&super::runtime::Runtime) -> bool {
    runtime.is_empty()
}

/// The sha256 (lowercase hex) of the service's canonical JSON form.
pub(crate) fn config_hash(service: &Service) -> String {
    let hashed = Hashed {
        image: &service.image,
        command: &service.command,
        entrypoint: &service.entrypoint,
        environment: &service.resolved_environment,
        ports: &service.ports,
        expose: &service.expose,
        volumes: &service.volumes,
        volumes_from: &service.volumes_from,
        links: &service.links,
        external_links: &service.external_links,
        healthcheck: &service.healthcheck,
        working_dir: &service.working_dir,
        user: &service.user,
        restart: &service.restart,
        labels: &service.labels,
        tty: service.tty,
        stdin_open: service.stdin_open,
        container_name: &service.container_name,
        hostname: &service.hostname,
        networks: &service.networks,
        runtime: &service.runtime,
    };
    let mut canonical = String::from(HASH_VERSION);
    canonical.push('\n');
    // Serialising plain data with string keys cannot fail; should it ever, hashing the
    // version alone would make every service look changed, which is the safe direction.
    if let Ok(json) = serde_json::to_value(&hashed) {
        write_canonical(&json, &mut canonical);
    }
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// JSON with object keys sorted at every level, so map order never changes the hash.
fn write_canonical(value: &Json, out: &mut String) {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::parse;

    fn hash_of(text: &str, vars: &dyn Fn(&str) -> Option<String>) -> String {
        let file =
            parse(text, Path::new("/p/docker-compose.yml"), vars).unwrap_or_else(|e| panic!("{e}"));
        file.config_hash("web").unwrap_or_else(|| panic!("no web"))
    }

    const BASE: &str = "services:\n  web:\n    image: nginx\n    environment:\n      A: '1'\n      B: two\n    labels: {x: '1', y: '2'}\n    depends_on: [db]\n  db: {image: postgres}\n";

    #[test]
    fn stable_for_the_same_definition() {
        let none = |_: &str| None;
        let first = hash_of(BASE, &none);
        assert_eq!(first, hash_of(BASE, &none));
        assert_eq!(first.len(), 64);
        assert!(first.chars().all(|c| c.is_ascii_hexdigit()));
        // Map order, formatting and comments don't matter.
        let reordered = "# same\nservices:\n  db: {image: postgres}\n  web:\n    labels: {y: '2', x: '1'}\n    environment: [B=two, A=1]\n    image: nginx\n    depends_on: {db: {condition: service_healthy}}\n";
        assert_eq!(first, hash_of(reordered, &none));
    }

    #[test]
    fn changes_when_the_environment_changes() {
        let none = |_: &str| None;
        let base = hash_of(BASE, &none);
        assert_ne!(base, hash_of(&BASE.replace("B: two", "B: three"), &none));
        assert_ne!(
            base,
            hash_of(&BASE.replace("B: two", "B: two\n      C: ''"), &none)
        );
        // A value from the variable source counts too.
        let interpolated = BASE.replace("B: two", "B: ${TAG}");
        let two = |name: &str| (name == "TAG").then(|| "two".to_owned());
        let three = |name: &str| (name == "TAG").then(|| "three".to_owned());
        assert_eq!(base, hash_of(&interpolated, &two));
        assert_ne!(base, hash_of(&interpolated, &three));
    }

    #[test]
    fn changes_with_container_settings_but_not_with_order_only_keys() {
        let none = |_: &str| None;
        let base = hash_of(BASE, &none);
        assert_ne!(
            base,
            hash_of(&BASE.replace("image: nginx", "image: nginx:1.25"), &none)
        );
        assert_ne!(
            base,
            hash_of(
                &BASE.replace("image: nginx", "image: nginx\n    ports: ['80:80']"),
                &none
            )
        );
        assert_eq!(
            base,
            hash_of(&BASE.replace("depends_on: [db]", "depends_on: []"), &none)
        );
    }
}
