//! Build options under both builders: registry-free SSH forwarding, compose build secrets,
//! `<Dockerfile>.dockerignore`, and the options from flags and compose `build:` sections
//! (`--target`, `--platform`, `--network`, `--add-host`, `--shm-size`, `--cache-from`,
//! inline cache).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::Project;
use crate::support::docker::{self, Cleanup, cat, docker as cli, unique};
use crate::support::registry::Registry;

/// A project whose dev app image is built from `dockerfile`; returns it and the image tag.
fn project(cleanup: &mut Cleanup, dockerfile: &str) -> (Project, String) {
    crate::support::docker::dockerfile_project(cleanup, "it-bo", dockerfile)
}

const BUILDERS: [&str; 2] = ["buildkit", "classic"];

#[test]
fn dockerignore_beside_a_custom_dockerfile_wins_in_both_builders() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let (project, tag) = project(&mut cleanup, "FROM busybox:1.36\n");
    let project = project
        .file(
            "docker/app/dev/docker-compose.yml",
            "services:\n  app:\n    build:\n      context: ../../..\n      dockerfile: build/app.Dockerfile\n",
        )
        .file(
            "build/app.Dockerfile",
            "FROM busybox:1.36\nCOPY . /ctx\nRUN ls -A /ctx | sort > /listing\n",
        )
        .file("build/app.Dockerfile.dockerignore", "only-root-ignore-keeps\nbuild/skip-me\n")
        .file(".dockerignore", "kept-by-custom\n")
        .file("kept-by-custom", "x")
        .file("only-root-ignore-keeps", "x")
        .file("build/skip-me", "x");
    for builder in BUILDERS {
        project
            .run(["image", "build", "dev", "--builder", builder])
            .success();
        let listing = cat(&tag, "/listing");
        assert!(listing.contains("kept-by-custom"), "{builder}: {listing}");
        assert!(
            !listing.contains("only-root-ignore-keeps"),
            "{builder}: {listing}"
        );
        let build_dir = cli(&["run", "--rm", &tag, "ls", "-A", "/ctx/build"]).expect("ls");
        assert!(!build_dir.contains("skip-me"), "{builder}: {build_dir}");
        assert!(
            build_dir.contains("app.Dockerfile"),
            "{builder}: {build_dir}"
        );
    }
}

#[test]
fn compose_build_secrets_from_a_file_and_the_environment() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let from_file = unique("file-secret-value");
    let from_env = unique("env-secret-value");
    let dockerfile = format!(
        "FROM busybox:1.36\n\
         RUN --mount=type=secret,id=npmrc --mount=type=secret,id=token \
         sh -c 'test \"$(wc -c < /run/secrets/npmrc)\" -eq {} && \
         test \"$(wc -c < /run/secrets/token)\" -eq {} && echo both-ok > /result'\n",
        from_file.len(),
        from_env.len()
    );
    let (project, tag) = project(&mut cleanup, &dockerfile);
    let project = project
        .file("secrets/npmrc", &from_file)
        .file(
            "docker/app/dev/docker-compose.yml",
            "services:\n  app:\n    build:\n      context: ../../..\n      \
             dockerfile: docker/app/dev/Dockerfile\n      secrets:\n        - npmrc\n        \
             - source: api_token\n          target: token\n\
             secrets:\n  npmrc:\n    file: ../../../secrets/npmrc\n  api_token:\n    \
             environment: BO_API_TOKEN\n",
        )
        .file(".dockerignore", "secrets\n")
        .env("BO_API_TOKEN", &from_env);
    for args in [
        vec!["image", "build", "dev"],
        vec!["--json", "image", "build", "dev"],
    ] {
        project
            .run(args)
            .success()
            .nowhere(&from_file)
            .nowhere(&from_env);
    }
    assert_eq!(cat(&tag, "/result").trim(), "both-ok");
    let history = cli(&["history", "--no-trunc", &tag]).expect("history");
    let inspect = cli(&["image", "inspect", &tag]).expect("inspect");
    for secret in [&from_file, &from_env] {
        assert!(!history.contains(secret.as_str()), "{history}");
        assert!(!inspect.contains(secret.as_str()), "{inspect}");
    }
    // An undeclared secret is refused when the compose file is read.
    let project = project.file(
        "docker/app/dev/docker-compose.yml",
        "services:\n  app:\n    build:\n      context: ../../..\n      \
         dockerfile: docker/app/dev/Dockerfile\n      secrets:\n        - nowhere\n",
    );
    project
        .run(["image", "build", "dev"])
        .code(3)
        .stderr_has("nowhere");
}

