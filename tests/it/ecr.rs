//! `publish` to Amazon ECR, end to end against the rig's ECR emulator (real `aws-sdk-ecr` calls
//! over HTTP, reached through `AWS_ENDPOINT_URL_ECR`) and a real registry under the ECR-shaped
//! name `000000000000.dkr.ecr.us-east-1.amazonaws.com:<port>` that accepts only the tokens the
//! emulator hands out.

use std::time::Duration;

use crate::publish::{released_at, remote_refs, tag_message};
use crate::support::docker;
use crate::support::ecr::{self, ECR_HOST, EcrConfig, EcrServer};
use crate::support::registry::Registry;

/// An ECR-shaped registry (user `AWS`, a random password) and an emulator handing out its
/// password as the token, living `token_lifetime`.
fn ecr_rig(token_lifetime: Duration) -> Option<(Registry, EcrServer, String)> {
    if !docker::ready() || !ecr::host_mapped() {
        return None;
    }
    let password = format!("ecr-token-{}", docker::unique("pw"));
    let registry = Registry::start_with_auth("AWS", &password)?;
    let host = format!("{ECR_HOST}:{}", registry.port());
    let server = EcrServer::start(EcrConfig {
        registry: host.clone(),
        password: password.clone(),
        token_lifetime,
    })
    .expect("start the ECR emulator");
    Some((registry, server, password))
}

const TWELVE_HOURS: Duration = Duration::from_secs(12 * 3600);

#[test]
fn publish_creates_the_repositories_logs_in_once_and_records_the_verified_digest() {
    let Some((registry, server, password)) = ecr_rig(TWELVE_HOURS) else {
        return;
    };
    let host = format!("{ECR_HOST}:{}", registry.port());
    let setup = released_at(&host, None, &server.env());
    let p = &setup.project;

    // Without --create-repository a missing repository stops the publish before any push.
    p.run(["publish", "prod", "1.0.0"])
        .code(5)
        .stderr_has(&format!("ECR repository {} does not exist", setup.name))
        .stderr_has("--create-repository");
    assert!(registry.manifest_digest(&setup.name, "1.0.0").is_none());
    assert!(!tag_message(p).contains("Digests:"), "nothing recorded");
    assert!(remote_refs(setup.remote.path()).is_empty());

    let tokens_before = server.calls("GetAuthorizationToken");
    // Debug logs of every crate (-vv) hold neither the token nor its base64 form.
    let token = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"))
    };
    let out = p
        .run([
            "-vv",
            "--json",
            "publish",
            "prod",
            "1.0.0",
            "--create-repository",
        ])
        .success()
        .nowhere(&password)
        .nowhere(&token);
    assert_eq!(
        server.repositories(),
        vec![setup.name.clone(), format!("{}-proxy", setup.name)]
    );
    assert_eq!(server.calls("CreateRepository"), 2);
    // Two images, four pushes and two manifest checks: one token for the whole run.
    assert_eq!(server.calls("GetAuthorizationToken"), tokens_before + 1);
    assert_eq!(server.unsigned(), 0, "every call was SigV4-signed");
    let digest = registry
        .manifest_digest(&setup.name, "1.0.0")
        .expect("pushed to the registry behind the ECR name");
    let recorded = format!("{host}/{}@{digest}", setup.name);
    let app = out.summary()["data"]["digests"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["service"] == "app").cloned())
        .expect("app digest");
    assert_eq!(app["pinned"], recorded.as_str());
    assert!(tag_message(p).contains(&recorded), "{}", tag_message(p));

    // The repositories exist now: a second publish only describes them.
    let created = server.calls("CreateRepository");
    p.run(["publish", "prod", "1.0.0"]).success();
    assert_eq!(server.calls("CreateRepository"), created);
}

