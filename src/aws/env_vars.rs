//! An environment's variables as Elastic Beanstalk keeps them: plain properties in
//! `aws:elasticbeanstalk:application:environment`, and secret *references* in
//! `aws:elasticbeanstalk:application:environmentsecrets` — ARNs of Secrets Manager secrets or
//! Parameter Store parameters that platforms released since March 2025 resolve on the instance
//! at boot, so the value itself never passes through stevedore or EB's configuration.
//!
//! Pure planning (what to set and remove in which namespace, what looks like a secret, how to
//! mask) plus the two calls: read the settings, write them in one `UpdateEnvironment`.

use std::collections::BTreeMap;

use aws_sdk_elasticbeanstalk::Client;
use aws_sdk_elasticbeanstalk::types::{ConfigurationOptionSetting, OptionSpecification};

use super::environment::PROPERTIES_NAMESPACE;
use super::error::AwsError;
use crate::exit::{Coded, ExitStatus};

/// The namespace of secret references (values are ARNs EB resolves on the instance).
pub const SECRETS_NAMESPACE: &str = "aws:elasticbeanstalk:application:environmentsecrets";

/// How a variable is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A plain property: EB holds the value.
    Plain,
    /// A reference: EB holds an ARN and the instance fetches the value.
    Reference,
}

impl Kind {
    /// The option namespace of this kind.
    pub fn namespace(self) -> &'static str {
        match self {
            Kind::Plain => PROPERTIES_NAMESPACE,
            Kind::Reference => SECRETS_NAMESPACE,
        }
    }
}

/// One variable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnvVar {
    /// Its name.
    pub name: String,
    /// Its value (for a reference: the ARN).
    pub value: String,
    /// Plain or reference.
    pub kind: Kind,
}

/// What is wrong with a requested change.
#[derive(Debug, thiserror::Error)]
pub enum EnvVarError {
    /// `set` got something that is not `NAME=VALUE`.
    #[error("`{given}` is not NAME=VALUE (for example `LOG_LEVEL=debug`)")]
    NotAnAssignment {
        /// The argument.
        given: String,
    },
    /// A name EB or a shell would not take.
    #[error(
        "`{name}` is not a usable variable name: use letters, digits and `_`, not starting \
         with a digit (at most 128 characters)"
    )]
    BadName {
        /// The name.
        name: String,
    },
    /// A value that looks like a secret, to be stored as a reference instead.
    #[error(
        "{name}'s value looks like a secret ({reason}); Elastic Beanstalk would keep it in plain \
         text in the environment's configuration, where anyone who may describe the environment \
         reads it. Store it in Secrets Manager or Parameter Store and set a reference instead: \
         `{name}=arn:aws:secretsmanager:<region>:<account>:secret:<name>` or \
         `{name}=arn:aws:ssm:<region>:<account>:parameter/<name>` (platforms released since \
         March 2025 fetch it at boot), or pass --plain to store the value as it is"
    )]
    LooksSecret {
        /// The variable.
        name: String,
        /// Why it looks like one.
        reason: &'static str,
    },
    /// A reference EB would not resolve.
    #[error(
        "{name}: `{value}` is not a Secrets Manager secret ARN or a Parameter Store parameter ARN \
         ({problem})"
    )]
    BadReference {
        /// The variable.
        name: String,
        /// The value.
        value: String,
        /// What is wrong.
        problem: &'static str,
    },
}

impl Coded for EnvVarError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::InvalidInput
    }
}

/// Split `NAME=VALUE` (the value may hold `=`; it may be empty).
pub fn parse_assignment(text: &str) -> Result<(String, String), EnvVarError> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| EnvVarError::NotAnAssignment {
            given: text.to_owned(),
        })?;
    check_name(name)?;
    Ok((name.to_owned(), value.to_owned()))
}

/// Letters, digits and `_`, not starting with a digit, 1–128 characters.
pub fn check_name(name: &str) -> Result<(), EnvVarError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(EnvVarError::BadName {
            name: name.to_owned(),
        })
    }
}

