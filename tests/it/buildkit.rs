//! BuildKit builds through the Engine API (`/session` + `/build?version=2`): cache, secret and
//! bind mounts, stage targets, the classic fallback, and an unavailable `# syntax=` frontend.

use crate::support::Project;
use crate::support::docker::{self, Cleanup, cat, docker as cli, unique};

/// A project whose dev app image is built from `dockerfile`; returns it and the image tag.
fn project(cleanup: &mut Cleanup, dockerfile: &str) -> (Project, String) {
    crate::support::docker::dockerfile_project(cleanup, "it-bk", dockerfile)
}

#[test]
fn cache_mount_is_reused_by_the_next_build() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let id = unique("cache");
    let dockerfile = format!(
        "FROM busybox:1.36\nARG N\nRUN --mount=type=cache,id={id},target=/cache \
         sh -c 'ls /cache > /found; echo $N > /cache/mark-$N'\n"
    );
    let (project, tag) = project(&mut cleanup, &dockerfile);
    project
        .run(["image", "build", "dev", "--build-arg", "N=1"])
        .success()
        .stderr_has("RUN --mount=type=cache");
    assert_eq!(cat(&tag, "/found").trim(), "");
    project
        .run(["image", "build", "dev", "--build-arg", "N=2"])
        .success();
    assert_eq!(cat(&tag, "/found").trim(), "mark-1");
}

#[test]
fn secret_is_readable_in_run_and_lands_nowhere() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let secret = unique("hunter2-secret-value");
    let (project, tag) = project(
        &mut cleanup,
        "FROM busybox:1.36\nRUN --mount=type=secret,id=tok \
         sh -c 'test \"$(wc -c < /run/secrets/tok)\" -gt 10 && echo secret-ok > /result'\n",
    );
    let project = project.file("token.txt", &secret);
    let spec = format!("id=tok,src={}", project.root().join("token.txt").display());
    project
        .run(["image", "build", "dev", "--secret", &spec])
        .success()
        .nowhere(&secret);
    project
        .run(["--json", "image", "build", "dev", "--secret", &spec])
        .success()
        .nowhere(&secret);
    assert_eq!(cat(&tag, "/result").trim(), "secret-ok");
    let history = cli(&["history", "--no-trunc", &tag]).expect("history");
    assert!(!history.contains(&secret), "{history}");
    let inspect = cli(&["image", "inspect", &tag]).expect("inspect");
    assert!(!inspect.contains(&secret), "{inspect}");
    // Every layer: the saved image holds no byte sequence of the secret.
    let saved = project.root().join("saved.tar");
    cli(&["save", "-o", &saved.display().to_string(), &tag]).expect("save");
    let bytes = std::fs::read(&saved).expect("read save");
    assert!(
        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "secret found in the saved image"
    );
    // From the environment too.
    project
        .env("BK_TEST_TOKEN", &secret)
        .run([
            "image",
            "build",
            "dev",
            "--secret",
            "id=tok,env=BK_TEST_TOKEN",
        ])
        .success()
        .nowhere(&secret);
}

const STAGES: &str = "FROM busybox:1.36 AS one\nRUN echo one > /one.txt\n\
FROM busybox:1.36 AS two\nRUN echo two > /two.txt\n\
FROM busybox:1.36 AS final\n\
RUN --mount=type=bind,from=one,target=/mnt/one cp /mnt/one/one.txt /copied\n\
COPY --from=two /two.txt /two.txt\n";

#[test]
fn bind_mount_from_a_stage_and_independent_stages() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let (project, tag) = project(&mut cleanup, STAGES);
    project
        .run(["image", "build", "dev"])
        .success()
        .stderr_has("[one 2/2] RUN echo one")
        .stderr_has("[two 2/2] RUN echo two");
    assert_eq!(cat(&tag, "/copied").trim(), "one");
    assert_eq!(cat(&tag, "/two.txt").trim(), "two");
    // The bind mount left nothing behind (BuildKit keeps only the empty mount point).
    let ls = cli(&["run", "--rm", &tag, "ls", "-A", "/mnt/one"]).unwrap_or_default();
    assert!(ls.trim().is_empty(), "{ls}");
}

