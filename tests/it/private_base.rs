//! A build whose base image lives on a password-protected registry (basic auth, or Bearer tokens
//! from a token server): the daemon pulls it with the user's `docker login` credentials, which
//! BuildKit asks for on the session (the Auth service) and the classic builder gets in
//! `X-Registry-Config`. A compose service whose `image:` lives there is pulled by `start` with
//! the same credentials.

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
    docker::docker_login(config, &registry.host(), "builder", password);
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

/// `start` pulls a service's private `image:` with the user's `docker login` credentials, as
/// `docker compose up` does; logged out, the pull is refused (exit 4) and nothing is started.
#[test]
fn start_pulls_a_private_service_image_with_the_users_login() {
    if !docker::ready() {
        return;
    }
    let password = format!("pw-{}", unique("x"));
    let Some(registry) = Registry::start_with_auth("puller", &password) else {
        return;
    };
    let image = format!("{}/{}-svc:1", registry.host(), unique("it-privsvc"));
    let mut cleanup = Cleanup::default();
    cleanup.image(&image);
    let dev = crate::support::docker::ComposeDev::new(
        "it-privsvc",
        &format!("services:\n  app:\n    image: {image}\n    command: [\"sleep\", \"60\"]\n"),
    );
    let config = dev.project.home().join(".docker");
    let config = config.to_str().expect("utf8");
    docker::docker_login(config, &registry.host(), "puller", &password);
    cli(&["tag", "busybox:1.36", &image]).expect("tag");
    cli(&["--config", config, "push", &image]).expect("push the service image");
    cli(&["rmi", &image]).expect("remove the local copy, so start must pull");

    let args = [
        "start",
        "dev",
        "--detach",
        "-p",
        dev.compose_project.as_str(),
    ];
    let out = dev.project.run(args).success();
    assert!(!out.stderr.contains(&password), "{}", out.stderr);
    assert!(
        cli(&["image", "inspect", &image]).is_ok(),
        "start pulled it"
    );
    dev.project
        .run(["down", "dev", "-p", dev.compose_project.as_str()])
        .success();

    cli(&["rmi", "-f", &image]).expect("remove the pulled image");
    std::fs::remove_file(dev.project.home().join(".docker/config.json")).expect("log out");
    let out = dev
        .project
        .run(args)
        .code(4)
        .stderr_has("could not be pulled");
    assert!(!out.stderr.contains(&password), "{}", out.stderr);
}
