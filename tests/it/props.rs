//! Parsers against hostile input (issue 14): property tests over the `.env` parser, both ignore
//! dialects, the compose loader, the Dockerrun validator, release versions and image
//! references. Each must return a value or an error for any input, never panic; the last test
//! feeds inputs that would take super-linear time in a naive matcher, sized so a regression
//! hangs the run instead of passing.

use std::path::Path;

use proptest::prelude::*;
use stevedore::bundle::{ImageRef, StagedFile, validate};
use stevedore::ignore::{docker::DockerIgnore, eb::EbIgnore};
use stevedore::project::dotenv;
use stevedore::release::ReleaseVersion;

/// Text biased towards each grammar's special characters.
fn hostile(alphabet: &'static str, max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = alphabet.chars().collect();
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(chars),
            1 => any::<char>(),
        ],
        0..max,
    )
    .prop_map(|c| c.into_iter().collect())
}

/// Relative paths made of a few segments.
fn paths() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z.*\\[\\]!_-]{0,6}", 1..5).prop_map(|s| s.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn dotenv_never_panics_and_reads_back_simple_assignments(
        text in hostile("AB_=#'\"\\$\n \texport{}", 200),
        key in "[A-Z_][A-Z0-9_]{0,8}",
        value in "[a-zA-Z0-9/:.,_-]{0,20}",
    ) {
        let path = Path::new(".env");
        let _ = dotenv::parse(&text, path);
        let file = dotenv::parse(&format!("{key}={value}\n"), path).expect("a plain assignment");
        prop_assert_eq!(file.get(&key), Some(value.as_str()));
        let quoted = dotenv::parse(&format!("{key}='{value}'\n"), path).expect("quoted");
        prop_assert_eq!(quoted.get(&key), Some(value.as_str()));
    }

    #[test]
    fn docker_ignore_never_panics(
        patterns in hostile("*?[]!\\/.\n#-^ab", 120),
        path in paths(),
    ) {
        if let Ok(ignore) = DockerIgnore::parse(&patterns, Path::new(".dockerignore")) {
            let _ = ignore.is_excluded(&path);
            let _ = ignore.can_skip_dir(&path);
        }
    }

    #[test]
    fn eb_ignore_never_panics(
        patterns in hostile("*?[]!\\/.\n#-^ab ", 120),
        path in paths(),
    ) {
        if let Ok(ignore) = EbIgnore::parse(&patterns, Path::new(".ebignore")) {
            let _ = ignore.matches(&path);
        }
    }

    #[test]
    fn compose_loader_never_panics(
        text in hostile("services:\n  -{}[]&*!|>'\"$#:?abc0 ", 300),
    ) {
        let vars = |_: &str| None;
        let _ = stevedore::compose::parse(&text, Path::new("docker-compose.yml"), &vars);
    }

    #[test]
    fn dockerrun_validator_never_panics(
        text in hostile("{}[]\":,0123AWSEBDockerrunVersion containerDefinitions image name memory ", 300),
        compose in hostile("services:\n  {}:image build -", 120),
    ) {
        let run = StagedFile { name: "Dockerrun.aws.json".into(), data: text.into_bytes() };
        let _ = validate::run_files(std::slice::from_ref(&run));
        let file = StagedFile { name: "docker-compose.yml".into(), data: compose.into_bytes() };
        let _ = validate::run_files(std::slice::from_ref(&file));
    }

    #[test]
    fn versions_parse_or_refuse_and_round_trip(
        text in hostile("0123456789.-+vrcalphabeta", 30),
        (major, minor, patch) in (0u64..10_000, 0u64..10_000, 0u64..10_000),
    ) {
        let _ = ReleaseVersion::parse(&text);
        let written = format!("{major}.{minor}.{patch}");
        let version = ReleaseVersion::parse(&written).expect("a plain version");
        prop_assert_eq!(version.to_string(), written);
    }

    #[test]
    fn image_references_round_trip(
        registry in prop::option::of("[a-z]{1,8}(\\.[a-z]{2,3})?(:[0-9]{2,5})?"),
        path in "[a-z0-9]{1,8}(/[a-z0-9_-]{1,8}){0,2}",
        tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        digest in prop::option::of("[0-9a-f]{64}"),
        noise in hostile("@:/sha256", 80),
    ) {
        let _ = ImageRef::parse(&noise);
        let mut text = match &registry {
            Some(host) => format!("{host}/{path}"),
            None => path.clone(),
        };
        if let Some(tag) = &tag {
            text.push(':');
            text.push_str(tag);
        }
        if let Some(hex) = &digest {
            text.push_str("@sha256:");
            text.push_str(hex);
        }
        let parsed = ImageRef::parse(&text);
        prop_assert_eq!(parsed.to_string(), text.clone());
        prop_assert_eq!(parsed.is_pinned(), digest.is_some());
        prop_assert_eq!(parsed.tag, tag);
    }
}

/// Inputs that make backtracking matchers and naive parsers explode: long runs of `*` against
/// a long non-matching name, deeply nested flow collections, long quoted values. Linear work
/// finishes at once; exponential work never would.
#[test]
fn pathological_inputs_finish() {
    let stars = format!("{}b\n", "*".repeat(64));
    let long_name = "a".repeat(4_000);
    let docker = DockerIgnore::parse(&stars, Path::new(".dockerignore")).expect("parses");
    assert!(!docker.is_excluded(&long_name));
    let stars_slashes = format!("{}x\n", "**/".repeat(32));
    let docker = DockerIgnore::parse(&stars_slashes, Path::new(".dockerignore")).expect("parses");
    assert!(!docker.is_excluded(&vec!["a"; 200].join("/")));
    let eb = EbIgnore::parse(&stars, Path::new(".ebignore")).expect("parses");
    assert!(!eb.matches(&long_name));

    let nested = format!("services: {}{}\n", "[".repeat(200), "]".repeat(200));
    let vars = |_: &str| None;
    let _ = stevedore::compose::parse(&nested, Path::new("docker-compose.yml"), &vars);

    let quoted = format!("KEY=\"{}\"\n", "x\\n".repeat(100_000));
    assert!(dotenv::parse(&quoted, Path::new(".env")).is_ok());
    let unclosed = format!("KEY=\"{}", "line\n".repeat(20_000));
    assert!(dotenv::parse(&unclosed, Path::new(".env")).is_err());
}