#[test]
fn compose_target_builds_only_that_stage() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let (project, tag) = project(&mut cleanup, STAGES);
    let project = project.file(
        "docker/app/dev/docker-compose.yml",
        "services:\n  app:\n    build:\n      context: ../../..\n      dockerfile: docker/app/dev/Dockerfile\n      target: two\n",
    );
    project
        .run(["image", "build", "dev"])
        .success()
        .nowhere("[final");
    assert_eq!(cat(&tag, "/two.txt").trim(), "two");
    assert!(cli(&["run", "--rm", &tag, "cat", "/one.txt"]).is_err());
}

#[test]
fn docker_buildkit_0_and_builder_classic_take_the_classic_path() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let (project, _tag) = project(&mut cleanup, "FROM busybox:1.36\nRUN echo hi\n");
    project
        .run(["image", "build", "dev", "--builder", "classic"])
        .success()
        .stderr_has(": RUN echo hi")
        .stderr_has("app: Step 2/");
    project
        .run(["image", "build", "dev"])
        .success()
        .stderr_has("[2/2] RUN echo hi");
    project
        .env("DOCKER_BUILDKIT", "0")
        .run(["image", "build", "dev"])
        .success()
        .stderr_has(": RUN echo hi")
        .stderr_has("app: Step 2/");
}

#[test]
fn unavailable_syntax_frontend_is_one_clear_paragraph() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let (project, _tag) = project(
        &mut cleanup,
        "# syntax=stevedore.invalid/frontend:1\nFROM busybox:1.36\nRUN echo hi\n",
    );
    project
        .run(["image", "build", "dev"])
        .code(4)
        .stderr_has("docker/app/dev/Dockerfile line 1")
        .stderr_has("# syntax=stevedore.invalid/frontend:1")
        .nowhere("rpc error");
}

#[test]
fn image_builder_setting_chooses_classic_and_doctor_reports_it() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let (project, _tag) = project(&mut cleanup, "FROM busybox:1.36\nRUN echo hi\n");
    let project = project.file("stevedore.toml", "[image]\nbuilder = \"classic\"\n");
    project
        .run(["image", "build", "dev"])
        .success()
        .stderr_has("app: Step 2/");
    project
        .run(["doctor"])
        .stderr_has("builder: classic builder (chosen)");
    // The flag wins over the setting.
    project
        .run(["image", "build", "dev", "--builder", "buildkit"])
        .success()
        .stderr_has("[2/2] RUN echo hi");
}

#[test]
fn independent_stages_run_at_the_same_time() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    // Each stage marks a shared cache mount and waits for the other's mark: built one after the
    // other, the first stage gives up (after 60 s) and the build fails.
    let id = unique("rendezvous");
    let stage = |me: &str, other: &str| {
        format!(
            "FROM busybox:1.36 AS {me}\nRUN --mount=type=cache,id={id},target=/meet,sharing=shared \
             sh -c 'touch /meet/{me}; i=0; while [ ! -e /meet/{other} ]; do sleep 0.2; \
             i=$((i+1)); [ $i -lt 300 ] || exit 7; done; echo {me} > /{me}.txt'\n"
        )
    };
    let dockerfile = format!(
        "{}{}FROM busybox:1.36\nCOPY --from=left /left.txt /left.txt\n\
         COPY --from=right /right.txt /right.txt\n",
        stage("left", "right"),
        stage("right", "left")
    );
    let (project, tag) = project(&mut cleanup, &dockerfile);
    project.run(["image", "build", "dev"]).success();
    assert_eq!(cat(&tag, "/left.txt").trim(), "left");
    assert_eq!(cat(&tag, "/right.txt").trim(), "right");
}
