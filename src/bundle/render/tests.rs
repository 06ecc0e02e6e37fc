//! Rendering tables: a compose file in, the run file's JSON or YAML out.

use serde_json::{Value, json};

use super::{RenderInput, render};
use crate::bundle::{BundleFormat, ImagePins, S3Ref, compose_raw};

const DIGEST_APP: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const DIGEST_PROXY: &str =
    "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// The demo's prod file, plus the shapes a real project has.
const PROD: &str = r#"
services:
  app:
    build:
      context: ../../..
      dockerfile: docker/app/prod/Dockerfile
    env_file: ../../../environments/prod/.env
    environment:
      ENV_NAME: prod
      DATABASE_URL: ${DATABASE_URL}
      FROM_SHELL:
      PRICE: "5$$"
    mem_limit: 512m
    volumes:
      - ../../../app/dist:/var/app/app/dist:ro
      - data:/data
    restart: unless-stopped
  proxy:
    build: ../../..
    depends_on:
      app:
        condition: service_healthy
    links:
      - app
    ports:
      - "8000:80"
    volumes:
      - ../../proxy/nginx.conf:/etc/nginx/nginx.conf:ro
  cache:
    image: redis:7
    expose: ["6379"]
volumes:
  data: {}
"#;

type Raw = std::collections::BTreeMap<String, compose_raw::RawService>;

/// Load `text` as the compose file of a project in a temporary directory (its root).
fn load(text: &str) -> (tempfile::TempDir, crate::compose::ComposeFile, Raw) {
    let root = tempfile::tempdir().expect("tempdir");
    let path = root.path().join("docker/app/prod/docker-compose.yml");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    let vars = |name: &str| (name == "DATABASE_URL").then(|| "postgres://secret@db/x".to_owned());
    let file = crate::compose::load_for_build(&path, &vars).expect("compose");
    let raw = compose_raw::parse(text, &path).expect("raw");
    (root, file, raw)
}

fn pins() -> ImagePins {
    let mut pins = ImagePins::new();
    pins.insert("app", &format!("reg:5000/demo@{DIGEST_APP}"));
    pins.insert("proxy", &format!("reg:5000/demo-proxy@{DIGEST_PROXY}"));
    pins
}

/// The error rendering `text` as `format` gives.
fn render_error(format: BundleFormat, text: &str, pins: &ImagePins) -> String {
    let (root, compose, raw) = load(text);
    render(
        format,
        &RenderInput {
            compose: &compose,
            raw: &raw,
            pins,
            root: root.path(),
            auth: None,
            web: None,
        },
    )
    .map(|_| ())
    .expect_err("an error")
    .to_string()
}

fn rendered(format: BundleFormat, text: &str, auth: Option<&S3Ref>) -> super::RunFiles {
    let (root, compose, raw) = load(text);
    let pins = pins();
    render(
        format,
        &RenderInput {
            compose: &compose,
            raw: &raw,
            pins: &pins,
            root: root.path(),
            auth,
            web: None,
        },
    )
    .expect("render")
}

