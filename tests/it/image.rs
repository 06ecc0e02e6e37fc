//! `stevedore image`: builds through the Engine API, secrets refused, labels, destroy, ls.

use crate::support::Project;
use crate::support::docker::{self, Cleanup, docker as cli, unique};

/// A demo project with a project name of its own, so parallel tests never share image tags.
fn demo(cleanup: &mut Cleanup) -> (Project, String) {
    let name = unique("it-image");
    for service in ["app", "proxy"] {
        for env in ["dev", "prod"] {
            cleanup.image(&format!("{name}-{service}:{env}"));
        }
    }
    (Project::demo().env("STEVEDORE_PROJECT_NAME", &name), name)
}

fn label(reference: &str, key: &str) -> String {
    cli(&[
        "image",
        "inspect",
        "--format",
        &format!("{{{{index .Config.Labels \"{key}\"}}}}"),
        reference,
    ])
    .expect("inspect")
    .trim()
    .to_owned()
}

#[test]
fn builds_the_demo_dev_and_prod_images_offline_with_labels() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let (project, name) = demo(&mut cleanup);
    let project = project.git_init();
    project
        .run(["image", "build", "dev"])
        .success()
        .stderr_has("RUN echo dev > /var/app/VERSION")
        .stderr_has(&format!("{name}-app:dev"));
    let out = project.run(["--json", "image", "build", "prod"]).success();
    let images = out.summary()["data"]["images"].clone();
    let tags: Vec<&str> = images
        .as_array()
        .expect("images")
        .iter()
        .filter_map(|i| i["tag"].as_str())
        .collect();
    assert_eq!(
        tags,
        vec![format!("{name}-app:prod"), format!("{name}-proxy:prod")]
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(project.root())
        .output()
        .expect("git");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    let app = format!("{name}-app:prod");
    assert_eq!(label(&app, "org.stevedore.commit"), head);
    assert_eq!(label(&app, "org.stevedore.dirty"), "false");
    assert_eq!(label(&app, "org.stevedore.environment"), "prod");
    assert_eq!(label(&app, "org.stevedore.service"), "app");
    assert_eq!(
        label(&app, "org.stevedore.version"),
        env!("CARGO_PKG_VERSION")
    );
    // The image runs: the demo's start script serves the prod Procfile.
    let version = cli(&[
        "run",
        "--rm",
        &app,
        "cat",
        "/var/app/environments/prod/Procfile",
    ])
    .expect("run");
    assert!(version.contains("web:"), "{version}");
    // ls lists both services with their commit.
    let ls = project.run(["--json", "image", "ls", "prod"]).success();
    let rows = ls.summary()["data"]["images"].clone();
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{}", ls.stdout);
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["commit"] == head.as_str())
    );
    project
        .run(["image", "ls", "prod"])
        .success()
        .stdout_has("SERVICE")
        .stdout_has("proxy");
}

#[test]
fn a_failing_run_step_exits_4_naming_the_step_and_its_output() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let name = unique("it-fail");
    cleanup.image(&format!("{name}-app:dev"));
    let project = Project::new()
        .env("STEVEDORE_PROJECT_NAME", &name)
        .file("environments/dev/Procfile", "web: true\n")
        .file(
            "docker/app/dev/Dockerfile",
            "FROM busybox:1.36\nRUN echo preparing\nRUN echo 'the tests are red' && exit 3\nRUN echo never\n",
        );
    // Both builders name the step, print its output tail and exit 4.
    for (builder, step, code) in [
        ("classic", "Step 3/", "returned a non-zero code: 3"),
        ("buildkit", "[3/4]", "exit code: 3"),
    ] {
        project
            .run(["image", "build", "dev", "--builder", builder])
            .code(4)
            .stderr_has(step)
            .stderr_has(" RUN echo 'the tests are red' && exit 3")
            .stderr_has("the tests are red")
            .stderr_has(code);
    }
}

