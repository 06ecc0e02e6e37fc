//! `start`, `status`, `stop`, `restart`, `down`, `logs`, `run` on the real engine, with the
//! demo app. Every test has its own stevedore project name, Compose project (`-p`) and host
//! ports, so tests run in parallel against one daemon; everything is removed even on failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::docker::{self, Cleanup, compose_project_objects, docker as cli, unique};
use crate::support::{Project, binary};

/// A free TCP port on loopback (the OS picks it; we release it for the container).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `GET path` on 127.0.0.1:port: the status line and body, retried for a few seconds.
fn http_get(port: u16, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut stream = TcpStream::connect(("127.0.0.1", port))?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            write!(
                stream,
                "GET {path} HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            )?;
            let mut text = String::new();
            stream.read_to_string(&mut text)?;
            Ok(text)
        })();
        match attempt {
            Ok(text) if text.starts_with("HTTP/") => return text,
            _ if Instant::now() > deadline => panic!("no HTTP answer on port {port}{path}"),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// The demo with its own names and ports. `port` replaces the published host port of the
/// environment's entry service; `.env` is removed so `start` has to make it.
pub(crate) struct Demo {
    pub(crate) project: Project,
    pub(crate) name: String,
    pub(crate) compose_project: String,
    port: u16,
    _cleanup: Cleanup,
}

impl Demo {
    pub(crate) fn new(env: &str) -> Demo {
        let name = unique("it-life");
        let compose_project = format!("{name}-{env}");
        let mut cleanup = Cleanup::default();
        cleanup.compose_project(&compose_project);
        for service in ["app", "proxy"] {
            cleanup.image(&format!("{name}-{service}:{env}"));
        }
        let port = free_port();
        let project = Project::demo().env("STEVEDORE_PROJECT_NAME", &name);
        let compose = format!("docker/app/{env}/docker-compose.yml");
        let text = std::fs::read_to_string(project.root().join(&compose)).expect("compose");
        let text = text
            .replace("\"8080:8080\"", &format!("\"{port}:8080\""))
            .replace("\"8000:80\"", &format!("\"{port}:80\""));
        let project = project.file(&compose, &text);
        let _ = std::fs::remove_file(project.root().join(format!("environments/{env}/.env")));
        Demo {
            project,
            name,
            compose_project,
            port,
            _cleanup: cleanup,
        }
    }

    pub(crate) fn run(&self, args: &[&str]) -> crate::support::Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-p", &self.compose_project]);
        self.project.run(all)
    }

    /// Container ids by service name.
    fn ids(&self) -> Vec<(String, String)> {
        let out = cli(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.compose_project),
            "--format",
            "{{.Label \"com.docker.compose.service\"}} {{.ID}}",
        ])
        .expect("docker ps");
        let mut ids: Vec<(String, String)> = out
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(s, id)| (s.to_owned(), id.to_owned()))
            .collect();
        ids.sort();
        ids
    }
}