#[test]
fn v2_from_the_prod_compose_file() {
    let files = rendered(BundleFormat::V2, PROD, None);
    assert_eq!(files.files.len(), 1);
    let doc: Value = serde_json::from_slice(&files.files[0].data).expect("json");
    assert_eq!(
        doc,
        json!({
            "AWSEBDockerrunVersion": 2,
            "volumes": [
                {"name": "app-dist", "host": {"sourcePath": "/var/app/current/app/dist"}},
                {"name": "data"},
                {"name": "docker-proxy-nginx-conf", "host": {"sourcePath": "/var/app/current/docker/proxy/nginx.conf"}}
            ],
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": format!("reg:5000/demo@{DIGEST_APP}"),
                    "essential": true,
                    "memory": 512,
                    "environment": [
                        {"name": "ENV_NAME", "value": "prod"},
                        {"name": "PRICE", "value": "5$"}
                    ],
                    "mountPoints": [
                        {"sourceVolume": "app-dist", "containerPath": "/var/app/app/dist", "readOnly": true},
                        {"sourceVolume": "data", "containerPath": "/data", "readOnly": false}
                    ]
                },
                {
                    "name": "proxy",
                    "image": format!("reg:5000/demo-proxy@{DIGEST_PROXY}"),
                    "essential": true,
                    "memoryReservation": 256,
                    "links": ["app"],
                    "portMappings": [{"hostPort": 80, "containerPort": 80}],
                    "dependsOn": [{"containerName": "app", "condition": "HEALTHY"}],
                    "mountPoints": [
                        {"sourceVolume": "docker-proxy-nginx-conf", "containerPath": "/etc/nginx/nginx.conf", "readOnly": true}
                    ]
                },
                {
                    "name": "cache",
                    "image": "redis:7",
                    "essential": true,
                    "memoryReservation": 256
                }
            ]
        })
    );
    assert_eq!(files.mounts, vec!["app/dist", "docker/proxy/nginx.conf"]);
    let notes = files.notes.join("\n");
    assert!(
        notes.contains(
            "routes port 80 to service `proxy` (container port 80): it is the only service that \
             publishes a TCP port"
        ),
        "{notes}"
    );
    assert!(
        notes.contains("DATABASE_URL, FROM_SHELL come from variables"),
        "{notes}"
    );
    assert!(notes.contains("`redis:7`, which is not ours"), "{notes}");
    let text = String::from_utf8_lossy(&files.files[0].data);
    assert!(
        !text.contains("secret"),
        "variable values never enter the file: {text}"
    );
    crate::bundle::validate::run_files(&files.files).expect("valid v2");
}

#[test]
fn v2_links_dependencies_keeps_port_80_and_refuses_what_ecs_cannot_run() {
    let text = "services:\n  web:\n    image: nginx@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n    ports: [\"8080:8080\", \"80:80\"]\n    depends_on: [app]\n  app:\n    build: .\n";
    let files = rendered(
        BundleFormat::V2,
        text,
        Some(&S3Ref {
            bucket: "b".into(),
            key: "k".into(),
        }),
    );
    let doc: Value = serde_json::from_slice(&files.files[0].data).expect("json");
    assert_eq!(doc["authentication"], json!({"bucket": "b", "key": "k"}));
    assert_eq!(doc["containerDefinitions"][0]["links"], json!(["app"]));
    assert_eq!(
        doc["containerDefinitions"][0]["portMappings"],
        json!([{"hostPort": 8080, "containerPort": 8080}, {"hostPort": 80, "containerPort": 80}])
    );
    let err = render_error(
        BundleFormat::V2,
        "services:\n  x:\n    build: .\n",
        &ImagePins::new(),
    );
    assert!(err.contains("never build"), "{err}");
    // A path outside the project is the instance's own: a host volume, with a note.
    let files = rendered(
        BundleFormat::V2,
        "services:\n  app:\n    build: .\n    volumes: [\"/etc/ssl:/etc/ssl:ro\"]\n",
        None,
    );
    let doc: Value = serde_json::from_slice(&files.files[0].data).expect("json");
    assert_eq!(
        doc["volumes"],
        json!([{"name": "host-etc-ssl", "host": {"sourcePath": "/etc/ssl"}}])
    );
    assert_eq!(
        doc["containerDefinitions"][0]["mountPoints"],
        json!([{"sourceVolume": "host-etc-ssl", "containerPath": "/etc/ssl", "readOnly": true}])
    );
    assert!(files.notes.iter().any(|n| n.contains("must exist there")));
    assert!(files.mounts.is_empty());
}

#[test]
fn v1_for_one_service() {
    let text = "app:\n  build: ../../..\n  environment:\n    - ENV_NAME=dev\n  ports:\n    - \"8080:8080\"\n  volumes:\n    - ../../../app:/var/app/app\n  command: [\"/start.sh\", \"--fast\"]\n";
    let files = rendered(
        BundleFormat::V1,
        text,
        Some(&S3Ref {
            bucket: "b".into(),
            key: "k".into(),
        }),
    );
    let doc: Value = serde_json::from_slice(&files.files[0].data).expect("json");
    assert_eq!(
        doc,
        json!({
            "AWSEBDockerrunVersion": "1",
            "Authentication": {"Bucket": "b", "Key": "k"},
            "Image": {"Name": format!("reg:5000/demo@{DIGEST_APP}"), "Update": "true"},
            "Ports": [{"ContainerPort": "8080"}],
            "Volumes": [{"HostDirectory": "/var/app/current/app", "ContainerDirectory": "/var/app/app"}],
            "Command": "/start.sh --fast"
        })
    );
    assert!(
        files
            .notes
            .iter()
            .any(|n| n.contains("ENV_NAME must be set")),
        "{:?}",
        files.notes
    );
    crate::bundle::validate::run_files(&files.files).expect("valid v1");
    let err = render_error(BundleFormat::V1, PROD, &pins());
    assert!(err.contains("3 services"), "{err}");
}

