//! The bundle and deploy core called in-process, without the CLI: the commands are thin, so
//! what they do is reachable (and testable) as library calls that report through a callback.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use stevedore::aws::sdk::Clients;
use stevedore::bundle::prepare::{self, BundleOptions, Prepared};
use stevedore::eb::EbTarget;
use stevedore::eb::deploy::{self, DeployOptions};
use stevedore::output::Event;
use stevedore::project::settings::{self, FlagValues};
use stevedore::project::{Loaded, Project};

use super::deploy::{APP, DeployRig, ECS_STACK, ENV, runtime};
use crate::support;

/// The project at `root` with its `prod` settings, loaded as the CLI would (without the
/// variables the rig gives the CLI: the release tag, not the settings, names the images).
fn load(root: &std::path::Path) -> Loaded {
    let project = Project::discover(root).expect("the project");
    let resolution = settings::load(&project, &FlagValues::default(), "main", Some("prod"))
        .expect("the settings");
    Loaded {
        project,
        resolution,
    }
}

fn prepared(
    loaded: &Loaded,
    version: &str,
    allow_unpinned: bool,
    events: &Mutex<Vec<Event>>,
) -> Prepared {
    let options = BundleOptions {
        env: "prod",
        version,
        allow_unpinned,
        allow_lossy: false,
    };
    let emit = |event: Event| events.lock().expect("events").push(event);
    prepare::prepare(loaded, &options, &emit).expect("the bundle prepares")
}

/// Without Docker or AWS: an unreleased version prepares with tags (and says so), and the
/// zip it writes holds the rendered run file and no `.env`.
#[test]
fn an_unreleased_bundle_prepares_with_tags_and_writes_a_zip_without_secrets() {
    let project = support::Project::demo()
        .file("environments/prod/.env", "ENV_SECRET_KEY=core-secret\n")
        .git_init();
    let loaded = load(&project.root());
    let events = Mutex::new(Vec::new());
    let prepared = prepared(&loaded, "2.0.0", true, &events);
    assert!(!prepared.pins.all_pinned());
    let warned = events.lock().expect("events").iter().any(|e| {
        matches!(e, Event::Warning { message } if message.contains("v2.0.0 does not exist yet"))
    });
    assert!(warned, "{:?}", events.lock().expect("events"));
    let out = tempfile::tempdir().expect("out dir");
    let zip = out.path().join("bundle.zip");
    let emit = |event: Event| events.lock().expect("events").push(event);
    let built = prepare::write(&prepared, &zip, &[], &emit).expect("the zip");
    assert!(zip.is_file());
    let run_files: Vec<&str> = prepared.run.files.iter().map(|f| f.name.as_str()).collect();
    for name in &run_files {
        assert!(
            built.members.iter().any(|m| m == name),
            "{name} in {:?}",
            built.members
        );
    }
    assert!(
        !built.members.iter().any(|m| m.ends_with(".env")),
        "{:?}",
        built.members
    );
}

/// With the emulator: the deploy core creates the version and runs it Green; the same call
/// again reuses it and changes nothing; a different bundle under the same label is refused
/// before anything is uploaded.
#[test]
fn the_deploy_core_creates_reuses_and_refuses_a_changed_bundle() {
    let Some(rig) = DeployRig::start(|_| {}) else {
        return;
    };
    rig.create_environment(ECS_STACK);
    rig.ship("1.0.0", "core one", None);
    let root: PathBuf = rig.project.root();
    let loaded = load(&root);
    let events = Mutex::new(Vec::new());
    let emit = |event: Event| events.lock().expect("events").push(event);
    let target = EbTarget {
        env_name: "prod".into(),
        application: APP.into(),
        eb_environment: ENV.into(),
        clients: Clients {
            eb: rig.sim.client(),
            s3: rig.s3.client(),
            sts: rig.sim.sts_client(),
            credentials: rig.sim.credentials(),
            region: "us-east-1".into(),
            deadline: Default::default(),
        },
        bucket: None,
        accept_yellow: false,
        default_timeout: Duration::from_secs(120),
    };
    let options = DeployOptions {
        allow_secrets: &[],
        sync_env: false,
        rollback_on_failure: false,
        deadline: Instant::now() + Duration::from_secs(120),
        wait_for_lock: true,
    };
    let first = prepared(&loaded, "1.0.0", false, &events);
    assert!(first.pins.all_pinned(), "published: pinned by digest");
    let deployed = runtime()
        .block_on(deploy::deploy(&target, &first, &options, &emit))
        .expect("the first deploy");
    assert_eq!(deployed.actions.version, "created");
    assert_eq!(deployed.actions.upload, "uploaded");
    assert_eq!(deployed.state.health, "Green");
    assert!(!deployed.unchanged);
    assert!(
        events.lock().expect("events").iter().any(
            |e| matches!(e, Event::Step { message } if message.starts_with("Uploading s3://"))
        ),
        "progress went through the callback"
    );
    let objects = rig.bundle_objects();

    let again = runtime()
        .block_on(deploy::deploy(&target, &first, &options, &emit))
        .expect("the same deploy again");
    assert!(again.unchanged);
    assert_eq!(again.actions.version, "reused");
    assert_eq!(rig.bundle_objects(), objects);

    // A file the bundle takes from the working tree, changed after the release.
    std::fs::write(
        root.join("environments/prod/.ebextensions/zz-core-test.config"),
        "option_settings: []\n",
    )
    .expect("write");
    let changed = prepared(&loaded, "1.0.0", false, &events);
    let err = runtime()
        .block_on(deploy::deploy(&target, &changed, &options, &emit))
        .err()
        .expect("a different bundle under the same label is refused");
    assert!(err.to_string().contains("already exists"), "{err:#}");
    assert_eq!(rig.bundle_objects(), objects, "nothing uploaded");
}
