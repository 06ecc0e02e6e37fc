//! The build options of a long `build:` section beyond context, Dockerfile, args and target
//! (`secrets`, `ssh`, `cache_from`, `network`, `extra_hosts`, `shm_size`, `no_cache`, `pull`),
//! and the top-level `secrets:` that `build.secrets` name.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_norway::{Mapping, Value};

use super::error::ComposeError;
use super::fields::{Cx, key_text, untag};
use super::model::{BuildSecretRef, SecretDef};
use super::paths;
use super::yaml::KeyPath;

/// The build options read by [`options`].
#[derive(Debug, Default)]
pub(crate) struct BuildOptions {
    pub(crate) secrets: Vec<BuildSecretRef>,
    pub(crate) ssh: Vec<String>,
    pub(crate) cache_from: Vec<String>,
    pub(crate) network: Option<String>,
    pub(crate) extra_hosts: Vec<String>,
    pub(crate) shm_size: Option<u64>,
    pub(crate) no_cache: bool,
    pub(crate) pull: bool,
}

const SECRET_REF_EXPECTED: &str =
    "a secret name, or a mapping with `source` (and optionally `target`, the id in the build)";
const HOSTS_EXPECTED: &str = "a list of `host:ip` (or `host=ip`) strings or a mapping of host: ip";

/// Reads the build options of the long `build:` mapping `long` at `bp`; `declared` are the
/// top-level secrets, which `build.secrets` must name.
pub(crate) fn options(
    cx: &mut Cx<'_>,
    bp: &KeyPath,
    long: &Mapping,
    declared: &IndexMap<String, SecretDef>,
) -> Result<BuildOptions, ComposeError> {
    let mut out = BuildOptions::default();
    if let Some(value) = long.get("secrets") {
        let sp = bp.key("secrets");
        for (i, item) in cx
            .list(&sp, value, "a list of secret names")?
            .iter()
            .enumerate()
        {
            let ip = sp.index(i);
            let reference = match untag(item) {
                Value::Mapping(map) => {
                    cx.check_keys(&ip, map, &["source", "target"], &["uid", "gid", "mode"]);
                    let Some(source) =
                        cx.opt_string(&ip.key("source"), map.get("source"), SECRET_REF_EXPECTED)?
                    else {
                        return Err(cx.invalid(
                            &ip,
                            "the long form has no `source`",
                            SECRET_REF_EXPECTED,
                        ));
                    };
                    let target =
                        cx.opt_string(&ip.key("target"), map.get("target"), "a secret id")?;
                    BuildSecretRef { source, target }
                }
                other => BuildSecretRef {
                    source: cx.string(&ip, other, SECRET_REF_EXPECTED)?,
                    target: None,
                },
            };
            if !declared.contains_key(&reference.source) {
                let names: Vec<&str> = declared.keys().map(String::as_str).collect();
                return Err(cx.invalid(
                    &ip,
                    format!(
                        "the secret `{}` is not declared under the top-level `secrets:`",
                        reference.source
                    ),
                    if names.is_empty() {
                        "a top-level `secrets:` entry with `file:` or `environment:`".to_owned()
                    } else {
                        format!("one of: {}", names.join(", "))
                    },
                ));
            }
            out.secrets.push(reference);
        }
    }
    if let Some(value) = long.get("ssh") {
        // `["default"]`, `["default=/path/to/agent.sock"]` or a mapping id: path.
        let dict = cx.dictionary(&bp.key("ssh"), value)?;
        out.ssh = dict
            .into_iter()
            .map(|(id, path)| match path {
                Some(path) => format!("{id}={path}"),
                None => id,
            })
            .collect();
    }
    if let Some(value) = long.get("cache_from") {
        out.cache_from =
            cx.string_list(&bp.key("cache_from"), value, "a list of image references")?;
    }
    out.network = cx.opt_string(
        &bp.key("network"),
        long.get("network"),
        "a network mode: `default`, `host`, `none` or a network name",
    )?;
    if let Some(value) = long.get("extra_hosts") {
        out.extra_hosts = extra_hosts(cx, &bp.key("extra_hosts"), value)?;
    }
    if let Some(value) = long.get("shm_size").filter(|v| !v.is_null()) {
        let text = cx.string(&bp.key("shm_size"), value, "a size like `256m` or `2gb`")?;
        out.shm_size = Some(parse_size(&text).ok_or_else(|| {
            cx.invalid(
                &bp.key("shm_size"),
                format!("`{text}` is not a size"),
                "a number of bytes, or a size like `256m` or `2gb`",
            )
        })?);
    }
    if let Some(value) = long.get("no_cache") {
        out.no_cache = cx.bool(&bp.key("no_cache"), value)?;
    }
    if let Some(value) = long.get("pull") {
        out.pull = cx.bool(&bp.key("pull"), value)?;
    }
    Ok(out)
}

