//! `deploy`, `rollback`, `history` and `status --remote` end to end on the loopback rig: the real
//! engine and registry, the S3 server and the Elastic Beanstalk emulator, reached by stevedore
//! only through the standard AWS SDK variables.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::docker::{self, Cleanup, unique};
use crate::support::ebsim::{EbSim, EbSimOptions, EnvStatus, S3Access, Timings};
use crate::support::registry::Registry;
use crate::support::s3::{self, S3Server};
use crate::support::{Project, interrupt, wait_for};

pub const APP: &str = "stevedore-demo";
pub const ENV: &str = "stevedore-demo-prod";
pub const ECS_STACK: &str = "64bit Amazon Linux 2023 v4.4.0 running ECS";
/// A value of the prod `.env` that must never leave the machine except as an EB property.
const SECRET: &str = "s3cr3t-value-that-never-shows-42";

/// The demo project wired to a registry, an S3 server and the emulator.
pub struct DeployRig {
    pub project: Project,
    pub sim: EbSim,
    pub s3: S3Server,
    pub registry: Registry,
    pub repository: String,
    _cleanup: Cleanup,
    _remote: tempfile::TempDir,
}

impl DeployRig {
    /// Start everything; `None` (skipped loudly) when Docker or the registry is missing.
    pub fn start(tweak: impl FnOnce(&mut EbSimOptions)) -> Option<DeployRig> {
        if !docker::ready() {
            return None;
        }
        let registry = Registry::start()?;
        let s3 = S3Server::start().expect("S3 server");
        let mut options = EbSimOptions::new(S3Access {
            endpoint_url: s3.endpoint_url(),
            access_key_id: s3::ACCESS_KEY_ID.into(),
            secret_access_key: s3::SECRET_ACCESS_KEY.into(),
        });
        options.access_key_id = Some(s3::ACCESS_KEY_ID.into());
        options.secret_access_key = Some(s3::SECRET_ACCESS_KEY.into());
        options.health_path = "/health".into();
        options.timings = Timings {
            step: Duration::from_millis(20),
            process: Duration::from_millis(100),
            launch: Duration::from_millis(50),
            health_timeout: Duration::from_secs(20),
            deploy_delay: Duration::ZERO,
        };
        tweak(&mut options);
        let sim = EbSim::start(options).expect("emulator");
        let name = unique("it-dep");
        let repository = format!("{}/{name}", registry.host());
        let mut cleanup = Cleanup::default();
        for service in ["app", "proxy"] {
            cleanup.image(&format!("{name}-{service}:prod"));
        }
        for tag in ["1.0.0", "1.1.0", "1.2.0", "prod"] {
            cleanup.image(&format!("{repository}:{tag}"));
            cleanup.image(&format!("{repository}-proxy:{tag}"));
        }
        let remote = tempfile::tempdir().expect("remote dir");
        let project = Project::demo()
            .file(".gitignore", "environments/*/.env\n*.zip\n")
            .file(
                "environments/prod/.env",
                &format!("ENV_SECRET_KEY={SECRET}\nENV_LOG_LEVEL=INFO\n"),
            )
            .env("STEVEDORE_PROJECT_NAME", &name)
            .env("STEVEDORE_REPOSITORY", &repository)
            .env("AWS_ENDPOINT_URL_ELASTIC_BEANSTALK", &sim.endpoint_url())
            // The emulator also answers STS and CloudWatch Logs.
            .env("AWS_ENDPOINT_URL_STS", &sim.endpoint_url())
            .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", &sim.endpoint_url())
            .env("AWS_ENDPOINT_URL_S3", &s3.endpoint_url())
            .env("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", s3::SECRET_ACCESS_KEY)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("STEVEDORE_S3_PATH_STYLE", "true")
            .env("STEVEDORE_ACTOR", "grace")
            .git_init();
        let bare = remote.path().to_str().expect("utf8");
        assert!(
            Command::new("git")
                .args(["init", "-q", "--bare", bare])
                .status()
                .expect("git")
                .success()
        );
        project.git(&["remote", "add", "origin", bare]);
        Some(DeployRig {
            project,
            sim,
            s3,
            registry,
            repository,
            _cleanup: cleanup,
            _remote: remote,
        })
    }

    /// Create the application and the environment, as an operator would once.
    pub fn create_environment(&self, stack: &str) {
        runtime()
            .block_on(self.sim.create_ready(APP, &[(ENV, stack)]))
            .expect("the environment launches");
    }

