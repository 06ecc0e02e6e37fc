//! The document level: telling v1 from the spec format, wrapping v1 into `services:`, and the
//! top-level keys (`name`, `networks`, `volumes`). Services are read by [`super::service`].

use indexmap::IndexMap;
use serde_norway::{Mapping, Value};

use super::error::ComposeError;
use super::fields::{Cx, key_text, untag};
use super::model::{Format, Ipam, IpamPool, NetworkDef, VolumeDef};
use super::service::{self, Scope};
use super::yaml::KeyPath;
use super::{ComposeFile, Service};

/// Top-level keys of the spec format that stevedore reads (`include` is taken out before).
const TOP_KEYS: &[&str] = &[
    "services", "networks", "volumes", "version", "name", "include", "secrets", "configs",
];
/// Top-level keys Compose knows that stevedore ignores (with a warning).
const TOP_UNSUPPORTED: &[&str] = &["models"];
/// Keys that can only be top-level keys of the spec format, never v1 service names.
const SPEC_ONLY: &[&str] = &[
    "networks", "volumes", "secrets", "configs", "name", "include", "models",
];

/// Which dialect `root` (a mapping) is written in. A file with `services:` or `version:` is the
/// spec format; otherwise a top-level mapping that is not a spec key must be a v1 service.
pub(crate) fn detect_format(root: &Mapping) -> Format {
    if root.contains_key("services") || root.contains_key("version") {
        return Format::Spec;
    }
    let has_v1_service = root.iter().any(|(key, value)| {
        let key = key_text(key);
        !key.starts_with("x-")
            && !SPEC_ONLY.contains(&key.as_str())
            && matches!(untag(value), Value::Mapping(_) | Value::Null)
    });
    if has_v1_service {
        Format::V1
    } else {
        Format::Spec
    }
}

/// Move a v1 file's services under `services:`; `x-` extension keys stay at the top.
pub(crate) fn wrap_v1(root: Mapping) -> Mapping {
    let mut top = Mapping::new();
    let mut services = Mapping::new();
    for (key, value) in root {
        if key_text(&key).starts_with("x-") {
            top.insert(key, value);
        } else {
            services.insert(key, value);
        }
    }
    top.insert(Value::from("services"), Value::Mapping(services));
    top
}

/// Keys that make a top-level mapping of a spec-format file a misplaced service.
const SERVICE_SIGNS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "ports",
    "environment",
    "env_file",
    "depends_on",
    "links",
    "restart",
];

/// A spec-format file (it has `version:` or `services:`) with a service written at the top
/// level: Compose would start nothing for it, so it is an error at its line, not a warning.
fn stray_services(cx: &Cx<'_>, root: &Mapping) -> Result<(), ComposeError> {
    for (key, value) in root {
        let name = key_text(key);
        let known = TOP_KEYS.contains(&name.as_str())
            || TOP_UNSUPPORTED.contains(&name.as_str())
            || SPEC_ONLY.contains(&name.as_str())
            || name.starts_with("x-");
        let looks_like_service = match untag(value) {
            Value::Mapping(map) => SERVICE_SIGNS.iter().any(|k| map.contains_key(*k)),
            _ => false,
        };
        if !known && looks_like_service {
            let why = if root.contains_key("services") {
                "looks like a service, but is at the top level beside `services:`, so it is not one"
            } else {
                "looks like a service, but the file has `version:`, so services must be under \
                 `services:` and this one would never start"
            };
            return Err(cx.invalid(
                &KeyPath::root().key(&name),
                why,
                format!(
                    "`{name}:` moved under `services:` (or, for the legacy v1 format, no \
                     `version:` key)"
                ),
            ));
        }
    }
    Ok(())
}