/// `extra_hosts:` as the Engine takes them, `host:ip`.
fn extra_hosts(cx: &Cx<'_>, path: &KeyPath, value: &Value) -> Result<Vec<String>, ComposeError> {
    let mut out = Vec::new();
    match untag(value) {
        Value::Null => {}
        Value::Mapping(map) => {
            for (key, ip) in map {
                let host = key_text(key);
                let ip = cx.string(&path.key(&host), ip, HOSTS_EXPECTED)?;
                out.push(format!("{host}:{ip}"));
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                let text = cx.string(&path.index(i), item, HOSTS_EXPECTED)?;
                // `host=ip` is Compose's newer form; `host:ip` splits at the first colon, so an
                // IPv6 address after it stays whole.
                let entry = match text.split_once('=') {
                    Some((host, ip)) => format!("{host}:{ip}"),
                    None if text.contains(':') => text,
                    None => return Err(cx.invalid(&path.index(i), "no address", HOSTS_EXPECTED)),
                };
                out.push(entry);
            }
        }
        other => return Err(cx.wrong(path, other, HOSTS_EXPECTED)),
    }
    Ok(out)
}

/// Docker's size syntax (`RAMInBytes`): a number with an optional `b`, `k`, `m`, `g`, `t`
/// unit (binary multiples), with or without a trailing `b`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number: f64 = number.parse().ok()?;
    let multiplier: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    let bytes = number * multiplier as f64;
    (bytes.is_finite() && bytes >= 0.0).then_some(bytes as u64)
}

/// The top-level `secrets:` declarations that builds can use: `file:` (resolved against the
/// compose file's directory) or `environment:`. `external` and `name` are for Swarm runtime
/// secrets, which a build cannot read.
pub(crate) fn secret_declarations(
    cx: &mut Cx<'_>,
    path: &KeyPath,
    value: Option<&Value>,
) -> Result<IndexMap<String, SecretDef>, ComposeError> {
    const EXPECTED: &str = "a mapping with `file:` (a path) or `environment:` (a variable name)";
    let mut out = IndexMap::new();
    let Some(value) = value.filter(|v| !matches!(untag(v), Value::Null)) else {
        return Ok(out);
    };
    let map = cx.mapping(path, value, "a mapping of secret names to their source")?;
    for (key, entry) in map {
        let name = key_text(key);
        let ep = path.key(&name);
        let settings = cx.mapping(&ep, entry, EXPECTED)?;
        cx.check_keys(
            &ep,
            settings,
            &["file", "environment"],
            &[
                "external",
                "name",
                "content",
                "labels",
                "driver",
                "driver_opts",
                "template_driver",
            ],
        );
        let file = cx.opt_string(&ep.key("file"), settings.get("file"), "a path")?;
        let environment = cx.opt_string(
            &ep.key("environment"),
            settings.get("environment"),
            "a variable name",
        )?;
        let def = match (file, environment) {
            (Some(file), None) => {
                let home = (cx.vars)("HOME");
                let resolved: PathBuf = paths::resolve(cx.base_dir, &file, home.as_deref())
                    .map_err(|problem| cx.invalid(&ep.key("file"), problem, "a path"))?;
                SecretDef {
                    file: Some(resolved),
                    environment: None,
                }
            }
            (None, Some(var)) => SecretDef {
                file: None,
                environment: Some(var),
            },
            (Some(_), Some(_)) => {
                return Err(cx.invalid(&ep, "both `file` and `environment` are set", EXPECTED));
            }
            // External or Swarm-only secrets: builds cannot use them (checked where named).
            (None, None) => SecretDef::default(),
        };
        out.insert(name, def);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_docker_syntax() {
        assert_eq!(parse_size("256m"), Some(256 << 20));
        assert_eq!(parse_size("2gb"), Some(2 << 30));
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("1.5k"), Some(1536));
        assert_eq!(parse_size("lots"), None);
    }
}
