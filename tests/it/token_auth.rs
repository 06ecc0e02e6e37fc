//! A registry behind Bearer-token auth (`auth: token:` with the rig's token server): `publish`
//! pushes through the daemon's token flow and verifies the manifest through stevedore's own.

use crate::publish::{check_published, released, released_at, remote_refs, tag_message};
use crate::support::docker::{self, unique};
use crate::support::registry::{Registry, credential_helper};
use crate::support::token_auth::TokenServer;

#[test]
fn publishes_to_a_registry_behind_token_auth() {
    if !docker::ready() {
        return;
    }
    let password = format!("pw-{}", unique("tok"));
    let Some(tokens) = TokenServer::start("ci", &password) else {
        return;
    };
    let Some(registry) = Registry::start_with_tokens(&tokens, "ci", &password) else {
        return;
    };
    // The registry itself refuses basic credentials: only tokens open it.
    assert_eq!(registry.get_status("/v2/", Some(("ci", &password))), 401);
    // The credentials come from a `credsStore` helper, as with Docker Desktop or pass.
    let helper = credential_helper("stevedore-test", "ci", &password);
    let path = format!(
        "{}:{}",
        helper.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let setup = released_at(&registry.host(), None, &[("PATH", path)]);
    std::fs::create_dir_all(setup.project.home().join(".docker")).expect("mkdir");
    std::fs::write(
        setup.project.home().join(".docker/config.json"),
        r#"{"credsStore":"stevedore-test"}"#,
    )
    .expect("config.json");
    let before = tokens.issued();
    check_published(&registry, &setup);
    assert!(tokens.issued() > before, "tokens were issued for the push");
}

#[test]
fn a_wrong_password_for_the_token_server_exits_5_and_records_nothing() {
    if !docker::ready() {
        return;
    }
    let Some(tokens) = TokenServer::start("ci", "right-password") else {
        return;
    };
    let Some(registry) = Registry::start_with_tokens(&tokens, "ci", "right-password") else {
        return;
    };
    let setup = released(&registry, Some(("ci", "wrong-password")));
    setup
        .project
        .run(["publish", "prod", "1.0.0"])
        .code(5)
        .nowhere("wrong-password");
    assert!(tokens.refused() > 0);
    assert!(!tag_message(&setup.project).contains("Digests:"));
    assert!(remote_refs(setup.remote.path()).is_empty());
}