#[test]
fn a_token_near_its_expiry_is_fetched_again() {
    // ECR tokens live 12 hours; one that expires within stevedore's margin is not reused.
    let Some((registry, server, _)) = ecr_rig(Duration::from_secs(60)) else {
        return;
    };
    let host = format!("{ECR_HOST}:{}", registry.port());
    // The global AWS_ENDPOINT_URL reaches ECR too (the SDK's chain, nothing of stevedore's).
    let env: Vec<_> = server
        .env()
        .into_iter()
        .map(|(k, v)| match k {
            "AWS_ENDPOINT_URL_ECR" => ("AWS_ENDPOINT_URL", v),
            _ => (k, v),
        })
        .collect();
    let setup = released_at(&host, None, &env);
    for name in [setup.name.clone(), format!("{}-proxy", setup.name)] {
        server.create(&name);
    }
    setup.project.run(["publish", "prod", "1.0.0"]).success();
    assert_eq!(
        server.calls("GetAuthorizationToken"),
        2,
        "one fresh token per image"
    );
    assert_eq!(server.calls("CreateRepository"), 0);
}

#[test]
fn wrong_aws_credentials_exit_5_with_the_aws_error() {
    let Some((registry, server, _)) = ecr_rig(TWELVE_HOURS) else {
        return;
    };
    let host = format!("{ECR_HOST}:{}", registry.port());
    let mut env = server.env();
    for (key, value) in &mut env {
        if *key == "AWS_ACCESS_KEY_ID" {
            *value = "AKIAWRONGWRONGWRONG0".into();
        }
    }
    let setup = released_at(&host, None, &env);
    setup
        .project
        .run(["publish", "prod", "1.0.0", "--create-repository"])
        .code(5)
        .stderr_has("UnrecognizedClientException")
        .stderr_has("ecr:GetAuthorizationToken");
    assert!(server.repositories().is_empty());
}

/// A base image on ECR is pulled with the environment's AWS profile: the build logs in to ECR
/// with that profile's credentials (here the only credentials there are). The classic builder:
/// BuildKit in Engine 20.10 speaks only HTTPS to a registry named by a host name, and the rig's
/// ECR-shaped registry is plain HTTP on loopback; BuildKit asks the same function
/// (`registry_credentials` with the profile) when the daemon calls back.
#[test]
fn a_base_image_on_ecr_is_pulled_with_the_environments_aws_profile() {
    use crate::support::Project;
    use crate::support::docker::{Cleanup, docker as cli};
    use crate::support::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

    let Some((registry, server, password)) = ecr_rig(TWELVE_HOURS) else {
        return;
    };
    let host = format!("{ECR_HOST}:{}", registry.port());
    let name = docker::unique("it-ecrbase");
    let base = format!("{host}/{name}-base:1");
    let mut cleanup = Cleanup::default();
    cleanup.image(&base);
    cleanup.image(&format!("{name}-app:dev"));
    // The base goes up with a login of the test's own, in a config the project never sees.
    let config = tempfile::tempdir().expect("docker config");
    let config = config.path().to_str().expect("utf8").to_owned();
    docker::docker_login(&config, &host, "AWS", &password);
    cli(&["tag", "busybox:1.36", &base]).expect("tag");
    cli(&["--config", &config, "push", &base]).expect("push the base image");
    cli(&["rmi", &base]).expect("remove the local copy, so the build must pull");

    // No AWS variables: the keys are only in the profile the environment names.
    let project = Project::demo()
        .env("STEVEDORE_PROJECT_NAME", &name)
        .env("STEVEDORE_PROFILE", "ecr-build")
        .env("AWS_ENDPOINT_URL_ECR", &server.endpoint_url())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .home_file(
            ".aws/credentials",
            &format!(
                "[ecr-build]\naws_access_key_id = {ACCESS_KEY_ID}\naws_secret_access_key = \
                 {SECRET_ACCESS_KEY}\n"
            ),
        );
    let arg = format!("BASE_IMAGE={base}");
    let tokens = server.calls("GetAuthorizationToken");
    let out = project
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
    assert!(!out.stderr.contains(&password), "{}", out.stderr);
    assert!(
        server.calls("GetAuthorizationToken") > tokens,
        "the build logged in to ECR"
    );
    assert!(
        cli(&["image", "inspect", &base]).is_ok(),
        "the daemon pulled the base"
    );
}
