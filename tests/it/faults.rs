//! Faults from issue 14, reproduced against the real engine: concurrent runs of the same
//! environment, duplicates left by older versions, and a busy environment with `--no-wait`.
//! Each test checks the exit code and that nothing is left behind. See docs/reliability.md.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::lifecycle::Demo;
use crate::support::docker::{self, compose_project_objects, docker as cli};

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

/// SIGINT to `pid` (as Ctrl-C would send).
fn interrupt(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
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
