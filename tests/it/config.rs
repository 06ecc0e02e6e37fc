//! `stevedore config`: resolution, sources, precedence rungs, masking, bad input.

use serde_json::Value;

use crate::support::Project;

/// The setting `key` from `config --json` output: (value, source kind, source text).
fn setting(project: &Project, env: Option<&str>, key: &str) -> (Value, String, String) {
    let mut args = vec!["--json", "config"];
    args.extend(env);
    let out = project.run(args).success();
    let summary = out.summary();
    let settings = summary["data"]["settings"]
        .as_array()
        .expect("settings array")
        .clone();
    let found = settings
        .into_iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {}", out.stdout));
    (
        found["value"].clone(),
        found["source"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        found["source_text"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn demo_prod_prints_every_key_with_a_source() {
    let project = Project::demo();
    let out = project.run(["config", "prod", "--json"]).success();
    let summary = out.summary();
    assert_eq!(summary["command"], "config");
    assert_eq!(summary["exit_code"], 0);
    let settings = summary["data"]["settings"].as_array().expect("array");
    let keys: Vec<&str> = settings.iter().filter_map(|s| s["key"].as_str()).collect();
    for key in [
        "project.name",
        "aws.application",
        "aws.region",
        "aws.profile",
        "aws.s3_bucket",
        "aws.s3_path_style",
        "git.remote",
        "git.default_branch",
        "deploy.timeout",
        "deploy.health",
        "env.name",
        "env.eb_environment",
        "env.repository",
        "env.env_tag",
        "env.compose_file",
        "env.services",
    ] {
        assert!(keys.contains(&key), "missing {key}: {keys:?}");
    }
    for s in settings {
        assert!(s["source"]["kind"].is_string(), "no source: {s}");
        assert!(!s["source_text"].as_str().unwrap_or("").is_empty(), "{s}");
    }
    let (value, kind, _) = setting(&project, Some("prod"), "env.eb_environment");
    assert_eq!(value, "stevedore-demo-prod");
    assert_eq!(kind, "config_file");
    let (value, _, _) = setting(&project, Some("prod"), "env.services");
    assert_eq!(value, "app, proxy");
    let (value, kind, _) = setting(&project, Some("prod"), "env.compose_file");
    assert_eq!(value, "docker/app/prod/docker-compose.yml");
    assert_eq!(kind, "convention");
}

#[test]
fn human_output_is_a_table_on_stdout() {
    Project::demo()
        .run(["config", "prod"])
        .success()
        .stdout_has("KEY")
        .stdout_has("SOURCE")
        .stdout_has("stevedore.toml environments.prod.eb_environment");
}

/// aws.region: flag > STEVEDORE_REGION > stevedore.toml > .elasticbeanstalk/config.yml > unset.
#[test]
fn region_precedence_every_rung() {
    let eb = "global:\n  application_name: from-eb\n  default_region: ap-south-1\n";
    let base = || Project::new().file(".elasticbeanstalk/config.yml", eb);
    let region = |p: &Project| setting(p, None, "aws.region");

    let p = Project::new();
    let (value, kind, _) = region(&p);
    assert_eq!((value, kind.as_str()), (Value::Null, "unset"));

    let p = base();
    assert_eq!(
        region(&p),
        (
            "ap-south-1".into(),
            "eb_config".into(),
            ".elasticbeanstalk/config.yml global.default_region".into()
        )
    );

    let p = base().file("stevedore.toml", "[aws]\nregion = \"eu-west-1\"\n");
    assert_eq!(region(&p).0, "eu-west-1");
    assert_eq!(region(&p).1, "config_file");

    let p = base()
        .file("stevedore.toml", "[aws]\nregion = \"eu-west-1\"\n")
        .env("STEVEDORE_REGION", "us-east-2");
    assert_eq!(region(&p).0, "us-east-2");
    assert_eq!(region(&p).1, "env_var");

    let out = p
        .run(["--json", "--region", "sa-east-1", "config"])
        .success();
    let settings = out.summary()["data"]["settings"].clone();
    let found = settings
        .as_array()
        .and_then(|a| a.iter().find(|s| s["key"] == "aws.region").cloned())
        .expect("aws.region");
    assert_eq!(found["value"], "sa-east-1");
    assert_eq!(found["source"]["kind"], "flag");
}

/// env.eb_environment: STEVEDORE_EB_ENVIRONMENT > stevedore.toml > EB branch default > legacy
/// .env key (with a warning) > convention.
#[test]
fn eb_environment_precedence_every_rung() {
    let eb = "branch-defaults:\n  main:\n    environment: eb-branch-env\nglobal:\n  application_name: eb-app\n";
    let eb_env = |p: &Project| setting(p, Some("prod"), "env.eb_environment");
    let with_dir = |p: Project| p.file("environments/prod/Procfile", "web: x\n");

    let p = with_dir(Project::new());
    assert_eq!(
        eb_env(&p),
        (
            "project-prod".into(),
            "convention".into(),
            "convention: <application>-<environment>".into()
        )
    );

    let p = with_dir(Project::new()).file(
        "environments/prod/.env",
        "# app vars\nENV_AWS_EB_ENVIRONMENT_NAME=legacy-env\nSECRET=x\n",
    );
    let (value, kind, text) = eb_env(&p);
    assert_eq!(
        (value, kind.as_str()),
        ("legacy-env".into(), "legacy_dotenv")
    );
    assert!(text.contains(".env:2"), "{text}");
    p.run(["config", "prod"])
        .success()
        .stderr_has("warning:")
        .stderr_has("move it to stevedore.toml as `environments.prod.eb_environment`");

    let p = with_dir(Project::new())
        .file(
            "environments/prod/.env",
            "ENV_AWS_EB_ENVIRONMENT_NAME=legacy-env\n",
        )
        .file(".elasticbeanstalk/config.yml", eb)
        .git_init();
    assert_eq!(eb_env(&p).0, "eb-branch-env");
    assert_eq!(eb_env(&p).1, "eb_config");
    // The application name falls back to the EB CLI's too.
    assert_eq!(setting(&p, None, "aws.application").0, "eb-app");

    let p = p.file(
        "stevedore.toml",
        "[environments.prod]\neb_environment = \"toml-env\"\n",
    );
    assert_eq!(eb_env(&p).0, "toml-env");

    let p = p.env("STEVEDORE_EB_ENVIRONMENT", "var-env");
    assert_eq!(
        eb_env(&p),
        (
            "var-env".into(),
            "env_var".into(),
            "environment variable STEVEDORE_EB_ENVIRONMENT".into()
        )
    );
}

#[test]
fn repository_precedence_and_env_tag_convention() {
    let p = Project::demo();
    assert_eq!(
        setting(&p, Some("prod"), "env.repository").0,
        "localhost:5000/stevedore-demo"
    );
    assert_eq!(setting(&p, Some("prod"), "env.env_tag").0, "prod");
    assert_eq!(setting(&p, Some("dev"), "env.env_tag").0, "latest");
    let p = p.env("STEVEDORE_REPOSITORY", "registry.example.com/x");
    assert_eq!(setting(&p, Some("prod"), "env.repository").1, "env_var");
}

#[test]
fn dotenv_values_are_masked_everywhere() {
    let secret = "s3cr3t-VALUE-never-printed";
    let p = Project::demo().file(
        "environments/prod/.env",
        &format!("ENV_SECRET_KEY={secret}\nexport ENV_DEBUG=false\n"),
    );
    p.run(["config", "prod"])
        .success()
        .stdout_has("env.vars.ENV_SECRET_KEY")
        .nowhere(secret);
    let out = p
        .run(["--json", "config", "prod"])
        .success()
        .nowhere(secret);
    let settings = out.summary()["data"]["settings"].clone();
    let masked = settings
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|s| s["key"] == "env.vars.ENV_SECRET_KEY")
                .cloned()
        })
        .expect("variable listed");
    assert_eq!(masked["value"], "******");
    assert_eq!(masked["secret"], true);
    // The source is the .env file and line, not stevedore.toml.
    assert_eq!(masked["source"]["kind"], "dotenv", "{masked}");
    assert_eq!(masked["source"]["line"], 1, "{masked}");
    assert_eq!(
        masked["source_text"], "environments/prod/.env:1 ENV_SECRET_KEY",
        "{masked}"
    );
}

#[test]
fn malformed_stevedore_toml_exits_3_naming_file_and_line() {
    Project::demo()
        .file(
            "stevedore.toml",
            "[project]\nname = \"demo\"\n\n[aws]\nregon = \"eu-west-1\"\n",
        )
        .run(["config"])
        .code(3)
        .stderr_has("stevedore.toml:5:")
        .stderr_has("regon");
    Project::demo()
        .file("stevedore.toml", "[aws\n")
        .run(["config", "prod"])
        .code(3)
        .stderr_has("stevedore.toml:1:");
}

#[test]
fn malformed_dotenv_exits_3_naming_file_and_line() {
    Project::demo()
        .file("environments/prod/.env", "A=1\nB=\"never closed\nC=3\n")
        .run(["config", "prod"])
        .code(3)
        .stderr_has("environments/prod/.env:2:")
        .stderr_has("never closed");
    Project::demo()
        .file("environments/prod/.env", "A=1\nJUSTAWORD\n")
        .run(["config", "prod"])
        .code(3)
        .stderr_has(".env:2:");
}

#[test]
fn malformed_eb_config_exits_3() {
    Project::demo()
        .file(
            ".elasticbeanstalk/config.yml",
            "global:\n  application_name: [x\n",
        )
        .run(["config"])
        .code(3)
        .stderr_has("config.yml:");
}

#[test]
fn root_is_found_from_a_subdirectory_and_with_dash_c() {
    let p = Project::demo();
    let (value, _, _) = setting(&p, None, "project.name");
    assert_eq!(value, "demo");
    p.run_in(&p.root().join("app/www"), ["config"])
        .success()
        .stdout_has("demo");
    let outside = tempfile::tempdir().expect("tempdir");
    p.run_in(outside.path(), ["config"])
        .code(3)
        .stderr_has("no stevedore project found");
    p.run_in(
        outside.path(),
        ["-C", p.root().to_str().expect("utf8"), "config"],
    )
    .success()
    .stdout_has("demo");
    p.run(["-C", "does/not/exist", "config"])
        .code(3)
        .stderr_has("does not exist");
}

#[test]
fn invalid_environment_names_are_refused() {
    Project::demo()
        .run(["config", "../etc"])
        .code(3)
        .stderr_has("not a valid environment name");
}

/// Typed settings are checked once when settings load: `config`, `doctor` and every command
/// refuse a value that does not parse, naming the file and line (or the variable).
#[test]
fn invalid_typed_values_exit_3_naming_file_and_line() {
    let cases = [
        (
            "[deploy]\ntimeout = \"forever\"\n",
            "stevedore.toml:2",
            "deploy.timeout = `forever`",
        ),
        (
            "[deploy]\nhealth = \"Purple\"\n",
            "stevedore.toml:2",
            "deploy.health = `Purple`",
        ),
        (
            "[project]\nname = \"demo\"\n\n[environments.prod]\nbundle_format = \"v9\"\n",
            "stevedore.toml:5",
            "env.bundle_format = `v9`",
        ),
        (
            "[aws]\ns3_path_style = true\n[git]\nremote = \"\"\n",
            "stevedore.toml:4",
            "git.remote",
        ),
    ];
    for (toml, at, what) in cases {
        let project = Project::demo().file("stevedore.toml", toml);
        for args in [vec!["config", "prod"], vec!["bundle", "prod", "1.0.0"]] {
            project.run(args).code(3).stderr_has(at).stderr_has(what);
        }
    }
    Project::demo()
        .env("STEVEDORE_DEPLOY_HEALTH", "Amber")
        .run(["config", "prod"])
        .code(3)
        .stderr_has("environment variable STEVEDORE_DEPLOY_HEALTH")
        .stderr_has("Green or Yellow");
    // Valid spellings pass.
    Project::demo()
        .file(
            "stevedore.toml",
            "[deploy]\ntimeout = \"90s\"\nhealth = \"yellow\"\n",
        )
        .run(["config", "prod"])
        .success();
}

#[test]
fn aws_endpoints_show_with_where_they_came_from() {
    let project = Project::demo()
        .env("AWS_ENDPOINT_URL_ELASTIC_BEANSTALK", "http://127.0.0.1:4001")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:4000")
        .env("AWS_PROFILE", "local")
        .home_file(
            ".aws/config",
            "[profile local]\nservices = emulators\n[services emulators]\ns3 =\n  endpoint_url = http://127.0.0.1:4002\n",
        );
    let out = project.run(["config", "prod", "--json"]).success();
    let endpoints = out.summary()["data"]["aws_endpoints"].clone();
    let of = |service: &str| {
        endpoints
            .as_array()
            .and_then(|a| a.iter().find(|e| e["service"] == service).cloned())
            .unwrap_or_else(|| panic!("no {service} in {endpoints}"))
    };
    assert_eq!(of("elastic_beanstalk")["url"], "http://127.0.0.1:4001");
    assert_eq!(
        of("elastic_beanstalk")["source"],
        "AWS_ENDPOINT_URL_ELASTIC_BEANSTALK"
    );
    // The global variable comes before the profile's services section, as in the SDK.
    assert_eq!(of("s3")["url"], "http://127.0.0.1:4000");
    assert_eq!(of("ecr")["source"], "AWS_ENDPOINT_URL");
    assert_eq!(of("sts")["url"], "http://127.0.0.1:4000");
    project
        .run(["config", "prod"])
        .success()
        .stdout_has("aws endpoint elastic_beanstalk: http://127.0.0.1:4001 (AWS_ENDPOINT_URL_ELASTIC_BEANSTALK)");

    // Without the global variable, the profile's services section answers for S3.
    let project = Project::demo()
        .env("AWS_PROFILE", "local")
        .home_file(
            ".aws/config",
            "[profile local]\nservices = emulators\n[services emulators]\ns3 =\n  endpoint_url = http://127.0.0.1:4002\n",
        );
    project
        .run(["config", "prod"])
        .success()
        .stdout_has(
            "aws endpoint s3: http://127.0.0.1:4002 ([services emulators] s3.endpoint_url in ",
        )
        .stdout_has("aws endpoint ecr: AWS default (the AWS default for the region)");
}