    /// Build, release and publish `version` with the page saying `marker`; `procfile` replaces
    /// the prod Procfile when given (a broken one makes the health check fail).
    pub fn ship(&self, version: &str, marker: &str, procfile: Option<&str>) {
        let p = &self.project;
        let index = p.root().join("app/www/index.html");
        let page = std::fs::read_to_string(&index).expect("index.html");
        let page = match page.find("<!--release-->") {
            Some(at) => format!("{}<!--release-->{marker}\n", &page[..at]),
            None => format!("{page}<!--release-->{marker}\n"),
        };
        std::fs::write(&index, page).expect("write index.html");
        if let Some(procfile) = procfile {
            std::fs::write(p.root().join("environments/prod/Procfile"), procfile)
                .expect("Procfile");
        }
        p.commit_all(&format!("Release {version}"));
        p.run(["image", "build", "prod"]).success();
        p.run(["release", "prod", version]).success();
        p.run(["publish", "prod", version]).success();
    }

    /// The page the environment serves at `path`.
    pub fn page(&self, path: &str) -> String {
        let endpoint = self.sim.endpoint(ENV).expect("an endpoint");
        http_get(endpoint, path).unwrap_or_default()
    }

    /// Objects under the application's prefix in the storage bucket.
    pub fn bundle_objects(&self) -> Vec<String> {
        let dir = self
            .s3
            .root()
            .join("elasticbeanstalk-us-east-1-123456789012")
            .join(APP);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".zip"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The application's version labels.
    pub fn version_labels(&self) -> Vec<String> {
        let eb = self.sim.client();
        runtime().block_on(async {
            let out = eb
                .describe_application_versions()
                .application_name(APP)
                .send()
                .await
                .expect("DescribeApplicationVersions");
            let mut labels: Vec<String> = out
                .application_versions()
                .iter()
                .filter_map(|v| v.version_label().map(str::to_owned))
                .collect();
            labels.sort();
            labels
        })
    }

    /// The environment's properties, as EB holds them.
    pub fn properties(&self) -> Vec<(String, String)> {
        let eb = self.sim.client();
        runtime().block_on(async {
            let out = eb
                .describe_configuration_settings()
                .application_name(APP)
                .environment_name(ENV)
                .send()
                .await
                .expect("DescribeConfigurationSettings");
            out.configuration_settings()[0]
                .option_settings()
                .iter()
                .filter(|o| o.namespace() == Some("aws:elasticbeanstalk:application:environment"))
                .map(|o| {
                    (
                        o.option_name().unwrap_or_default().to_owned(),
                        o.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
    }
}

/// A small runtime for the test's own SDK calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// GET `path` from `addr` (HTTP/1.0); the body.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

/// 1.0.0 through 5xx answers and throttling: the images pinned by the registry's digests, the
/// `.env` as properties; a re-run changes nothing; `--sync-env` removes a key that left `.env`
/// and keeps a property set elsewhere.
#[test]
fn deploy_pins_digests_through_faults_reruns_as_a_no_op_and_syncs_env() {
    let Some(rig) = DeployRig::start(|o| o.timings.health_timeout = Duration::from_secs(6)) else {
        return;
    };
    rig.create_environment(ECS_STACK);
    rig.ship("1.0.0", "release one", None);
    let p = &rig.project;
    let mut outputs = Vec::new();

    // 1.0.0 through 5xx answers and throttling.
    rig.sim.knobs(|k| {
        k.fail_next_calls = 3;
        k.fail_status = 503;
        k.throttle_next = 4;
    });
    let out = p
        .run(["--json", "deploy", "prod", "1.0.0", "--sync-env"])
        .success();
    let summary = out.summary();
    assert_eq!(summary["data"]["health"], "Green", "{}", out.stdout);
    assert_eq!(summary["data"]["version_label"], "1.0.0");
    assert_eq!(summary["data"]["application_version"], "created");
    assert_eq!(summary["data"]["bundle"]["upload"], "uploaded");
    let stats = rig.sim.stats();
    assert!(stats.failed >= 3 && stats.throttled >= 4, "{stats:?}");
    assert!(rig.page("/").contains("release one"), "{}", rig.page("/"));
    let digest = rig
        .registry
        .manifest_digest(
            rig.repository.split_once('/').expect("host/name").1,
            "1.0.0",
        )
        .expect("the registry has 1.0.0");
    let image = summary["data"]["images"][0]["image"]
        .as_str()
        .expect("image")
        .to_owned();
    assert!(
        image.ends_with(&format!("@{digest}")),
        "{image} pins {digest}"
    );
    let properties = rig.properties();
    assert!(
        properties
            .iter()
            .any(|(k, v)| k == "ENV_SECRET_KEY" && v == SECRET)
    );
    outputs.push(out);

    // A re-run: no new object, no new version, no update.
    let (objects, labels) = (rig.bundle_objects(), rig.version_labels());
    assert_eq!(objects.len(), 1, "{objects:?}");
    let out = p.run(["--json", "deploy", "prod", "1.0.0"]).success();
    assert_eq!(out.summary()["data"]["unchanged"], true, "{}", out.stdout);
    assert_eq!(rig.bundle_objects(), objects);
    assert_eq!(rig.version_labels(), labels);
    outputs.push(out);

    // --sync-env again after a key left .env: it is removed; a property set elsewhere stays.
    let eb = rig.sim.client();
    runtime().block_on(async {
        eb.update_environment()
            .environment_name(ENV)
            .option_settings(
                aws_sdk_elasticbeanstalk::types::ConfigurationOptionSetting::builder()
                    .namespace("aws:elasticbeanstalk:application:environment")
                    .option_name("SET_ELSEWHERE")
                    .value("kept")
                    .build(),
            )
            .send()
            .await
            .expect("a property set by someone else");
    });
    wait_for("the environment to be Ready", || {
        rig.sim
            .environment(ENV)
            .is_some_and(|e| e.status == EnvStatus::Ready)
    });
    std::fs::write(
        p.root().join("environments/prod/.env"),
        format!("ENV_SECRET_KEY={SECRET}\n"),
    )
    .expect("rewrite .env");
    let out = p
        .run(["deploy", "prod", "1.0.0", "--sync-env"])
        .success()
        .stderr_has("removing ENV_LOG_LEVEL");
    let properties = rig.properties();
    assert!(
        !properties.iter().any(|(k, _)| k == "ENV_LOG_LEVEL"),
        "{properties:?}"
    );
    assert!(
        properties
            .iter()
            .any(|(k, v)| k == "SET_ELSEWHERE" && v == "kept")
    );
    assert!(
        properties
            .iter()
            .any(|(k, v)| k == "ENV_SECRET_KEY" && v == SECRET)
    );
    outputs.push(out);

    assert_nothing_leaked(&rig, &outputs);
}

/// A release whose app never serves fails with the events and the log tail (7); with
/// `--rollback-on-failure` the previous version serves again (9); `history`, `status --remote`
/// and `rollback` tell it.
#[test]
fn a_failing_release_exits_7_and_rolls_back_with_9_and_history_tells_it() {
    let Some((rig, mut outputs)) = running_one() else {
        return;
    };
    let p = &rig.project;
    let digest = rig
        .registry
        .manifest_digest(
            rig.repository.split_once('/').expect("host/name").1,
            "1.0.0",
        )
        .expect("the registry has 1.0.0");

    // 1.1.0's app never serves: the health check fails, 7 with the events and the log tail.
    rig.ship("1.1.0", "release two", Some("web: sleep 3600\n"));
    let out = p.run(["deploy", "prod", "1.1.0"]).code(7);
    assert!(
        out.stderr.contains("ERROR   Failed to deploy application."),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("eb-engine.log"),
        "the log tail: {}",
        out.stderr
    );
    assert!(rig.page("/").contains("release one"), "1.0.0 keeps serving");
    outputs.push(out);

    // With --rollback-on-failure: 9, and 1.0.0 serves again.
    let out = p
        .run(["deploy", "prod", "1.1.0", "--rollback-on-failure"])
        .code(9)
        .stderr_has("rolled back to 1.0.0");
    assert!(rig.page("/").contains("release one"));
    let env = rig.sim.environment(ENV).expect("env");
    assert_eq!(env.version_label.as_deref(), Some("1.0.0"));
    outputs.push(out);

    // history: both versions, their outcomes, commit and digest.
    let out = p.run(["--json", "history", "prod"]).success();
    let entries = out.summary()["data"]["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |label: &str| entries.iter().find(|e| e["version"] == label).cloned();
    let one = find("1.0.0").expect("1.0.0 in history");
    assert_eq!(one["outcome"], "succeeded", "{one}");
    assert_eq!(one["current"], true);
    assert_eq!(one["created_by"], "grace");
    assert!(
        one["digest"].as_str().is_some_and(|d| digest.contains(d)),
        "{one}"
    );
    assert_eq!(find("1.1.0").expect("1.1.0")["outcome"], "failed");
    outputs.push(out);

    // status --remote: the environment and the running digest.
    let out = p.run(["status", "prod", "--remote"]).success();
    assert!(
        out.stdout.contains("1.0.0") && out.stdout.contains("Green"),
        "{}",
        out.stdout
    );
    outputs.push(out);

    // rollback without a version goes back to the previous healthy one: here none besides the
    // current, so it says so.
    let out = p.run(["rollback", "prod"]).code(3);
    outputs.push(out);

    assert_nothing_leaked(&rig, &outputs);
}

/// Ctrl-C while following a deploy: 130 and the commands to resume and to abort; `--abort`
/// aborts; `status --follow` tails events until Ctrl-C, which ends it with 0.
#[test]
fn ctrl_c_leaves_the_update_running_and_abort_stops_it() {
    let Some((rig, mut outputs)) = running_one() else {
        return;
    };
    let p = &rig.project;
    rig.ship("1.1.0", "release two", None);

    // Ctrl-C while following: 130 and the commands to resume and to abort; `--abort` aborts.
    rig.sim
        .knobs(|k| k.deploy_delay = Some(Duration::from_secs(60)));
    let child = p
        .command(["deploy", "prod", "1.1.0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn deploy");
    wait_for("the update to start", || {
        rig.sim
            .environment(ENV)
            .is_some_and(|e| e.status == EnvStatus::Updating)
    });
    std::thread::sleep(Duration::from_millis(800));
    interrupt(child.id());
    let out = child.wait_with_output().expect("deploy ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("stevedore status prod --remote --follow")
            && stderr.contains("stevedore deploy prod --abort"),
        "{stderr}"
    );
    rig.sim.knobs(|k| k.deploy_delay = None);
    let out = p
        .run(["deploy", "prod", "--abort"])
        .success()
        .stdout_has("Aborted");
    let env = rig.sim.environment(ENV).expect("env");
    assert_eq!(env.version_label.as_deref(), Some("1.0.0"));
    assert!(rig.page("/").contains("release one"));
    outputs.push(out);

    // status --follow tails events until Ctrl-C, which ends it with 0.
    let child = p
        .command(["status", "prod", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn status");
    std::thread::sleep(Duration::from_secs(3));
    interrupt(child.id());
    let out = child.wait_with_output().expect("status ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Environment update was aborted."),
        "{stderr}"
    );

    assert_nothing_leaked(&rig, &outputs);
}

/// An environment busy with another operation is waited for, then 10 at the timeout.
#[test]
fn a_busy_environment_is_waited_for_then_exits_10() {
    let Some((rig, mut outputs)) = running_one() else {
        return;
    };
    let p = &rig.project;

    // Busy: waited for, then 10 at the timeout.
    assert!(rig.sim.busy_for(ENV, Duration::from_secs(30)));
    let out = p
        .run(["deploy", "prod", "1.0.0", "--timeout", "3s"])
        .code(10)
        .stderr_has("waiting for it to be Ready");
    outputs.push(out);

    assert_nothing_leaked(&rig, &outputs);
}

/// The rig with 1.0.0 ("release one") released, published and deployed; the deploy's output.
pub(crate) fn running_one() -> Option<(DeployRig, Vec<crate::support::Output>)> {
    let rig = DeployRig::start(|o| o.timings.health_timeout = Duration::from_secs(6))?;
    rig.create_environment(ECS_STACK);
    rig.ship("1.0.0", "release one", None);
    let out = rig.project.run(["deploy", "prod", "1.0.0"]).success();
    Some((rig, vec![out]))
}

/// Neither the `.env` secret nor credentials (the AWS key, the tail logs' presigned URLs)
/// appear in any output, any event or any bundle.
fn assert_nothing_leaked(rig: &DeployRig, outputs: &[crate::support::Output]) {
    for out in outputs {
        for needle in [SECRET, s3::SECRET_ACCESS_KEY, "X-Amz-Signature"] {
            assert!(
                !out.stdout.contains(needle) && !out.stderr.contains(needle),
                "{needle} leaked: {}\n{}",
                out.stdout,
                out.stderr
            );
        }
    }
    for event in rig.sim.events() {
        assert!(!event.message.contains(SECRET), "{}", event.message);
    }
    let bucket = rig
        .s3
        .root()
        .join("elasticbeanstalk-us-east-1-123456789012")
        .join(APP);
    for object in rig.bundle_objects() {
        let bytes = std::fs::read(bucket.join(&object)).expect("bundle");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
        for i in 0..archive.len() {
            let mut file = archive.by_index(i).expect("entry");
            let name = file.name().map(|n| n.into_owned()).unwrap_or_default();
            assert!(!name.ends_with(".env"), "{object}: {name}");
            let mut text = Vec::new();
            file.read_to_end(&mut text).expect("read");
            assert!(
                !String::from_utf8_lossy(&text).contains(SECRET),
                "{object}: {name} holds the secret"
            );
        }
    }
}

/// `deploy` overhead on the rig, for `bench/deploy.sh` (ignored by default): what stevedore adds
/// to Elastic Beanstalk's own time (processing the version, updating the environment) for a
/// 1 MiB bundle. First deploys (bundle, upload, create) and redeploys (version reused).
#[test]
#[ignore = "a benchmark: run by bench/deploy.sh"]
fn bench_deploy_overhead() {
    let Some(rig) = DeployRig::start(|_| {}) else {
        return;
    };
    rig.create_environment(ECS_STACK);
    // 1 MiB that does not compress, in a directory the bundle ships.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let noise: Vec<u8> = (0..1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    std::fs::write(rig.project.root().join("docker/proxy/payload.bin"), noise).expect("payload");
    rig.ship("1.0.0", "one", None);
    rig.ship("1.1.0", "two", None);
    let runs = std::env::var("STEVEDORE_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let mut plan = vec![("1.0.0", "first"), ("1.1.0", "first")];
    for _ in 0..runs {
        plan.push(("1.0.0", "again"));
        plan.push(("1.1.0", "again"));
    }
    for (version, kind) in plan {
        let out = rig
            .project
            .run(["--json", "deploy", "prod", version])
            .success();
        let data = &out.summary()["data"];
        let t = &data["timings_ms"];
        println!(
            "BENCH deploy {version} {kind}: bundle {} bytes, upload {}, version {}; total {} ms, EB processing {} ms, EB update {} ms, overhead {} ms",
            data["bundle"]["size"],
            data["bundle"]["upload"],
            data["application_version"],
            t["total"],
            t["eb_processing"],
            t["eb_update"],
            t["overhead"]
        );
    }
}

/// Without Docker: an environment on the wrong platform is refused before anything is uploaded
/// (3), and a digest no registry has ends the deploy Red (7) with the failure events and the
/// instance log saying why.
#[test]
fn wrong_platform_is_refused_and_an_unresolvable_image_fails_with_its_log() {
    let s3 = S3Server::start().expect("S3 server");
    let mut options = EbSimOptions::new(S3Access {
        endpoint_url: s3.endpoint_url(),
        access_key_id: s3::ACCESS_KEY_ID.into(),
        secret_access_key: s3::SECRET_ACCESS_KEY.into(),
    });
    options.run_containers = false;
    options.timings.step = Duration::from_millis(10);
    let sim = EbSim::start(options).expect("emulator");
    let p = Project::demo()
        .env("AWS_ENDPOINT_URL_ELASTIC_BEANSTALK", &sim.endpoint_url())
        .env("AWS_ENDPOINT_URL_S3", &s3.endpoint_url())
        .env("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", s3::SECRET_ACCESS_KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .git_init();
    // A release whose digests point at a registry that is not there (port 9 is closed).
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
    let web_stack = "64bit Amazon Linux 2023 v4.4.0 running Docker";
    runtime()
        .block_on(sim.create_ready(APP, &[(ENV, ECS_STACK), ("stevedore-demo-web", web_stack)]))
        .expect("the environments launch");
    let out = p
        .command(["deploy", "prod", "1.0.0"])
        .env("STEVEDORE_EB_ENVIRONMENT", "stevedore-demo-web")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("bundle_format = \"compose\""), "{stderr}");
    let out = p.run(["--json", "deploy", "prod", "1.0.0"]).code(7);
    let summary = out.summary();
    assert_eq!(summary["exit_code"], 7);
    assert!(
        summary["error"]
            .as_str()
            .is_some_and(|e| e.contains("Failed to deploy application.")),
        "{summary}"
    );
    let names_registry = out
        .json_lines()
        .iter()
        .filter(|e| e["event"] == "log")
        .any(|l| {
            l["line"]
                .as_str()
                .is_some_and(|t| t.contains("127.0.0.1:9"))
        });
    assert!(
        names_registry,
        "the log tail names the registry: {}",
        out.stdout
    );
    let history = p.run(["--json", "history", "prod"]).success();
    assert_eq!(history.summary()["data"]["entries"][0]["outcome"], "failed");
}
