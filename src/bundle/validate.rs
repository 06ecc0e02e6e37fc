//! The platform's rules for run files (reference/eb-cli.md §3), checked before anything leaves
//! the machine: Elastic Beanstalk itself only finds out on the instance, mid-deploy.
//!
//! - v1: `Image.Name`, and `Ports` whose *first* entry has a `ContainerPort` (only that one is
//!   wired to the proxy);
//! - v2: the version is the integer `2`; every container has a unique name, an image and a
//!   non-zero `memory` or `memoryReservation`; links, mounts and `volumesFrom` name things that
//!   exist (the `awseb-logs-<container>` volumes Elastic Beanstalk provides included); one
//!   container is essential;
//! - v1 and v2: a key that is a near miss of a known one is an error with a "did you mean";
//!   every error names the JSON path and its line:column.
//! - v3: registry credentials only (`Authentication` with bucket and key), beside a
//!   `docker-compose.yml`;
//! - compose: every service has an image and none needs building.

use std::collections::BTreeSet;

use serde_json::Value;

use super::json_positions::{Positions, did_you_mean};
use super::{BundleError, COMPOSE_FILE, DOCKERRUN, StagedFile};

/// `AWSEBDockerrunVersion` as a number: `1`, `"1"` and `"1.0"` alike.
pub fn dockerrun_version(doc: &Value) -> Option<u64> {
    match doc.get("AWSEBDockerrunVersion")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().strip_suffix(".0").unwrap_or(s.trim()).parse().ok(),
        _ => None,
    }
}

/// Which platform format the run files are (a hand-written file decides by its version).
pub fn format_of(files: &[StagedFile]) -> Option<super::BundleFormat> {
    if files.iter().any(|f| f.name == COMPOSE_FILE) {
        return Some(super::BundleFormat::Compose);
    }
    let file = files.iter().find(|f| f.name == DOCKERRUN)?;
    let doc: Value = serde_json::from_slice(&file.data).ok()?;
    match dockerrun_version(&doc)? {
        1 => Some(super::BundleFormat::V1),
        2 => Some(super::BundleFormat::V2),
        _ => None,
    }
}

/// Check the bundle root's run files together; warnings for what is legal but likely wrong.
/// Errors in a Dockerrun file name the JSON path and its line and column.
pub fn run_files(files: &[StagedFile]) -> Result<Vec<String>, BundleError> {
    let find = |name: &str| files.iter().find(|f| f.name == name);
    let compose = find(COMPOSE_FILE);
    let dockerrun = match find(DOCKERRUN) {
        Some(file) => {
            let doc = serde_json::from_slice::<Value>(&file.data).map_err(|e| {
                problem(
                    &format!("{DOCKERRUN}:{}:{}", e.line(), e.column()),
                    format!("not valid JSON: {e}"),
                )
            })?;
            Some((doc, Check::new(&file.data)))
        }
        None => None,
    };
    let mut warnings = Vec::new();
    match (&dockerrun, compose) {
        (None, None) => {
            return Err(problem(
                "the bundle",
                format!("it has neither {DOCKERRUN} nor {COMPOSE_FILE} at its root"),
            ));
        }
        (Some((doc, check)), compose) => match (dockerrun_version(doc), compose) {
            (Some(3), Some(_)) => v3(doc)?,
            (Some(3), None) => {
                return Err(problem(
                    DOCKERRUN,
                    format!(
                        "version 3 only carries registry credentials for a {COMPOSE_FILE}, and the bundle has none"
                    ),
                ));
            }
            (Some(version @ (1 | 2)), Some(_)) => {
                return Err(problem(
                    DOCKERRUN,
                    format!(
                        "version {version} beside {COMPOSE_FILE}: the Docker platform only accepts version 3 (credentials) next to a compose file"
                    ),
                ));
            }
            (Some(1), None) => v1(doc, check, &mut warnings)?,
            (Some(2), None) => v2(doc, check, &mut warnings)?,
            (other, _) => {
                return Err(check.at(
                    "AWSEBDockerrunVersion",
                    format!(
                        "AWSEBDockerrunVersion is {}; use 1 (one container), 2 (ECS) or 3 (credentials for a compose file)",
                        other.map_or_else(|| "missing".to_owned(), |v| v.to_string())
                    ),
                ));
            }
        },
        (None, Some(_)) => {}
    }
    if let Some(file) = compose {
        compose_file(&file.data)?;
    }
    Ok(warnings)
}