#[test]
fn compose_bundle_keeps_references_for_the_instance_env_file() {
    let files = rendered(
        BundleFormat::Compose,
        PROD,
        Some(&S3Ref {
            bucket: "b".into(),
            key: "auth/config.json".into(),
        }),
    );
    assert_eq!(files.files.len(), 2);
    let text = String::from_utf8(files.files[0].data.clone()).expect("utf8");
    assert!(!text.contains("secret"), "{text}");
    let doc: serde_norway::Value = serde_norway::from_str(&text).expect("yaml");
    let app = &doc["services"]["app"];
    assert_eq!(
        app["image"].as_str(),
        Some(format!("reg:5000/demo@{DIGEST_APP}").as_str())
    );
    assert_eq!(app["environment"]["ENV_NAME"].as_str(), Some("prod"));
    assert_eq!(app["environment"]["PRICE"].as_str(), Some("5$$"));
    assert_eq!(
        app["environment"]["DATABASE_URL"].as_str(),
        Some("${DATABASE_URL}")
    );
    assert_eq!(
        app["environment"]["FROM_SHELL"].as_str(),
        Some("${FROM_SHELL}")
    );
    assert_eq!(app["env_file"][0].as_str(), Some(".env"));
    assert_eq!(
        app["volumes"][0].as_str(),
        Some("./app/dist:/var/app/app/dist:ro")
    );
    assert_eq!(app["volumes"][1].as_str(), Some("data:/data"));
    assert_eq!(app["restart"].as_str(), Some("unless-stopped"));
    assert!(app.get("build").is_none());
    let proxy = &doc["services"]["proxy"];
    assert_eq!(proxy["ports"][0].as_str(), Some("80:80"));
    assert_eq!(
        proxy["depends_on"]["app"]["condition"].as_str(),
        Some("service_healthy")
    );
    assert!(doc["volumes"].get("data").is_some());
    let v3: Value = serde_json::from_slice(&files.files[1].data).expect("json");
    assert_eq!(
        v3,
        json!({"AWSEBDockerrunVersion": "3", "Authentication": {"bucket": "b", "key": "auth/config.json"}})
    );
    crate::bundle::validate::run_files(&files.files).expect("valid compose bundle");
}

/// A file shaped like the big public ones: a database and a cache published for debugging, a
/// migration job, the app, and a proxy in front.
const STACK: &str = r#"
services:
  db:
    image: postgres@sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd
    ports: ["5432:5432"]
  cache:
    image: redis@sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee
    ports: ["6379:6379"]
  migrate:
    build: .
    command: ["migrate"]
    restart: "no"
    depends_on: [db]
  app:
    build: .
    expose: ["8000"]
    depends_on:
      migrate: {condition: service_completed_successfully}
      cache: {condition: service_started}
  proxy:
    build: .
    ports: ["8080:80"]
    depends_on: [app]
"#;

fn stack_pins() -> ImagePins {
    let mut pins = ImagePins::new();
    for name in ["migrate", "app", "proxy"] {
        pins.insert(name, &format!("reg:5000/{name}@{DIGEST_APP}"));
    }
    pins
}

fn render_with(
    format: BundleFormat,
    text: &str,
    pins: &ImagePins,
    web: Option<&str>,
) -> Result<super::RunFiles, String> {
    let (root, compose, raw) = load(text);
    render(
        format,
        &RenderInput {
            compose: &compose,
            raw: &raw,
            pins,
            root: root.path(),
            auth: None,
            web,
        },
    )
    .map_err(|e| e.to_string())
}

