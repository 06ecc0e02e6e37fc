//! A build whose base image lives on a password-protected registry (basic auth, or Bearer tokens
//! from a token server): the daemon pulls it with the user's `docker login` credentials, which
//! BuildKit asks for on the session (the Auth service) and the classic builder gets in
//! `X-Registry-Config`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::Project;
use crate::support::docker::{self, Cleanup, docker as cli, unique};
use crate::support::registry::Registry;
use crate::support::token_auth::TokenServer;

#[test]
fn a_build_pulls_its_base_image_from_a_password_protected_registry() {
    if !docker::ready() {
        return;
    }
    let password = format!("pw-{}", unique("x"));
    let Some(registry) = Registry::start_with_auth("builder", &password) else {
        return;
    };
    builds_from_private_base(&registry, &password);
}

#[test]
fn a_build_pulls_its_base_image_from_a_registry_behind_token_auth() {
    if !docker::ready() {
        return;
    }
    let password = format!("pw-{}", unique("x"));
    let Some(tokens) = TokenServer::start("builder", &password) else {
        return;
    };
    let Some(registry) = Registry::start_with_tokens(&tokens, "builder", &password) else {
        return;
    };
    builds_from_private_base(&registry, &password);
    assert!(
        tokens.issued() > 0,
        "the daemon went through the token server"
    );
}

/// `docker login` as `builder`, push a base image, and build from it with and without the
/// credentials.
fn builds_from_private_base(registry: &Registry, password: &str) {
    let name = unique("it-privbase");
    let base = format!("{}/{name}-base:1", registry.host());
    let mut cleanup = Cleanup::default();
    cleanup.image(&base);
    cleanup.image(&format!("{name}-app:dev"));
    let project = Project::demo().env("STEVEDORE_PROJECT_NAME", &name);
    let config = project.home().join(".docker");
    let config = config.to_str().expect("utf8");
    let mut login = Command::new("docker")
        .args([
            "--config",
            config,
            "login",
            &registry.host(),
            "-u",
            "builder",
        ])
        .arg("--password-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker login");
    login
        .stdin
        .take()
        .expect("stdin")
        .write_all(password.as_bytes())
        .expect("password");
    let out = login.wait_with_output().expect("login");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    cli(&["tag", "busybox:1.36", &base]).expect("tag");
    cli(&["--config", config, "push", &base]).expect("push the base image");
    cli(&["rmi", &base]).expect("remove the local copy, so the build must pull");

    let arg = format!("BASE_IMAGE={base}");
    // BuildKit pulls into its own store, so the base stays absent locally and the classic build
    // after it must pull too.
    project
        .run([
            "image",
            "build",
            "dev",
            "--builder",
            "buildkit",
            "--build-arg",
            &arg,
        ])
        .success()
        .stderr_has("[2/");
    project
        .run([
            "image",
            "build",
            "dev",
            "--builder",
            "classic",
            "--build-arg",
            &arg,
        ])
        .success();
    assert!(
        cli(&["image", "inspect", &base]).is_ok(),
        "the daemon pulled the base"
    );

    // Without the credentials the same pull is refused, by either builder.
    cli(&["rmi", "-f", &base]).expect("remove the pulled base");
    std::fs::remove_file(project.home().join(".docker/config.json")).expect("log out");
    for builder in ["buildkit", "classic"] {
        let out = project.run([
            "image",
            "build",
            "dev",
            "--builder",
            builder,
            "--build-arg",
            &arg,
        ]);
        assert_ne!(out.code, Some(0), "{builder}: {}", out.stderr);
        assert!(!out.stderr.contains(password), "{}", out.stderr);
    }
}
