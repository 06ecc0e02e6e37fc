//! The S3 server and the Elastic Beanstalk emulator, driven only through the real SDK clients:
//! versions, environments, deploys that run containers, EB's errors, events and throttling.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sdk_elasticbeanstalk::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticbeanstalk::operation::RequestId;
use aws_sdk_elasticbeanstalk::primitives::DateTime;
use aws_sdk_elasticbeanstalk::types::{
    ConfigurationOptionSetting, EnvironmentDescription, EventDescription, EventSeverity, S3Location,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::support::docker::{self, Cleanup, docker as cli, unique};
use crate::support::ebsim::{EbSim, EbSimOptions, Knobs, LABEL, S3Access, Timings};
use crate::support::registry::Registry;
use crate::support::s3::{self, S3Server};

const APP: &str = "demo";
const DOCKER_STACK: &str = "64bit Amazon Linux 2023 v4.4.0 running Docker";
const ECS_STACK: &str = "64bit Amazon Linux 2023 v4.4.0 running ECS";

/// An S3 server, an emulator using it, and SDK clients for both.
struct Rig {
    sim: EbSim,
    eb: aws_sdk_elasticbeanstalk::Client,
    s3: aws_sdk_s3::Client,
    bucket: String,
    s3_server: S3Server,
}

impl Rig {
    async fn start(tweak: impl FnOnce(&mut EbSimOptions)) -> Rig {
        let s3_server = S3Server::start().expect("start the S3 server");
        let mut options = EbSimOptions::new(S3Access {
            endpoint_url: s3_server.endpoint_url(),
            access_key_id: s3::ACCESS_KEY_ID.into(),
            secret_access_key: s3::SECRET_ACCESS_KEY.into(),
        });
        options.timings = Timings {
            step: Duration::from_millis(20),
            process: Duration::from_millis(200),
            launch: Duration::from_millis(50),
            health_timeout: Duration::from_secs(15),
            deploy_delay: Duration::ZERO,
        };
        tweak(&mut options);
        let sim = EbSim::start(options).expect("start the emulator");
        let eb = sim.client();
        let s3 = s3_server.client();
        eb.create_application()
            .application_name(APP)
            .send()
            .await
            .expect("CreateApplication");
        let bucket = eb
            .create_storage_location()
            .send()
            .await
            .expect("CreateStorageLocation")
            .s3_bucket()
            .expect("a bucket")
            .to_owned();
        Rig {
            sim,
            eb,
            s3,
            bucket,
            s3_server,
        }
    }

    /// Upload `bundle` as `<app>/<label>.zip` and create the version (optionally processed).
    async fn version(&self, label: &str, bundle: Vec<u8>, process: bool) {
        let key = format!("{APP}/{label}.zip");
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(ByteStream::from(bundle))
            .send()
            .await
            .expect("PutObject");
        self.eb
            .create_application_version()
            .application_name(APP)
            .version_label(label)
            .source_bundle(location(&self.bucket, &key))
            .process(process)
            .send()
            .await
            .expect("CreateApplicationVersion");
    }

    /// CreateEnvironment without a version (the sample application), then wait for Ready.
    async fn environment(&self, name: &str, stack: &str) {
        self.eb
            .create_environment()
            .application_name(APP)
            .environment_name(name)
            .solution_stack_name(stack)
            .send()
            .await
            .expect("CreateEnvironment");
        let env = self.wait_ready(name).await;
        assert_eq!(env.health().map(|h| h.as_str()), Some("Green"));
    }

    /// UpdateEnvironment to `label` (with environment properties); the request id.
    async fn deploy(&self, env: &str, label: &str, properties: &[(&str, &str)]) -> String {
        let mut update = self
            .eb
            .update_environment()
            .environment_name(env)
            .version_label(label);
        for (k, v) in properties {
            update = update.option_settings(property(k, v));
        }
        let out = update.send().await.expect("UpdateEnvironment");
        assert_eq!(out.status().map(|s| s.as_str()), Some("Updating"));
        assert_eq!(out.version_label(), Some(label));
        out.request_id().expect("a request id").to_owned()
    }

    /// Poll DescribeEnvironments until `name` is Ready.
    async fn wait_ready(&self, name: &str) -> EnvironmentDescription {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self
                .eb
                .describe_environments()
                .environment_names(name)
                .send()
                .await
                .expect("DescribeEnvironments");
            let env = out
                .environments()
                .first()
                .cloned()
                .expect("the environment");
            if env.status().map(|s| s.as_str()) == Some("Ready") {
                return env;
            }
            assert!(
                Instant::now() < deadline,
                "{name} not Ready in time: {env:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every event of `request_id` (all pages), newest first.
    async fn events_of(&self, env: &str, request_id: &str) -> Vec<EventDescription> {
        self.eb
            .describe_events()
            .environment_name(env)
            .request_id(request_id)
            .send()
            .await
            .expect("DescribeEvents")
            .events()
            .to_vec()
    }
}

fn location(bucket: &str, key: &str) -> S3Location {
    S3Location::builder().s3_bucket(bucket).s3_key(key).build()
}

fn property(name: &str, value: &str) -> ConfigurationOptionSetting {
    ConfigurationOptionSetting::builder()
        .namespace("aws:elasticbeanstalk:application:environment")
        .option_name(name)
        .value(value)
        .build()
}

fn health_url(path: &str) -> ConfigurationOptionSetting {
    ConfigurationOptionSetting::builder()
        .namespace("aws:elasticbeanstalk:application")
        .option_name("Application Healthcheck URL")
        .value(path)
        .build()
}

fn messages(events: &[EventDescription]) -> Vec<String> {
    events
        .iter()
        .rev()
        .map(|e| e.message().unwrap_or_default().to_owned())
        .collect()
}

/// A zip with `files` at its root.
fn zip_bundle(files: &[(&str, &str)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut buf);
    for (name, contents) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        w.write_all(contents.as_bytes()).expect("zip write");
    }
    w.finish().expect("zip finish");
    buf.into_inner()
}

fn dockerrun_v1(image: &str) -> String {
    format!(
        r#"{{"AWSEBDockerrunVersion":"1","Image":{{"Name":"{image}","Update":"true"}},"Ports":[{{"ContainerPort":"8080"}}]}}"#
    )
}

/// Assert an SDK error's code and exact message.
fn assert_error<T: std::fmt::Debug, E, R>(
    result: Result<T, SdkError<E, R>>,
    code: &str,
    message: &str,
) where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let error = result.expect_err("an error");
    assert_eq!(error.code(), Some(code), "{error:?}");
    assert_eq!(error.message(), Some(message), "{error:?}");
}

/// Send one raw HTTP/1.0 request to `addr`; the whole response, or None.
async fn exchange(addr: &str, request: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .ok()?
        .ok()?;
    response.starts_with("HTTP/1.").then_some(response)
}

/// GET `path` from `addr`; the body, or None.
async fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let response = exchange(
        &addr.to_string(),
        &format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n"),
    )
    .await?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

/// Build a tiny web image from the rig's busybox, push it to `registry` (with the docker CLI
/// config dir `config` when it needs a login), remove the local copy (so the emulator must
/// pull it); its `repo@sha256:…` reference.
fn push_web_image(registry: &Registry, config: Option<&str>, cleanup: &mut Cleanup) -> String {
    let dir = tempfile::tempdir().expect("build dir");
    let tag = format!("{}/ebsim/web:{}", registry.host(), unique("t"));
    // A unique layer first: tests build in parallel, and identical builds would share image ids
    // that one test's `rmi` could delete under another's feet.
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {}\nENV EBSIM_TEST_IMAGE={tag}\nRUN mkdir -p /www\nCMD [\"sh\", \"-c\", \"echo \\\"hello ${{GREETING:-world}}\\\" > /www/index.html && exec httpd -f -p 8080 -h /www\"]\n",
            docker::BASE_IMAGE
        ),
    )
    .expect("write Dockerfile");
    cleanup.image(&tag);
    cli(&[
        "build",
        "-q",
        "-t",
        &tag,
        dir.path().to_str().expect("utf8"),
    ])
    .expect("docker build");
    let push = match config {
        Some(config) => cli(&["--config", config, "push", &tag]),
        None => cli(&["push", &tag]),
    };
    push.expect("docker push");
    let digest = cli(&["inspect", "--format", "{{index .RepoDigests 0}}", &tag]).expect("inspect");
    cli(&["rmi", &tag]).expect("remove the local copy");
    digest.trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_server_speaks_s3_with_the_sdk_default_checksums() {
    let server = S3Server::start().expect("start");
    let s3 = server.client();
    s3.create_bucket()
        .bucket("rig-bucket")
        .send()
        .await
        .expect("CreateBucket");
    s3.put_object()
        .bucket("rig-bucket")
        .key("a/one.txt")
        .body(ByteStream::from_static(b"one"))
        .send()
        .await
        .expect("PutObject");

    // Multipart: two parts, the first at S3's 5 MiB minimum.
    let upload = s3
        .create_multipart_upload()
        .bucket("rig-bucket")
        .key("a/big.bin")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let upload_id = upload.upload_id().expect("upload id");
    let mut parts = Vec::new();
    for (n, data) in [(1, vec![7u8; 5 * 1024 * 1024]), (2, b"tail".to_vec())] {
        let part = s3
            .upload_part()
            .bucket("rig-bucket")
            .key("a/big.bin")
            .upload_id(upload_id)
            .part_number(n)
            .body(ByteStream::from(data))
            .send()
            .await
            .expect("UploadPart");
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(part.e_tag().map(str::to_owned))
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket("rig-bucket")
        .key("a/big.bin")
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload");

    let head = s3
        .head_object()
        .bucket("rig-bucket")
        .key("a/big.bin")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.content_length(), Some(5 * 1024 * 1024 + 4));
    let body = s3
        .get_object()
        .bucket("rig-bucket")
        .key("a/one.txt")
        .send()
        .await
        .expect("GetObject")
        .body
        .collect()
        .await
        .expect("body");
    assert_eq!(body.into_bytes().as_ref(), b"one");
    let listed = s3
        .list_objects_v2()
        .bucket("rig-bucket")
        .prefix("a/")
        .send()
        .await
        .expect("ListObjectsV2");
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["a/big.bin", "a/one.txt"]);
    s3.delete_object()
        .bucket("rig-bucket")
        .key("a/one.txt")
        .send()
        .await
        .expect("DeleteObject");
    let missing = s3
        .head_object()
        .bucket("rig-bucket")
        .key("a/one.txt")
        .send()
        .await
        .expect_err("deleted");
    assert!(missing.into_service_error().is_not_found());

    // Signatures are checked: a client with the wrong secret is refused.
    let config =
        s3.config()
            .to_builder()
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                s3::ACCESS_KEY_ID,
                "wrong",
                None,
                None,
                "t",
            ));
    let wrong = aws_sdk_s3::Client::from_conf(config.build());
    assert!(
        wrong
            .list_objects_v2()
            .bucket("rig-bucket")
            .send()
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_processed_listed_and_deleted_with_their_bundle() {
    let rig = Rig::start(|_| {}).await;
    rig.version(
        "v1",
        zip_bundle(&[("Dockerrun.aws.json", &dockerrun_v1("x"))]),
        true,
    )
    .await;
    // Upper-case on the wire: the SDK sees an unknown variant, so compare the string.
    let status = |label: &'static str| {
        let eb = rig.eb.clone();
        async move {
            let out = eb
                .describe_application_versions()
                .application_name(APP)
                .version_labels(label)
                .send()
                .await
                .expect("describe");
            out.application_versions()[0]
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default()
        }
    };
    assert_eq!(status("v1").await, "PROCESSING");
    let deadline = Instant::now() + Duration::from_secs(10);
    while status("v1").await == "PROCESSING" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status("v1").await, "PROCESSED");

    rig.version("broken", b"not a zip".to_vec(), true).await;
    rig.version("plain", zip_bundle(&[("a", "b")]), false).await;
    assert_eq!(status("plain").await, "UNPROCESSED");
    let deadline = Instant::now() + Duration::from_secs(10);
    while status("broken").await == "PROCESSING" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status("broken").await, "FAILED");

    // Newest first; paged by MaxRecords + NextToken.
    let first = rig
        .eb
        .describe_application_versions()
        .application_name(APP)
        .max_records(2)
        .send()
        .await
        .expect("page 1");
    let labels: Vec<_> = first
        .application_versions()
        .iter()
        .filter_map(|v| v.version_label())
        .collect();
    assert_eq!(labels, ["plain", "broken"]);
    let second = rig
        .eb
        .describe_application_versions()
        .application_name(APP)
        .max_records(2)
        .next_token(first.next_token().expect("more"))
        .send()
        .await
        .expect("page 2");
    assert_eq!(second.application_versions()[0].version_label(), Some("v1"));
    assert_eq!(second.next_token(), None);

    let apps = rig
        .eb
        .describe_applications()
        .application_names(APP)
        .send()
        .await
        .expect("DescribeApplications");
    assert_eq!(apps.applications()[0].versions().len(), 3);

    rig.eb
        .delete_application_version()
        .application_name(APP)
        .version_label("plain")
        .delete_source_bundle(true)
        .send()
        .await
        .expect("DeleteApplicationVersion");
    let gone = rig
        .s3
        .head_object()
        .bucket(&rig.bucket)
        .key(format!("{APP}/plain.zip"))
        .send()
        .await;
    assert!(gone.is_err(), "the source bundle is deleted");
    assert!(
        rig.s3
            .head_object()
            .bucket(&rig.bucket)
            .key(format!("{APP}/v1.zip"))
            .send()
            .await
            .is_ok()
    );
    assert_error(
        rig.eb
            .delete_application_version()
            .application_name(APP)
            .version_label("plain")
            .send()
            .await,
        "InvalidParameterValue",
        "No Application Version named 'plain' found.",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_eb_codes_and_exact_messages() {
    let rig = Rig::start(|o| o.version_quota = 3).await;
    let bundle = zip_bundle(&[("Dockerrun.aws.json", &dockerrun_v1("x"))]);
    rig.version("v1", bundle.clone(), false).await;
    let create = |label: String| {
        rig.eb
            .create_application_version()
            .application_name(APP)
            .version_label(label)
            .source_bundle(location(&rig.bucket, "demo/v1.zip"))
            .send()
    };
    assert_error(
        create("v1".into()).await,
        "InvalidParameterValue",
        "Application Version v1 already exists.",
    );
    let long = "x".repeat(101);
    assert_error(
        create(long.clone()).await,
        "ValidationError",
        &format!(
            "1 validation error detected: Value '{long}' at 'versionLabel' failed to satisfy constraint: Member must have length less than or equal to 100"
        ),
    );
    assert_error(
        create("a/b".into()).await,
        "ValidationError",
        "1 validation error detected: Value 'a/b' at 'versionLabel' failed to satisfy constraint: Member must satisfy regular expression pattern: [^/]+",
    );
    assert_error(
        rig.eb
            .create_application_version()
            .application_name("nope")
            .version_label("v1")
            .send()
            .await,
        "InvalidParameterValue",
        "No Application named 'nope' found.",
    );
    assert_error(
        rig.eb
            .create_application()
            .application_name(APP)
            .send()
            .await,
        "InvalidParameterValue",
        "Application demo already exists.",
    );
    create("v2".into()).await.expect("v2");
    create("v3".into()).await.expect("v3");
    assert_error(
        create("v4".into()).await,
        "TooManyApplicationVersionsException",
        "You cannot have more than 3 Application Versions. Either remove some Application Versions or request a limit increase.",
    );

    assert_error(
        rig.eb
            .update_environment()
            .environment_name("missing-env")
            .version_label("v1")
            .send()
            .await,
        "InvalidParameterValue",
        "No Environment found for EnvironmentName = 'missing-env'.",
    );
    rig.environment("errors-env", DOCKER_STACK).await;
    assert_error(
        rig.eb
            .update_environment()
            .environment_name("errors-env")
            .version_label("v9")
            .send()
            .await,
        "InvalidParameterValue",
        "No Application Version named 'v9' found.",
    );
    assert!(rig.sim.busy_for("errors-env", Duration::from_secs(30)));
    assert_error(
        rig.eb
            .update_environment()
            .environment_name("errors-env")
            .version_label("v1")
            .send()
            .await,
        "InvalidParameterValue",
        "Environment named errors-env is in an invalid state for this operation. Must be Ready.",
    );
    assert_error(
        rig.eb.describe_events().max_records(0).send().await,
        "ValidationError",
        "1 validation error detected: Value '0' at 'maxRecords' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
}

/// Not through the SDK on purpose: malformed requests must get EB-style errors, never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_query_protocol_errors() {
    let rig = Rig::start(|_| {}).await;
    let host = rig
        .sim
        .endpoint_url()
        .trim_start_matches("http://")
        .to_owned();
    let post = |body: &str| {
        format!(
            "POST / HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let cases = [
        ("Version=2010-12-01", "<Code>MissingParameter</Code>"),
        (
            "Action=Explode&Version=2010-12-01",
            "<Code>InvalidAction</Code>",
        ),
        (
            "Action=CreateApplicationVersion&ApplicationName=demo&VersionLabel=x&Process=maybe",
            "<Code>MalformedQueryString</Code>",
        ),
        (
            "Action=DescribeEvents&StartTime=yesterday",
            "<Code>MalformedQueryString</Code>",
        ),
        (
            "Action=DescribeEvents&MaxRecords=%FF%FE",
            "<Code>MalformedQueryString</Code>",
        ),
        (
            "Action=DescribeEvents&NextToken=garbage",
            "<Code>InvalidParameterValue</Code>",
        ),
        ("Action=UpdateEnvironment", "<Code>MissingParameter</Code>"),
        (
            "Action=UpdateEnvironment&EnvironmentName=x&OptionSettings.member.1.Value=v",
            "<Code>MissingParameter</Code>",
        ),
        (
            "Action=DescribeEvents&Severity=LOUD",
            "<Code>ValidationError</Code>",
        ),
        ("%%%&&&==", "<Code>MissingParameter</Code>"),
    ];
    for (body, code) in cases {
        let response = exchange(&host, &post(body)).await.expect("an answer");
        assert!(
            response.starts_with("HTTP/1.0 400") || response.starts_with("HTTP/1.1 400"),
            "{body}: {response}"
        );
        assert!(
            response.contains(code) && response.contains("<Type>Sender</Type>"),
            "{body}: {response}"
        );
        assert!(
            response.to_ascii_lowercase().contains("x-amzn-requestid:"),
            "{response}"
        );
    }
    // Still serving.
    rig.eb.describe_applications().send().await.expect("alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_environment_with_a_version_launches_it_and_foreign_keys_are_refused() {
    let rig = Rig::start(|o| o.access_key_id = Some("AKIAEBSIMONLY0000000".into())).await;
    let broken = zip_bundle(&[("Dockerrun.aws.json", r#"{"AWSEBDockerrunVersion":"9"}"#)]);
    rig.version("bad", broken, false).await;
    let out = rig
        .eb
        .create_environment()
        .application_name(APP)
        .environment_name("launch-env")
        .version_label("bad")
        .send()
        .await
        .expect("CreateEnvironment");
    assert_eq!(out.status().map(|s| s.as_str()), Some("Launching"));
    let request = out.request_id().expect("id").to_owned();
    let env = rig.wait_ready("launch-env").await;
    assert_eq!(env.health().map(|h| h.as_str()), Some("Red"));
    let events = messages(&rig.events_of("launch-env", &request).await);
    assert_eq!(events[0], "createEnvironment is starting.");
    assert!(
        events.contains(&"Invalid Dockerrun.aws.json version, abort deployment".to_owned()),
        "{events:?}"
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some(
            "Create environment operation is complete, but with errors. For more information, see troubleshooting documentation."
        )
    );
    assert_error(
        rig.eb
            .create_environment()
            .application_name(APP)
            .environment_name("launch-env")
            .send()
            .await,
        "InvalidParameterValue",
        "Environment launch-env already exists.",
    );

    let stranger = aws_sdk_elasticbeanstalk::Client::from_conf(
        rig.sim
            .sdk_config()
            .credentials_provider(aws_sdk_elasticbeanstalk::config::Credentials::new(
                "AKIAOTHER",
                "s",
                None,
                None,
                "t",
            ))
            .build(),
    );
    assert_error(
        stranger.describe_applications().send().await,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_5xx_are_retried_by_the_sdk_standard_retry() {
    let rig = Rig::start(|_| {}).await;
    let before = rig.sim.stats();
    // Two throttled attempts, then success: within the standard mode's three attempts.
    rig.sim.knobs(|k: &mut Knobs| k.throttle_next = 2);
    rig.eb
        .describe_applications()
        .send()
        .await
        .expect("retried past the throttling");
    assert_eq!(rig.sim.stats().throttled - before.throttled, 2);
    assert_eq!(rig.sim.stats().calls - before.calls, 3);

    rig.sim.knobs(|k| {
        k.fail_next_calls = 2;
        k.fail_status = 503;
    });
    rig.eb
        .describe_applications()
        .send()
        .await
        .expect("retried past the 503s");
    assert_eq!(rig.sim.stats().failed - before.failed, 2);

    // With retries off, the throttling error surfaces as itself.
    let once = aws_sdk_elasticbeanstalk::Client::from_conf(
        rig.sim
            .sdk_config()
            .retry_config(
                aws_sdk_elasticbeanstalk::config::retry::RetryConfig::standard()
                    .with_max_attempts(1),
            )
            .build(),
    );
    rig.sim.knobs(|k| k.throttle_next = 1);
    assert_error(
        once.describe_applications().send().await,
        "Throttling",
        "Rate exceeded",
    );

    // A rate limit: a burst of one, so back-to-back calls are throttled and retried.
    rig.sim.knobs(|k| {
        k.throttle_per_second = Some(20.0);
        k.throttle_burst = 1;
    });
    let throttled = rig.sim.stats().throttled;
    for _ in 0..3 {
        rig.eb
            .describe_applications()
            .send()
            .await
            .expect("retried under the rate limit");
    }
    assert!(
        rig.sim.stats().throttled > throttled,
        "{:?}",
        rig.sim.stats()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_dockerrun_ends_red_with_the_validation_event_and_tail_logs_say_why() {
    let rig = Rig::start(|_| {}).await;
    rig.environment("broken-env", DOCKER_STACK).await;
    rig.version(
        "bad",
        zip_bundle(&[(
            "Dockerrun.aws.json",
            r#"{"AWSEBDockerrunVersion":"1","Ports":[{"ContainerPort":"80"}]}"#,
        )]),
        false,
    )
    .await;
    let request = rig.deploy("broken-env", "bad", &[]).await;
    let env = rig.wait_ready("broken-env").await;
    assert_eq!(env.health().map(|h| h.as_str()), Some("Red"));
    assert_eq!(
        env.version_label(),
        None,
        "the failed version is not the environment's"
    );
    let events = rig.events_of("broken-env", &request).await;
    let instance = rig.sim.environment("broken-env").expect("env").instance_id;
    assert_eq!(
        messages(&events),
        [
            "Environment update is starting.".to_owned(),
            "Deploying new version to instance(s).".to_owned(),
            "Dockerrun.aws.json is invalid: Image.Name is required, abort deployment".to_owned(),
            "Instance deployment failed. For details, see 'eb-engine.log'.".to_owned(),
            format!(
                "[Instance: {instance}] Command failed on instance. Return code: 1 Output: Engine execution has encountered an error.."
            ),
            "Command execution completed on all instances. Summary: [Successful: 0, Failed: 1]."
                .to_owned(),
            format!(
                "Unsuccessful command execution on instance id(s) '{instance}'. Aborting the operation."
            ),
            "Failed to deploy application.".to_owned(),
        ]
    );
    assert_eq!(events[0].severity().map(|s| s.as_str()), Some("ERROR"));
    let health = rig
        .eb
        .describe_environment_health()
        .environment_name("broken-env")
        .send()
        .await
        .expect("health");
    assert_eq!(health.health_status(), Some("Severe"));
    assert!(
        health
            .causes()
            .iter()
            .any(|c| c == "Failed to deploy application.")
    );

    // Not a zip, and a missing object, fail the same way with their own first event.
    rig.version("garbage", b"PK? no".to_vec(), false).await;
    let request = rig.deploy("broken-env", "garbage", &[]).await;
    rig.wait_ready("broken-env").await;
    let events = messages(&rig.events_of("broken-env", &request).await);
    assert!(
        events[2].starts_with("The source bundle is not a valid ZIP archive"),
        "{events:?}"
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("Failed to deploy application.")
    );
    rig.eb
        .create_application_version()
        .application_name(APP)
        .version_label("ghost")
        .source_bundle(location(&rig.bucket, "demo/ghost.zip"))
        .send()
        .await
        .expect("a version whose bundle is missing");
    let request = rig.deploy("broken-env", "ghost", &[]).await;
    rig.wait_ready("broken-env").await;
    let events = messages(&rig.events_of("broken-env", &request).await);
    assert_eq!(
        events[2],
        format!(
            "Unable to download from S3 location (Bucket: {} Key: demo/ghost.zip). Reason: Not Found",
            rig.bucket
        )
    );

    // Over 512 MiB: a small object grown in place (sparse) so HEAD reports the size.
    rig.version("huge", zip_bundle(&[("a", "b")]), false).await;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(rig.s3_server.root().join(&rig.bucket).join("demo/huge.zip"))
        .expect("the object's file");
    file.set_len(512 * 1024 * 1024 + 1).expect("grow");
    let request = rig.deploy("broken-env", "huge", &[]).await;
    rig.wait_ready("broken-env").await;
    let events = messages(&rig.events_of("broken-env", &request).await);
    assert!(
        events[2].ends_with("a source bundle cannot be larger than 512 MB"),
        "{events:?}"
    );

    // The ECS platform rejects a v1 file with its own validation text.
    rig.environment("ecs-env", ECS_STACK).await;
    rig.version(
        "v1-on-ecs",
        zip_bundle(&[("Dockerrun.aws.json", &dockerrun_v1("x"))]),
        false,
    )
    .await;
    let request = rig.deploy("ecs-env", "v1-on-ecs", &[]).await;
    rig.wait_ready("ecs-env").await;
    let events = messages(&rig.events_of("ecs-env", &request).await);
    assert_eq!(
        events[2],
        "ECS Application sourcebundle validation error: Unsupported AWSEBDockerrunVersion: 1"
    );

    // Tail logs: a presigned URL to the S3 server with eb-engine.log in it.
    rig.eb
        .request_environment_info()
        .environment_name("broken-env")
        .info_type("tail".into())
        .send()
        .await
        .expect("request");
    let info = rig
        .eb
        .retrieve_environment_info()
        .environment_name("broken-env")
        .info_type("tail".into())
        .send()
        .await
        .expect("retrieve");
    let url = info.environment_info()[0]
        .message()
        .expect("a URL")
        .to_owned();
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').expect("host/path");
    let logs = http_get(host.parse().expect("loopback address"), &format!("/{path}"))
        .await
        .expect("the log");
    assert!(
        logs.contains("eb-engine.log") && logs.contains("Image.Name is required"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_events_filters_orders_newest_first_and_pages() {
    let rig = Rig::start(|_| {}).await;
    rig.environment("events-env", DOCKER_STACK).await;
    rig.environment("other-env", DOCKER_STACK).await;
    let bundle = zip_bundle(&[("Dockerrun.aws.json", &dockerrun_v1("x"))]);
    rig.version("a", bundle.clone(), false).await;
    rig.version("b", bundle, false).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    // Whole milliseconds, the resolution of EB's event dates.
    let since = DateTime::from_millis(now.as_millis() as i64);
    rig.sim.knobs(|k| k.fail_next_deploy = true);
    let first = rig.deploy("events-env", "a", &[]).await;
    rig.wait_ready("events-env").await;
    rig.sim.knobs(|k| k.fail_next_deploy = true);
    let second = rig.deploy("events-env", "b", &[]).await;
    rig.wait_ready("events-env").await;
    assert_ne!(first, second);

    let all = rig
        .eb
        .describe_events()
        .environment_name("events-env")
        .send()
        .await
        .expect("all")
        .events()
        .to_vec();
    assert!(
        all.iter()
            .all(|e| e.environment_name() == Some("events-env"))
    );
    assert!(
        all.iter()
            .any(|e| e.message() == Some("createEnvironment is starting."))
    );
    let dates: Vec<_> = all
        .iter()
        .map(|e| e.event_date().expect("date").to_millis().expect("ms"))
        .collect();
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {dates:?}"
    );
    assert_eq!(all[0].message(), Some("Failed to deploy application."));
    assert_eq!(all[0].request_id(), Some(second.as_str()));

    let by_request = rig.events_of("events-env", &first).await;
    assert!(
        by_request
            .iter()
            .all(|e| e.request_id() == Some(first.as_str()))
    );
    assert_eq!(
        by_request.last().and_then(|e| e.message()),
        Some("Environment update is starting.")
    );
    let by_version = rig
        .eb
        .describe_events()
        .version_label("b")
        .send()
        .await
        .expect("by version")
        .events()
        .to_vec();
    assert_eq!(by_version.len(), by_request.len());
    assert!(by_version.iter().all(|e| e.version_label() == Some("b")));
    let errors = rig
        .eb
        .describe_events()
        .environment_name("events-env")
        .severity(EventSeverity::Error)
        .send()
        .await
        .expect("errors")
        .events()
        .to_vec();
    assert!(
        errors
            .iter()
            .all(|e| e.severity() == Some(&EventSeverity::Error))
    );
    assert_eq!(errors.len(), 8, "four ERROR events per failed deploy");
    let recent = rig
        .eb
        .describe_events()
        .environment_name("events-env")
        .start_time(since)
        .send()
        .await
        .expect("since")
        .events()
        .to_vec();
    assert_eq!(
        recent.len(),
        2 * by_request.len(),
        "only the two deploys' events"
    );
    let latest = recent[0].event_date().expect("date");
    let none_after = rig
        .eb
        .describe_events()
        .environment_name("events-env")
        .start_time(DateTime::from_millis(latest.to_millis().expect("ms") + 1))
        .send()
        .await
        .expect("after the last");
    assert!(none_after.events().is_empty());

    // Paging by two gives the same list.
    let mut paged = Vec::new();
    let mut token = None;
    loop {
        let page = rig
            .eb
            .describe_events()
            .environment_name("events-env")
            .max_records(2)
            .set_next_token(token)
            .send()
            .await
            .expect("page");
        assert!(page.events().len() <= 2);
        paged.extend(page.events().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(paged, all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_returns_the_environment_to_ready_with_its_previous_version() {
    let rig = Rig::start(|_| {}).await;
    rig.environment("abort-env", DOCKER_STACK).await;
    rig.version(
        "slow",
        zip_bundle(&[("Dockerrun.aws.json", &dockerrun_v1("x"))]),
        false,
    )
    .await;
    assert_error(
        rig.eb
            .abort_environment_update()
            .environment_name("abort-env")
            .send()
            .await,
        "InvalidParameterValue",
        "Environment named abort-env is in an invalid state for this operation. Must be Updating.",
    );
    rig.sim
        .knobs(|k| k.deploy_delay = Some(Duration::from_secs(30)));
    rig.deploy("abort-env", "slow", &[]).await;
    let env = rig
        .eb
        .describe_environments()
        .environment_names("abort-env")
        .send()
        .await
        .expect("describe");
    assert_eq!(
        env.environments()[0].abortable_operation_in_progress(),
        Some(true)
    );
    rig.eb
        .abort_environment_update()
        .environment_name("abort-env")
        .send()
        .await
        .expect("abort");
    let env = rig.wait_ready("abort-env").await;
    assert_eq!(env.version_label(), None);
    assert_eq!(env.health().map(|h| h.as_str()), Some("Green"));
    let messages: Vec<_> = rig.sim.events().into_iter().map(|e| e.message).collect();
    assert!(
        messages.contains(&"Environment update was aborted.".to_owned()),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_digest_missing_from_the_registry_ends_red() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let rig = Rig::start(|_| {}).await;
    rig.environment("missing-env", DOCKER_STACK).await;
    let image = format!("{}/ebsim/web@sha256:{}", registry.host(), "0".repeat(64));
    rig.version(
        "pinned",
        zip_bundle(&[("Dockerrun.aws.json", &dockerrun_v1(&image))]),
        false,
    )
    .await;
    let request = rig.deploy("missing-env", "pinned", &[]).await;
    let env = rig.wait_ready("missing-env").await;
    assert_eq!(env.health().map(|h| h.as_str()), Some("Red"));
    let events = messages(&rig.events_of("missing-env", &request).await);
    assert_eq!(
        events.last().map(String::as_str),
        Some("Failed to deploy application.")
    );
    assert!(
        events
            .contains(&"Instance deployment failed. For details, see 'eb-engine.log'.".to_owned())
    );
    let log = rig
        .sim
        .environment("missing-env")
        .expect("env")
        .engine_log
        .join("\n");
    assert!(log.contains("manifest unknown"), "{log}");
}

/// The whole path: an image in the registry, a v1 bundle pinned by digest, a deploy that pulls
/// and runs it, a page served from the container, a configuration update that restarts it, a
/// second deploy that replaces it, and nothing left behind afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_bundle_deploys_green_serves_its_page_and_is_cleaned_up() {
    let Some(registry) = Registry::start() else {
        return;
    };
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let image = push_web_image(&registry, None, &mut cleanup);
    let rig = Rig::start(|o| o.timings.health_timeout = Duration::from_secs(8)).await;
    rig.environment("web-env", DOCKER_STACK).await;
    rig.version(
        "v1",
        zip_bundle(&[("Dockerrun.aws.json", &dockerrun_v1(&image))]),
        true,
    )
    .await;
    while rig.sim.version_status(APP, "v1").map(|s| s.wire()) == Some("PROCESSING") {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let request = rig
        .deploy("web-env", "v1", &[("GREETING", "from v1")])
        .await;
    let env = rig.wait_ready("web-env").await;
    let events = messages(&rig.events_of("web-env", &request).await);
    assert_eq!(
        events,
        [
            "Environment update is starting.",
            "Deploying new version to instance(s).",
            "Instance deployment completed successfully.",
            "New application version was deployed to running EC2 instances.",
            "Environment update completed successfully.",
        ],
        "{:?}",
        rig.sim.environment("web-env").map(|e| e.engine_log)
    );
    assert_eq!(env.health().map(|h| h.as_str()), Some("Green"));
    assert_eq!(env.version_label(), Some("v1"));
    let endpoint = rig.sim.endpoint("web-env").expect("an endpoint");
    assert_eq!(env.endpoint_url(), Some(endpoint.to_string().as_str()));
    assert_eq!(
        http_get(endpoint, "/").await.as_deref(),
        Some("hello from v1\n")
    );
    let ports = rig.sim.ports("web-env");
    assert_eq!(
        (ports[0].container_port, ports[0].requested_host_port),
        (8080, Some(80))
    );

    // A configuration-only update restarts the app with the new properties.
    let out = rig
        .eb
        .update_environment()
        .environment_name("web-env")
        .option_settings(property("GREETING", "configured"))
        .option_settings(health_url("/index.html"))
        .send()
        .await
        .expect("UpdateEnvironment (configuration)");
    rig.wait_ready("web-env").await;
    let events = messages(
        &rig.events_of("web-env", out.request_id().expect("id"))
            .await,
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("Successfully deployed new configuration to environment.")
    );
    let endpoint = rig.sim.endpoint("web-env").expect("an endpoint");
    assert_eq!(
        http_get(endpoint, "/").await.as_deref(),
        Some("hello configured\n")
    );

    // A second version replaces the first one's containers.
    rig.version(
        "v2",
        zip_bundle(&[("Dockerrun.aws.json", &dockerrun_v1(&image))]),
        false,
    )
    .await;
    rig.deploy("web-env", "v2", &[("GREETING", "from v2")])
        .await;
    let env = rig.wait_ready("web-env").await;
    assert_eq!(env.version_label(), Some("v2"));
    let endpoint = rig.sim.endpoint("web-env").expect("an endpoint");
    assert_eq!(
        http_get(endpoint, "/").await.as_deref(),
        Some("hello from v2\n")
    );
    let label = format!("label={LABEL}={}", rig.sim.id());
    let running = cli(&["ps", "-q", "--filter", &label]).expect("docker ps");
    assert_eq!(
        running.lines().count(),
        1,
        "only the new version runs: {running}"
    );

    // Green only when the health check passes: a path the app does not serve ends Red, and
    // the previous version keeps serving.
    rig.version(
        "v3",
        zip_bundle(&[("Dockerrun.aws.json", &dockerrun_v1(&image))]),
        false,
    )
    .await;
    let out = rig
        .eb
        .update_environment()
        .environment_name("web-env")
        .version_label("v3")
        .option_settings(health_url("/missing"))
        .send()
        .await
        .expect("UpdateEnvironment (unhealthy)");
    let env = rig.wait_ready("web-env").await;
    assert_eq!(env.health().map(|h| h.as_str()), Some("Red"));
    assert_eq!(env.version_label(), Some("v2"));
    let events = messages(
        &rig.events_of("web-env", out.request_id().expect("id"))
            .await,
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("Failed to deploy application.")
    );
    let log = rig
        .sim
        .environment("web-env")
        .expect("env")
        .engine_log
        .join("\n");
    assert!(log.contains("GET /missing answered HTTP 404"), "{log}");
    assert_eq!(
        http_get(endpoint, "/").await.as_deref(),
        Some("hello from v2\n")
    );

    // Dropping the rig removes containers, networks, pulled images, files and the servers.
    let (sim_url, s3_url, workdir) = (
        rig.sim.endpoint_url(),
        rig.s3_server.endpoint_url(),
        rig.sim.workdir(),
    );
    drop(rig);
    assert_eq!(cli(&["ps", "-aq", "--filter", &label]).expect("ps"), "");
    assert_eq!(
        cli(&["network", "ls", "-q", "--filter", &label]).expect("network ls"),
        ""
    );
    assert!(
        cli(&["image", "inspect", &image]).is_err(),
        "the pulled image is removed"
    );
    assert!(!workdir.exists(), "the emulator's temp dir is removed");
    for url in [sim_url, s3_url] {
        let addr = url.trim_start_matches("http://");
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "{addr} still listens"
        );
    }
    assert!(
        http_get(endpoint, "/").await.is_none(),
        "the app container is gone"
    );
}

/// Dockerrun v2 on the ECS platform: two containers joined by a link alias, a bundle directory
/// mounted as a volume, the proxy's host port 80 mapped to loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v2_bundle_runs_linked_containers_with_a_bundle_volume() {
    let Some(registry) = Registry::start() else {
        return;
    };
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let image = push_web_image(&registry, None, &mut cleanup);
    let rig = Rig::start(|_| {}).await;
    rig.environment("ecs-web", ECS_STACK).await;
    let dockerrun = format!(
        r#"{{"AWSEBDockerrunVersion":2,
          "volumes":[{{"name":"www","host":{{"sourcePath":"/var/app/current/www"}}}}],
          "containerDefinitions":[
            {{"name":"proxy","image":"{image}","memory":64,"essential":true,"links":["app:backend"],
              "portMappings":[{{"hostPort":80,"containerPort":8081}}],
              "command":["sh","-c","mkdir -p /p; (while true; do wget -q -O /p/.next http://backend:8080/page.html && mv /p/.next /p/index.html; sleep 0.2; done) & exec httpd -f -p 8081 -h /p"]}},
            {{"name":"app","image":"{image}","memoryReservation":32,"essential":true,
              "mountPoints":[{{"sourceVolume":"www","containerPath":"/www","readOnly":true}}],
              "command":["httpd","-f","-p","8080","-h","/www"]}}]}}"#
    );
    let bundle = zip_bundle(&[
        ("Dockerrun.aws.json", &dockerrun),
        ("www/page.html", "from the bundle\n"),
    ]);
    rig.version("v2", bundle, false).await;
    rig.deploy("ecs-web", "v2", &[]).await;
    let env = rig.wait_ready("ecs-web").await;
    assert_eq!(
        env.health().map(|h| h.as_str()),
        Some("Green"),
        "{:?}",
        rig.sim.environment("ecs-web").map(|e| e.engine_log)
    );
    let endpoint = rig.sim.endpoint("ecs-web").expect("endpoint");
    assert_eq!(
        http_get(endpoint, "/").await.as_deref(),
        Some("from the bundle\n")
    );
    assert!(
        rig.sim
            .ports("ecs-web")
            .iter()
            .any(|p| p.container == "proxy" && p.requested_host_port == Some(80))
    );
}

/// A compose bundle (with a v3 Dockerrun naming the registry credentials in S3) against a
/// registry that requires them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compose_bundle_with_registry_auth_from_s3_runs_its_services() {
    let Some(registry) = Registry::start_with_auth("eb", "ebsim-pass") else {
        return;
    };
    if !docker::ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let home = tempfile::tempdir().expect("docker config dir");
    let config = home.path().to_str().expect("utf8");
    let login = std::process::Command::new("docker")
        .args([
            "--config",
            config,
            "login",
            "-u",
            "eb",
            "--password-stdin",
            &registry.host(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            if let Some(stdin) = child.stdin.as_mut() {
                stdin.write_all(b"ebsim-pass")?;
            }
            child.wait()
        })
        .expect("docker login");
    assert!(login.success());
    let image = push_web_image(&registry, Some(config), &mut cleanup);
    let rig = Rig::start(|_| {}).await;
    rig.environment("compose-env", DOCKER_STACK).await;
    let auth = std::fs::read_to_string(home.path().join("config.json")).expect("config.json");
    rig.s3
        .put_object()
        .bucket(&rig.bucket)
        .key("auth/config.json")
        .body(ByteStream::from(auth.into_bytes()))
        .send()
        .await
        .expect("put auth");
    let compose = format!(
        "services:\n  web:\n    image: \"{image}\"\n    ports:\n      - \"80:8080\"\n    environment:\n      GREETING: \"${{WHO:-nobody}}\"\n"
    );
    let dockerrun = format!(
        r#"{{"AWSEBDockerrunVersion":"3","Authentication":{{"bucket":"{}","key":"auth/config.json"}}}}"#,
        rig.bucket
    );
    rig.version(
        "c1",
        zip_bundle(&[
            ("docker-compose.yml", &compose),
            ("Dockerrun.aws.json", &dockerrun),
        ]),
        false,
    )
    .await;
    rig.deploy("compose-env", "c1", &[("WHO", "compose")]).await;
    let env = rig.wait_ready("compose-env").await;
    assert_eq!(
        env.health().map(|h| h.as_str()),
        Some("Green"),
        "{:?}",
        rig.sim.environment("compose-env").map(|e| e.engine_log)
    );
    let endpoint = rig.sim.endpoint("compose-env").expect("endpoint");
    assert_eq!(
        http_get(endpoint, "/").await.as_deref(),
        Some("hello compose\n")
    );

    // Without the auth file the same image cannot be resolved.
    let plain = format!("services:\n  web:\n    image: \"{image}\"\n    ports: [\"80:8080\"]\n");
    rig.version("c2", zip_bundle(&[("docker-compose.yml", &plain)]), false)
        .await;
    let request = rig.deploy("compose-env", "c2", &[]).await;
    let env = rig.wait_ready("compose-env").await;
    assert_eq!(env.health().map(|h| h.as_str()), Some("Red"));
    assert_eq!(env.version_label(), Some("c1"));
    let events = messages(&rig.events_of("compose-env", &request).await);
    assert_eq!(
        events.last().map(String::as_str),
        Some("Failed to deploy application.")
    );
}
