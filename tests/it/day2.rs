//! Day-2 operations on the loopback rig: the deploy lock two machines respect (S3 conditional
//! writes), the account check before any change (STS), remote logs, health and events.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::deploy::{DeployRig, runtime};
use crate::support::ebsim::{EbSim, EbSimOptions, EnvStatus, S3Access};
use crate::support::s3::{self, S3Server};
use crate::support::{Project, interrupt, wait_for};

const APP: &str = "stevedore-demo";
const ENV: &str = "stevedore-demo-prod";
const ECS_STACK: &str = "64bit Amazon Linux 2023 v4.4.0 running ECS";
const BUCKET: &str = "elasticbeanstalk-us-east-1-123456789012";

/// Where the prod environment's lock lives in the rig's S3 store.
fn lock_object(s3: &S3Server) -> std::path::PathBuf {
    s3.root()
        .join(BUCKET)
        .join(".stevedore/locks")
        .join(APP)
        .join(format!("{ENV}.json"))
}

/// "UpdateEnvironment" requests the emulator accepted so far.
fn updates_started(sim: &EbSim) -> usize {
    sim.events()
        .iter()
        .filter(|e| e.message == "Environment update is starting.")
        .count()
}

/// The acceptance story of the deploy lock: two deploys started at once, exactly one runs and
/// the other fails busy (10) naming the holder; a deploy waits for a lock taken by hand and
/// runs once it is released; no lock is left behind after Ctrl-C, failure or success; an
/// expired lock is broken with a warning; someone else's lock needs --force.
#[test]
fn two_deploys_at_once_exactly_one_runs_and_no_lock_is_left_behind() {
    let Some(rig) = DeployRig::start(|_| {}) else {
        return;
    };
    rig.create_environment(ECS_STACK);
    rig.ship("1.0.0", "release one", None);
    let p = &rig.project;
    let lock = lock_object(&rig.s3);

    // Two at once, --no-wait; the update is slow, so the winner holds the lock while the other
    // asks for it.
    rig.sim
        .knobs(|k| k.deploy_delay = Some(Duration::from_secs(120)));
    let spawn = || {
        p.command(["--no-wait", "deploy", "prod", "1.0.0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn deploy")
    };
    let mut runs = vec![spawn(), spawn()];
    let mut loser = None;
    wait_for("one deploy giving up", || {
        loser = runs
            .iter_mut()
            .position(|c| c.try_wait().ok().flatten().is_some());
        loser.is_some()
    });
    let out = runs
        .remove(loser.expect("a loser"))
        .wait_with_output()
        .expect("loser");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{stderr}");
    assert!(
        stderr.contains("is locked by grace@") && stderr.contains("(deploy 1.0.0)"),
        "{stderr}"
    );
    let winner = runs.pop().expect("the winner");
    assert!(lock.exists(), "the winner holds the lock");
    let status = p.run(["--json", "lock", "status", "prod"]).success();
    let holder = &status.summary()["data"]["holder"];
    assert_eq!(holder["command"], "deploy", "{}", status.stdout);
    assert_eq!(holder["version"], "1.0.0");
    assert_eq!(holder["user"], "grace");
    assert!(holder["commit"].as_str().is_some_and(|c| c.len() >= 7));
    wait_for("the update to start", || {
        rig.sim
            .environment(ENV)
            .is_some_and(|e| e.status == EnvStatus::Updating)
    });
    assert_eq!(updates_started(&rig.sim), 1, "exactly one deploy ran");

    // Ctrl-C: 130, and the lock goes with it.
    interrupt(winner.id());
    let out = winner.wait_with_output().expect("winner");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!lock.exists(), "Ctrl-C left the lock behind");
    rig.sim.knobs(|k| k.deploy_delay = None);
    p.run(["deploy", "prod", "--abort"]).success();

    // A failed deploy (7) leaves no lock either.
    rig.sim.knobs(|k| k.fail_next_deploy = true);
    p.run(["deploy", "prod", "1.0.0"]).code(7);
    assert!(!lock.exists(), "a failed deploy left the lock behind");

    // A deploy meets a lock taken by hand: it waits, saying who has it, and runs once the lock
    // is released.
    p.run(["lock", "acquire", "prod", "-m", "migrating the database"])
        .success()
        .stdout_has("locked by grace@");
    let mut waiting = p
        .command(["deploy", "prod", "1.0.0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn deploy");
    let stderr = waiting.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("waiting for the deploy lock") {
                let _ = tx.send(line.clone());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let said = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the deploy says it waits");
    assert!(said.contains("migrating the database"), "{said}");
    assert_eq!(updates_started(&rig.sim), 2, "no update while waiting");
    p.run(["lock", "release", "prod"]).success();
    let status = waiting.wait().expect("deploy");
    let text = reader.join().expect("reader");
    assert_eq!(status.code(), Some(0), "{text}");
    assert_eq!(
        rig.sim
            .environment(ENV)
            .and_then(|e| e.version_label)
            .as_deref(),
        Some("1.0.0")
    );
    assert!(!lock.exists(), "a successful deploy left the lock behind");

    // An expired lock is broken with a warning (its holder was killed).
    p.run(["lock", "acquire", "prod", "-m", "short", "--for", "1s"])
        .success();
    std::thread::sleep(Duration::from_millis(1500));
    p.run(["lock", "status", "prod"])
        .success()
        .stdout_has("expired");
    p.run(["deploy", "prod", "1.0.0"])
        .success()
        .stderr_has("breaking the expired deploy lock");
    assert!(!lock.exists());

    // Someone else's lock is released only with --force; rollback respects the lock too.
    let out = p
        .command(["lock", "acquire", "prod", "-m", "alice's"])
        .env("STEVEDORE_ACTOR", "alice")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    p.run(["--no-wait", "rollback", "prod", "1.0.0"])
        .code(10)
        .stderr_has("locked by alice@");
    p.run(["lock", "release", "prod"])
        .code(10)
        .stderr_has("--force");
    p.run(["lock", "release", "prod", "--force"])
        .success()
        .stderr_has("releasing the deploy lock");
    p.run(["--json", "lock", "status", "prod"])
        .success()
        .stdout_has("\"locked\":false");
}

/// `logs --remote` shows what the instance's container wrote, prefixed by its instance id;
/// `--bundle` saves its full logs; `health` and `events` show the environment.
#[test]
fn remote_logs_health_and_events_of_a_deployed_environment() {
    let Some(rig) = DeployRig::start(|_| {}) else {
        return;
    };
    rig.create_environment(ECS_STACK);
    rig.ship("1.0.0", "release one", None);
    let p = &rig.project;
    p.run(["deploy", "prod", "1.0.0"]).success();
    let instance = rig.sim.environment(ENV).expect("env").instance_id;

    // The demo app prints "serving /tmp/www on :8080 …" when it starts.
    let out = p.run(["logs", "prod", "--remote"]).success();
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.lines()
            .any(|l| l.starts_with(&instance) && l.contains("serving /tmp/www on :8080")),
        "{all}"
    );
    assert!(!all.contains("X-Amz-Signature"), "a presigned URL leaked");

    let dir = tempfile::tempdir().expect("dir");
    let out = p
        .run([
            "--json",
            "logs",
            "prod",
            "--remote",
            "--bundle",
            dir.path().to_str().expect("utf8"),
        ])
        .success();
    let zip_path = dir.path().join(format!("{instance}.zip"));
    assert!(zip_path.is_file(), "{}", out.stdout);
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("zip")).expect("a zip");
    let mut engine_log = String::new();
    std::io::Read::read_to_string(
        &mut archive
            .by_name("var/log/eb-engine.log")
            .expect("eb-engine.log in the bundle"),
        &mut engine_log,
    )
    .expect("read");
    assert!(!engine_log.is_empty());

    // --follow reads CloudWatch Logs: refused while the environment does not stream there.
    p.run(["logs", "prod", "--remote", "--follow"])
        .code(3)
        .stderr_has("StreamLogs");
    let eb = rig.sim.client();
    runtime().block_on(async {
        eb.update_environment()
            .environment_name(ENV)
            .option_settings(
                aws_sdk_elasticbeanstalk::types::ConfigurationOptionSetting::builder()
                    .namespace("aws:elasticbeanstalk:cloudwatch:logs")
                    .option_name("StreamLogs")
                    .value("true")
                    .build(),
            )
            .send()
            .await
            .expect("turn log streaming on");
    });
    wait_for("the option update", || {
        rig.sim
            .environment(ENV)
            .is_some_and(|e| e.status == EnvStatus::Ready)
    });
    let mut follow = p
        .command(["logs", "prod", "--remote", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn logs -f");
    let stderr = follow.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("serving /tmp/www on :8080") {
                let _ = tx.send(line.clone());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let line = rx.recv_timeout(Duration::from_secs(60));
    interrupt(follow.id());
    let status = follow.wait().expect("logs -f ends");
    let text = reader.join().expect("reader");
    let line = line.unwrap_or_else(|_| panic!("no app line followed: {text}"));
    assert!(line.starts_with(&instance), "{line}");
    assert_eq!(status.code(), Some(0), "{text}");

    let out = p.run(["--json", "health", "prod"]).success();
    let health = &out.summary()["data"]["health"];
    assert_eq!(health["status"], "Ok", "{}", out.stdout);
    assert_eq!(health["instances"][0]["id"], instance.as_str());
    assert_eq!(health["instances"][0]["version"], "1.0.0");
    assert!(health["instances"][0]["cpu_percent"].is_number());
    p.run(["health", "prod"])
        .success()
        .stdout_has("Ok (Green)")
        .stdout_has(&instance);

    // health --watch and events --follow end with Ctrl-C, exit 0.
    for args in [
        &["health", "prod", "--watch"][..],
        &["events", "prod", "-f"],
    ] {
        let child = p
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_secs(3));
        interrupt(child.id());
        let out = child.wait_with_output().expect("ends");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {text}");
        let expected = if args[0] == "health" {
            instance.as_str()
        } else {
            "Environment update completed successfully."
        };
        assert!(text.contains(expected), "{args:?}: {text}");
    }
    p.run(["events", "prod", "--count", "5"])
        .success()
        .stdout_has("INFO");
}

/// Without Docker: credentials of another account than the environment's `account_id` are
/// refused (5) before anything is written — no lock, no bundle, no version; the right account
/// passes; `account_id` must be 12 digits (3).
#[test]
fn a_wrong_account_is_refused_before_any_write() {
    let s3 = S3Server::start().expect("S3 server");
    let mut options = EbSimOptions::new(S3Access {
        endpoint_url: s3.endpoint_url(),
        access_key_id: s3::ACCESS_KEY_ID.into(),
        secret_access_key: s3::SECRET_ACCESS_KEY.into(),
    });
    options.run_containers = false;
    options.access_key_id = Some(s3::ACCESS_KEY_ID.into());
    options.secret_access_key = Some(s3::SECRET_ACCESS_KEY.into());
    let sim = EbSim::start(options).expect("emulator");
    let toml = std::fs::read_to_string(crate::support::repo_root().join("stevedore.toml"))
        .expect("stevedore.toml")
        .replace(
            "[environments.prod]\n",
            "[environments.prod]\naccount_id = \"999988887777\"\n",
        );
    let p = Project::demo()
        .file("stevedore.toml", &toml)
        .env("AWS_ENDPOINT_URL_ELASTIC_BEANSTALK", &sim.endpoint_url())
        .env("AWS_ENDPOINT_URL_STS", &sim.endpoint_url())
        .env("AWS_ENDPOINT_URL_S3", &s3.endpoint_url())
        .env("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", s3::SECRET_ACCESS_KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("STEVEDORE_S3_PATH_STYLE", "true")
        .git_init();
    // A release whose digests exist nowhere: the deploy must stop long before they matter.
    let digest = format!("sha256:{}", "3".repeat(64));
    p.git(&[
        "tag",
        "-a",
        "-m",
        &format!(
            "Release v1.0.0\n\nImages:\n  app 127.0.0.1:9/demo:1.0.0 sha256:aa\n  proxy 127.0.0.1:9/demo-proxy:1.0.0 sha256:bb\nDigests:\n  app 127.0.0.1:9/demo@{digest}\n  proxy 127.0.0.1:9/demo-proxy@{digest}\n"
        ),
        "v1.0.0",
    ]);
    let eb = sim.client();
    runtime().block_on(async {
        eb.create_application()
            .application_name(APP)
            .send()
            .await
            .expect("CreateApplication");
        eb.create_environment()
            .application_name(APP)
            .environment_name(ENV)
            .solution_stack_name(ECS_STACK)
            .send()
            .await
            .expect("CreateEnvironment");
    });
    wait_for("the environment to launch", || {
        sim.environment(ENV)
            .is_some_and(|e| e.status == EnvStatus::Ready)
    });
    let calls_before = sim.stats().calls;

    for args in [
        &["deploy", "prod", "1.0.0"][..],
        &["rollback", "prod", "1.0.0"],
        &["lock", "acquire", "prod", "-m", "x"],
    ] {
        let out = p.run(args).code(6);
        assert!(
            out.stderr.contains("999988887777")
                && out.stderr.contains("123456789012")
                && out.stderr.contains("nothing was changed"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Only STS was asked: no Elastic Beanstalk call, no S3 object.
    let sts_calls = 3;
    assert_eq!(sim.stats().calls - calls_before, sts_calls);
    assert!(
        !s3.root().join(BUCKET).exists(),
        "something was written to S3"
    );
    assert_eq!(
        sim.environment(ENV).expect("env").version_label,
        None,
        "the environment was changed"
    );

    // The right account (a variable overrides the file) passes the check.
    let right = |args: &[&str]| {
        p.command(args)
            .env("STEVEDORE_ACCOUNT_ID", "1234-5678-9012")
            .output()
            .expect("run")
    };
    let out = right(&["lock", "acquire", "prod", "-m", "checked"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lock_object(&s3).exists());
    let out = right(&["lock", "release", "prod"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!lock_object(&s3).exists());

    // Like AWS, the emulator checks signatures: another secret is an AWS auth failure (6).
    let out = p
        .command(["lock", "status", "prod"])
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret-the-emulator-knows")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("SignatureDoesNotMatch"), "{stderr}");

    // A malformed account id is a configuration error naming where it came from.
    let out = p
        .command(["lock", "status", "prod"])
        .env("STEVEDORE_ACCOUNT_ID", "prod-account")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("STEVEDORE_ACCOUNT_ID") && stderr.contains("12-digit"),
        "{stderr}"
    );
}
