//! `start` on the real engine for what the parity test cannot compare with docker-compose 1.29:
//! when `--detach` and `--wait` return, external volumes that must exist, and secrets that
//! reach the container.

use crate::support::Project;
use crate::support::docker::{self, BASE_IMAGE, Cleanup, docker as cli, unique};

/// A project with environment `rt` and `compose` as its compose file.
fn project(compose: &str) -> Project {
    Project::new()
        .file("environments/rt/.env", "")
        .file("docker/rt/docker-compose.yml", compose)
}

fn start(project: &Project, compose_project: &str, extra: &[&str]) -> crate::support::Output {
    let mut args = vec![
        "start",
        "rt",
        "-f",
        "docker/rt/docker-compose.yml",
        "-p",
        compose_project,
    ];
    args.extend(extra);
    project.run(args)
}

fn down(project: &Project, compose_project: &str) {
    let file = "docker/rt/docker-compose.yml";
    project
        .run(["down", "rt", "-f", file, "-p", compose_project])
        .success();
}

#[test]
fn detach_does_not_wait_for_health_checks_nothing_depends_on_and_wait_does() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let name = unique("it-rt-wait");
    cleanup.compose_project(&name);
    // A health check that fails: only a start that waits for it can notice.
    let compose = format!(
        "services:\n  app:\n    image: {BASE_IMAGE}\n    command: [sleep, \"3600\"]\n    \
         healthcheck:\n      test: [\"CMD\", \"false\"]\n      interval: 1s\n      retries: 1\n"
    );
    let project = project(&compose);
    start(&project, &name, &["--detach"])
        .success()
        .stderr_has("not waiting for health checks");
    let out = start(&project, &name, &["--wait", "--timeout", "1m"]);
    assert_ne!(out.code, Some(0), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("unhealthy"), "{}", out.stderr);
    down(&project, &name);
}

#[test]
fn a_missing_external_volume_stops_start_before_anything_is_created() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let name = unique("it-rt-ext");
    cleanup.compose_project(&name);
    let volume = unique("it-rt-absent");
    let compose = format!(
        "services:\n  app:\n    image: {BASE_IMAGE}\n    command: [sleep, \"3600\"]\n    \
         volumes: [\"shared:/data\"]\nvolumes:\n  shared:\n    external: true\n    name: {volume}\n"
    );
    let project = project(&compose);
    start(&project, &name, &["--detach"])
        .code(3)
        .stderr_has(&format!(
            "the volume `{volume}` is declared `external: true`"
        ));
    assert!(
        cli(&["volume", "inspect", &volume]).is_err(),
        "the Engine did not make the volume up"
    );
    assert!(docker::compose_project_objects("container", &name).is_empty());
}

#[test]
fn a_secret_file_is_mounted_read_only_where_compose_mounts_it() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let name = unique("it-rt-secret");
    cleanup.compose_project(&name);
    let compose = format!(
        "services:\n  app:\n    image: {BASE_IMAGE}\n    command: [sleep, \"3600\"]\n    \
         secrets: [token]\n    configs:\n      - source: site\n        target: /etc/site.conf\n\
         secrets:\n  token:\n    file: ./token.txt\nconfigs:\n  site:\n    file: ./site.conf\n"
    );
    let project = project(&compose)
        .file("docker/rt/token.txt", "s3cr3t-fixture\n")
        .file("docker/rt/site.conf", "listen 80;\n");
    start(&project, &name, &["--detach"]).success();
    let container = format!("{name}-app-1");
    let secret = cli(&["exec", &container, "cat", "/run/secrets/token"]).expect("exec");
    assert_eq!(secret.trim(), "s3cr3t-fixture");
    let config = cli(&["exec", &container, "cat", "/etc/site.conf"]).expect("exec");
    assert_eq!(config.trim(), "listen 80;");
    let write = cli(&[
        "exec",
        &container,
        "sh",
        "-c",
        "echo x > /run/secrets/token",
    ]);
    assert!(write.is_err(), "the secret is read-only");
    down(&project, &name);
}

#[test]
fn a_key_the_engine_cannot_be_asked_for_exits_3_naming_file_and_line() {
    let project = project("services:\n  app:\n    image: busybox\n    annotations: {a: b}\n");
    project
        .run([
            "start",
            "rt",
            "-f",
            "docker/rt/docker-compose.yml",
            "--detach",
        ])
        .code(3)
        .stderr_has("docker-compose.yml:4")
        .stderr_has("`annotations` is not supported by stevedore");
}