/// Messages that point into one Dockerrun file.
struct Check {
    positions: Positions,
}

impl Check {
    fn new(data: &[u8]) -> Check {
        Check {
            positions: Positions::of(&String::from_utf8_lossy(data)),
        }
    }

    /// An error about the value at `path`.
    fn at(&self, path: &str, message: impl std::fmt::Display) -> BundleError {
        let (line, col) = self.positions.value(path);
        let shown = if path.is_empty() { "(top level)" } else { path };
        problem(
            &format!("{DOCKERRUN}:{line}:{col}"),
            format!("`{shown}`: {message}"),
        )
    }

    /// Unknown keys of the object at `path`: a near miss of a known key is an error with the
    /// suggestion (Elastic Beanstalk would ignore or reject it mid-deploy); others are warned.
    fn keys(
        &self,
        value: &Value,
        path: &str,
        known: &[&str],
        warnings: &mut Vec<String>,
    ) -> Result<(), BundleError> {
        let Some(object) = value.as_object() else {
            return Ok(());
        };
        for key in object.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let child = join(path, key);
            match did_you_mean(key, known) {
                Some(suggestion) => {
                    let (line, col) = self.positions.key(&child);
                    return Err(problem(
                        &format!("{DOCKERRUN}:{line}:{col}"),
                        format!("`{child}`: unknown key `{key}`; did you mean `{suggestion}`?"),
                    ));
                }
                None => {
                    let (line, col) = self.positions.key(&child);
                    warnings.push(format!(
                        "{DOCKERRUN}:{line}:{col}: `{child}`: unknown key, not read by Elastic \
                         Beanstalk's {} format (check the spelling)",
                        if known.contains(&"Image") || known.contains(&"Name") {
                            "v1"
                        } else {
                            "v2"
                        }
                    ));
                }
            }
        }
        Ok(())
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Each `.ebextensions/*.config` must be YAML (JSON is YAML): Elastic Beanstalk would only
/// reject it mid-deploy, after the upload.
pub fn extensions(members: &[super::Member]) -> Result<(), BundleError> {
    for member in members {
        let Some(rest) = member.name.strip_prefix(".ebextensions/") else {
            continue;
        };
        if rest.contains('/') || !rest.ends_with(".config") {
            continue;
        }
        let text = match &member.kind {
            super::MemberKind::File { path, .. } => {
                std::fs::read(path).map_err(|source| BundleError::Io {
                    path: path.clone(),
                    source,
                })?
            }
            super::MemberKind::Staged { data } => data.clone(),
            _ => continue,
        };
        if let Err(err) = serde_norway::from_slice::<serde_norway::Value>(&text) {
            return Err(problem(
                &member.name,
                format!("not valid YAML ({err}); Elastic Beanstalk would fail the deploy on it"),
            ));
        }
    }
    Ok(())
}

fn problem(file: &str, message: impl std::fmt::Display) -> BundleError {
    BundleError::RunFile {
        file: file.to_owned(),
        problem: message.to_string(),
    }
}

fn port_number(value: &Value) -> Option<u16> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|p| *p > 0)
}

fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn auth(
    doc: &Value,
    check: &Check,
    object: &str,
    bucket: &str,
    key: &str,
    warnings: &mut Vec<String>,
) -> Result<(), BundleError> {
    let Some(auth) = doc.get(object) else {
        return Ok(());
    };
    check.keys(auth, object, &[bucket, key], warnings)?;
    let field = |name: &str| {
        auth.get(name)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if field(bucket) && field(key) {
        Ok(())
    } else {
        Err(check.at(
            object,
            format!("`{object}` needs `{bucket}` and `{key}` naming the credentials' S3 object"),
        ))
    }
}

const V1_KEYS: &[&str] = &[
    "AWSEBDockerrunVersion",
    "Authentication",
    "Image",
    "Ports",
    "Volumes",
    "Logging",
    "Entrypoint",
    "Command",
];

fn v1(doc: &Value, check: &Check, warnings: &mut Vec<String>) -> Result<(), BundleError> {
    check.keys(doc, "", V1_KEYS, warnings)?;
    let Some(image_object) = doc.get("Image") else {
        return Err(check.at(
            "",
            "version 1 without `Image` asks Elastic Beanstalk to build the bundle's Dockerfile \
             on every instance; stevedore deploys the image `release` built and `publish` pushed, \
             pinned by digest, so every instance runs the same bytes. Add \
             `\"Image\": {\"Name\": \"<repository>\"}` (stevedore pins it), or delete the file \
             and let `bundle` render one from the compose file",
        ));
    };
    check.keys(image_object, "Image", &["Name", "Update"], warnings)?;
    let image = image_object.get("Name").and_then(Value::as_str);
    if image.is_none_or(|i| i.trim().is_empty()) {
        return Err(check.at("Image.Name", "version 1 needs Image.Name"));
    }
    let ports = items(doc, "Ports");
    let Some(first) = ports.first() else {
        return Err(check.at(
            "Ports",
            "version 1 needs Ports with the container port the proxy forwards to",
        ));
    };
    for (i, port) in ports.iter().enumerate() {
        check.keys(
            port,
            &format!("Ports[{i}]"),
            &["ContainerPort", "HostPort"],
            warnings,
        )?;
    }
    if first.get("ContainerPort").and_then(port_number).is_none() {
        return Err(check.at(
            "Ports[0].ContainerPort",
            "Ports[0].ContainerPort must be a port number (only the first port is used)",
        ));
    }
    if ports.len() > 1 {
        warnings.push(format!(
            "{DOCKERRUN}: only the first of its {} ports is wired to the proxy",
            ports.len()
        ));
    }
    for (i, volume) in items(doc, "Volumes").iter().enumerate() {
        let path = format!("Volumes[{i}]");
        check.keys(
            volume,
            &path,
            &["HostDirectory", "ContainerDirectory"],
            warnings,
        )?;
        if volume
            .get("HostDirectory")
            .and_then(Value::as_str)
            .is_none()
            || volume
                .get("ContainerDirectory")
                .and_then(Value::as_str)
                .is_none()
        {
            return Err(check.at(
                &path,
                "every entry of Volumes needs HostDirectory and ContainerDirectory",
            ));
        }
    }
    auth(doc, check, "Authentication", "Bucket", "Key", warnings)
}

const V2_KEYS: &[&str] = &[
    "AWSEBDockerrunVersion",
    "volumes",
    "containerDefinitions",
    "authentication",
    "executionRoleArn",
];

/// The container definition fields of an ECS task definition, which Dockerrun v2 takes as is.
const CONTAINER_KEYS: &[&str] = &[
    "name",
    "image",
    "essential",
    "memory",
    "memoryReservation",
    "cpu",
    "gpu",
    "links",
    "portMappings",
    "mountPoints",
    "volumesFrom",
    "environment",
    "environmentFiles",
    "secrets",
    "command",
    "entryPoint",
    "workingDirectory",
    "user",
    "hostname",
    "dependsOn",
    "healthCheck",
    "dockerLabels",
    "pseudoTerminal",
    "interactive",
    "privileged",
    "readonlyRootFilesystem",
    "ulimits",
    "extraHosts",
    "dnsServers",
    "dnsSearchDomains",
    "dockerSecurityOptions",
    "logConfiguration",
    "linuxParameters",
    "stopTimeout",
    "startTimeout",
    "systemControls",
    "disableNetworking",
    "repositoryCredentials",
    "resourceRequirements",
    "firelensConfiguration",
];

/// Volumes Elastic Beanstalk makes for each container's logs, `awseb-logs-<container>`, which
/// the run file mounts without declaring.
const EB_LOG_VOLUME: &str = "awseb-logs-";

fn v2(doc: &Value, check: &Check, warnings: &mut Vec<String>) -> Result<(), BundleError> {
    check.keys(doc, "", V2_KEYS, warnings)?;
    if !doc.get("AWSEBDockerrunVersion").is_some_and(Value::is_u64) {
        return Err(check.at(
            "AWSEBDockerrunVersion",
            "version 2 must be the integer 2, not a string (the ECS platform rejects \"2\")",
        ));
    }
    let declared = items(doc, "volumes");
    let mut volumes: BTreeSet<&str> = BTreeSet::new();
    for (i, volume) in declared.iter().enumerate() {
        let path = format!("volumes[{i}]");
        check.keys(
            volume,
            &path,
            &[
                "name",
                "host",
                "dockerVolumeConfiguration",
                "efsVolumeConfiguration",
            ],
            warnings,
        )?;
        if let Some(host) = volume.get("host") {
            check.keys(host, &format!("{path}.host"), &["sourcePath"], warnings)?;
        }
        let Some(name) = volume.get("name").and_then(Value::as_str) else {
            return Err(check.at(&path, "every volume needs a name"));
        };
        if !volumes.insert(name) {
            return Err(check.at(
                &path,
                format!("every volume needs a unique name; `{name}` is declared twice"),
            ));
        }
    }
    let definitions = items(doc, "containerDefinitions");
    if definitions.is_empty() {
        return Err(check.at("containerDefinitions", "containerDefinitions is empty"));
    }
    let mut names = BTreeSet::new();
    for (i, definition) in definitions.iter().enumerate() {
        let Some(name) = definition
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return Err(check.at(
                &format!("containerDefinitions[{i}]"),
                "every container definition needs a name",
            ));
        };
        if !names.insert(name) {
            return Err(check.at(
                &format!("containerDefinitions[{i}].name"),
                format!("two containers are named `{name}`"),
            ));
        }
    }
    for (i, definition) in definitions.iter().enumerate() {
        let base = format!("containerDefinitions[{i}]");
        check.keys(definition, &base, CONTAINER_KEYS, warnings)?;
        let name = definition
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let fail = |path: &str, what: String| {
            Err(check.at(&join(&base, path), format!("container `{name}`: {what}")))
        };
        if definition
            .get("image")
            .and_then(Value::as_str)
            .is_none_or(|i| i.trim().is_empty())
        {
            return fail("image", "no image".into());
        }
        let memory = |key: &str| definition.get(key).and_then(Value::as_u64).unwrap_or(0);
        if memory("memory") == 0 && memory("memoryReservation") == 0 {
            return fail(
                "",
                "set `memory` or `memoryReservation` (MiB, non-zero): ECS requires one".into(),
            );
        }
        for (j, mapping) in items(definition, "portMappings").iter().enumerate() {
            let path = format!("portMappings[{j}]");
            check.keys(
                mapping,
                &join(&base, &path),
                &[
                    "hostPort",
                    "containerPort",
                    "protocol",
                    "name",
                    "appProtocol",
                    "containerPortRange",
                ],
                warnings,
            )?;
            if mapping.get("containerPort").and_then(port_number).is_none() {
                return fail(&path, "a portMapping has no valid containerPort".into());
            }
        }
        for (j, link) in items(definition, "links").iter().enumerate() {
            let target = link.as_str().map(|l| l.split(':').next().unwrap_or(l));
            if target.is_none_or(|t| !names.contains(t) || t == name) {
                return fail(
                    &format!("links[{j}]"),
                    format!("link {link} names no other container"),
                );
            }
        }
        for (j, point) in items(definition, "mountPoints").iter().enumerate() {
            let path = format!("mountPoints[{j}]");
            check.keys(
                point,
                &join(&base, &path),
                &["sourceVolume", "containerPath", "readOnly"],
                warnings,
            )?;
            let volume = point
                .get("sourceVolume")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let eb_logs = volume
                .strip_prefix(EB_LOG_VOLUME)
                .is_some_and(|container| names.contains(container));
            if !volumes.contains(volume) && !eb_logs {
                let hint = match volume.strip_prefix(EB_LOG_VOLUME) {
                    Some(container) => format!(
                        "; Elastic Beanstalk provides `{EB_LOG_VOLUME}<container>` for the \
                         containers of this file only, and `{container}` is none of them"
                    ),
                    None => String::new(),
                };
                return fail(
                    &format!("{path}.sourceVolume"),
                    format!("mountPoint uses undeclared volume `{volume}`{hint}"),
                );
            }
            if point.get("containerPath").and_then(Value::as_str).is_none() {
                return fail(&path, "a mountPoint has no containerPath".into());
            }
        }
        for (j, from) in items(definition, "volumesFrom").iter().enumerate() {
            let path = format!("volumesFrom[{j}]");
            check.keys(
                from,
                &join(&base, &path),
                &["sourceContainer", "readOnly"],
                warnings,
            )?;
            let source = from
                .get("sourceContainer")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !names.contains(source) || source == name {
                return fail(
                    &path,
                    format!("volumesFrom names no other container (`{source}`)"),
                );
            }
        }
        for (j, entry) in items(definition, "environment").iter().enumerate() {
            check.keys(
                entry,
                &join(&base, &format!("environment[{j}]")),
                &["name", "value"],
                warnings,
            )?;
        }
    }
    if !definitions
        .iter()
        .any(|d| d.get("essential").and_then(Value::as_bool).unwrap_or(true))
    {
        return Err(check.at(
            "containerDefinitions",
            "at least one container must be essential",
        ));
    }
    auth(doc, check, "authentication", "bucket", "key", warnings)
}