/// Read the whole (interpolated, merged) document; the `included` projects' services,
/// networks and volumes join it (a service name defined twice is an error).
pub(crate) fn document(
    cx: &mut Cx<'_>,
    root: &Mapping,
    format: Format,
    included: Vec<ComposeFile>,
) -> Result<ComposeFile, ComposeError> {
    let top = KeyPath::root();
    if format == Format::Spec {
        stray_services(cx, root)?;
        cx.check_keys(&top, root, TOP_KEYS, TOP_UNSUPPORTED);
    }
    let name = cx.opt_string(&top.key("name"), root.get("name"), "a project name")?;
    let mut networks = declarations(cx, &top.key("networks"), root.get("networks"), network)?;
    let mut volumes = declarations(cx, &top.key("volumes"), root.get("volumes"), volume)?;
    let mut secrets =
        super::build::secret_declarations(cx, &top.key("secrets"), root.get("secrets"))?;
    for other in &included {
        for (key, def) in &other.networks {
            networks.entry(key.clone()).or_insert_with(|| def.clone());
        }
        for (key, def) in &other.volumes {
            volumes.entry(key.clone()).or_insert_with(|| def.clone());
        }
        for (key, def) in &other.secrets {
            secrets.entry(key.clone()).or_insert_with(|| def.clone());
        }
    }
    let files = super::runtime::file_objects(cx, root)?;

    let services_path = top.key("services");
    let empty = Mapping::new();
    let services_map = match root.get("services").map(untag) {
        None | Some(Value::Null) => &empty,
        Some(value) => cx.mapping(
            &services_path,
            value,
            "a mapping of service names to service settings",
        )?,
    };
    let mut names: Vec<String> = services_map.keys().map(key_text).collect();
    for other in &included {
        for service in other.services.keys() {
            if names.contains(service) {
                return Err(cx.invalid(
                    &services_path.key(service),
                    format!(
                        "service `{service}` is also defined by the included file {}",
                        other.path.display()
                    ),
                    "each service defined once across included files",
                ));
            }
            names.push(service.clone());
        }
    }
    let scope = Scope {
        format,
        services: &names,
        networks: &networks,
        volumes: &volumes,
        secrets: &secrets,
        files: &files,
    };
    let mut services: IndexMap<String, Service> = IndexMap::new();
    let mut lines = IndexMap::new();
    for (key, value) in services_map {
        let name = key_text(key);
        let path = services_path.key(&name);
        let parsed = service::service(cx, &scope, &path, &name, value)?;
        lines.insert(name.clone(), cx.source.locate(&path).1);
        services.insert(name, parsed);
    }
    let mut warnings = std::mem::take(&mut cx.warnings);
    // Stable: warnings on one line keep the order they were found in.
    warnings.sort_by_key(|(line, _)| *line);
    let mut warnings: Vec<String> = warnings.into_iter().map(|(_, message)| message).collect();
    for other in included {
        warnings.extend(other.warnings);
        lines.extend(other.lines);
        services.extend(other.services);
    }
    Ok(ComposeFile {
        path: cx.source.main().to_owned(),
        format,
        name,
        services,
        networks,
        volumes,
        secrets,
        warnings,
        lines,
    })
}

