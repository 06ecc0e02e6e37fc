//! What the rendered run files need from the compose file *as written*, which the typed model
//! (interpolated, and silent on memory) no longer tells: which `environment:` values come from
//! variables, and the memory settings.
//!
//! Values that reference variables are runtime configuration (often secrets from `.env`); they
//! must reach Elastic Beanstalk as environment properties, never be baked into the bundle.

use std::collections::BTreeMap;
use std::path::Path;

use serde_norway::Value;

use super::BundleError;

/// The raw facts about one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawService {
    /// `environment:` keys whose value is not a literal, with the text as written: `${DB_URL}`
    /// for a reference, `None` for a bare `KEY` (taken from the environment at run time).
    pub variable_env: BTreeMap<String, Option<String>>,
    /// The hard memory limit in MiB (`mem_limit`, `deploy.resources.limits.memory`).
    pub memory_mib: Option<u64>,
    /// The soft reservation in MiB (`mem_reservation`, `deploy.resources.reservations.memory`).
    pub memory_reservation_mib: Option<u64>,
}

/// Read the compose file at `path` again, as plain YAML.
pub fn read(path: &Path) -> Result<BTreeMap<String, RawService>, BundleError> {
    let text = fs_err::read_to_string(path).map_err(|source| BundleError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// [`read`] for each of several compose files merged in order (`-f a -f b`, a file and its
/// override file): a later file's facts about a service win, key by key.
pub fn read_all(paths: &[std::path::PathBuf]) -> Result<BTreeMap<String, RawService>, BundleError> {
    let mut out: BTreeMap<String, RawService> = BTreeMap::new();
    for path in paths {
        for (name, later) in read(path)? {
            let earlier = out.entry(name).or_default();
            earlier.variable_env.extend(later.variable_env);
            earlier.memory_mib = later.memory_mib.or(earlier.memory_mib);
            earlier.memory_reservation_mib = later
                .memory_reservation_mib
                .or(earlier.memory_reservation_mib);
        }
    }
    Ok(out)
}

/// [`read`] for text already in memory; `path` names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<BTreeMap<String, RawService>, BundleError> {
    let invalid = |problem: String| BundleError::Invalid(format!("{}: {problem}", path.display()));
    let mut doc: Value =
        serde_norway::from_str(text).map_err(|e| invalid(format!("not valid YAML: {e}")))?;
    // Nested merges too (serde_norway's own `apply_merge` drops them).
    crate::compose::apply_merge_keys(&mut doc).map_err(|e| invalid(format!("merge keys: {e}")))?;
    let Some(root) = doc.as_mapping() else {
        return Ok(BTreeMap::new());
    };
    // The legacy v1 format has its services at the top level.
    let services = match root.get("services").and_then(Value::as_mapping) {
        Some(services) => services,
        None => root,
    };
    let mut out = BTreeMap::new();
    for (name, service) in services {
        let Some(name) = name.as_str() else { continue };
        if !service.is_mapping() {
            continue;
        }
        let mut raw = RawService::default();
        match service.get("environment") {
            Some(Value::Mapping(map)) => {
                for (key, value) in map {
                    let Some(key) = key.as_str() else { continue };
                    match value {
                        Value::Null => {
                            raw.variable_env.insert(key.to_owned(), None);
                        }
                        Value::String(text) if references_variables(text) => {
                            raw.variable_env.insert(key.to_owned(), Some(text.clone()));
                        }
                        _ => {}
                    }
                }
            }
            Some(Value::Sequence(items)) => {
                for item in items.iter().filter_map(Value::as_str) {
                    match item.split_once('=') {
                        None => {
                            raw.variable_env.insert(item.to_owned(), None);
                        }
                        Some((key, value)) if references_variables(value) => {
                            raw.variable_env
                                .insert(key.to_owned(), Some(value.to_owned()));
                        }
                        Some(_) => {}
                    }
                }
            }
            _ => {}
        }
        let resources = service.get("deploy").and_then(|d| d.get("resources"));
        let nested = |section: &str| {
            resources
                .and_then(|r| r.get(section))
                .and_then(|s| s.get("memory"))
        };
        raw.memory_mib = memory(
            service.get("mem_limit").or(nested("limits")),
            name,
            &invalid,
        )?;
        raw.memory_reservation_mib = memory(
            service.get("mem_reservation").or(nested("reservations")),
            name,
            &invalid,
        )?;
        out.insert(name.to_owned(), raw);
    }
    Ok(out)
}

/// Whether compose would interpolate something in `text` (`$$` is an escaped, literal `$`).
fn references_variables(text: &str) -> bool {
    text.replace("$$", "").contains('$')
}

fn memory(
    value: Option<&Value>,
    service: &str,
    invalid: &dyn Fn(String) -> BundleError,
) -> Result<Option<u64>, BundleError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(invalid(format!("service {service}: memory must be a size"))),
    };
    mebibytes(&text).map(Some).ok_or_else(|| {
        invalid(format!(
            "service {service}: memory `{text}` is not a size (e.g. 512m, 1g or a byte count)"
        ))
    })
}

/// Compose's byte sizes (`512m`, `1g`, `1.5gb`, `2048k`, `1073741824`) as whole MiB, rounded up.
pub fn mebibytes(text: &str) -> Option<u64> {
    let bytes = u64::try_from(crate::compose::runtime::bytes(text)?).ok()?;
    (bytes > 0).then(|| bytes.div_ceil(1024 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_values_and_memory_of_spec_and_v1_files() {
        let spec = "services:\n  app:\n    environment:\n      A: literal\n      B: ${B}\n      C:\n      D: \"x-$${E}\"\n    mem_limit: 512m\n  db:\n    environment: [\"X=1\", \"Y=${Y:-2}\", Z]\n    deploy:\n      resources:\n        reservations:\n          memory: 1g\n";
        let raw = parse(spec, Path::new("c.yml")).expect("valid");
        let app = &raw["app"];
        assert_eq!(app.variable_env.len(), 2, "{app:?}");
        assert_eq!(app.variable_env["B"].as_deref(), Some("${B}"));
        assert_eq!(app.variable_env["C"], None);
        assert_eq!(app.memory_mib, Some(512));
        let db = &raw["db"];
        assert_eq!(db.variable_env.keys().collect::<Vec<_>>(), vec!["Y", "Z"]);
        assert_eq!(db.memory_reservation_mib, Some(1024));
        let v1 = parse(
            "web:\n  image: x\n  mem_limit: 1000000\n",
            Path::new("v1.yml"),
        )
        .expect("v1");
        assert_eq!(v1["web"].memory_mib, Some(1));
    }

    #[test]
    fn sizes() {
        for (text, mib) in [
            ("512m", Some(512)),
            ("512M", Some(512)),
            ("1g", Some(1024)),
            ("1.5gb", Some(1536)),
            ("2048k", Some(2)),
            ("1048576", Some(1)),
            ("256mib", Some(256)),
            ("lots", None),
            ("0", None),
            ("12x", None),
        ] {
            assert_eq!(mebibytes(text), mib, "{text}");
        }
    }
}
