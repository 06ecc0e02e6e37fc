//! Faults from issue 14, reproduced against the real engine: concurrent runs of the same
//! environment, duplicates left by older versions, a busy environment with `--no-wait`, a
//! stalled Engine, a silent Elastic Beanstalk endpoint, throttling and a rollback's deadline.
//! Each test checks the exit code and that nothing is left behind. See docs/reliability.md.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::lifecycle::Demo;
use crate::support::docker::{self, compose_project_objects, docker as cli};
use crate::support::interrupt;
use crate::support::stall::{Silent, StallingEngine, guarded};

/// Networks named exactly `name` (the Engine allows several).
fn networks_named(name: &str) -> Vec<String> {
    cli(&["network", "ls", "--format", "{{.ID}} {{.Name}}"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, n)| *n == name)
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// Create a network named `name` even if one exists, as Engine API 1.41 allows (the Docker
/// CLI refuses duplicates, so this talks to the socket): what concurrent older runs left.
fn create_duplicate_network(name: &str, labels: &[(&str, &str)]) {
    use std::io::{Read, Write};
    let labels: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
        .collect();
    let body =
        serde_json::json!({"Name": name, "CheckDuplicate": false, "Labels": labels}).to_string();
    let mut socket =
        std::os::unix::net::UnixStream::connect("/var/run/docker.sock").expect("docker socket");
    write!(
        socket,
        "POST /v1.41/networks/create HTTP/1.0\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write request");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).expect("read answer");
    assert!(
        answer.starts_with("HTTP/1.0 201") || answer.starts_with("HTTP/1.1 201"),
        "{answer}"
    );
}

fn nothing_left(demo: &Demo) {
    for kind in ["container", "network"] {
        let left = compose_project_objects(kind, &demo.compose_project);
        assert!(left.is_empty(), "{kind}s left behind: {left:?}");
    }
}

#[test]
fn five_concurrent_starts_make_one_network_and_down_removes_everything() {
    if !docker::ready() {
        return;
    }
    let demo = Demo::new("prod");
    let outputs: Vec<_> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..5)
            .map(|_| s.spawn(|| demo.run(&["start", "prod", "--detach", "--timeout", "3m"])))
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("thread"))
            .collect()
    });
    for out in &outputs {
        assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    }
    // Whether a run had to wait depends on timing (the first start may finish before the
    // others ask); the message and the busy code are checked deterministically by the
    // `--no-wait` test. Here: every run succeeded, and the invariants below hold.
    let default = format!("{}_default", demo.compose_project);
    assert_eq!(networks_named(&default).len(), 1, "one {default}");
    demo.run(&["status", "prod"]).success();
    demo.run(&["down", "prod"]).success();
    nothing_left(&demo);
}

#[test]
fn start_and_down_repair_duplicate_networks_left_by_older_runs() {
    if !docker::ready() {
        return;
    }
    let demo = Demo::new("prod");
    let default = format!("{}_default", demo.compose_project);
    let project_label = demo.compose_project.clone();
    let labels = [
        ("com.docker.compose.project", project_label.as_str()),
        ("com.docker.compose.network", "default"),
        ("org.stevedore.environment", "prod"),
    ];
    for _ in 0..3 {
        create_duplicate_network(&default, &labels);
    }
    assert_eq!(networks_named(&default).len(), 3, "the duplicates exist");
    demo.run(&["start", "prod", "--detach"]).success();
    assert_eq!(networks_named(&default).len(), 1, "start kept one");
    demo.run(&["down", "prod"]).success();
    nothing_left(&demo);

    // `down` alone removes duplicates too (it used to report ok and leave them all).
    for _ in 0..2 {
        create_duplicate_network(&default, &labels);
    }
    demo.run(&["down", "prod"]).success();
    assert!(networks_named(&default).is_empty(), "down removed both");
    nothing_left(&demo);
}

