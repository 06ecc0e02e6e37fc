//! `stevedore bundle`: the exact artefact deploy uploads, checked without AWS or Docker.

use std::io::Read;

use crate::support::Project;

const DIGEST_APP: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const DIGEST_PROXY: &str =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// Tag `v<version>` by hand the way `release` (and, with digests, `publish`) write it.
fn tag(project: &Project, version: &str, published: bool) {
    let mut message = format!(
        "Release v{version}\n\nImages:\n  app localhost:5000/stevedore-demo:{version} sha256:aa\n  proxy localhost:5000/stevedore-demo-proxy:{version} sha256:bb\n"
    );
    if published {
        message.push_str(&format!(
            "Digests:\n  app localhost:5000/stevedore-demo@{DIGEST_APP}\n  proxy localhost:5000/stevedore-demo-proxy@{DIGEST_PROXY}\n"
        ));
    }
    project.git(&[
        "tag",
        "-a",
        "--cleanup=whitespace",
        "-m",
        &message,
        &format!("v{version}"),
    ]);
}

/// The zip's members, and the text of one of them.
fn members(path: &std::path::Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("zip");
    let mut archive = zip::ZipArchive::new(file).expect("a zip");
    (0..archive.len())
        .map(|i| {
            archive
                .by_index(i)
                .and_then(|f| f.name().map(|n| n.into_owned()))
                .expect("entry")
        })
        .collect()
}

fn member_text(path: &std::path::Path, name: &str) -> String {
    let file = std::fs::File::open(path).expect("zip");
    let mut archive = zip::ZipArchive::new(file).expect("a zip");
    let mut text = String::new();
    archive
        .by_name(name)
        .expect("member")
        .read_to_string(&mut text)
        .expect("read");
    text
}

#[test]
fn same_inputs_give_the_same_bytes_and_nothing_is_staged_in_the_tree() {
    let p = Project::demo();
    let out = p
        .run([
            "--json",
            "bundle",
            "prod",
            "1.0.0",
            "--allow-unpinned",
            "-o",
            "one.zip",
        ])
        .success();
    let summary = out.summary();
    assert_eq!(summary["data"]["pinned"], false);
    assert!(out.stdout.contains("deploy refuses"), "{}", out.stdout);
    // Touching files (new mtimes) and bundling again gives identical bytes.
    let script = p.root().join("docker/proxy/proxy.sh");
    let text = std::fs::read(&script).expect("read");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&script, text).expect("rewrite");
    p.run([
        "bundle",
        "prod",
        "1.0.0",
        "--allow-unpinned",
        "-o",
        "two.zip",
    ])
    .success();
    let one = std::fs::read(p.root().join("one.zip")).expect("one");
    let two = std::fs::read(p.root().join("two.zip")).expect("two");
    assert_eq!(one, two, "byte-identical bundles");
    let names = members(&p.root().join("one.zip"));
    for wanted in [
        "Dockerrun.aws.json",
        ".ebextensions/01-logs.config",
        "docker/proxy/proxy.sh",
    ] {
        assert!(names.iter().any(|n| n == wanted), "{wanted} in {names:?}");
    }
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with("environments/") && !n.starts_with("./")),
        "{names:?}"
    );
    // Rendered files live only in the zip.
    assert!(!p.root().join("Dockerrun.aws.json").exists());
    assert!(!p.root().join(".ebextensions").exists());
    let sha = summary["data"]["sha256"].as_str().expect("sha256");
    assert_eq!(sha.len(), 64);
}