#[test]
fn dev_starts_answers_is_idempotent_detaches_and_goes_down() {
    if !docker::ready() {
        return;
    }
    let demo = Demo::new("dev");
    demo.run(&["start", "dev", "--wait"])
        .success()
        .stderr_has("created it from .env.example")
        .stderr_has(&format!("app is up: http://localhost:{}", demo.port));
    assert!(demo.project.root().join("environments/dev/.env").is_file());
    let health = http_get(demo.port, "/health");
    assert!(health.contains("200"), "{health}");
    assert!(health.contains("\"environment\":\"dev\""), "{health}");

    let status = demo.run(&["--json", "status", "dev"]).success();
    let services = status.summary()["data"]["services"].clone();
    assert_eq!(services[0]["service"], "app", "{services}");
    assert_eq!(services[0]["state"], "running", "{services}");
    assert_eq!(services[0]["health"], "healthy", "{services}");
    demo.run(&["status", "dev"])
        .success()
        .stdout_has("SERVICE")
        .stdout_has("healthy");

    // A second start touches nothing.
    let before = demo.ids();
    demo.run(&["dev", "start", "--detach"])
        .success()
        .stderr_has("up to date");
    assert_eq!(demo.ids(), before);

    // Following the logs, Ctrl-C detaches: exit 0, the container still runs.
    let mut child = Command::new(binary())
        .args(["start", "dev", "-p", &demo.compose_project])
        .current_dir(demo.project.root())
        .env("HOME", demo.project.home())
        .env("STEVEDORE_PROJECT_NAME", &demo.name)
        .env("DOCKER_CONFIG", demo.project.home().join(".docker"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn start");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap_or(0) > 0 {
        seen.push_str(&line);
        if line.contains("Following the logs") {
            break;
        }
        line.clear();
    }
    assert!(seen.contains("Following the logs"), "{seen}");
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    let exit = child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0), "{seen}{rest}");
    assert!(rest.contains("Detached"), "{rest}");
    assert_eq!(demo.ids(), before, "the container keeps running");
    assert!(http_get(demo.port, "/health").contains("200"));

    // Logs, a one-off run with its exit code, stop, restart.
    demo.run(&["logs", "dev", "--tail", "50"])
        .success()
        .stderr_has("app | ");
    demo.run(&["run", "dev", "--", "sh", "-c", "echo one-off; exit 7"])
        .code(7)
        .stdout_has("one-off");
    assert_eq!(demo.ids(), before, "the one-off container is removed");
    // The original's named one-offs: tasks from stevedore.toml, in the original's order too.
    demo.run(&["task", "dev"]).success().stdout_has("check");
    demo.run(&["dev", "check"])
        .success()
        .stderr_has("Running task `check`");
    demo.run(&["dev", "nosuchtask"])
        .code(2)
        .stderr_has("neither a command nor a task");
    demo.run(&["stop", "dev"]).success();
    demo.run(&["stop", "dev"])
        .code(1)
        .stderr_has("No Docker container is running")
        // The hint repeats the compose project this run named.
        .stderr_has(&format!("stevedore start dev -p {}", demo.compose_project));
    demo.run(&["start", "dev", "--wait"]).success();
    assert_eq!(
        demo.ids(),
        before,
        "a stopped container is started, not recreated"
    );
    demo.run(&["restart", "dev"]).success();
    assert!(http_get(demo.port, "/health").contains("200"));

    // down leaves no container or network behind.
    demo.run(&["down", "dev"]).success();
    assert!(compose_project_objects("container", &demo.compose_project).is_empty());
    assert!(compose_project_objects("network", &demo.compose_project).is_empty());
    demo.run(&["down", "dev"])
        .success()
        .stderr_has("nothing to remove");
}

#[test]
fn prod_waits_for_health_and_recreates_only_the_changed_service() {
    if !docker::ready() {
        return;
    }
    let demo = Demo::new("prod");
    demo.run(&["start", "prod", "--wait"]).success();
    // The proxy started after the app was healthy and reaches it through its link.
    let answer = http_get(demo.port, "/health");
    assert!(answer.contains("X-Proxy: stevedore-demo"), "{answer}");
    assert!(answer.contains("\"environment\":\"prod\""), "{answer}");
    let before = demo.ids();
    assert_eq!(before.len(), 2, "{before:?}");

    let compose = "docker/app/prod/docker-compose.yml";
    let text = std::fs::read_to_string(demo.project.root().join(compose)).expect("compose");
    let edited = text.replace("ENV_NAME: prod", "ENV_NAME: prod\n      EXTRA: changed");
    assert_ne!(text, edited);
    std::fs::write(demo.project.root().join(compose), edited).expect("write");
    demo.run(&["start", "prod", "--wait"])
        .success()
        .stderr_has("app: recreating");
    let after = demo.ids();
    assert_ne!(after[0], before[0], "app recreated");
    assert_eq!(after[1], before[1], "proxy untouched");
    let env = cli(&[
        "inspect",
        "--format",
        "{{range .Config.Env}}{{println .}}{{end}}",
        &after[0].1,
    ])
    .expect("inspect");
    assert!(env.contains("EXTRA=changed"), "{env}");
    assert!(http_get(demo.port, "/health").contains("200"));
    // A service dropped from the file leaves an orphan: reported, then removed on request.
    let compose_path = demo.project.root().join(compose);
    let text = std::fs::read_to_string(&compose_path).expect("compose");
    let (app_only, _) = text.split_once("  proxy:").expect("a proxy service");
    std::fs::write(&compose_path, app_only).expect("write");
    demo.run(&["start", "prod", "--detach"])
        .success()
        .stderr_has("orphan container(s)")
        .stderr_has("-proxy-1");
    demo.run(&["start", "prod", "--detach", "--remove-orphans"])
        .success()
        .stderr_has("removing orphan container");
    assert_eq!(demo.ids().len(), 1, "{:?}", demo.ids());
    demo.run(&["down", "prod", "--volumes"]).success();
    assert!(compose_project_objects("container", &demo.compose_project).is_empty());
}