#[test]
fn a_dotenv_in_the_context_is_refused_with_exit_3() {
    let project = Project::new()
        .file("environments/prod/Procfile", "web: true\n")
        .file("environments/prod/.env", "ENV_SECRET_KEY=hunter2\n")
        .file(
            "docker/app/prod/Dockerfile",
            "FROM busybox:1.36\nCOPY . /app\n",
        )
        .file(".dockerignore", "# nothing excluded\n");
    // Refused before the daemon is contacted: works without Docker too.
    let out = project
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run(["image", "build", "prod"])
        .code(3);
    out.stderr_has("environments/prod/.env")
        .stderr_has("add `environments/*/.env` to .dockerignore")
        .stderr_has("--allow-secret")
        .nowhere("hunter2");
}

/// Secrets are found by content too: a private key under an innocent name, an AWS key pair in
/// an ini file. The refusal names each file and rule, and never prints the secret.
#[test]
fn secrets_are_found_by_content_before_the_daemon_is_contacted() {
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n";
    let pair = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n\
                aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
    let project = Project::new()
        .file("environments/prod/Procfile", "web: true\n")
        .file(
            "docker/app/prod/Dockerfile",
            "FROM busybox:1.36\nCOPY . /app\n",
        )
        .file("config/notes.txt", key)
        .file("config/aws.ini", pair)
        .file("config/keyboard.js", "export const key = 1;\n")
        .file(".dockerignore", "# nothing excluded\n")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    project
        .run(["image", "build", "prod"])
        .code(3)
        .stderr_has("config/notes.txt — a private key (PEM/OpenSSH header)")
        .stderr_has("config/aws.ini — an AWS access key id with its secret key")
        .nowhere("keyboard.js")
        .nowhere("b3BlbnNzaC1rZXktdjEAAAAA")
        .nowhere("wJalrXUtnFEMI");
    // The opt-in stays per file: allowing one still refuses the other.
    project
        .run([
            "image",
            "build",
            "prod",
            "--allow-secret",
            "config/notes.txt",
        ])
        .code(3)
        .stderr_has("config/aws.ini")
        .nowhere("config/notes.txt —");
}

#[test]
fn allow_secret_lets_one_file_through() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let name = unique("it-allow");
    cleanup.image(&format!("{name}-app:prod"));
    let project = Project::new()
        .env("STEVEDORE_PROJECT_NAME", &name)
        .file("environments/prod/Procfile", "web: true\n")
        .file("environments/prod/.env", "KEY=value\n")
        .file(
            "docker/app/prod/Dockerfile",
            "FROM busybox:1.36\nCOPY environments/prod/.env /etc/app.env\n",
        );
    project
        .run([
            "image",
            "build",
            "prod",
            "--allow-secret",
            "environments/prod/.env",
        ])
        .success();
    let content = cli(&[
        "run",
        "--rm",
        &format!("{name}-app:prod"),
        "cat",
        "/etc/app.env",
    ])
    .expect("run");
    assert_eq!(content, "KEY=value\n");
}

#[test]
fn destroy_refuses_while_a_container_runs_then_removes() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let (project, name) = demo(&mut cleanup);
    project.run(["image", "build", "dev"]).success();
    let tag = format!("{name}-app:dev");
    let container = unique("it-destroy");
    cleanup.container(&container);
    cli(&["run", "-d", "--name", &container, &tag]).expect("run");
    project
        .run(["image", "destroy", "dev"])
        .code(3)
        .stderr_has(&container)
        .stderr_has("stevedore stop dev");
    assert!(cli(&["image", "inspect", &tag]).is_ok(), "image kept");
    cli(&["rm", "-f", &container]).expect("rm");
    project.run(["image", "destroy", "dev"]).success();
    assert!(cli(&["image", "inspect", &tag]).is_err(), "image removed");
    project
        .run(["image", "destroy", "dev"])
        .success()
        .stderr_has("no local images");
}

#[test]
fn unknown_service_and_missing_dockerfile_are_exit_3() {
    let project = Project::demo().env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    project
        .run(["image", "build", "prod", "--service", "db"])
        .code(3)
        .stderr_has("services: app, proxy");
    Project::new()
        .file("environments/dev/Procfile", "web: true\n")
        .run(["image", "build", "dev"])
        .code(3)
        .stderr_has("no image to build");
}