/// A top-level `networks:`/`volumes:` mapping; each entry may be null (all defaults).
fn declarations<T: Default>(
    cx: &mut Cx<'_>,
    path: &KeyPath,
    value: Option<&Value>,
    read: fn(&mut Cx<'_>, &KeyPath, &Mapping) -> Result<T, ComposeError>,
) -> Result<IndexMap<String, T>, ComposeError> {
    let mut out = IndexMap::new();
    let Some(value) = value else {
        return Ok(out);
    };
    if matches!(untag(value), Value::Null) {
        return Ok(out);
    }
    let map = cx.mapping(
        path,
        value,
        "a mapping of names to settings (or to nothing)",
    )?;
    for (key, entry) in map {
        let name = key_text(key);
        let entry_path = path.key(&name);
        let parsed = match untag(entry) {
            Value::Null => T::default(),
            other => {
                let settings =
                    cx.mapping(&entry_path, other, "a mapping of settings, or nothing")?;
                read(cx, &entry_path, settings)?
            }
        };
        out.insert(name, parsed);
    }
    Ok(out)
}

/// `external: true`, or the legacy `external: {name: …}`.
fn external(
    cx: &Cx<'_>,
    path: &KeyPath,
    map: &Mapping,
) -> Result<(bool, Option<String>), ComposeError> {
    match map.get("external").map(untag) {
        None => Ok((false, None)),
        Some(Value::Mapping(legacy)) => {
            let name = cx.opt_string(
                &path.key("external").key("name"),
                legacy.get("name"),
                "a name",
            )?;
            Ok((true, name))
        }
        Some(value) => Ok((cx.bool(&path.key("external"), value)?, None)),
    }
}

fn network(cx: &mut Cx<'_>, path: &KeyPath, map: &Mapping) -> Result<NetworkDef, ComposeError> {
    cx.check_keys(
        path,
        map,
        &[
            "external",
            "name",
            "driver",
            "driver_opts",
            "attachable",
            "enable_ipv4",
            "enable_ipv6",
            "ipam",
            "internal",
            "labels",
        ],
        &[],
    );
    let (external, legacy_name) = external(cx, path, map)?;
    let flag = |key: &str| match map.get(key) {
        Some(v) => cx.bool(&path.key(key), v),
        None => Ok(false),
    };
    if map.get("enable_ipv4").is_some() && !flag("enable_ipv4")? {
        return Err(cx.invalid(
            &path.key("enable_ipv4"),
            "networks without IPv4 need Engine API 1.47; stevedore speaks 1.41",
            "`enable_ipv4: true` or no `enable_ipv4`",
        ));
    }
    Ok(NetworkDef {
        name: cx
            .opt_string(&path.key("name"), map.get("name"), "a network name")?
            .or(legacy_name),
        external,
        driver: cx.opt_string(&path.key("driver"), map.get("driver"), "a driver name")?,
        driver_opts: string_map(cx, path, map, "driver_opts")?,
        internal: flag("internal")?,
        attachable: flag("attachable")?,
        enable_ipv6: flag("enable_ipv6")?,
        labels: string_map(cx, path, map, "labels")?,
        ipam: match map.get("ipam").map(untag) {
            None | Some(Value::Null) => None,
            Some(value) => Some(ipam(cx, &path.key("ipam"), value)?),
        },
    })
}

/// A "list or dictionary" of `key` in `map`, bare keys as empty strings.
fn string_map(
    cx: &Cx<'_>,
    path: &KeyPath,
    map: &Mapping,
    key: &str,
) -> Result<IndexMap<String, String>, ComposeError> {
    Ok(match map.get(key) {
        Some(value) => cx
            .dictionary(&path.key(key), value)?
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect(),
        None => IndexMap::new(),
    })
}

fn ipam(cx: &mut Cx<'_>, path: &KeyPath, value: &Value) -> Result<Ipam, ComposeError> {
    const EXPECTED: &str = "a mapping with `driver`, `config` (a list of `{subnet: …}`) and \
                            `options`";
    let map = cx.mapping(path, value, EXPECTED)?;
    cx.check_keys(path, map, &["driver", "config", "options"], &[]);
    let mut config = Vec::new();
    if let Some(list) = map.get("config") {
        let cp = path.key("config");
        for (i, entry) in cx.list(&cp, list, EXPECTED)?.iter().enumerate() {
            let ep = cp.index(i);
            let entry = cx.mapping(&ep, entry, "a mapping with `subnet`")?;
            cx.check_keys(
                &ep,
                entry,
                &["subnet", "ip_range", "gateway", "aux_addresses"],
                &[],
            );
            let get = |key: &str| cx.opt_string(&ep.key(key), entry.get(key), "an address");
            config.push(IpamPool {
                subnet: get("subnet")?,
                ip_range: get("ip_range")?,
                gateway: get("gateway")?,
                aux_addresses: string_map(cx, &ep, entry, "aux_addresses")?,
            });
        }
    }
    Ok(Ipam {
        driver: cx.opt_string(&path.key("driver"), map.get("driver"), "a driver name")?,
        config,
        options: string_map(cx, path, map, "options")?,
    })
}

fn volume(cx: &mut Cx<'_>, path: &KeyPath, map: &Mapping) -> Result<VolumeDef, ComposeError> {
    cx.check_keys(
        path,
        map,
        &["external", "name", "driver", "driver_opts", "labels"],
        &[],
    );
    let (external, legacy_name) = external(cx, path, map)?;
    Ok(VolumeDef {
        name: cx
            .opt_string(&path.key("name"), map.get("name"), "a volume name")?
            .or(legacy_name),
        external,
        driver: cx.opt_string(&path.key("driver"), map.get("driver"), "a driver name")?,
        driver_opts: string_map(cx, path, map, "driver_opts")?,
        labels: string_map(cx, path, map, "labels")?,
    })
}