#[test]
fn versions_must_be_released_and_published_unless_inspecting() {
    let p = Project::demo().git_init();
    p.run(["bundle", "prod", "1.0.0"])
        .code(3)
        .stderr_has("stevedore release prod 1.0.0");
    tag(&p, "1.0.0", false);
    p.run(["bundle", "prod", "1.0.0"])
        .code(3)
        .stderr_has("stevedore publish prod 1.0.0");
    tag(&p, "1.1.0", true);
    let out = p
        .run(["--json", "bundle", "prod", "1.1.0", "-o", "b.zip"])
        .success();
    assert_eq!(out.summary()["data"]["pinned"], true);
    let run = member_text(&p.root().join("b.zip"), "Dockerrun.aws.json");
    let doc: serde_json::Value = serde_json::from_str(&run).expect("json");
    assert_eq!(doc["AWSEBDockerrunVersion"], 2);
    assert_eq!(
        doc["containerDefinitions"][0]["image"],
        format!("localhost:5000/stevedore-demo@{DIGEST_APP}")
    );
    assert_eq!(
        doc["containerDefinitions"][1]["image"],
        format!("localhost:5000/stevedore-demo-proxy@{DIGEST_PROXY}")
    );
    assert_eq!(
        doc["containerDefinitions"][1]["portMappings"][0]["hostPort"],
        80
    );
    // Files taken from a working tree that moved on since the release are pointed out.
    std::fs::write(
        p.root().join("docker/proxy/proxy.sh"),
        "#!/bin/sh\necho changed\n",
    )
    .expect("edit");
    p.run(["bundle", "prod", "1.1.0", "-o", "b.zip"])
        .success()
        .stderr_has("1 bundled file(s) differ from v1.1.0's commit (docker/proxy/proxy.sh)");
}

#[test]
fn secrets_are_refused_unless_allowed_by_name() {
    let p = Project::demo()
        .file(".ebignore", "*\n!environments/**\n")
        .file("environments/prod/.env", "ENV_SECRET_KEY=hush-hush-value\n");
    let out = p
        .run(["bundle", "prod", "1.0.0", "--allow-unpinned", "-o", "s.zip"])
        .code(3)
        .stderr_has("environments/prod/.env")
        .stderr_has("--allow-secret");
    assert!(!out.stderr.contains("hush-hush-value"));
    assert!(!p.root().join("s.zip").exists(), "no zip on failure");
    p.run([
        "bundle",
        "prod",
        "1.0.0",
        "--allow-unpinned",
        "--allow-secret",
        "environments/prod/.env",
        "-o",
        "s.zip",
    ])
    .success();
    assert!(members(&p.root().join("s.zip")).contains(&"environments/prod/.env".to_owned()));
}

#[test]
fn compose_v1_and_handwritten_run_files() {
    let p = Project::demo()
        .env("STEVEDORE_BUNDLE_FORMAT", "compose")
        .env(
            "STEVEDORE_REGISTRY_AUTH",
            "s3://creds-bucket/docker/config.json",
        )
        .git_init();
    tag(&p, "1.0.0", true);
    // The Docker platform's compose bundle, with a v3 file for registry credentials.
    p.run(["bundle", "prod", "1.0.0", "-o", "c.zip"]).success();
    let zip = p.root().join("c.zip");
    let compose = member_text(&zip, "docker-compose.yml");
    assert!(
        compose.contains(&format!("localhost:5000/stevedore-demo@{DIGEST_APP}")),
        "{compose}"
    );
    assert!(
        compose.contains("80:80") && !compose.contains("build"),
        "{compose}"
    );
    let v3: serde_json::Value =
        serde_json::from_str(&member_text(&zip, "Dockerrun.aws.json")).expect("v3");
    assert_eq!(v3["AWSEBDockerrunVersion"], "3");
    assert_eq!(v3["Authentication"]["bucket"], "creds-bucket");
    // v1 holds one container: the prod file has two services.
    Project::demo()
        .git_init()
        .env("STEVEDORE_BUNDLE_FORMAT", "v1")
        .run([
            "bundle",
            "prod",
            "1.0.0",
            "--allow-unpinned",
            "-o",
            "v1.zip",
        ])
        .code(3)
        .stderr_has("Dockerrun v1 runs one container");
    // A hand-written Dockerrun (dockdj style, a moving tag) gets the digest.
    let h = Project::demo().file(
        "environments/prod/Dockerrun.aws.json",
        r#"{"AWSEBDockerrunVersion": 2, "containerDefinitions": [
            {"name": "django", "image": "localhost:5000/stevedore-demo:prod", "essential": true, "memory": 512},
            {"name": "nginx", "image": "nginx", "essential": true, "memory": 128, "links": ["django"],
             "portMappings": [{"hostPort": 80, "containerPort": 80}]}]}"#,
    );
    let h = h.git_init();
    tag(&h, "1.0.0", true);
    h.run(["bundle", "prod", "1.0.0", "-o", "h.zip"])
        .success()
        .stderr_has("`nginx` is not one of the release's images");
    let doc: serde_json::Value =
        serde_json::from_str(&member_text(&h.root().join("h.zip"), "Dockerrun.aws.json"))
            .expect("json");
    assert_eq!(
        doc["containerDefinitions"][0]["image"],
        format!("localhost:5000/stevedore-demo@{DIGEST_APP}")
    );
    // A hand-written file that breaks the platform's rules never leaves the machine.
    let bad = Project::demo().file(
        "environments/prod/Dockerrun.aws.json",
        r#"{"AWSEBDockerrunVersion": "2", "containerDefinitions": [{"name": "a", "image": "x", "memory": 64}]}"#,
    );
    bad.run([
        "bundle",
        "prod",
        "1.0.0",
        "--allow-unpinned",
        "-o",
        "bad.zip",
    ])
    .code(3)
    .stderr_has("must be the integer 2");
}