/// An ssh-agent on a private socket, stopped on drop.
struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_agent(dir: &Path, comment: &str) -> Option<Agent> {
    let socket = dir.join("agent.sock");
    let child = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let agent = Agent { child, socket };
    for _ in 0..100 {
        if agent.socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let key = dir.join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&key)
        .status()
        .ok()?;
    assert!(made.success(), "ssh-keygen");
    let added = Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .stderr(Stdio::null())
        .status()
        .ok()?;
    assert!(added.success(), "ssh-add");
    Some(agent)
}

/// The host's `ssh-add` with its loader and libraries, copied to `dir` so it runs in the
/// busybox build container (`<dir>/ld.so --library-path <dir> <dir>/ssh-add`).
fn copy_ssh_add(dir: &Path) {
    std::fs::create_dir_all(dir).expect("tools dir");
    let binary = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v ssh-add"])
            .output()
            .expect("which")
            .stdout,
    )
    .expect("utf8");
    let binary = binary.trim();
    std::fs::copy(binary, dir.join("ssh-add")).expect("copy ssh-add");
    let ldd = Command::new("ldd").arg(binary).output().expect("ldd");
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let path = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(PathBuf::from);
        let Some(path) = path else { continue };
        let name = if line.contains("ld-linux") {
            "ld.so".to_owned()
        } else {
            path.file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        };
        std::fs::copy(&path, dir.join(name)).expect("copy library");
    }
}

#[test]
fn ssh_default_forwards_the_users_agent() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let comment = unique("stevedore-ssh-test-key");
    // The comment in the RUN line keeps an earlier run's cached result out (BuildKit's cache
    // key does not cover the agent).
    let dockerfile = format!(
        "FROM busybox:1.36\nCOPY tools/ /opt/tools/\n\
         RUN --mount=type=ssh echo {comment} && /opt/tools/ld.so --library-path /opt/tools \
         /opt/tools/ssh-add -l > /keys\n"
    );
    let (project, tag) = project(&mut cleanup, &dockerfile);
    let agent_dir = tempfile::tempdir().expect("tempdir");
    let agent = start_agent(agent_dir.path(), &comment).expect("ssh-agent runs");
    copy_ssh_add(&project.root().join("tools"));
    let with_agent = project.env("SSH_AUTH_SOCK", &agent.socket.display().to_string());
    with_agent
        .run(["image", "build", "dev", "--ssh", "default"])
        .success();
    let keys = cat(&tag, "/keys");
    assert!(keys.contains(&comment), "{keys}");
    // Compose `build.ssh` does the same; the classic builder refuses it clearly.
    let with_compose = with_agent.file(
        "docker/app/dev/docker-compose.yml",
        "services:\n  app:\n    build:\n      context: ../../..\n      \
         dockerfile: docker/app/dev/Dockerfile\n      ssh:\n        - default\n      \
         no_cache: true\n",
    );
    with_compose.run(["image", "build", "dev"]).success();
    assert!(cat(&tag, "/keys").contains(&comment));
    with_compose
        .run(["image", "build", "dev", "--builder", "classic"])
        .code(3)
        .stderr_has("needs BuildKit");
    // Without an agent, `--ssh default` says what is missing.
    with_compose
        .env("SSH_AUTH_SOCK", "")
        .run(["image", "build", "dev", "--ssh", "default"])
        .code(3)
        .stderr_has("SSH_AUTH_SOCK");
}