/// Whether `value` is meant as a reference: an ARN of a Secrets Manager secret or of a Parameter
/// Store parameter. `Err` names what is wrong with one that tries to be.
pub fn reference_kind(value: &str) -> Option<Result<&'static str, &'static str>> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" || !parts[1].starts_with("aws") {
        return None;
    }
    let (service, region, account, resource) = (parts[2], parts[3], parts[4], parts[5]);
    let store = match service {
        "secretsmanager" => "Secrets Manager",
        "ssm" => "Parameter Store",
        _ => return None,
    };
    if region.is_empty() {
        return Some(Err("the region is missing"));
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Some(Err("the account must be 12 digits"));
    }
    let ok = match service {
        "secretsmanager" => resource
            .strip_prefix("secret:")
            .is_some_and(|name| !name.is_empty()),
        _ => resource
            .strip_prefix("parameter/")
            .is_some_and(|name| !name.is_empty()),
    };
    if ok {
        Some(Ok(store))
    } else if service == "secretsmanager" {
        Some(Err("a secret ARN ends in `secret:<name>`"))
    } else {
        Some(Err("a parameter ARN ends in `parameter/<name>`"))
    }
}

/// Name parts that mark a variable as holding a secret.
const SECRET_NAME_PARTS: &[&str] = &[
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "ACCESS_KEY",
    "AUTH",
];

/// Value prefixes of well-known credentials.
const SECRET_PREFIXES: &[(&str, &str)] = &[
    ("ghp_", "a GitHub token"),
    ("github_pat_", "a GitHub token"),
    ("glpat-", "a GitLab token"),
    ("xoxb-", "a Slack token"),
    ("xoxp-", "a Slack token"),
    ("sk_live_", "a Stripe secret key"),
    ("-----BEGIN ", "a PEM block"),
];

/// Why `value` of `name` looks like a secret, if it does. Empty values, references and short
/// values of secret-sounding names (`AUTH_ENABLED=true`) do not count.
pub fn secret_reason(name: &str, value: &str) -> Option<&'static str> {
    if value.is_empty() || reference_kind(value).is_some() {
        return None;
    }
    if let Some((_, reason)) = SECRET_PREFIXES.iter().find(|(p, _)| value.starts_with(p)) {
        return Some(reason);
    }
    let id_shaped = value.len() == 20
        && (value.starts_with("AKIA") || value.starts_with("ASIA"))
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if id_shaped {
        return Some("an AWS access key id");
    }
    if value.contains("://") && value.contains('@') && value.contains(':') {
        let after_scheme = value.split_once("://").map(|(_, r)| r).unwrap_or_default();
        if after_scheme
            .split_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
        {
            return Some("a URL with a password");
        }
    }
    let upper = name.to_ascii_uppercase();
    let boring = matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "none" | "null"
    ) || value.chars().all(|c| c.is_ascii_digit());
    if !boring && value.len() >= 8 && SECRET_NAME_PARTS.iter().any(|p| upper.contains(p)) {
        return Some("its name says it is one");
    }
    if looks_random(value) {
        return Some("a long random-looking string");
    }
    None
}

/// 32+ characters without spaces that mix letters and digits with few repeats: a key or token.
fn looks_random(value: &str) -> bool {
    if value.len() < 32 || value.contains(char::is_whitespace) || value.contains('/') {
        return false;
    }
    let letters = value.chars().any(|c| c.is_ascii_alphabetic());
    let digits = value.chars().any(|c| c.is_ascii_digit());
    let distinct: std::collections::HashSet<char> = value.chars().collect();
    letters && digits && distinct.len() * 2 >= value.len().min(64)
}

/// A value as shown without `--show`: its length only, so nothing of it leaks.
pub fn mask(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!("•••••• ({} chars)", value.chars().count())
    }
}

/// Changes to the variables, each in its namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Variables to write.
    pub set: Vec<EnvVar>,
    /// `(kind, name)` to remove.
    pub remove: Vec<(Kind, String)>,
}

impl Changes {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// The option settings to write.
    pub fn option_settings(&self) -> Vec<ConfigurationOptionSetting> {
        self.set
            .iter()
            .map(|v| {
                ConfigurationOptionSetting::builder()
                    .namespace(v.kind.namespace())
                    .option_name(&v.name)
                    .value(&v.value)
                    .build()
            })
            .collect()
    }

    /// The options to remove.
    pub fn options_to_remove(&self) -> Vec<OptionSpecification> {
        self.remove
            .iter()
            .map(|(kind, name)| {
                OptionSpecification::builder()
                    .namespace(kind.namespace())
                    .option_name(name)
                    .build()
            })
            .collect()
    }
}