#[test]
fn no_wait_fails_fast_with_exit_10_naming_env_and_holder() {
    if !docker::ready() {
        return;
    }
    let demo = Demo::new("prod");
    // A foreground `start` holds the environment while it follows the logs.
    let mut holder = demo
        .project
        .command(["start", "prod", "-p", &demo.compose_project])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn start");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = demo.run(&["stop", "prod", "--no-wait"]);
        if out.code == Some(10) {
            assert!(
                out.stderr.contains("environment prod is busy"),
                "{}",
                out.stderr
            );
            assert!(out.stderr.contains("`stevedore start`"), "{}", out.stderr);
            assert!(!out.stderr.contains("<env>"), "{}", out.stderr);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the running start never held the lock: {out:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Ctrl-C detaches the foreground start and releases the lock.
    interrupt(holder.id());
    let _ = holder.wait();
    demo.run(&["down", "prod", "--no-wait"]).success();
    nothing_left(&demo);
}

#[test]
fn two_concurrent_releases_of_one_version_leave_the_winners_tags() {
    let Some(r) = crate::release::built() else {
        return;
    };
    let p = &r.project;
    for version in ["1.0.0", "1.2.0", "3.1.0"] {
        let outputs: Vec<_> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..2)
                .map(|_| s.spawn(|| p.run(["release", "prod", version])))
                .collect();
            runs.into_iter()
                .map(|r| r.join().expect("thread"))
                .collect()
        });
        let codes: Vec<_> = outputs.iter().map(|o| o.code).collect();
        assert!(
            codes.iter().all(|c| matches!(c, Some(0) | Some(10))) && codes.contains(&Some(0)),
            "{version}: one wins, the other succeeds as a no-op or stops with 10: {outputs:?}"
        );
        for out in outputs.iter().filter(|o| o.code == Some(10)) {
            assert!(
                out.stderr.contains("this run changed nothing"),
                "{}",
                out.stderr
            );
        }
        // The loser used to remove these in its undo.
        for repository in [r.repository.clone(), format!("{}-proxy", r.repository)] {
            for tag in [version, "prod"] {
                assert!(
                    crate::release::image_id(&format!("{repository}:{tag}")).is_some(),
                    "{version}: the winner's image tag {repository}:{tag} survives"
                );
            }
        }
        assert!(
            !p.git(&["tag", "-l", &format!("v{version}")]).is_empty(),
            "git tag v{version}"
        );
    }
}

/// Long enough for any honest run on a loaded machine; only a hang reaches it.
const HANG_GUARD: Duration = Duration::from_secs(180);

