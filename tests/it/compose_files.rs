//! A Compose project made of more than one file, run through `start`: the override file beside
//! the compose file, the `.env` files and `--env-file` in Compose's order of precedence, and
//! `--compose-profile`.

use crate::support::Project;
use crate::support::docker::{Cleanup, docker as cli, unique};

const BASE: &str = r#"services:
  app:
    image: busybox:1.36
    command: ["sleep", "300"]
    environment:
      FROM_ALL: ${FROM_ALL}
      FROM_THREE: ${FROM_THREE}
      FROM_TWO: ${FROM_TWO}
      FROM_ONE: ${FROM_ONE}
      LITERAL: "5$$"
  tools:
    image: busybox:1.36
    command: ["sleep", "300"]
    profiles: [tools]
  debug:
    image: busybox:1.36
    command: ["sleep", "300"]
    profiles: [debug]
"#;

const OVERRIDE: &str = r#"services:
  app:
    environment:
      OVERRIDDEN: "yes"
    command: ["sleep", "301"]
"#;

fn env_of(container: &str) -> Vec<String> {
    let out = cli(&["inspect", "-f", "{{json .Config.Env}}", container]).expect("inspect");
    serde_json::from_str(out.trim()).expect("env json")
}

#[test]
fn override_file_env_files_and_profiles_shape_the_containers() {
    let name = unique("it-cfiles");
    let compose_project = format!("{name}-dev");
    let mut cleanup = Cleanup::default();
    cleanup.compose_project(&compose_project);
    let project = Project::demo()
        .env("STEVEDORE_PROJECT_NAME", &name)
        .env("FROM_ALL", "shell")
        .file("docker/app/dev/docker-compose.yml", BASE)
        .file("docker/app/dev/docker-compose.override.yml", OVERRIDE)
        .file(
            "docker/app/dev/.env",
            "FROM_ALL=project\nFROM_THREE=project\nFROM_TWO=project\nFROM_ONE=project\n",
        )
        .file(
            "environments/dev/.env",
            "FROM_ALL=env\nFROM_THREE=env\nFROM_TWO=env\n",
        )
        .file("flags.env", "FROM_ALL=flag\nFROM_THREE=flag\n");
    project
        .run([
            "start",
            "dev",
            "--detach",
            "-p",
            &compose_project,
            "--env-file",
            "flags.env",
            "--compose-profile",
            "tools",
        ])
        .success();
    let env = env_of(&format!("{compose_project}-app-1"));
    for want in [
        "FROM_ALL=shell",
        "FROM_THREE=flag",
        "FROM_TWO=env",
        "FROM_ONE=project",
        "LITERAL=5$",
        "OVERRIDDEN=yes",
    ] {
        assert!(env.iter().any(|e| e == want), "{want} not in {env:?}");
    }
    let command = cli(&[
        "inspect",
        "-f",
        "{{json .Config.Cmd}}",
        &format!("{compose_project}-app-1"),
    ])
    .expect("inspect");
    assert_eq!(command.trim(), r#"["sleep","301"]"#);
    // The `tools` profile is on, `debug` is not.
    assert!(cli(&["inspect", &format!("{compose_project}-tools-1")]).is_ok());
    assert!(cli(&["inspect", &format!("{compose_project}-debug-1")]).is_err());
    project
        .run(["down", "dev", "-t", "1", "-p", &compose_project])
        .success();
}

#[test]
fn services_at_the_top_level_beside_version_exit_3_naming_the_line() {
    let project = Project::demo().file(
        "docker/app/dev/docker-compose.yml",
        "version: \"3.8\"\nweb:\n  image: busybox:1.36\n",
    );
    project
        .run(["start", "dev", "--detach"])
        .code(3)
        .stderr_has("docker-compose.yml:2")
        .stderr_has("services must be under `services:`");
}

#[test]
fn a_service_with_image_and_build_tags_the_build_with_its_image_name() {
    let mut cleanup = Cleanup::default();
    let name = unique("it-tagname");
    let image = format!("{name}-named:1.0");
    cleanup.image(&format!("{name}-web:dev"));
    cleanup.image(&image);
    let project = Project::new()
        .env("STEVEDORE_PROJECT_NAME", &name)
        .file("environments/dev/Procfile", "web: true\n")
        .file("web/Dockerfile", "FROM busybox:1.36\nLABEL it.tagname=1\n")
        .file(
            "compose.yml",
            &format!("services:\n  web:\n    image: {image}\n    build: ./web\n"),
        );
    project
        .run(["image", "build", "dev", "-f", "compose.yml"])
        .success();
    let ours = cli(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}}",
        &format!("{name}-web:dev"),
    ])
    .expect("the environment's tag");
    let named = cli(&["image", "inspect", "-f", "{{.Id}}", &image]).expect("the image: name");
    assert_eq!(ours, named);
}

