//! `stevedore run` behaves like `docker run`: piped stdin reaches the command, `-T`, `-e`,
//! `--workdir`, `--user`, and the command's exit code and the signals stevedore receives pass
//! through. The demo app's dev environment on the real engine.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;

use crate::support::Project;
use crate::support::docker::{self, Cleanup, unique};

struct OneOffDemo {
    project: Project,
    compose_project: String,
    _cleanup: Cleanup,
}

impl OneOffDemo {
    fn new() -> OneOffDemo {
        let name = unique("it-oneoff");
        let compose_project = format!("{name}-dev");
        let mut cleanup = Cleanup::default();
        cleanup.compose_project(&compose_project);
        cleanup.image(&format!("{name}-app:dev"));
        OneOffDemo {
            project: Project::demo().env("STEVEDORE_PROJECT_NAME", &name),
            compose_project,
            _cleanup: cleanup,
        }
    }

    fn args<'a>(&'a self, extra: &[&'a str], cmd: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["run", "dev", "-p", &self.compose_project];
        all.extend(extra);
        all.push("--");
        all.extend(cmd);
        all
    }
}

#[test]
fn run_forwards_stdin_options_exit_codes_and_signals() {
    if !docker::ready() {
        return;
    }
    let demo = OneOffDemo::new();
    // `echo hi | stevedore run dev -- cat`: stdin piped without a TTY.
    let mut child = demo
        .project
        .command(demo.args(&[], &["cat"]))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"hi from the pipe\n")
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("hi from the pipe"), "{stdout}");

    // -e, --workdir, --user, -T; the exit code passes through.
    demo.project
        .run(demo.args(
            &[
                "-T",
                "-e",
                "GREETING=hello there",
                "-w",
                "/tmp",
                "-u",
                "1234:5678",
            ],
            &[
                "sh",
                "-c",
                "echo \"$GREETING|$(pwd)|$(id -u):$(id -g)\"; exit 9",
            ],
        ))
        .code(9)
        .stdout_has("hello there|/tmp|1234:5678");
    demo.project
        .run(demo.args(&["-e", "=x"], &["true"]))
        .code(2)
        .stderr_has("-e `=x` has no name");

    // SIGTERM to stevedore reaches the command, whose own exit code decides.
    let mut child = demo
        .project
        .command(demo.args(
            &["-T"],
            &[
                "sh",
                "-c",
                "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 1; done",
            ],
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while !line.contains("ready") {
        line.clear();
        let n = stdout.read_line(&mut line).expect("read stdout");
        assert!(n > 0, "run ended before the command was ready");
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("read rest");
    let exit = child.wait().expect("wait");
    assert_eq!(exit.code(), Some(42), "{rest}");
    assert!(rest.contains("got-term"), "{rest}");
}

/// `run <service>` of a service whose profile is off enables it, as the Compose spec says (its
/// profiles join the active ones); before, it was "not a service of this environment". The
/// loader's side (what else the profile brings, what stays off) is the table case
/// `loader/profiles_targeted`.
#[test]
fn run_of_a_service_with_a_profile_enables_it() {
    if !docker::ready() {
        return;
    }
    let dev = crate::support::docker::ComposeDev::new(
        "it-oneoff-profile",
        "services:\n  app:\n    image: busybox:1.36\n    command: [\"sleep\", \"60\"]\n  \
         migrate:\n    image: busybox:1.36\n    profiles: [tools]\n    \
         command: [\"echo\", \"migrated by the tools profile\"]\n",
    );
    let (project, compose_project) = (&dev.project, dev.compose_project.as_str());
    let out = project
        .run(["run", "dev", "migrate", "-T", "-p", compose_project])
        .success();
    assert!(
        out.stdout.contains("migrated by the tools profile"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}