#[test]
fn a_stalled_engine_ends_start_at_its_deadline_naming_what_is_left_and_down_removes_it() {
    if !docker::ready() {
        return;
    }
    let demo = Demo::new("prod");
    // Images first, through the real engine: the stall is in starting containers.
    demo.project.run(["image", "build", "prod"]).success();
    let stalling = StallingEngine::start(&["/start"]);
    let mut cmd = demo.project.command([
        "start",
        "prod",
        "--detach",
        "--timeout",
        "5s",
        "-p",
        &demo.compose_project,
    ]);
    cmd.env("DOCKER_HOST", &stalling.host);
    let out = guarded(cmd, HANG_GUARD);
    assert_eq!(out.code, Some(8), "stderr:\n{}", out.stderr);
    assert!(!stalling.stalled().is_empty(), "the proxy stalled a start");
    assert!(
        out.stderr.contains("start stopped at its deadline (5s)")
            && out.stderr.contains("did not answer"),
        "{}",
        out.stderr
    );
    // The proxy still answers listings: the leftovers are named, with the command to remove them.
    let network = format!("{}_default", demo.compose_project);
    assert!(
        out.stderr.contains("left behind:") && out.stderr.contains(&format!("network {network}")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("(created)"), "{}", out.stderr);
    assert!(
        out.stderr.contains("down prod") && out.stderr.contains("` removes it"),
        "{}",
        out.stderr
    );
    assert!(!compose_project_objects("container", &demo.compose_project).is_empty());
    demo.run(&["down", "prod"]).success();
    nothing_left(&demo);
}

#[test]
fn an_engine_that_never_answers_fails_image_build_and_start_instead_of_hanging() {
    if !docker::ready() {
        return;
    }
    let demo = Demo::new("prod");
    let silent = Silent::start();
    for args in [
        &["image", "build", "prod"][..],
        &["start", "prod", "--detach", "--timeout", "3s"],
    ] {
        let mut cmd = demo.project.command(args);
        cmd.env("DOCKER_HOST", format!("tcp://{}", silent.addr));
        let out = guarded(cmd, HANG_GUARD);
        assert_eq!(out.code, Some(4), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("cannot reach the Docker Engine")
                && out.stderr.contains("no answer"),
            "{args:?}: {}",
            out.stderr
        );
    }
    nothing_left(&demo);
}

#[test]
fn a_build_whose_engine_stalls_mid_answer_ends_at_its_timeout_with_nothing_tagged() {
    if !docker::ready() {
        return;
    }
    let demo = Demo::new("prod");
    // A build the Engine is still running when the deadline comes, so the cut is the only end.
    let dockerfile = demo.project.root().join("docker/app/prod/Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).expect("Dockerfile");
    std::fs::write(&dockerfile, format!("{text}RUN sleep 60\n")).expect("write Dockerfile");
    let tag = format!("{}-app:prod", demo.name);
    // The Engine answers `/build` with its headers, then nothing: both builders' build stream
    // (stevedore speaks BuildKit only over a Unix socket, so that proxy listens on one).
    let over_tcp = StallingEngine::start_after_headers(&["/build"]);
    let over_socket = StallingEngine::start_after_headers_on_socket(&["/build"]);
    for (builder, stalling) in [("classic", &over_tcp), ("buildkit", &over_socket)] {
        let mut cmd = demo.project.command([
            "image",
            "build",
            "prod",
            "--service",
            "app",
            "--builder",
            builder,
            "--timeout",
            "5s",
        ]);
        cmd.env("DOCKER_HOST", &stalling.host);
        // Far past the 5 s deadline: only a hang reaches it.
        let out = guarded(cmd, Duration::from_secs(90));
        assert_eq!(out.code, Some(8), "{builder}: {}", out.stderr);
        assert!(
            out.stderr.contains(
                "image build stopped at its deadline (5s) while building `app`: the Docker Engine"
            ) && out.stderr.contains("raise --timeout"),
            "{builder}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!("{tag} was not tagged")),
            "{builder}: {}",
            out.stderr
        );
        // What the error says is so: the Engine cancelled the build when the client hung up.
        std::thread::sleep(Duration::from_secs(2));
        assert!(
            cli(&["image", "inspect", &tag]).is_err(),
            "{builder}: {tag} exists after a cut build"
        );
        let stalled = stalling.stalled();
        assert!(
            stalled.iter().any(|l| l.contains("/build")),
            "{builder}: the build went through the proxy: {stalled:?}"
        );
    }
    // The environment lock went with the process: the next build is not told to wait.
    demo.project
        .run([
            "image",
            "build",
            "prod",
            "--service",
            "proxy",
            "--timeout",
            "5m",
        ])
        .success();
}

/// Pulls and pushes are bounded by silence (`STEVEDORE_ENGINE_IDLE_TIMEOUT`, 10 minutes by
/// default), not by a total: an Engine whose progress stream stops after the headers ends
/// `start`'s pull and `publish`'s push with exit 8, naming the image; `publish` records nothing.
#[test]
fn a_pull_or_push_whose_engine_goes_silent_ends_after_the_idle_timeout() {
    if !docker::ready() {
        return;
    }
    let Some(registry) = crate::support::registry::Registry::start() else {
        return;
    };
    let stalling = StallingEngine::start_after_headers(&["/images/create", "/push"]);

    // `start` pulls a missing image: the Engine's answer stops after its headers.
    let image = "stevedore-test/never-here:1";
    let dev = crate::support::docker::ComposeDev::new(
        "it-pull-stall",
        &format!("services:\n  app:\n    image: {image}\n"),
    );
    let mut start = dev.project.command([
        "start",
        "dev",
        "--detach",
        "-p",
        dev.compose_project.as_str(),
    ]);
    start
        .env("DOCKER_HOST", &stalling.host)
        .env("STEVEDORE_ENGINE_IDLE_TIMEOUT", "3s");
    let out = guarded(start, Duration::from_secs(90));
    assert_eq!(out.code, Some(8), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("sent nothing for 3s while pulling {image}"))
            && out.stderr.contains("STEVEDORE_ENGINE_IDLE_TIMEOUT"),
        "{}",
        out.stderr
    );

    // `publish` pushes through the same Engine: exit 8, nothing recorded, no git refs pushed.
    let setup = crate::publish::released(&registry, None);
    let mut publish = setup.project.command(["publish", "prod", "1.0.0"]);
    publish
        .env("DOCKER_HOST", &stalling.host)
        .env("STEVEDORE_ENGINE_IDLE_TIMEOUT", "3s");
    let out = guarded(publish, Duration::from_secs(90));
    assert_eq!(out.code, Some(8), "{}", out.stderr);
    assert!(
        out.stderr.contains("sent nothing for 3s while pushing"),
        "{}",
        out.stderr
    );
    assert!(!crate::publish::tag_message(&setup.project).contains("Digests:"));
    assert!(crate::publish::remote_refs(setup.remote.path()).is_empty());
    let stalled = stalling.stalled();
    assert!(
        stalled.iter().any(|l| l.contains("/images/create"))
            && stalled.iter().any(|l| l.contains("/push")),
        "{stalled:?}"
    );

    // A value that is not a duration is refused, naming the variable.
    let mut bad = dev.project.command([
        "start",
        "dev",
        "--detach",
        "-p",
        dev.compose_project.as_str(),
    ]);
    bad.env("STEVEDORE_ENGINE_IDLE_TIMEOUT", "soon");
    let out = guarded(bad, Duration::from_secs(90));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains("STEVEDORE_ENGINE_IDLE_TIMEOUT=soon"),
        "{}",
        out.stderr
    );
}