/// Classify one wanted value: a reference when it is a secret or parameter ARN (unless
/// `plain`), else a plain value, refused when it looks like a secret (unless `plain`).
pub fn classify(name: &str, value: &str, plain: bool) -> Result<EnvVar, EnvVarError> {
    check_name(name)?;
    let kind = match reference_kind(value) {
        _ if plain => Kind::Plain,
        Some(Ok(_)) => Kind::Reference,
        Some(Err(problem)) => {
            return Err(EnvVarError::BadReference {
                name: name.to_owned(),
                value: value.to_owned(),
                problem,
            });
        }
        None => {
            if let Some(reason) = secret_reason(name, value) {
                return Err(EnvVarError::LooksSecret {
                    name: name.to_owned(),
                    reason,
                });
            }
            Kind::Plain
        }
    };
    Ok(EnvVar {
        name: name.to_owned(),
        value: value.to_owned(),
        kind,
    })
}

/// The changes that make `wanted` true over `current`: unchanged variables are skipped, and a
/// variable that changes kind is removed from its old namespace (EB would otherwise hold both).
pub fn plan_set(current: &[EnvVar], wanted: &[EnvVar]) -> Changes {
    let mut changes = Changes::default();
    for want in wanted {
        let same = current.iter().any(|c| c == want);
        if same {
            continue;
        }
        for old in current
            .iter()
            .filter(|c| c.name == want.name && c.kind != want.kind)
        {
            changes.remove.push((old.kind, old.name.clone()));
        }
        changes.set.push(want.clone());
    }
    changes
}

/// The changes that remove `names` (from whichever namespace holds them); unknown names are
/// returned apart.
pub fn plan_unset(current: &[EnvVar], names: &[String]) -> (Changes, Vec<String>) {
    let mut changes = Changes::default();
    let mut unknown = Vec::new();
    for name in names {
        let held: Vec<&EnvVar> = current.iter().filter(|c| &c.name == name).collect();
        if held.is_empty() {
            unknown.push(name.clone());
        }
        for var in held {
            changes.remove.push((var.kind, var.name.clone()));
        }
    }
    (changes, unknown)
}

/// The changes that make the variables listed in `managed` (the keys a previous sync wrote)
/// plus `desired` equal `desired`: values that are references go to the secrets namespace, the
/// rest are plain; managed keys no longer desired are removed; others' keys are left alone.
pub fn plan_sync(
    current: &[EnvVar],
    desired: &BTreeMap<String, String>,
    managed: &[String],
) -> Changes {
    let wanted: Vec<EnvVar> = desired
        .iter()
        .map(|(name, value)| EnvVar {
            name: name.clone(),
            value: value.clone(),
            kind: match reference_kind(value) {
                Some(Ok(_)) => Kind::Reference,
                _ => Kind::Plain,
            },
        })
        .collect();
    let mut changes = plan_set(current, &wanted);
    for name in managed.iter().filter(|k| !desired.contains_key(*k)) {
        for var in current.iter().filter(|c| &c.name == name) {
            changes.remove.push((var.kind, var.name.clone()));
        }
    }
    changes
}

/// The environment's variables (both namespaces), sorted by name.
pub async fn list(eb: &Client, application: &str, name: &str) -> Result<Vec<EnvVar>, AwsError> {
    let settings = super::environment::option_settings(eb, application, name).await?;
    let mut vars: Vec<EnvVar> = settings
        .iter()
        .filter_map(|o| {
            let kind = match o.namespace()? {
                PROPERTIES_NAMESPACE => Kind::Plain,
                SECRETS_NAMESPACE => Kind::Reference,
                _ => return None,
            };
            Some(EnvVar {
                name: o.option_name()?.to_owned(),
                value: o.value().unwrap_or_default().to_owned(),
                kind,
            })
        })
        .collect();
    vars.sort_by(|a, b| a.name.cmp(&b.name).then(a.kind.cmp(&b.kind)));
    Ok(vars)
}

