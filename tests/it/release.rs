//! `stevedore release`: SemVer, preconditions, tags and branch, all or nothing.

use crate::support::Project;
use crate::support::docker::{self, Cleanup, docker as cli, unique};

/// A git-initialised demo project with its own project name and repository, prod images built.
pub(crate) struct Released {
    pub(crate) project: Project,
    pub(crate) repository: String,
    _cleanup: Cleanup,
}

fn git(project: &Project, args: &[&str]) -> String {
    project.git(args)
}

pub(crate) fn image_id(reference: &str) -> Option<String> {
    cli(&["image", "inspect", "--format", "{{.Id}}", reference])
        .ok()
        .map(|s| s.trim().to_owned())
}

pub(crate) fn built() -> Option<Released> {
    if !docker::ready() {
        return None;
    }
    let name = unique("it-rel");
    let repository = format!("localhost:5999/{name}");
    let mut cleanup = Cleanup::default();
    for service in ["app", "proxy"] {
        cleanup.image(&format!("{name}-{service}:prod"));
    }
    for tag in ["1.0.0", "1.2.0", "1.2.10", "1.3.0", "3.1.0", "prod"] {
        cleanup.image(&format!("{repository}:{tag}"));
        cleanup.image(&format!("{repository}-proxy:{tag}"));
    }
    let project = Project::demo()
        .env("STEVEDORE_PROJECT_NAME", &name)
        .env("STEVEDORE_REPOSITORY", &repository)
        .git_init();
    project.run(["image", "build", "prod"]).success();
    Some(Released {
        project,
        repository,
        _cleanup: cleanup,
    })
}

#[test]
fn release_tags_images_commit_and_branch_then_is_idempotent() {
    let Some(r) = built() else { return };
    let p = &r.project;
    std::fs::write(p.root().join("app/www/about.html"), "about\n").expect("write");
    p.commit_all("Add the about page");
    p.run(["image", "build", "prod"]).success();
    let head = git(p, &["rev-parse", "HEAD"]);
    let out = p.run(["--json", "release", "prod", "1.0.0"]).success();
    assert_eq!(out.summary()["data"]["tag"], "v1.0.0");
    assert_eq!(git(p, &["rev-parse", "v1.0.0^{commit}"]), head);
    assert_eq!(git(p, &["cat-file", "-t", "v1.0.0"]), "tag", "annotated");
    let message = git(p, &["tag", "-l", "--format=%(contents)", "v1.0.0"]);
    assert!(message.starts_with("Release v1.0.0"), "{message}");
    assert!(
        message.contains("* Add the about page - @Grace"),
        "{message}"
    );
    assert!(message.contains("* init - @Test"), "{message}");
    assert!(
        message.contains(&format!("app {}:1.0.0 sha256:", r.repository)),
        "{message}"
    );
    assert_eq!(git(p, &["rev-parse", "release-v1.0"]), head);
    assert_eq!(
        git(p, &["branch", "--show-current"]),
        "main",
        "checkout untouched"
    );
    let app = image_id(&format!("{}:1.0.0", r.repository)).expect("version tag");
    assert_eq!(
        image_id(&format!("{}:prod", r.repository)),
        Some(app.clone())
    );
    assert!(
        image_id(&format!("{}-proxy:1.0.0", r.repository)).is_some(),
        "proxy tagged too"
    );
    // A re-run at the same commit is a no-op success.
    p.run(["release", "prod", "1.0.0"])
        .success()
        .stderr_has("already released");
}

#[test]
fn refuses_a_dirty_tree_another_commit_and_bad_versions() {
    let Some(r) = built() else { return };
    let p = &r.project;
    p.run(["release", "prod", "1.2"])
        .code(3)
        .stderr_has("SemVer");
    p.run(["release", "prod", "1.2.3+build.1"])
        .code(3)
        .stderr_has("build metadata");
    p.run(["release", "prod", "v1.2.3"])
        .code(3)
        .stderr_has("starts with `v`");
    std::fs::write(p.root().join("app/www/new.html"), "new\n").expect("write");
    p.run(["release", "prod", "1.0.0"])
        .code(3)
        .stderr_has("uncommitted changes")
        .stderr_has("app/www/new.html");
    assert!(git(p, &["tag", "-l"]).is_empty());
}