#[test]
fn a_bad_compose_file_exits_3_naming_file_and_line() {
    let project = Project::demo().file(
        "docker/app/dev/docker-compose.yml",
        "app:\n  image: busybox\n  ports:\n    - \"99999:80\"\n",
    );
    project
        .run(["start", "dev", "--detach"])
        .code(3)
        .stderr_has("docker-compose.yml:4");
}

/// `State.FinishedAt` as a sortable `(seconds, nanoseconds)` pair (Go trims trailing zeros of the
/// fraction, so the strings themselves do not sort).
fn finished_at(id: &str) -> (String, u32) {
    let text = cli(&["inspect", "-f", "{{.State.FinishedAt}}", id]).expect("inspect");
    let text = text.trim().trim_end_matches('Z');
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let nanos = format!("{fraction:0<9}")[..9].parse().expect("nanoseconds");
    (seconds.to_owned(), nanos)
}

#[test]
fn stop_takes_dependents_first_the_demo_exits_on_sigterm_and_down_rmi_local_removes_images() {
    if !docker::ready() {
        return;
    }
    let demo = Demo::new("prod");
    demo.run(&["start", "prod", "--wait"]).success();
    let ids = demo.ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    // A grace period far longer than the test: a container that ignored SIGTERM would be killed
    // (exit code 137) only after it, and `stop` would still be waiting.
    demo.run(&["stop", "prod", "-t", "30"]).success();
    let id_of = |service: &str| {
        ids.iter()
            .find(|(s, _)| s == service)
            .map(|(_, id)| id.clone())
            .expect("service container")
    };
    for (service, id) in &ids {
        let code = cli(&["inspect", "-f", "{{.State.ExitCode}}", id]).expect("inspect");
        assert_eq!(code.trim(), "0", "{service} did not exit on SIGTERM");
    }
    assert!(
        finished_at(&id_of("proxy")) <= finished_at(&id_of("app")),
        "the proxy depends on the app, so it stops first"
    );
    let built = format!("{}-app:prod", demo.name);
    assert!(
        cli(&["image", "inspect", &built]).is_ok(),
        "start built {built}"
    );
    let down = demo
        .run(&["--json", "down", "prod", "--rmi", "local"])
        .success();
    assert!(demo.ids().is_empty(), "down removes every container");
    let removed = down.summary()["data"]["images"].clone();
    assert_eq!(
        removed,
        serde_json::json!([built, format!("{}-proxy:prod", demo.name)]),
        "--rmi local removes the images start built"
    );
    assert!(
        cli(&["image", "inspect", &built]).is_err(),
        "{built} is gone"
    );
}

/// `down -t 1` overrides a service's `stop_grace_period`, as docker-compose's `-t` does: a
/// container that ignores SIGTERM (a shell's `sleep` as PID 1) is killed after a second, not
/// after the five minutes its service asks for.
#[test]
fn down_t_overrides_a_services_stop_grace_period() {
    if !docker::ready() {
        return;
    }
    let dev = crate::support::docker::ComposeDev::new(
        "it-grace",
        "services:\n  app:\n    image: busybox:1.36\n    command: [\"sleep\", \"600\"]\n    \
         stop_grace_period: 5m\n",
    );
    let (project, compose_project) = (&dev.project, dev.compose_project.as_str());
    project
        .run(["start", "dev", "--detach", "-p", compose_project])
        .success();
    let mut down = project.command(["down", "dev", "-t", "1", "-p", compose_project]);
    down.env("CI", "true");
    // Far below the five minutes the service asks for: only ignoring `-t` reaches it.
    let out = crate::support::stall::guarded(down, Duration::from_secs(120));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(compose_project_objects("container", compose_project).is_empty());
}