#[test]
fn unreachable_daemon_is_exit_4() {
    Project::demo()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run(["image", "build", "dev"])
        .code(4)
        .stderr_has("cannot reach the Docker Engine");
}

#[test]
fn two_builds_of_an_unchanged_tree_upload_byte_identical_contexts() {
    use crate::support::recording_daemon::RecordingDaemon;
    let daemon = RecordingDaemon::start();
    // Files .dockerignore must keep out of the context: sources beside the app, and a .env.
    let project = Project::demo()
        .env("DOCKER_HOST", &daemon.host())
        .file("src/main.rs", "fn main() {}\n")
        .file("tests/it.rs", "// not for the image\n")
        .file(
            "environments/dev/.env",
            "ENV_SECRET_KEY=never-in-an-image\n",
        );
    project.run(["image", "build", "dev"]).success();
    // Touching files changes mtimes, which must not change the upload.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let index = project.root().join("app/www/index.html");
    let text = std::fs::read_to_string(&index).expect("read");
    std::fs::write(&index, text).expect("rewrite");
    project.run(["image", "build", "dev"]).success();
    let builds = daemon.take_builds();
    assert_eq!(builds.len(), 2);
    assert!(builds[0].len() > 1024, "a real context was sent");
    assert!(builds[0] == builds[1], "the two uploads differ");
    // And what was sent is exactly what .dockerignore allows: no stevedore sources, no .env.
    let members = crate::support::tar_listing::members(&builds[0]);
    let paths: Vec<&str> = members.iter().map(|m| m.path.as_str()).collect();
    assert!(paths.contains(&"app/www/index.html"), "{paths:?}");
    assert!(paths.contains(&"docker/app/dev/Dockerfile"), "{paths:?}");
    assert!(paths.contains(&"environments/dev/Procfile"), "{paths:?}");
    for kept_out in ["src/main.rs", "tests/it.rs", "environments/dev/.env"] {
        assert!(
            project.root().join(kept_out).is_file(),
            "{kept_out} exists in the tree"
        );
        assert!(!paths.contains(&kept_out), "{kept_out} was sent: {paths:?}");
    }
}

#[test]
fn a_compose_build_context_anywhere_with_dockerfile_relative_to_it() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let name = unique("it-ctx");
    cleanup.image(&format!("{name}-web:dev"));
    let project = Project::new()
        .env("STEVEDORE_PROJECT_NAME", &name)
        .file("environments/dev/Procfile", "web: true\n")
        .file("services/web/src/hello.txt", "hello from a context outside the root\n")
        .file("services/web/build/Dockerfile", "FROM busybox:1.36\nCOPY src/hello.txt /hello.txt\n")
        .file(
            "deploy/compose.yml",
            "services:\n  web:\n    build:\n      context: ../services/web\n      dockerfile: build/Dockerfile\n",
        );
    project
        .run(["image", "build", "dev", "-f", "deploy/compose.yml"])
        .success();
    let out = cli(&[
        "run",
        "--rm",
        &format!("{name}-web:dev"),
        "cat",
        "/hello.txt",
    ])
    .expect("run");
    assert_eq!(out, "hello from a context outside the root\n");
}

