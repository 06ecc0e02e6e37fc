//! Day-2 operations on the rig (the environments side): environment variables (masking, secret references), versions
//! and pruning, create / scale / wait / terminate, and a blue/green deploy with a CNAME swap
//! and the swap back — against the EB emulator and the S3 server, reached only through the
//! standard AWS SDK variables.

use std::time::Duration;

use crate::deploy::{DeployRig, http_get, runtime};
use crate::support::ebsim::{EbSim, EbSimOptions, EnvStatus, S3Access};
use crate::support::s3::{self, S3Server};
use crate::support::{Project, repo_root};

const ENV: &str = "stevedore-demo-prod";
const GREEN: &str = "stevedore-demo-green";
const PROPERTIES: &str = "aws:elasticbeanstalk:application:environment";
const SECRETS: &str = "aws:elasticbeanstalk:application:environmentsecrets";
const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCd12";
/// A plain value that must only show with --show.
const VISIBLE_ONLY_WITH_SHOW: &str = "verbose-and-chatty";

/// An emulator without containers and the demo project pointed at it.
fn offline_rig(create_section: &str) -> (Project, EbSim, S3Server) {
    let s3 = S3Server::start().expect("S3 server");
    let mut options = EbSimOptions::new(S3Access {
        endpoint_url: s3.endpoint_url(),
        access_key_id: s3::ACCESS_KEY_ID.into(),
        secret_access_key: s3::SECRET_ACCESS_KEY.into(),
    });
    options.run_containers = false;
    options.access_key_id = Some(s3::ACCESS_KEY_ID.into());
    options.timings.step = Duration::from_millis(10);
    options.timings.launch = Duration::from_millis(50);
    let sim = EbSim::start(options).expect("emulator");
    let toml = std::fs::read_to_string(repo_root().join("stevedore.toml")).expect("toml");
    let p = Project::demo()
        .file("stevedore.toml", &format!("{toml}\n{create_section}"))
        .env("AWS_ENDPOINT_URL_ELASTIC_BEANSTALK", &sim.endpoint_url())
        .env("AWS_ENDPOINT_URL_S3", &s3.endpoint_url())
        .env("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", s3::SECRET_ACCESS_KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .git_init();
    (p, sim, s3)
}

fn option(sim: &EbSim, env: &str, namespace: &str, name: &str) -> Option<String> {
    sim.environment(env)?
        .options
        .get(&(namespace.to_owned(), name.to_owned()))
        .cloned()
}

/// `create` from stevedore.toml (an ambiguous platform is a clear error), `env set/unset/list`
/// round trips with masking and secret references, `scale --no-wait` + `wait`, and a
/// `terminate` that needs its confirmation.
#[test]
fn create_env_vars_scale_wait_terminate() {
    let (p, sim, _s3) = offline_rig("[environments.prod.create]\nplatform = \"Docker\"\n");
    // Two live Docker branches match "Docker": refused, both named.
    p.run(["create", "prod"])
        .code(3)
        .stderr_has("\"Docker running on 64bit Amazon Linux 2023\"")
        .stderr_has("\"Docker running on 64bit Amazon Linux 2\"");
    assert!(sim.environment(ENV).is_none());

    let (p, sim, _s3) = offline_rig(
        "[environments.prod.create]\nplatform = \"ECS running on 64bit Amazon Linux 2023\"\n\
         instance_type = \"t3.small\"\ntags = { team = \"web\" }\n\
         [environments.prod.create.options.\"aws:elasticbeanstalk:command\"]\nTimeout = 900\n",
    );
    let out = p.run(["--json", "create", "prod"]).success();
    assert_eq!(
        out.summary()["data"]["state"]["status"],
        "Ready",
        "{}",
        out.stdout
    );
    let env = sim.environment(ENV).expect("created");
    assert_eq!(
        env.solution_stack,
        "64bit Amazon Linux 2023 v4.4.0 running ECS"
    );
    assert!(
        env.tags.contains(&("team".into(), "web".into())),
        "{:?}",
        env.tags
    );
    assert!(
        env.tags
            .contains(&("stevedore:environment".into(), "prod".into()))
    );
    assert_eq!(
        option(
            &sim,
            ENV,
            "aws:autoscaling:launchconfiguration",
            "InstanceType"
        )
        .as_deref(),
        Some("t3.small")
    );
    assert_eq!(
        option(&sim, ENV, "aws:elasticbeanstalk:command", "Timeout").as_deref(),
        Some("900")
    );
    p.run(["create", "prod"])
        .code(3)
        .stderr_has("already exists");

    // A value that looks like a secret is refused and nothing changes.
    let out = p
        .run([
            "env",
            "prod",
            "set",
            "LOG_LEVEL=debug",
            "DB_PASSWORD=hunter2hunter2",
        ])
        .code(3)
        .stderr_has("secretsmanager")
        .stderr_has("--plain");
    assert!(!out.stderr.contains("hunter2hunter2"), "{}", out.stderr);
    assert!(sim.environment(ENV).expect("env").properties().is_empty());

    // Plain values and a reference, each in its namespace.
    p.run([
        "env",
        "prod",
        "set",
        &format!("LOG_LEVEL={VISIBLE_ONLY_WITH_SHOW}"),
        "WORKERS=4",
        &format!("DB_PASSWORD={SECRET_ARN}"),
    ])
    .success()
    .stderr_has("DB_PASSWORD (reference)")
    .stderr_has("Successfully deployed new configuration to environment.");
    assert_eq!(
        option(&sim, ENV, PROPERTIES, "LOG_LEVEL").as_deref(),
        Some(VISIBLE_ONLY_WITH_SHOW)
    );
    assert_eq!(
        option(&sim, ENV, SECRETS, "DB_PASSWORD").as_deref(),
        Some(SECRET_ARN)
    );
    assert_eq!(option(&sim, ENV, PROPERTIES, "DB_PASSWORD"), None);

    // list masks plain values (text and JSON) unless --show; references are shown.
    let out = p.run(["env", "prod"]).success().stdout_has(SECRET_ARN);
    assert!(
        !out.stdout.contains(VISIBLE_ONLY_WITH_SHOW),
        "{}",
        out.stdout
    );
    let out = p.run(["--json", "env", "prod", "list"]).success();
    assert!(
        !out.stdout.contains(VISIBLE_ONLY_WITH_SHOW),
        "{}",
        out.stdout
    );
    assert_eq!(out.summary()["data"]["masked"], true);
    p.run(["env", "prod", "list", "--show"])
        .success()
        .stdout_has(VISIBLE_ONLY_WITH_SHOW);

    // --plain moves the variable to the plain namespace; the reference goes.
    p.run([
        "env",
        "prod",
        "set",
        "DB_PASSWORD=hunter2hunter2",
        "--plain",
    ])
    .success();
    assert_eq!(option(&sim, ENV, SECRETS, "DB_PASSWORD"), None);
    assert_eq!(
        option(&sim, ENV, PROPERTIES, "DB_PASSWORD").as_deref(),
        Some("hunter2hunter2")
    );
    // The same again changes nothing.
    p.run(["env", "prod", "set", "WORKERS=4"])
        .success()
        .stdout_has("Unchanged");
    // Two terminals set the same value at once: the change is planned again under the deploy
    // lock, so exactly one writes it and the other finds it done.
    let runs: Vec<std::process::Child> = (0..2)
        .map(|_| {
            p.command(["env", "prod", "set", "WORKERS=8"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn env set")
        })
        .collect();
    let outputs: Vec<std::process::Output> = runs
        .into_iter()
        .map(|child| child.wait_with_output().expect("wait"))
        .collect();
    for out in &outputs {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let unchanged = outputs
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stdout).contains("Unchanged"))
        .count();
    assert_eq!(unchanged, 1, "one run writes, the other finds it written");
    assert_eq!(
        option(&sim, ENV, PROPERTIES, "WORKERS").as_deref(),
        Some("8")
    );
    p.run(["env", "prod", "unset", "DB_PASSWORD", "LOG_LEVEL"])
        .success();
    let names: Vec<String> = sim
        .environment(ENV)
        .expect("env")
        .properties()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(names, vec!["WORKERS".to_owned()]);

    // scale --no-wait returns at once; wait attaches until Ready.
    p.run(["--no-wait", "scale", "prod", "3"])
        .success()
        .stderr_has("stevedore wait prod");
    assert_eq!(
        option(&sim, ENV, "aws:autoscaling:asg", "MinSize").as_deref(),
        Some("3")
    );
    p.run(["wait", "prod"]).success().stdout_has("is Ready");
    assert_eq!(sim.environment(ENV).expect("env").status, EnvStatus::Ready);

    // terminate: refused without a terminal or --yes; done with --yes.
    p.run(["terminate", "prod"]).code(2).stderr_has("--yes");
    assert!(sim.environment(ENV).is_some());
    p.run(["terminate", "prod", "--yes"])
        .success()
        .stderr_has("terminateEnvironment completed successfully.");
    assert!(sim.environment(ENV).is_none());
    p.run(["wait", "prod"]).code(3);
}

/// The blue/green story, then versions and pruning: 1.0.0 then 1.1.0 on blue (prod), a green
/// environment made by `create`, 1.2.0 deployed to it, `swap` sends prod's address to green,
/// `swap` again sends it back; `versions` tells where each runs and `prune --keep 2` deletes
/// only the version nothing runs or rolls back to, with its bundle.
#[test]
fn blue_green_swap_and_back_then_prune_keeps_running_and_rollback_versions() {
    let Some(rig) = DeployRig::start(|o| o.timings.health_timeout = Duration::from_secs(10)) else {
        return;
    };
    rig.create_environment("64bit Amazon Linux 2023 v4.4.0 running ECS");
    let p = &rig.project;
    rig.ship("1.0.0", "release one", None);
    // A reference in .env: --sync-env writes it to the secrets namespace, never as a property.
    let dotenv = p.root().join("environments/prod/.env");
    let text = std::fs::read_to_string(&dotenv).expect(".env");
    std::fs::write(&dotenv, format!("{text}DB_PASSWORD={SECRET_ARN}\n")).expect(".env");
    p.run(["deploy", "prod", "1.0.0", "--sync-env"])
        .success()
        .stderr_has("DB_PASSWORD (reference)");
    assert_eq!(
        option(&rig.sim, ENV, SECRETS, "DB_PASSWORD").as_deref(),
        Some(SECRET_ARN)
    );
    assert_eq!(option(&rig.sim, ENV, PROPERTIES, "DB_PASSWORD"), None);
    assert!(option(&rig.sim, ENV, PROPERTIES, "ENV_LOG_LEVEL").is_some());
    rig.ship("1.1.0", "release two", None);
    p.run(["deploy", "prod", "1.1.0"]).success();
    let prod_cname = rig.sim.environment(ENV).expect("prod").cname;

    // The idle environment, from stevedore.toml's defaults (ECS for the v2 bundle).
    let green = |args: &[&str]| {
        let out = p
            .command(args)
            .env("STEVEDORE_EB_ENVIRONMENT", GREEN)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        stderr
    };
    green(&["create", "prod"]);
    rig.ship("1.2.0", "release three", None);
    green(&["deploy", "prod", "1.2.0"]);
    let page_at = |cname: &str| {
        let addr = rig.sim.endpoint_of_cname(cname).expect("an endpoint");
        http_get(addr, "/").unwrap_or_default()
    };
    assert!(page_at(&prod_cname).contains("release two"));

    // Swap: prod's address now reaches green (1.2.0); swap back: blue (1.1.0) again.
    let out = p
        .run(["swap", "prod", GREEN])
        .success()
        .stderr_has("Completed swapping CNAMEs");
    assert!(out.stdout.contains("swap again"), "{}", out.stdout);
    assert_eq!(rig.sim.environment(GREEN).expect("green").cname, prod_cname);
    assert!(
        page_at(&prod_cname).contains("release three"),
        "{}",
        page_at(&prod_cname)
    );
    p.run(["swap", "prod", GREEN]).success();
    assert_eq!(rig.sim.environment(ENV).expect("prod").cname, prod_cname);
    assert!(page_at(&prod_cname).contains("release two"));

    // Three more versions nobody deployed, each with its own bundle object.
    let s3 = rig.s3.client();
    let bucket = "elasticbeanstalk-us-east-1-123456789012";
    let eb = rig.sim.client();
    let source = rig.bundle_objects().into_iter().next().expect("a bundle");
    runtime().block_on(async {
        for label in ["1.3.0", "1.4.0", "1.5.0"] {
            let key = format!("stevedore-demo/{label}-copy.zip");
            s3.copy_object()
                .bucket(bucket)
                .key(&key)
                .copy_source(format!("{bucket}/stevedore-demo/{source}"))
                .send()
                .await
                .expect("CopyObject");
            eb.create_application_version()
                .application_name("stevedore-demo")
                .version_label(label)
                .source_bundle(
                    aws_sdk_elasticbeanstalk::types::S3Location::builder()
                        .s3_bucket(bucket)
                        .s3_key(key)
                        .build(),
                )
                .send()
                .await
                .expect("CreateApplicationVersion");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });

    // versions: where each runs, what prod would roll back to.
    let out = p.run(["--json", "versions", "prod"]).success();
    let rows = out.summary()["data"]["versions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let row = |label: &str| {
        rows.iter()
            .find(|r| r["label"] == label)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(row("1.1.0")["running_in"][0], ENV, "{rows:?}");
    assert_eq!(row("1.2.0")["running_in"][0], GREEN);
    assert_eq!(row("1.0.0")["rollback_for"][0], ENV);
    assert!(
        row("1.1.0")["commit"]
            .as_str()
            .is_some_and(|c| c.len() == 12)
    );

    // prune --keep 2: the two newest stay, so do the running and the rollback versions.
    p.run(["prune", "prod", "--keep", "2", "--dry-run"])
        .success()
        .stdout_has("Would delete 1 version(s)");
    assert_eq!(rig.version_labels().len(), 6);
    let copies = |label: &str| {
        rig.bundle_objects()
            .iter()
            .any(|o| o == &format!("{label}-copy.zip"))
    };
    assert!(copies("1.3.0"));
    p.run(["prune", "prod", "--keep", "2"])
        .success()
        .stdout_has("Deleted 1 version(s)");
    assert_eq!(
        rig.version_labels(),
        vec!["1.0.0", "1.1.0", "1.2.0", "1.4.0", "1.5.0"]
    );
    assert!(!copies("1.3.0"), "the bundle went with the version");
    assert!(copies("1.4.0"));

    // The green environment goes.
    green(&["terminate", "prod", "--yes"]);
    assert!(rig.sim.environment(GREEN).is_none());
    assert!(page_at(&prod_cname).contains("release two"));
}

/// `prune --lifecycle-max-count` hands pruning to Elastic Beanstalk: refused without a service
/// role the first time (EB's rule), then kept, and applied when versions are created.
#[test]
fn lifecycle_policy_needs_a_role_then_eb_prunes() {
    let (p, sim, _s3) = offline_rig("");
    let eb = sim.client();
    runtime().block_on(async {
        eb.create_application()
            .application_name("stevedore-demo")
            .send()
            .await
            .expect("CreateApplication");
    });
    p.run(["prune", "prod", "--lifecycle-max-count", "2"])
        .code(6)
        .stderr_has("ServiceRole");
    p.run([
        "prune",
        "prod",
        "--lifecycle-max-count",
        "2",
        "--service-role",
        "arn:aws:iam::123456789012:role/aws-elasticbeanstalk-service-role",
    ])
    .success()
    .stdout_has("keeps at most 2 versions");
    let labels = runtime().block_on(async {
        for label in ["a", "b", "c"] {
            eb.create_application_version()
                .application_name("stevedore-demo")
                .version_label(label)
                .send()
                .await
                .expect("CreateApplicationVersion");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let out = eb
            .describe_application_versions()
            .application_name("stevedore-demo")
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
    });
    assert_eq!(labels, vec!["b", "c"]);
}