#[test]
fn v2_one_shot_services_are_not_essential_and_port_80_goes_to_the_front() {
    let files = render_with(BundleFormat::V2, STACK, &stack_pins(), None).expect("render");
    let doc: Value = serde_json::from_slice(&files.files[0].data).expect("json");
    let containers = doc["containerDefinitions"].as_array().expect("list");
    let essential: Vec<(&str, bool)> = containers
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default(),
                c["essential"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        essential,
        vec![
            ("db", true),
            ("cache", true),
            ("migrate", false),
            ("app", true),
            ("proxy", true)
        ]
    );
    assert_eq!(
        containers[3]["dependsOn"],
        json!([
            {"containerName": "migrate", "condition": "SUCCESS"},
            {"containerName": "cache", "condition": "START"}
        ])
    );
    // The proxy, which nothing depends on, gets port 80 — not the database listed first.
    assert_eq!(
        containers[4]["portMappings"],
        json!([{"hostPort": 80, "containerPort": 80}])
    );
    assert_eq!(
        containers[0]["portMappings"],
        json!([{"hostPort": 5432, "containerPort": 5432}])
    );
    let notes = files.notes.join("\n");
    assert!(
        notes.contains(
            "routes port 80 to service `proxy` (container port 80): of the services that publish \
             a TCP port (db, cache, proxy), it is the only one no other service depends on"
        ),
        "{notes}"
    );
    crate::bundle::validate::run_files(&files.files).expect("valid v2");

    // The setting wins, and an exposed port is published for it.
    let files = render_with(BundleFormat::V2, STACK, &stack_pins(), Some("app")).expect("render");
    let doc: Value = serde_json::from_slice(&files.files[0].data).expect("json");
    assert_eq!(
        doc["containerDefinitions"][3]["portMappings"],
        json!([{"hostPort": 80, "containerPort": 8000}])
    );
    assert!(
        files
            .notes
            .iter()
            .any(|n| n.contains("named by the web_service setting"))
    );
    let err = render_with(BundleFormat::V2, STACK, &stack_pins(), Some("nope")).expect_err("bad");
    assert!(
        err.contains("web_service = \"nope\" is not a service"),
        "{err}"
    );
    let on_80 = STACK.replace("5432:5432", "80:5432");
    let err = render_with(BundleFormat::V2, &on_80, &stack_pins(), Some("proxy")).expect_err("80");
    assert!(err.contains("`db` already publishes host port 80"), "{err}");
}

const RUNTIME: &str = r#"
services:
  app:
    build: .
    ports: ["80:8000"]
    cap_add: [NET_ADMIN]
    init: true
    shm_size: 64m
    tmpfs: ["/run:size=8m,noexec"]
    ulimits: {nofile: {soft: 1024, hard: 2048}}
    sysctls: {net.core.somaxconn: "1024"}
    logging: {driver: json-file, options: {max-size: 1m}}
    stop_grace_period: 20s
    read_only: true
    labels: {team: web}
    healthcheck: {test: ["CMD", "true"], interval: 10s, retries: 3}
    volumes: ["/var/log/app:/logs"]
"#;

#[test]
fn v2_carries_runtime_keys_as_ecs_container_settings() {
    let files = render_with(BundleFormat::V2, RUNTIME, &pins(), None).expect("render");
    assert!(files.lossy.is_empty(), "{:?}", files.lossy);
    let doc: Value = serde_json::from_slice(&files.files[0].data).expect("json");
    let app = &doc["containerDefinitions"][0];
    assert_eq!(
        app["linuxParameters"],
        json!({
            "capabilities": {"add": ["NET_ADMIN"]},
            "initProcessEnabled": true,
            "sharedMemorySize": 64,
            "tmpfs": [{"containerPath": "/run", "size": 8, "mountOptions": ["noexec"]}]
        })
    );
    assert_eq!(
        app["ulimits"],
        json!([{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}])
    );
    assert_eq!(
        app["systemControls"],
        json!([{"namespace": "net.core.somaxconn", "value": "1024"}])
    );
    assert_eq!(
        app["logConfiguration"],
        json!({"logDriver": "json-file", "options": {"max-size": "1m"}})
    );
    assert_eq!(app["stopTimeout"], json!(20));
    assert_eq!(app["readonlyRootFilesystem"], json!(true));
    assert_eq!(app["dockerLabels"], json!({"team": "web"}));
    assert_eq!(
        app["healthCheck"],
        json!({"command": ["CMD", "true"], "interval": 10, "retries": 3})
    );
    // An absolute host path outside the project is an instance path, not a refusal.
    assert_eq!(
        doc["volumes"],
        json!([{"name": "host-var-log-app", "host": {"sourcePath": "/var/log/app"}}])
    );
    crate::bundle::validate::run_files(&files.files).expect("valid v2");
}