/// A file that goes away between the listing and the upload (an editor's temporary file, a
/// tool writing into the tree): the classic upload is aborted, so the daemon neither builds nor
/// tags an image from the shorter context, which would otherwise look complete to it; BuildKit
/// asks for the file and fails. Either way the file is named and nothing is tagged.
#[test]
fn a_context_file_that_vanishes_during_the_upload_fails_the_build_and_tags_nothing() {
    use stevedore::engine::build::{self, BuildError, BuildRequest};
    use stevedore::engine::builder::BuilderChoice;
    use stevedore::engine::context::ContextError;
    use stevedore::ignore::docker::{DockerIgnore, context_entries};

    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    for builder in [BuilderChoice::Classic, BuilderChoice::Buildkit] {
        let tag = format!("{}:vanish", unique("it-vanish"));
        cleanup.image(&tag);
        let context = tempfile::tempdir().expect("context");
        let root = context.path();
        std::fs::write(root.join("Dockerfile"), "FROM busybox:1.36\nCOPY . /ctx\n").expect("write");
        std::fs::write(root.join("a.txt"), "a\n").expect("write");
        std::fs::write(root.join("b.txt"), "b\n").expect("write");
        let entries = context_entries(root, &DockerIgnore::empty(), &["Dockerfile"]).expect("list");
        // The last entry goes: what is left is a tar that ends cleanly on an entry boundary.
        assert_eq!(entries.last().map(|e| e.rel_path.as_str()), Some("b.txt"));
        std::fs::remove_file(root.join("b.txt")).expect("remove");
        let request = BuildRequest {
            context_root: root.to_owned(),
            entries,
            dockerfile: "Dockerfile".into(),
            tag: tag.clone(),
            labels: Default::default(),
            build_args: Default::default(),
            no_cache: false,
            pull: false,
            target: None,
            builder,
            secrets: Default::default(),
            settings: Default::default(),
            aws_profile: None,
        };
        let result = crate::deploy::runtime().block_on(async {
            let docker = stevedore::engine::connect().await.expect("engine");
            build::build(&docker, request, |_| {}).await
        });
        match (builder, result) {
            (BuilderChoice::Classic, Err(BuildError::Context(ContextError::Read { path, .. }))) => {
                assert!(path.ends_with("b.txt"), "{}", path.display());
            }
            (BuilderChoice::Buildkit, Err(err)) => {
                assert!(err.to_string().contains("b.txt"), "{err}");
            }
            (builder, other) => {
                panic!("{builder:?}: expected the vanished file to be named, got {other:?}")
            }
        }
        assert!(
            cli(&["image", "inspect", &tag]).is_err(),
            "{builder:?}: {tag} was built from a context without b.txt"
        );
    }
}

/// A context file the user cannot read is named, with the fix, before the Engine is asked:
/// exit 3, nothing built. Run as `nobody` when the tests run as root (root reads anything).
#[test]
fn an_unreadable_context_file_is_named_before_the_engine_is_asked() {
    use std::os::unix::fs::PermissionsExt;

    let mut cleanup = Cleanup::default();
    let name = unique("it-unreadable");
    cleanup.image(&format!("{name}-app:dev"));
    let project = Project::new()
        .env("STEVEDORE_PROJECT_NAME", &name)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .file("environments/dev/Procfile", "web: true\n")
        .file(
            "docker/app/dev/Dockerfile",
            "FROM busybox:1.36\nCOPY . /app\n",
        )
        .file("notes.txt", "nobody may read this\n");
    let notes = project.root().join("notes.txt");
    std::fs::set_permissions(&notes, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let cmd = project.command(["image", "build", "dev"]);
    let as_root = nix_is_root();
    let mut cmd = if as_root {
        // `nobody` must reach the project, its HOME and a copy of the binary.
        let top = project
            .root()
            .parent()
            .expect("the project's directory")
            .to_owned();
        let binary = top.join("stevedore");
        std::fs::copy(cmd.get_program(), &binary).expect("copy the binary");
        let status = std::process::Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(&top)
            .status()
            .expect("chmod");
        assert!(status.success());
        std::fs::set_permissions(&notes, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut wrapped = std::process::Command::new("setpriv");
        wrapped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary)
            .args(cmd.get_args())
            .current_dir(project.root())
            .env_clear();
        for (key, value) in cmd.get_envs() {
            if let Some(value) = value {
                wrapped.env(key, value);
            }
        }
        wrapped
    } else {
        cmd
    };
    let out = cmd.output().expect("run stevedore");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read {}", notes.display()))
            && stderr.contains("Permission denied")
            && stderr.contains("chmod a+r")
            && stderr.contains("a line `notes.txt` in .dockerignore"),
        "{stderr}"
    );
    // Asked first, the unreachable Engine would have been the error.
    assert!(!stderr.contains("Docker Engine"), "{stderr}");
}

/// Whether this process runs as root.
fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
