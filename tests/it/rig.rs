//! The test rig itself: the base image is made offline, the demo app builds and serves with
//! it, and the loopback registry works with and without auth.

use std::time::{Duration, Instant};

use crate::support::docker::{self, Cleanup, docker as cli, unique};
use crate::support::registry::Registry;
use crate::support::repo_root;

#[test]
fn base_image_is_made_locally_from_busybox_static() {
    if !docker::ready() {
        return;
    }
    let out = cli(&[
        "run",
        "--rm",
        docker::BASE_IMAGE,
        "sh",
        "-c",
        "echo ok; which httpd nc wget",
    ])
    .expect("run the base image");
    assert!(out.starts_with("ok\n"), "{out}");
    assert!(
        out.contains("/bin/httpd") && out.contains("/bin/nc"),
        "{out}"
    );
}

/// The demo's prod stack (app + proxy) builds offline from the rig's base image and serves
/// `/health` through the proxy. Built with the Docker CLI: this checks the demo, not stevedore.
#[test]
fn demo_prod_stack_builds_offline_and_serves_health_through_the_proxy() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let root = repo_root();
    let root = root.to_str().expect("utf8 path");
    let app = format!("{}:t", unique("rig-demo-app"));
    let proxy = format!("{}:t", unique("rig-demo-proxy"));
    cleanup.image(&app);
    cleanup.image(&proxy);
    for (tag, dockerfile) in [
        (&app, "docker/app/prod/Dockerfile"),
        (&proxy, "docker/proxy/prod/Dockerfile"),
    ] {
        cli(&[
            "build",
            "-q",
            "--build-arg",
            "APP_VERSION=9.9.9",
            "-f",
            &format!("{root}/{dockerfile}"),
            "-t",
            tag,
            root,
        ])
        .expect("docker build");
    }
    let network = unique("rig-demo-net");
    cli(&["network", "create", &network]).expect("network");
    cleanup.network(&network);
    let app_name = unique("rig-demo-app");
    let proxy_name = unique("rig-demo-proxy");
    cleanup.container(&app_name);
    cleanup.container(&proxy_name);
    cli(&[
        "run",
        "-d",
        "--name",
        &app_name,
        "--network",
        &network,
        "--network-alias",
        "app",
        &app,
    ])
    .expect("run app");
    cli(&[
        "run",
        "-d",
        "--name",
        &proxy_name,
        "--network",
        &network,
        "-p",
        "127.0.0.1::80",
        &proxy,
    ])
    .expect("run proxy");
    let port = cli(&["port", &proxy_name, "80/tcp"]).expect("port");
    let port = port
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .expect("a port")
        .trim()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < deadline {
        last = http_get(&format!("127.0.0.1:{port}"), "/health").unwrap_or_default();
        if last.contains("\"status\":\"ok\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        last.contains("\"version\":\"9.9.9\""),
        "health through proxy: {last:?}"
    );
    assert!(last.contains("X-Proxy: stevedore-demo"), "{last}");
}

#[test]
fn demo_dev_image_builds_offline() {
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let root = repo_root();
    let root = root.to_str().expect("utf8 path");
    let tag = format!("{}:t", unique("rig-demo-dev"));
    cleanup.image(&tag);
    cli(&[
        "build",
        "-q",
        "-f",
        &format!("{root}/docker/app/dev/Dockerfile"),
        "-t",
        &tag,
        root,
    ])
    .expect("docker build");
    let out = cli(&[
        "run",
        "--rm",
        &tag,
        "cat",
        "/var/app/VERSION",
        "/var/app/environments/dev/Procfile",
    ])
    .expect("run");
    assert!(out.contains("dev") && out.contains("web:"), "{out}");
}

#[test]
fn registry_without_auth_accepts_a_push_from_the_engine() {
    let Some(registry) = Registry::start() else {
        return;
    };
    assert_eq!(registry.get_status("/v2/", None), 200);
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let tag = format!("{}/rig/busybox:{}", registry.host(), unique("t"));
    cleanup.image(&tag);
    cli(&["tag", docker::BASE_IMAGE, &tag]).expect("tag");
    cli(&["push", &tag]).expect("push to the loopback registry");
    assert_eq!(registry.get_status("/v2/rig/busybox/tags/list", None), 200);
}

#[test]
fn registry_with_auth_refuses_anonymous_and_accepts_the_user() {
    let Some(registry) = Registry::start_with_auth("ci", "ab~c") else {
        return;
    };
    assert_eq!(registry.get_status("/v2/", None), 401);
    assert_eq!(registry.get_status("/v2/", Some(("ci", "wrong"))), 401);
    assert_eq!(registry.get_status("/v2/", Some(("ci", "ab~c"))), 200);
}

fn http_get(host: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// Run only as a child of the test below: a test whose component is missing.
#[test]
fn skip_probe() {
    if std::env::var_os("STEVEDORE_SKIP_PROBE").is_none() {
        return;
    }
    crate::support::unavailable("the probe component", "the skip mechanism's own test");
}

/// A missing component is a failure under `CI=true`, and otherwise a skip that is recorded in
/// `STEVEDORE_SKIP_LOG` (which `tests/run.sh` counts), never a silent pass.
#[test]
fn a_missing_component_fails_under_ci_and_is_counted_as_a_skip_otherwise() {
    let this = std::env::current_exe().expect("the test binary");
    let probe = |ci: Option<&str>, log: &std::path::Path| {
        let mut command = std::process::Command::new(&this);
        command
            .args(["--exact", "rig::skip_probe", "--test-threads", "1"])
            .env("STEVEDORE_SKIP_PROBE", "1")
            .env("STEVEDORE_SKIP_LOG", log)
            .env_remove("CI");
        if let Some(ci) = ci {
            command.env("CI", ci);
        }
        command.output().expect("run the probe")
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("skips.log");

    let under_ci = probe(Some("true"), &log);
    assert!(
        !under_ci.status.success(),
        "CI=true must turn a skip into a failure"
    );
    assert!(!log.exists(), "a failure is not recorded as a skip");

    let outside_ci = probe(None, &log);
    assert!(
        outside_ci.status.success(),
        "outside CI a missing component skips"
    );
    let recorded = std::fs::read_to_string(&log).expect("the skip log");
    assert_eq!(recorded.lines().count(), 1, "{recorded}");
    assert!(
        recorded.contains("skip_probe") && recorded.contains("the probe component unavailable"),
        "{recorded}"
    );
}