#[test]
fn what_a_format_cannot_express_is_listed_and_refused_unless_allowed() {
    let text = "services:\n  app:\n    build: .\n    ports: [\"127.0.0.1:80:8000\"]\n    \
                network_mode: host\n    stop_signal: SIGINT\n    tmpfs: [/scratch]\n";
    let mut files = render_with(BundleFormat::V2, text, &pins(), None).expect("render");
    let lossy = files.lossy.join("\n");
    for needle in [
        "host address 127.0.0.1",
        "`network_mode`: Dockerrun v2 has no equivalent",
        "`stop_signal`: Dockerrun v2 has no equivalent",
        "the tmpfs at /scratch has no size",
    ] {
        assert!(lossy.contains(needle), "{needle}: {lossy}");
    }
    let err = files
        .clone()
        .check_lossy(BundleFormat::V2, false)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("pass --allow-lossy"), "{err}");
    assert!(err.contains("`stop_signal`"), "{err}");
    files.check_lossy(BundleFormat::V2, true).expect("allowed");
    assert!(
        files
            .notes
            .iter()
            .any(|n| n.starts_with("lossy (allowed):")),
        "{:?}",
        files.notes
    );
    // The compose bundle runs all of it on the instance; only the host address goes.
    let files = render_with(BundleFormat::Compose, text, &pins(), None).expect("render");
    assert_eq!(files.lossy.len(), 1, "{:?}", files.lossy);
    let yaml: serde_norway::Value = serde_norway::from_slice(&files.files[0].data).expect("yaml");
    let app = &yaml["services"]["app"];
    assert_eq!(app["network_mode"].as_str(), Some("host"));
    assert_eq!(app["stop_signal"].as_str(), Some("SIGINT"));
    assert_eq!(app["tmpfs"][0].as_str(), Some("/scratch"));
    // Secrets would travel in the bundle: lossy in every format.
    let secret = "services:\n  app:\n    build: .\n    secrets: [token]\nsecrets:\n  token:\n    \
                  file: ./token.txt\n";
    for format in [BundleFormat::V2, BundleFormat::Compose] {
        let files = render_with(format, secret, &pins(), None).expect("render");
        assert!(
            files.lossy.iter().any(|l| l.contains("`secrets/configs`")),
            "{format:?}: {:?}",
            files.lossy
        );
    }
    // v1: one container, nothing beyond image, ports, mounts and command.
    let files = render_with(BundleFormat::V1, RUNTIME, &pins(), None).expect("render");
    let lossy = files.lossy.join("\n");
    for needle in ["`cap_add`", "`healthcheck`", "`labels`", "`logging`"] {
        assert!(lossy.contains(needle), "{needle}: {lossy}");
    }
}

#[test]
fn compose_bundle_keeps_escaped_dollars_everywhere() {
    let text = r#"
services:
  app:
    image: app:1
    entrypoint: ["sh", "-c"]
    command: ["echo $$HOME costs 5$$ and $${PATH}"]
    working_dir: /srv/$$dir
    healthcheck:
      test: ["CMD-SHELL", "test -n \"$$HOSTNAME\""]
"#;
    let files = rendered(BundleFormat::Compose, text, None);
    let out = String::from_utf8(files.files[0].data.clone()).expect("utf8");
    let doc: serde_norway::Value = serde_norway::from_str(&out).expect("yaml");
    let app = &doc["services"]["app"];
    // What Compose on the instance reads back is what the file said: one literal `$` each.
    assert_eq!(
        app["command"][0].as_str(),
        Some("echo $$HOME costs 5$$ and $${PATH}")
    );
    assert_eq!(app["working_dir"].as_str(), Some("/srv/$$dir"));
    assert_eq!(
        app["healthcheck"]["test"][1].as_str(),
        Some("test -n \"$$HOSTNAME\"")
    );
    assert_eq!(app["entrypoint"][0].as_str(), Some("sh"));
}