#[test]
fn deploy_ends_at_its_deadline_counts_throttling_and_the_rollback_shares_the_deadline() {
    let Some((rig, _)) = crate::deploy::running_one() else {
        return;
    };
    let p = &rig.project;

    // An Elastic Beanstalk endpoint that accepts and never answers: exit 8 by the deadline.
    let silent = Silent::start();
    let mut cmd = p.command(["deploy", "prod", "1.0.0", "--timeout", "5s"]);
    cmd.env("AWS_ENDPOINT_URL_ELASTIC_BEANSTALK", silent.url());
    let out = guarded(cmd, HANG_GUARD);
    assert_eq!(out.code, Some(8), "stderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains("no answer before the deadline"),
        "{}",
        out.stderr
    );

    // Throttled answers are retried, counted and shown with -v.
    rig.sim.knobs(|k| k.throttle_next = 3);
    let out = p.run(["-v", "deploy", "prod", "1.0.0"]).success();
    let counted = out
        .stderr
        .lines()
        .chain(out.stdout.lines())
        .find(|l| l.contains("AWS requests:"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        counted.contains("elastic beanstalk") && counted.contains("(3 throttled)"),
        "{counted:?}\n{}",
        out.stderr
    );

    // The deploy of 1.1.0 fails after 12 s; the rollback would take 12 s more. With one 20 s
    // deadline for both, the rollback is cut (8), where its own fresh deadline would let it
    // finish (9).
    rig.ship("1.1.0", "release two", None);
    rig.sim.knobs(|k| {
        k.fail_next_deploy = true;
        k.deploy_delay = Some(Duration::from_secs(12));
    });
    let cmd = p.command([
        "deploy",
        "prod",
        "1.1.0",
        "--rollback-on-failure",
        "--timeout",
        "20s",
    ]);
    let out = guarded(cmd, HANG_GUARD);
    rig.sim.knobs(|k| k.deploy_delay = None);
    assert_eq!(out.code, Some(8), "stderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains("the rollback to 1.0.0") || out.stderr.contains("to roll back"),
        "{}",
        out.stderr
    );
}
