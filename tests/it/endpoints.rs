//! Docker endpoints chosen and reached as the Docker CLI does: contexts made by
//! `docker context create`, a TLS `tcp://` daemon with client certificates, an `ssh://` daemon.

use std::process::Command;

use crate::support::endpoints::{Sshd, TlsProxy};
use crate::support::{Project, docker};

/// `docker context create NAME` in the project's DOCKER_CONFIG, pointing at the TLS proxy.
fn create_context(project: &Project, name: &str, proxy: &TlsProxy) {
    let certs = &proxy.client_certs;
    let spec = format!(
        "host={},ca={},cert={},key={}",
        proxy.host,
        certs.join("ca.pem").display(),
        certs.join("cert.pem").display(),
        certs.join("key.pem").display()
    );
    let out = Command::new("docker")
        .args(["context", "create", name, "--docker", &spec])
        .env("DOCKER_CONFIG", project.home().join(".docker"))
        .output()
        .expect("run docker context create");
    assert!(
        out.status.success(),
        "docker context create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_docker_context_is_used_through_docker_context_and_the_flag() {
    if !docker::ready() {
        return;
    }
    let Some(proxy) = TlsProxy::start() else {
        return;
    };
    let name = docker::unique("ctx");
    // DOCKER_HOST empty counts as unset, as for the CLI.
    let project = Project::demo().env("DOCKER_HOST", "");
    create_context(&project, &name, &proxy);
    let via_env = Project::demo()
        .env("DOCKER_HOST", "")
        .env(
            "DOCKER_CONFIG",
            project.home().join(".docker").to_str().unwrap(),
        )
        .env("DOCKER_CONTEXT", &name);
    via_env
        .run(["doctor"])
        .stderr_has("[pass] docker: Docker Engine")
        .stderr_has(&format!(
            "at {} (context \"{name}\" from DOCKER_CONTEXT, TLS with",
            proxy.host
        ));
    via_env.run(["status", "dev"]).success();
    project
        .run(["--context", &name, "doctor"])
        .stderr_has(&format!(
            "at {} (context \"{name}\" from --context, TLS with",
            proxy.host
        ));
    // The flag wins over DOCKER_HOST, as in the CLI; `config` says which endpoint and why.
    let out = Project::demo()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env(
            "DOCKER_CONFIG",
            project.home().join(".docker").to_str().unwrap(),
        )
        .run(["-c", &name, "--json", "config", "dev"])
        .success();
    let endpoint = &out.summary()["data"]["docker_endpoint"];
    assert_eq!(endpoint["host"], proxy.host.as_str(), "{}", out.stdout);
    assert_eq!(endpoint["source"], "context_flag", "{}", out.stdout);
    // `docker context use` is honoured too.
    let status = Command::new("docker")
        .args(["context", "use", &name])
        .env("DOCKER_CONFIG", project.home().join(".docker"))
        .output()
        .expect("docker context use");
    assert!(status.status.success());
    project
        .run(["doctor"])
        .stderr_has(&format!(
            "context \"{name}\" from currentContext in config.json"
        ))
        .stderr_has("[pass] docker: Docker Engine");
    // A context that does not exist is named, with the fix.
    Project::demo()
        .env("DOCKER_HOST", "")
        .env("DOCKER_CONTEXT", "no-such-context")
        .run(["status", "dev"])
        .code(4)
        .stderr_has("\"no-such-context\" (from DOCKER_CONTEXT) does not exist")
        .stderr_has("docker context ls");
}

#[test]
fn a_tls_daemon_works_with_docker_tls_verify_and_fails_clearly_without() {
    if !docker::ready() {
        return;
    }
    let Some(proxy) = TlsProxy::start() else {
        return;
    };
    let certs = proxy.client_certs.to_str().unwrap();
    Project::demo()
        .env("DOCKER_HOST", &proxy.host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", certs)
        .run(["status", "dev"])
        .success();
    // Plain HTTP to a TLS port: the error says to turn TLS on.
    Project::demo()
        .env("DOCKER_HOST", &proxy.host)
        .run(["status", "dev"])
        .code(4)
        .stderr_has(&format!("cannot reach the Docker Engine at {}", proxy.host))
        .stderr_has("DOCKER_TLS_VERIFY=1");
    // TLS asked for, certificates missing: the missing file is named before any connection.
    let empty = tempfile::tempdir().unwrap();
    Project::demo()
        .env("DOCKER_HOST", &proxy.host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", empty.path().to_str().unwrap())
        .run(["status", "dev"])
        .code(4)
        .stderr_has("ca.pem does not exist")
        .stderr_has("DOCKER_CERT_PATH");
    // The CA alone (no client certificate): the proxy refuses the handshake.
    std::fs::copy(
        proxy.client_certs.join("ca.pem"),
        empty.path().join("ca.pem"),
    )
    .unwrap();
    std::fs::write(empty.path().join("cert.pem"), "").unwrap();
    std::fs::write(empty.path().join("key.pem"), "").unwrap();
    Project::demo()
        .env("DOCKER_HOST", &proxy.host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", empty.path().to_str().unwrap())
        .run(["status", "dev"])
        .code(4)
        .stderr_has(&format!("cannot reach the Docker Engine at {}", proxy.host));
}

#[test]
fn an_ssh_daemon_is_reached_through_docker_system_dial_stdio() {
    if !docker::ready() {
        return;
    }
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let project = Project::demo()
        .env("DOCKER_HOST", &sshd.host)
        .env("PATH", &sshd.path());
    project
        .run(["doctor"])
        .stderr_has("[pass] docker: Docker Engine")
        .stderr_has(&format!("at {} (DOCKER_HOST)", sshd.host));
    project.run(["status", "dev"]).success();
}