/// The images built before the last commit are stale: `release` builds the environment's
/// images from HEAD itself, with the version as the `APP_VERSION` build argument and the OCI
/// labels, so the released image knows which release it is.
#[test]
fn release_builds_from_head_and_the_image_knows_its_version() {
    let Some(r) = built() else { return };
    let p = &r.project;
    std::fs::write(p.root().join("app/www/new.html"), "new\n").expect("write");
    p.commit_all("New page");
    let head = git(p, &["rev-parse", "HEAD"]);
    p.run(["release", "prod", "1.3.0"]).success();
    let reference = format!("{}:1.3.0", r.repository);
    let label = |key: &str| {
        cli(&[
            "image",
            "inspect",
            "--format",
            &format!("{{{{index .Config.Labels \"{key}\"}}}}"),
            &reference,
        ])
        .expect("inspect")
        .trim()
        .to_owned()
    };
    assert_eq!(label("org.opencontainers.image.version"), "1.3.0");
    assert_eq!(label("org.opencontainers.image.revision"), head);
    assert_eq!(label("org.stevedore.commit"), head);
    let version = cli(&["run", "--rm", &reference, "cat", "/var/app/VERSION"]).expect("run");
    assert_eq!(version.trim(), "1.3.0", "the app reports the release");
    let page = cli(&[
        "run",
        "--rm",
        &reference,
        "cat",
        "/var/app/app/www/new.html",
    ])
    .expect("run");
    assert_eq!(page.trim(), "new", "HEAD's files are in the image");
}

#[test]
fn a_patch_release_is_cut_on_its_release_branch() {
    let Some(r) = built() else { return };
    let p = &r.project;
    p.run(["release", "prod", "1.2.10"])
        .code(3)
        .stderr_has("release branch `release-v1.2` not found");
    p.run(["release", "prod", "1.2.0"]).success();
    // 1.2.10 is a patch of 1.2 (the original read its patch as 0 and re-created the branch).
    p.run(["release", "prod", "1.2.10"])
        .code(3)
        .stderr_has("must be cut on `release-v1.2`");
    git(p, &["switch", "-q", "release-v1.2"]);
    std::fs::write(p.root().join("app/www/fix.html"), "fix\n").expect("write");
    p.commit_all("Hotfix");
    p.run(["image", "build", "prod"]).success();
    p.run(["release", "prod", "1.2.10"]).success();
    assert_eq!(
        git(p, &["rev-parse", "v1.2.10^{commit}"]),
        git(p, &["rev-parse", "HEAD"])
    );
    assert_eq!(
        git(p, &["branch", "--list", "release-v*"]).lines().count(),
        1
    );
    let message = git(p, &["tag", "-l", "--format=%(contents)", "v1.2.10"]);
    assert!(
        message.contains("* Hotfix - @Grace") && !message.contains("* init"),
        "{message}"
    );
}

#[test]
fn a_failure_in_the_middle_leaves_no_tag_branch_or_image_tag() {
    let Some(r) = built() else { return };
    let p = &r.project;
    let before_env_tag = image_id(&format!("{}:prod", r.repository));
    // Injected failure: git cannot create the branch while its lock file exists.
    let lock = p.root().join(".git/refs/heads/release-v3.1.lock");
    std::fs::write(&lock, "").expect("lock");
    let out = p.run(["release", "prod", "3.1.0"]);
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    out.stderr_has("release v3.1.0 failed; undone:")
        .stderr_has("tag v3.1.0")
        .stderr_has("image tag");
    assert!(git(p, &["tag", "-l"]).is_empty(), "no tag left");
    assert!(
        git(p, &["branch", "--list", "release-v3.1"]).is_empty(),
        "no branch left"
    );
    assert_eq!(
        image_id(&format!("{}:3.1.0", r.repository)),
        None,
        "no version tag left"
    );
    assert_eq!(image_id(&format!("{}-proxy:3.1.0", r.repository)), None);
    assert_eq!(
        image_id(&format!("{}:prod", r.repository)),
        before_env_tag,
        "env tag restored"
    );
    std::fs::remove_file(&lock).expect("unlock");
    p.run(["release", "prod", "3.1.0"]).success();
}

#[test]
fn release_without_a_repository_says_how_to_set_one() {
    Project::new()
        .file("environments/prod/Procfile", "web: true\n")
        .file("docker/app/prod/Dockerfile", "FROM busybox:1.36\n")
        .run(["release", "prod", "1.0.0"])
        .code(3)
        .stderr_has("[image]");
}