fn v3(doc: &Value) -> Result<(), BundleError> {
    let Some(object) = doc.as_object() else {
        return Err(problem(DOCKERRUN, "not a JSON object"));
    };
    let extra: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| {
            !matches!(
                *k,
                "AWSEBDockerrunVersion" | "Authentication" | "authentication"
            )
        })
        .collect();
    if !extra.is_empty() {
        return Err(problem(
            DOCKERRUN,
            format!(
                "version 3 is auth-only (AWSEBDockerrunVersion and Authentication); move {} into {COMPOSE_FILE}",
                extra.join(", ")
            ),
        ));
    }
    let auth_object = doc
        .get("Authentication")
        .or_else(|| doc.get("authentication"));
    let field = |a: &str, b: &str| {
        auth_object
            .and_then(|o| o.get(a).or_else(|| o.get(b)))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if field("bucket", "Bucket") && field("key", "Key") {
        Ok(())
    } else {
        Err(problem(
            DOCKERRUN,
            "version 3 needs Authentication with bucket and key",
        ))
    }
}

fn compose_file(data: &[u8]) -> Result<(), BundleError> {
    let doc: serde_norway::Value = serde_norway::from_slice(data)
        .map_err(|e| problem(COMPOSE_FILE, format!("not valid YAML: {e}")))?;
    let Some(services) = doc
        .get("services")
        .and_then(serde_norway::Value::as_mapping)
    else {
        return Err(problem(COMPOSE_FILE, "no `services:`"));
    };
    if services.is_empty() {
        return Err(problem(COMPOSE_FILE, "`services:` is empty"));
    }
    for (name, service) in services {
        let name = name.as_str().unwrap_or("?");
        if service.get("build").is_some() {
            return Err(problem(
                COMPOSE_FILE,
                format!("service `{name}` has a build section; instances must pull, not build"),
            ));
        }
        if service
            .get("image")
            .and_then(serde_norway::Value::as_str)
            .is_none_or(|i| i.trim().is_empty())
        {
            return Err(problem(
                COMPOSE_FILE,
                format!("service `{name}` has no image"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(files: &[(&str, &str)]) -> Result<Vec<String>, String> {
        let files: Vec<StagedFile> = files
            .iter()
            .map(|(name, text)| StagedFile::new(name, text.as_bytes().to_vec()))
            .collect();
        run_files(&files).map_err(|e| e.to_string())
    }

    #[test]
    fn extensions_must_be_yaml() {
        let member = |name: &str, text: &str| super::super::Member {
            name: name.to_owned(),
            kind: super::super::MemberKind::Staged {
                data: text.as_bytes().to_vec(),
            },
        };
        let good = [
            member(".ebextensions/01.config", "option_settings:\n  a: b\n"),
            member(".ebextensions/notes.txt", "{{{"),
            member(".ebextensions/sub/x.config", "{{{"),
        ];
        extensions(&good).expect("valid");
        let bad = [member(".ebextensions/02.config", "option_settings: [\n")];
        let err = extensions(&bad).expect_err("invalid").to_string();
        assert!(
            err.starts_with(".ebextensions/02.config: not valid YAML"),
            "{err}"
        );
    }

    #[test]
    fn table() {
        let v2_ok = r#"{"AWSEBDockerrunVersion":2,"volumes":[{"name":"w","host":{"sourcePath":"/var/app/current/w"}}],"containerDefinitions":[{"name":"a","image":"x","memory":64,"links":["b:db"],"mountPoints":[{"sourceVolume":"w","containerPath":"/w"}]},{"name":"b","image":"y","memoryReservation":32,"volumesFrom":[{"sourceContainer":"a"}]}]}"#;
        let compose = "services:\n  web:\n    image: x@sha256:abc\n";
        type Row<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
        let table: &[Row<'_>] = &[
            (&[(DOCKERRUN, v2_ok)], None),
            (
                &[(DOCKERRUN, &v2_ok.replace(":2,", ":\"2\","))],
                Some("integer 2"),
            ),
            (
                &[(DOCKERRUN, &v2_ok.replace("\"memory\":64", "\"memory\":0"))],
                Some("memoryReservation"),
            ),
            (
                &[(DOCKERRUN, &v2_ok.replace("b:db", "c"))],
                Some("names no other container"),
            ),
            (
                &[(
                    DOCKERRUN,
                    &v2_ok.replace("\"sourceVolume\":\"w\"", "\"sourceVolume\":\"z\""),
                )],
                Some("undeclared volume"),
            ),
            (
                &[(
                    DOCKERRUN,
                    r#"{"AWSEBDockerrunVersion":"1","Image":{"Name":"x"},"Ports":[{"ContainerPort":"80"}]}"#,
                )],
                None,
            ),
            (
                &[(
                    DOCKERRUN,
                    r#"{"AWSEBDockerrunVersion":"1","Image":{"Name":"x"},"Ports":[]}"#,
                )],
                Some("needs Ports"),
            ),
            (
                &[(
                    DOCKERRUN,
                    r#"{"AWSEBDockerrunVersion":"1","Image":{"Name":"x"},"Ports":[{"HostPort":"80"}]}"#,
                )],
                Some("Ports[0].ContainerPort"),
            ),
            (
                &[(
                    DOCKERRUN,
                    r#"{"AWSEBDockerrunVersion":"1","Ports":[{"ContainerPort":"80"}]}"#,
                )],
                Some("without `Image`"),
            ),
            (&[(COMPOSE_FILE, compose)], None),
            (
                &[
                    (COMPOSE_FILE, compose),
                    (
                        DOCKERRUN,
                        r#"{"AWSEBDockerrunVersion":"3","Authentication":{"bucket":"b","key":"k"}}"#,
                    ),
                ],
                None,
            ),
            (
                &[
                    (COMPOSE_FILE, compose),
                    (
                        DOCKERRUN,
                        r#"{"AWSEBDockerrunVersion":"3","Authentication":{"bucket":"b","key":"k"},"Image":{}}"#,
                    ),
                ],
                Some("auth-only"),
            ),
            (
                &[(
                    DOCKERRUN,
                    r#"{"AWSEBDockerrunVersion":"3","Authentication":{"bucket":"b","key":"k"}}"#,
                )],
                Some("has none"),
            ),
            (
                &[(COMPOSE_FILE, compose), (DOCKERRUN, v2_ok)],
                Some("version 2 beside"),
            ),
            (
                &[(COMPOSE_FILE, "services:\n  web:\n    build: .\n")],
                Some("build section"),
            ),
            (&[], Some("neither")),
            (
                &[(DOCKERRUN, r#"{"AWSEBDockerrunVersion":9}"#)],
                Some("is 9"),
            ),
        ];
        for (files, want) in table {
            match (check(files), want) {
                (Ok(_), None) => {}
                (Err(e), Some(needle)) => assert!(e.contains(needle), "{files:?}: {e}"),
                (other, _) => panic!("{files:?}: {other:?}, wanted {want:?}"),
            }
        }
        let warnings = check(&[(DOCKERRUN, r#"{"AWSEBDockerrunVersion":"1","Image":{"Name":"x"},"Ports":[{"ContainerPort":"80"},{"ContainerPort":"81"}]}"#)]).expect("valid");
        assert!(warnings[0].contains("only the first"), "{warnings:?}");
    }

    #[test]
    fn dockerrun_table() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dockerrun");
        let mut failures = Vec::new();
        let mut cases = 0;
        for entry in std::fs::read_dir(&dir).expect("tests/data/dockerrun") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            cases += 1;
            let data = std::fs::read(&path).expect("read");
            let expect = std::fs::read_to_string(path.with_extension("expect")).expect("expect");
            let want = expect
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .unwrap_or_default()
                .to_owned();
            let got = run_files(&[StagedFile::new(DOCKERRUN, data)]).map_err(|e| e.to_string());
            let ok = match (&got, want.strip_prefix("error:")) {
                (Ok(_), None) => want == "ok",
                (Err(err), Some(needle)) => err.contains(needle.trim()),
                _ => false,
            };
            if !ok {
                failures.push(format!("{}: wanted {want}, got {got:?}", path.display()));
            }
        }
        assert!(cases >= 7, "only {cases} cases found");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