/// A project with only a compose file at its root (no docker/<service>/<env>/ tree): its
/// `build:` services are built, released, published and bundled like the seed layout's.
#[test]
fn a_compose_only_project_releases_publishes_and_bundles() {
    use crate::support::registry::Registry;
    if !crate::support::docker::ready() {
        return;
    }
    let Some(registry) = Registry::start() else {
        return;
    };
    let name = unique("it-conly");
    let repository = format!("{}/{name}", registry.host());
    let mut cleanup = Cleanup::default();
    for service in ["api", "worker"] {
        cleanup.image(&format!("{name}-{service}:prod"));
    }
    for tag in ["1.0.0", "prod"] {
        cleanup.image(&format!("{repository}:{tag}"));
        cleanup.image(&format!("{repository}-worker:{tag}"));
    }
    let project = Project::new()
        .env("STEVEDORE_PROJECT_NAME", &name)
        .env("STEVEDORE_REPOSITORY", &repository)
        .file("environments/prod/.env.example", "MODE=prod\n")
        .file("api/Dockerfile", "FROM busybox:1.36\nLABEL role=api\n")
        .file(
            "worker/Containerfile",
            "FROM busybox:1.36 AS base\nFROM base AS final\nARG FLAVOUR\nLABEL role=worker-$FLAVOUR\n",
        )
        .file(
            "compose.yaml",
            "services:\n  api:\n    build: ./api\n    ports: [\"80:8080\"]\n  worker:\n    build:\n      \
             context: ./worker\n      dockerfile: Containerfile\n      target: final\n      args:\n        \
             FLAVOUR: queue\n    depends_on: [api]\n  cache:\n    image: redis:7\n",
        )
        .git_init();
    let remote = tempfile::tempdir().expect("remote dir");
    crate::support::git(remote.path(), &["init", "-q", "--bare"]);
    project.git(&[
        "remote",
        "add",
        "origin",
        remote.path().to_str().expect("utf8"),
    ]);
    project.run(["image", "build", "prod"]).success();
    project.run(["release", "prod", "1.0.0"]).success();
    let label = cli(&[
        "image",
        "inspect",
        "-f",
        "{{index .Config.Labels \"role\"}}",
        &format!("{repository}-worker:1.0.0"),
    ])
    .expect("the worker's release image");
    assert_eq!(label.trim(), "worker-queue");
    project.run(["publish", "prod", "1.0.0"]).success();
    let api = registry
        .manifest_digest(&name, "1.0.0")
        .expect("api in the registry");
    let worker = registry
        .manifest_digest(&format!("{name}-worker"), "1.0.0")
        .expect("worker in the registry");
    project
        .run(["bundle", "prod", "1.0.0", "-o", "b.zip"])
        .success();
    let run = {
        use std::io::Read;
        let file = std::fs::File::open(project.root().join("b.zip")).expect("zip");
        let mut archive = zip::ZipArchive::new(file).expect("a zip");
        let mut text = String::new();
        archive
            .by_name("Dockerrun.aws.json")
            .expect("member")
            .read_to_string(&mut text)
            .expect("read");
        text
    };
    let doc: serde_json::Value = serde_json::from_str(&run).expect("json");
    let image_of = |service: &str| {
        doc["containerDefinitions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == service))
            .map(|c| c["image"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(image_of("api"), format!("{repository}@{api}"));
    assert_eq!(image_of("worker"), format!("{repository}-worker@{worker}"));
    assert_eq!(image_of("cache"), "redis:7");
}