#[test]
fn run_options_from_flags_in_both_builders() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let (project, tag) = project(
        &mut cleanup,
        "FROM busybox:1.36 AS probe\n\
         RUN grep stevedore-host /etc/hosts > /hosts; df -k /dev/shm | tail -n 1 > /shm; \
         ls /sys/class/net > /nets\n\
         FROM busybox:1.36 AS other\nRUN echo other > /other\n",
    );
    for builder in BUILDERS {
        project
            .run([
                "image",
                "build",
                "dev",
                "--builder",
                builder,
                "--no-cache",
                "--target",
                "probe",
                "--platform",
                "linux/amd64",
                "--network",
                "none",
                "--add-host",
                "stevedore-host:10.11.12.13",
            ])
            .success();
        assert!(
            cat(&tag, "/hosts").contains("10.11.12.13"),
            "{builder}: extra host"
        );
        assert_eq!(cat(&tag, "/nets").trim(), "lo", "{builder}: network none");
        assert!(
            cli(&["run", "--rm", &tag, "cat", "/other"]).is_err(),
            "{builder}: --target"
        );
        let arch = cli(&["image", "inspect", "-f", "{{.Architecture}}", &tag]).expect("inspect");
        assert_eq!(arch.trim(), "amd64");
    }
    // `/dev/shm`: honoured by the classic builder and by BuildKit of Engine 23.0 on; `auto`
    // picks the builder that honours it.
    project
        .run([
            "image",
            "build",
            "dev",
            "--no-cache",
            "--target",
            "probe",
            "--shm-size",
            "96m",
        ])
        .success()
        .stderr_has("using the classic builder: BuildKit of this Docker Engine");
    assert_eq!(cat(&tag, "/shm").split_whitespace().nth(1), Some("98304"));
    // The same from a compose build section.
    let project = project.file(
        "docker/app/dev/docker-compose.yml",
        "services:\n  app:\n    platform: linux/amd64\n    build:\n      context: ../../..\n      \
         dockerfile: docker/app/dev/Dockerfile\n      target: probe\n      network: none\n      \
         extra_hosts:\n        stevedore-host: 10.20.30.40\n      shm_size: 80m\n      \
         no_cache: true\n",
    );
    for builder in ["auto", "classic"] {
        project
            .run(["image", "build", "dev", "--builder", builder])
            .success();
        assert!(cat(&tag, "/hosts").contains("10.20.30.40"), "{builder}");
        assert_eq!(
            cat(&tag, "/shm").split_whitespace().nth(1),
            Some("81920"),
            "{builder}"
        );
        assert_eq!(cat(&tag, "/nets").trim(), "lo", "{builder}");
    }
}

/// The image config blob of `name:reference` on the open registry at `host`.
fn config_blob(host: &str, name: &str, reference: &str) -> String {
    let get = |path: &str| {
        let out = Command::new("curl")
            .args([
                "-sf",
                "-H",
                "Accept: application/vnd.docker.distribution.manifest.v2+json",
            ])
            .arg(format!("http://{host}/v2/{name}/{path}"))
            .output()
            .expect("curl");
        assert!(out.status.success(), "GET {path}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let manifest: serde_json::Value =
        serde_json::from_str(&get(&format!("manifests/{reference}"))).expect("manifest json");
    let digest = manifest["config"]["digest"]
        .as_str()
        .expect("config digest");
    get(&format!("blobs/{digest}"))
}

#[test]
fn inline_cache_reaches_the_registry_and_cache_from_is_used() {
    if !docker::ready() {
        return;
    }
    let Some(registry) = Registry::start() else {
        return;
    };
    let mut cleanup = Cleanup::default();
    let (project, tag) = project(
        &mut cleanup,
        "FROM busybox:1.36\nARG STAMP\nRUN echo $STAMP > /stamp; date +%s%N >> /stamp\n",
    );
    let remote = format!("{}/{}:cache", registry.host(), unique("it-inline"));
    cleanup.image(&remote);
    project
        .run([
            "image",
            "build",
            "dev",
            "--build-arg",
            "BUILDKIT_INLINE_CACHE=1",
            "--build-arg",
            "STAMP=one",
        ])
        .success();
    cli(&["tag", &tag, &remote]).expect("tag");
    cli(&["push", &remote]).expect("push");
    // The pushed image config carries BuildKit's inline cache metadata.
    let (name, reference) = remote
        .split_once('/')
        .and_then(|(_, rest)| rest.split_once(':'))
        .expect("name");
    let config = config_blob(&registry.host(), name, reference);
    assert!(config.contains("moby.buildkit.cache.v0"), "{config}");

    // Classic: with --cache-from, only the named images serve as cache.
    let first = cat(&tag, "/stamp");
    project
        .run([
            "image",
            "build",
            "dev",
            "--builder",
            "classic",
            "--build-arg",
            "STAMP=two",
        ])
        .success();
    let classic = cat(&tag, "/stamp");
    assert_ne!(first, classic);
    let classic_tag = format!("{tag}-classic");
    cli(&["tag", &tag, &classic_tag]).expect("tag");
    cleanup.image(&classic_tag);
    project
        .run([
            "image",
            "build",
            "dev",
            "--builder",
            "classic",
            "--build-arg",
            "STAMP=two",
            "--cache-from",
            &classic_tag,
        ])
        .success();
    assert_eq!(cat(&tag, "/stamp"), classic);
    project
        .run([
            "image",
            "build",
            "dev",
            "--builder",
            "classic",
            "--build-arg",
            "STAMP=two",
            "--cache-from",
            "busybox:1.36",
        ])
        .success();
    assert_ne!(
        cat(&tag, "/stamp"),
        classic,
        "cache limited to --cache-from"
    );
}
