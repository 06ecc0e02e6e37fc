//! `stevedore doctor`: pass/warn/fail lines with fixes, honest exit codes.

use crate::support::registry::Registry;
use crate::support::{Project, docker};

#[test]
fn unreachable_daemon_exits_4_with_a_fix() {
    let out = Project::demo()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run(["doctor"])
        .code(4);
    out.stderr_has("[FAIL] docker")
        .stderr_has("unix:///nonexistent/docker.sock")
        .stderr_has("fix:");
}

#[test]
fn passes_on_this_machine_for_the_demo_project() {
    if !docker::ready() {
        return;
    }
    let project = Project::demo().git_init();
    let out = project.run(["doctor"]).success();
    out.stderr_has("[pass] docker: Docker Engine")
        .stderr_has("API 1.")
        .stderr_has("[pass] git")
        .stderr_has("[pass] .dockerignore")
        .stderr_has("[pass] .ebignore");
    let json = project.run(["--json", "doctor"]).success();
    let summary = json.summary();
    assert_eq!(summary["data"]["failed"], 0, "{}", json.stdout);
    let checks = json
        .json_lines()
        .iter()
        .filter(|l| l["event"] == "check")
        .count();
    assert!(checks >= 6, "{}", json.stdout);
}

#[test]
fn invalid_ignore_file_fails_with_exit_3() {
    let broken = |project: Project| project.file(".dockerignore", "app\n[unclosed\n");
    // The daemon failure comes first (exit 4); the ignore line must still be reported.
    broken(Project::demo())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run(["doctor"])
        .code(4)
        .stderr_has("[FAIL] .dockerignore")
        .stderr_has(":2");
    if !docker::ready() {
        return;
    }
    broken(Project::demo().git_init())
        .run(["doctor"])
        .code(3)
        .stderr_has("[FAIL] .dockerignore")
        .stderr_has(":2");
}

#[test]
fn aws_credentials_are_found_offline_or_a_fix_is_given() {
    let project = Project::demo().env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    // Missing credentials are a warning: the exit code is the unreachable daemon's alone.
    project
        .run(["doctor"])
        .code(4)
        .stderr_has("[warn] aws credentials: none found for profile default")
        .stderr_has("aws configure");
    let with_keys = Project::demo()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .home_file(
            ".aws/credentials",
            "[deploy]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = verysecret\n",
        )
        .file(
            "stevedore.toml",
            "[aws]\nprofile = \"deploy\"\n[image]\nrepository = \"localhost:5000/x\"\n",
        );
    with_keys
        .run(["doctor"])
        .code(4)
        .stderr_has("[pass] aws credentials: profile deploy (static keys)")
        .nowhere("verysecret");
}

#[test]
fn registry_credentials_from_the_docker_config() {
    let Some(registry) = Registry::start_with_auth("ci", "p~ss?w>rd") else {
        return;
    };
    let host = registry.host();
    let toml = format!("[image]\nrepository = \"{host}/demo\"\n");
    let project = Project::demo()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .file("stevedore.toml", &toml);
    project
        .run(["doctor"])
        .stderr_has(&format!(
            "[warn] registry credentials: none configured for {host}"
        ))
        .stderr_has(&format!("docker login {host}"));
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:p~ss?w>rd");
    let project = project.home_file(
        ".docker/config.json",
        &format!("{{\"auths\":{{\"{host}\":{{\"auth\":\"{auth}\"}}}}}}"),
    );
    project
        .run(["doctor"])
        .stderr_has(&format!("[pass] registry credentials: {host}: user ci"))
        .nowhere("p~ss?w>rd")
        .nowhere(&auth);
}

#[test]
fn shows_aws_endpoint_overrides_and_their_source() {
    Project::demo()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4566")
        .run(["doctor"])
        .stderr_has("[pass] aws endpoints: s3: http://127.0.0.1:4566 (AWS_ENDPOINT_URL_S3)");
    Project::demo()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run(["doctor"])
        .stderr_has("[pass] aws endpoints: the AWS defaults");
}