#[test]
fn a_mount_that_ebignore_leaves_out_is_refused() {
    let p = Project::demo().file(
        "docker/app/prod/docker-compose.yml",
        "services:\n  app:\n    build:\n      context: ../../..\n      dockerfile: docker/app/prod/Dockerfile\n    volumes:\n      - ../../../app/www:/srv/www:ro\n    ports:\n      - \"8000:8080\"\n",
    );
    p.run(["bundle", "prod", "1.0.0", "--allow-unpinned", "-o", "m.zip"])
        .code(3)
        .stderr_has("!app/www");
    let p = p.file(".ebignore", "*\n!app/\n!app/www/**\n");
    p.run(["bundle", "prod", "1.0.0", "--allow-unpinned", "-o", "m.zip"])
        .success();
    let names = members(&p.root().join("m.zip"));
    assert!(
        names.contains(&"app/www/index.html".to_owned()),
        "{names:?}"
    );
}

#[test]
fn third_party_images_are_pinned_by_their_registry_digest_or_named_as_unpinned() {
    use crate::support::docker::{self, Cleanup, unique};
    if !docker::ready() {
        return;
    }
    let Some(registry) = crate::support::registry::Registry::start() else {
        return;
    };
    // A third-party image in a registry: the demo's base image pushed as `<host>/<name>:7`.
    let name = unique("it-tp");
    let image = format!("{}/{name}:7", registry.host());
    let mut cleanup = Cleanup::default();
    cleanup.image(&image);
    docker::docker(&["tag", docker::BASE_IMAGE, &image]).expect("tag");
    docker::docker(&["push", &image]).expect("push");
    let digest = registry.manifest_digest(&name, "7").expect("pushed");
    let compose = "docker/app/prod/docker-compose.yml";
    let p = Project::demo();
    let text = std::fs::read_to_string(p.root().join(compose)).expect("compose");
    let text = text.replace(
        "services:\n",
        &format!("services:\n  cache:\n    image: {image}\n"),
    );
    let p = p.file(compose, &text).git_init();
    tag(&p, "1.0.0", true);

    let out = p
        .run(["--json", "bundle", "prod", "1.0.0", "-o", "pinned.zip"])
        .success();
    let data = &out.summary()["data"];
    let pinned = format!("{}/{name}@{digest}", registry.host());
    assert_eq!(data["pinned"], true, "{}", out.stdout);
    assert_eq!(data["third_party"][0]["image"], image.as_str());
    assert_eq!(data["third_party"][0]["reference"], pinned.as_str());
    assert_eq!(data["unpinned"], serde_json::json!([]));
    let run = member_text(&p.root().join("pinned.zip"), "Dockerrun.aws.json");
    assert!(run.contains(&pinned) && !run.contains(&image), "{run}");

    // Opted out: the tag ships, and the summary and JSON name it.
    let out = p
        .run([
            "--json",
            "bundle",
            "prod",
            "1.0.0",
            "-o",
            "tags.zip",
            "--no-pin-third-party",
        ])
        .success();
    let data = &out.summary()["data"];
    assert_eq!(data["pinned"], false);
    assert_eq!(data["unpinned"], serde_json::json!([image.as_str()]));
    assert_eq!(data["third_party"][0]["pinned"], false);
    let out = p
        .run([
            "bundle",
            "prod",
            "1.0.0",
            "-o",
            "tags.zip",
            "--no-pin-third-party",
        ])
        .success();
    assert!(
        out.stdout
            .contains(&format!("NOT pinned by digest: {image}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("--no-pin-third-party"),
        "{}",
        out.stderr
    );
}