/// Write `changes` in one `UpdateEnvironment` (a configuration update: the instances restart the
/// app with the new variables); the request id that tags its events.
pub async fn apply(eb: &Client, name: &str, changes: &Changes) -> Result<Option<String>, AwsError> {
    let change = super::environment::Update {
        version_label: None,
        variables: changes.clone(),
    };
    super::environment::update(eb, name, &change).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCd12";
    const PARAM_ARN: &str = "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db";

    fn var(name: &str, value: &str, kind: Kind) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: value.into(),
            kind,
        }
    }

    #[test]
    fn references_are_secret_and_parameter_arns() {
        let table: &[(&str, Option<bool>)] = &[
            (SECRET_ARN, Some(true)),
            (&format!("{SECRET_ARN}:password"), Some(true)),
            (PARAM_ARN, Some(true)),
            (
                "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x",
                Some(true),
            ),
            ("arn:aws:ssm:eu-west-1:1234:parameter/x", Some(false)),
            (
                "arn:aws:secretsmanager:eu-west-1:123456789012:db",
                Some(false),
            ),
            ("arn:aws:sns:eu-west-1:123456789012:topic", None),
            ("postgres://db/app", None),
            ("", None),
        ];
        for (value, want) in table {
            assert_eq!(reference_kind(value).map(|r| r.is_ok()), *want, "{value}");
        }
    }

    #[test]
    fn what_looks_like_a_secret() {
        let table: &[(&str, &str, bool)] = &[
            ("LOG_LEVEL", "debug", false),
            ("DEBUG", "true", false),
            ("AUTH_ENABLED", "true", false),
            ("DB_PASSWORD", "hunter2hunter2", true),
            ("SECRET_KEY", "x", false),
            ("API_TOKEN", "12345", false),
            ("GITHUB", "ghp_abcdefabcdefabcdef", true),
            ("KEY_ID", "AKIAIOSFODNN7EXAMPLE", true),
            ("DATABASE_URL", "postgres://app:pw@db:5432/app", true),
            ("DATABASE_URL", "postgres://db:5432/app", false),
            ("SESSION", "q8Zt3kV9mW2xL7pR4nB6yC1dF5gH0jKa", true),
            // A commit id is hex: too few distinct characters to count as random.
            ("RELEASE", "0123456789abcdef0123456789abcdef01234567", false),
            (
                "SENTENCE",
                "a long value with spaces that is not a key at all",
                false,
            ),
            ("DB_PASSWORD", PARAM_ARN, false),
        ];
        for (name, value, secret) in table {
            assert_eq!(
                secret_reason(name, value).is_some(),
                *secret,
                "{name}={value}: {:?}",
                secret_reason(name, value)
            );
        }
    }

    #[test]
    fn classify_routes_references_and_refuses_plain_secrets() {
        assert_eq!(
            classify("DB", SECRET_ARN, false).expect("ref").kind,
            Kind::Reference
        );
        assert_eq!(
            classify("DB", SECRET_ARN, true).expect("plain").kind,
            Kind::Plain
        );
        let err = classify("DB_PASSWORD", "hunter2hunter2", false).expect_err("secret");
        assert!(err.to_string().contains("--plain"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(
            classify("DB_PASSWORD", "hunter2hunter2", true)
                .expect("plain")
                .kind,
            Kind::Plain
        );
        assert!(classify("1X", "v", false).is_err());
        assert!(classify("A-B", "v", false).is_err());
        assert!(matches!(
            classify("P", "arn:aws:ssm:eu-west-1:123456789012:param/x", false),
            Err(EnvVarError::BadReference { .. })
        ));
    }

    #[test]
    fn plans_move_a_variable_between_namespaces() {
        let current = vec![
            var("A", "1", Kind::Plain),
            var("DB", "old", Kind::Plain),
            var("TOKEN", PARAM_ARN, Kind::Reference),
        ];
        let changes = plan_set(
            &current,
            &[
                var("A", "1", Kind::Plain),
                var("DB", SECRET_ARN, Kind::Reference),
            ],
        );
        assert_eq!(changes.set, vec![var("DB", SECRET_ARN, Kind::Reference)]);
        assert_eq!(changes.remove, vec![(Kind::Plain, "DB".into())]);

        let (changes, unknown) = plan_unset(&current, &["TOKEN".into(), "NOPE".into()]);
        assert_eq!(changes.remove, vec![(Kind::Reference, "TOKEN".into())]);
        assert_eq!(unknown, vec!["NOPE".to_owned()]);

        let desired: BTreeMap<String, String> = [
            ("A".to_owned(), "2".to_owned()),
            ("DB".to_owned(), SECRET_ARN.to_owned()),
        ]
        .into_iter()
        .collect();
        let changes = plan_sync(&current, &desired, &["A".into(), "TOKEN".into()]);
        assert_eq!(
            changes.set,
            vec![
                var("A", "2", Kind::Plain),
                var("DB", SECRET_ARN, Kind::Reference)
            ]
        );
        assert_eq!(
            changes.remove,
            vec![
                (Kind::Plain, "DB".into()),
                (Kind::Reference, "TOKEN".into())
            ]
        );
    }

    #[test]
    fn masks_show_only_the_length() {
        assert_eq!(mask("hunter2"), "•••••• (7 chars)");
        assert_eq!(mask(""), "");
    }
}
