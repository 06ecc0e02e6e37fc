//! One service: every short and long form of its keys turned into the typed [`Service`], and
//! its references (dependencies, links, volumes, networks) checked against the file.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_norway::{Mapping, Value};

use super::Service;
use super::duration;
use super::error::ComposeError;
use super::fields::{Cx, key_text, scalar_text, untag};
use super::model::{
    Build, Condition, EnvFile, ExposedPort, ExternalLink, Format, Healthcheck, Link, Mount,
    MountKind, NetworkDef, PortMapping, Restart, ServiceNetwork, VolumeDef, VolumesFrom,
    VolumesFromSource,
};
use super::mounts::{self, LongMount, MOUNT_EXPECTED, PathBase};
use super::paths;
use super::ports::{self, PORT_EXPECTED};
use super::runtime::{self, RuntimeScope};
use super::shellwords;
use super::yaml::KeyPath;
use crate::project::dotenv;

/// What a service's references are checked against.
pub(crate) struct Scope<'a> {
    pub(crate) format: Format,
    /// Every service name of the file, in file order.
    pub(crate) services: &'a [String],
    pub(crate) networks: &'a IndexMap<String, NetworkDef>,
    pub(crate) volumes: &'a IndexMap<String, VolumeDef>,
    pub(crate) secrets: &'a IndexMap<String, super::model::SecretDef>,
    /// Top-level secrets and configs.
    pub(crate) files: &'a runtime::FileObjects,
}

impl Scope<'_> {
    fn has_service(&self, name: &str) -> bool {
        self.services.iter().any(|s| s == name)
    }

    fn service_list(&self) -> String {
        if self.services.is_empty() {
            "a service defined in this file".to_owned()
        } else {
            format!(
                "one of the services of this file: {}",
                self.services.join(", ")
            )
        }
    }
}

/// The service keys stevedore reads.
const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "dockerfile",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "volumes_from",
    "links",
    "external_links",
    "depends_on",
    "healthcheck",
    "working_dir",
    "user",
    "restart",
    "labels",
    "tty",
    "stdin_open",
    "container_name",
    "hostname",
    "networks",
    "platform",
    "profiles",
];

/// Service keys of the Compose spec (and of v1) that stevedore does not act on: a warning, not
/// an error, so files written for Compose still load. None today: the runtime keys are read (or
/// refused with a reason) by [`runtime`].
const SERVICE_UNSUPPORTED: &[&str] = &[];

/// `build:` keys stevedore does not act on.
const BUILD_UNSUPPORTED: &[&str] = &[
    "additional_contexts",
    "cache_to",
    "dockerfile_inline",
    "entitlements",
    "isolation",
    "labels",
    "platforms",
    "privileged",
    "provenance",
    "sbom",
    "tags",
    "ulimits",
];

/// `build:` keys stevedore reads.
const BUILD_KEYS: &[&str] = &[
    "context",
    "dockerfile",
    "args",
    "target",
    "secrets",
    "ssh",
    "cache_from",
    "network",
    "extra_hosts",
    "shm_size",
    "no_cache",
    "pull",
];

const COMMAND_EXPECTED: &str = "a command string (split like a shell would, nothing expanded) \
     or a list of arguments";
const DURATION_EXPECTED: &str = "a duration like `30s`, `1m30s` or `500ms`";

/// Read the service `name` at `path`.
pub(crate) fn service(
    cx: &mut Cx<'_>,
    scope: &Scope<'_>,
    path: &KeyPath,
    name: &str,
    value: &Value,
) -> Result<Service, ComposeError> {
    check_service_name(cx, path, name)?;
    let empty = Mapping::new();
    let map = match untag(value) {
        Value::Null => &empty,
        other => cx.mapping(path, other, "a mapping of service settings")?,
    };
    let known = [SERVICE_KEYS, runtime::KEYS].concat();
    cx.check_keys(path, map, &known, SERVICE_UNSUPPORTED);
    let runtime_scope = RuntimeScope {
        services: scope.services,
        files: scope.files,
        v1: scope.format == Format::V1,
    };

    let mut svc = Service {
        build: build(cx, scope, path, map)?,
        ..Service::default()
    };
    let mut env_files = Vec::new();
    for (key, value) in map {
        let key = key_text(key);
        let p = path.key(&key);
        match key.as_str() {
            "image" => {
                svc.image = non_empty(cx, &p, value, "an image reference like `nginx:1.25`")?
            }
            "command" => svc.command = command(cx, &p, value)?,
            "entrypoint" => svc.entrypoint = command(cx, &p, value)?,
            "environment" => svc.environment = cx.dictionary(&p, value)?,
            "env_file" => env_files = env_file(cx, &p, value)?,
            "ports" => svc.ports = port_list(cx, &p, value)?,
            "expose" => svc.expose = expose(cx, &p, value)?,
            "volumes" => svc.volumes = volumes(cx, scope, &p, value)?,
            "volumes_from" => svc.volumes_from = volumes_from(cx, scope, &p, value)?,
            "links" => svc.links = links(cx, scope, &p, value)?,
            "external_links" => svc.external_links = external_links(cx, &p, value)?,
            "depends_on" => svc.depends_on = depends_on(cx, scope, &p, value)?,
            "healthcheck" => svc.healthcheck = healthcheck(cx, &p, value)?,
            "working_dir" => svc.working_dir = non_empty(cx, &p, value, "a directory path")?,
            "user" => svc.user = non_empty(cx, &p, value, "a user name or uid")?,
            "restart" => svc.restart = restart(cx, &p, value)?,
            "labels" => {
                svc.labels = cx
                    .dictionary(&p, value)?
                    .into_iter()
                    .map(|(k, v)| (k, v.unwrap_or_default()))
                    .collect();
            }
            "tty" => svc.tty = cx.bool(&p, value)?,
            "profiles" => {
                svc.profiles = cx.string_list(&p, value, "a list of profile names")?;
            }
            "stdin_open" => svc.stdin_open = cx.bool(&p, value)?,
            "container_name" => {
                svc.container_name = non_empty(cx, &p, value, "a container name")?;
            }
            "hostname" => svc.hostname = non_empty(cx, &p, value, "a hostname")?,
            "networks" => svc.networks = networks(cx, scope, &p, value)?,
            other if runtime::KEYS.contains(&other) => {
                runtime::read(cx, &runtime_scope, &p, other, value, &mut svc.runtime)?;
            }
            _ => {}
        }
    }
    if svc.restart.is_none() {
        svc.restart = svc.runtime.deploy_restart;
    }
    if !svc.runtime.file_labels.is_empty() {
        // Labels from `label_file:` first; the service's own `labels:` win.
        let mut labels = std::mem::take(&mut svc.runtime.file_labels);
        labels.extend(std::mem::take(&mut svc.labels));
        svc.labels = labels;
    }
    if svc.runtime.network_mode.is_some() && !svc.networks.is_empty() {
        return Err(cx.invalid(
            &path.key("network_mode"),
            "`network_mode` and `networks` cannot be combined",
            "one of the two",
        ));
    }
    if svc.image.is_none() && svc.build.is_none() {
        return Err(cx.invalid(
            path,
            format!("service `{name}` has neither `image` nor `build`"),
            "`image: <reference>` or `build: <context directory>`",
        ));
    }
    svc.resolved_environment = resolve_environment(cx, &env_files, &svc.environment)?;
    svc.env_file = env_files.into_iter().map(|(file, _)| file).collect();
    Ok(svc)
}

/// Compose's rule for service names; they end up in container names and hostnames.
fn check_service_name(cx: &Cx<'_>, path: &KeyPath, name: &str) -> Result<(), ComposeError> {
    if super::is_docker_name(name) {
        Ok(())
    } else {
        Err(cx.invalid(
            path,
            format!("`{name}` is not a valid service name"),
            "letters, digits, `_`, `.` and `-`, starting with a letter or digit",
        ))
    }
}

/// An optional string that, when present, is not empty.
fn non_empty(
    cx: &Cx<'_>,
    path: &KeyPath,
    value: &Value,
    expected: &str,
) -> Result<Option<String>, ComposeError> {
    match cx.opt_string(path, Some(value), expected)? {
        Some(text) if text.is_empty() => Err(cx.invalid(path, "the value is empty", expected)),
        other => Ok(other),
    }
}

fn home(cx: &Cx<'_>) -> Option<String> {
    (cx.vars)("HOME")
}

/// `build:` (short or long) and, in v1 files, `dockerfile:` beside it.
fn build(
    cx: &mut Cx<'_>,
    scope: &Scope<'_>,
    path: &KeyPath,
    map: &Mapping,
) -> Result<Option<Build>, ComposeError> {
    const EXPECTED: &str =
        "a context directory, or a mapping with `context`, `dockerfile`, `args`, `target`";
    let bp = path.key("build");
    let dp = path.key("dockerfile");
    let beside = map.get("dockerfile").filter(|v| !v.is_null());
    let value = match map.get("build").map(untag) {
        // Without `build:`, `platform` is the runtime's alone (see `runtime`).
        None | Some(Value::Null) => {
            return match beside {
                Some(_) => Err(cx.invalid(
                    &dp,
                    "`dockerfile` is set but `build` is not",
                    "`build:` with the context directory beside it",
                )),
                None => Ok(None),
            };
        }
        Some(value) => value,
    };
    let platform = cx.opt_string(
        &path.key("platform"),
        map.get("platform"),
        "a platform like `linux/amd64`",
    )?;
    let mut options = super::build::BuildOptions::default();
    let (context, mut dockerfile, args, target) = match value {
        Value::Mapping(long) => {
            cx.check_keys(&bp, long, BUILD_KEYS, BUILD_UNSUPPORTED);
            options = super::build::options(cx, &bp, long, scope.secrets)?;
            let context = cx.opt_string(&bp.key("context"), long.get("context"), EXPECTED)?;
            let dockerfile =
                cx.opt_string(&bp.key("dockerfile"), long.get("dockerfile"), "a path")?;
            let args = match long.get("args") {
                Some(args) => cx.dictionary(&bp.key("args"), args)?,
                None => IndexMap::new(),
            };
            let target = cx.opt_string(&bp.key("target"), long.get("target"), "a stage name")?;
            (
                context.unwrap_or_else(|| ".".to_owned()),
                dockerfile,
                args,
                target,
            )
        }
        other => (
            cx.string(&bp, other, EXPECTED)?,
            None,
            IndexMap::new(),
            None,
        ),
    };
    if let Some(beside) = beside {
        if dockerfile.is_some() {
            return Err(cx.invalid(
                &dp,
                "the Dockerfile is given twice, here and in `build.dockerfile`",
                "one of the two",
            ));
        }
        if scope.format == Format::Spec {
            cx.warn(
                &dp,
                "belongs in `build.dockerfile` in the Compose spec format; used anyway",
            );
        }
        dockerfile = Some(cx.string(&dp, beside, "a Dockerfile path")?);
    }
    if context.contains("://") || context.starts_with("git@") {
        return Err(cx.invalid(
            &bp,
            format!("the remote build context `{context}` is not supported"),
            "a local directory",
        ));
    }
    let context = paths::resolve(cx.base_dir, &context, home(cx).as_deref())
        .map_err(|problem| cx.invalid(&bp, problem, EXPECTED))?;
    Ok(Some(Build {
        context,
        dockerfile: PathBuf::from(dockerfile.unwrap_or_else(|| "Dockerfile".to_owned())),
        args,
        target,
        secrets: options.secrets,
        ssh: options.ssh,
        cache_from: options.cache_from,
        network: options.network,
        extra_hosts: options.extra_hosts,
        shm_size: options.shm_size,
        no_cache: options.no_cache,
        pull: options.pull,
        platform,
    }))
}

/// `command:`/`entrypoint:`: a string is split like a shell would, a list is taken as is.
fn command(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Option<Vec<String>>, ComposeError> {
    match untag(value) {
        Value::Null => Ok(None),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| cx.string(&p.index(i), item, COMMAND_EXPECTED))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        other => {
            let text = cx.string(p, other, COMMAND_EXPECTED)?;
            shellwords::split(&text).map(Some).map_err(|problem| {
                cx.invalid(p, format!("cannot split it: {problem}"), COMMAND_EXPECTED)
            })
        }
    }
}

/// `env_file:` as a string, a list, or long-form entries; with each entry's path for messages.
fn env_file(
    cx: &mut Cx<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<Vec<(EnvFile, KeyPath)>, ComposeError> {
    const EXPECTED: &str =
        "a path, a list of paths, or a list of `{path: …, required: true|false}`";
    let entries: Vec<(KeyPath, &Value)> = match untag(value) {
        Value::Null => Vec::new(),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (p.index(i), item))
            .collect(),
        other => vec![(p.clone(), other)],
    };
    let mut out = Vec::new();
    for (ep, entry) in entries {
        let (raw, required) = match untag(entry) {
            Value::Mapping(long) => {
                cx.check_keys(&ep, long, &["path", "required"], &["format"]);
                let Some(raw) = cx.opt_string(&ep.key("path"), long.get("path"), EXPECTED)? else {
                    return Err(cx.invalid(&ep, "the long form has no `path`", EXPECTED));
                };
                let required = match long.get("required") {
                    Some(v) => cx.bool(&ep.key("required"), v)?,
                    None => true,
                };
                (raw, required)
            }
            other => (cx.string(&ep, other, EXPECTED)?, true),
        };
        let path = paths::resolve(cx.base_dir, &raw, home(cx).as_deref())
            .map_err(|problem| cx.invalid(&ep, problem, EXPECTED))?;
        out.push((EnvFile { path, required }, ep));
    }
    Ok(out)
}

/// The container's environment: env files in order, `environment:` over them; a bare `KEY`
/// takes its value from the variables and leaves any env-file value alone when they have none.
fn resolve_environment(
    cx: &Cx<'_>,
    env_files: &[(EnvFile, KeyPath)],
    environment: &IndexMap<String, Option<String>>,
) -> Result<IndexMap<String, String>, ComposeError> {
    let mut env = IndexMap::new();
    let env_files = if cx.read_env_files { env_files } else { &[] };
    for (file, ep) in env_files {
        if !file.path.exists() {
            if file.required {
                return Err(cx.invalid(
                    ep,
                    format!("the env file {} does not exist", file.path.display()),
                    "an existing dotenv file (create it, e.g. from its `.env.example`), or the \
                     long form `{path: …, required: false}`",
                ));
            }
            continue;
        }
        let (compose_file, line) = cx.source.locate(ep);
        let parsed = dotenv::read(&file.path).map_err(|source| ComposeError::EnvFile {
            file: compose_file.to_owned(),
            line,
            key: ep.to_string(),
            source: Box::new(source),
        })?;
        for (key, (value, _line)) in parsed.entries {
            env.shift_remove(&key);
            env.insert(key, value);
        }
    }
    for (key, value) in environment {
        if let Some(value) = value.clone().or_else(|| (cx.vars)(key)) {
            env.shift_remove(key);
            env.insert(key.clone(), value);
        }
    }
    Ok(env)
}

fn port_list(
    cx: &mut Cx<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<Vec<PortMapping>, ComposeError> {
    let list_expected = format!("a list of ports, each {PORT_EXPECTED}");
    let mut out = Vec::new();
    for (i, item) in cx.list(p, value, &list_expected)?.iter().enumerate() {
        let ip = p.index(i);
        let mappings = match untag(item) {
            Value::Mapping(long) => {
                cx.check_keys(
                    &ip,
                    long,
                    &[
                        "target",
                        "published",
                        "host_ip",
                        "protocol",
                        "mode",
                        "name",
                        "app_protocol",
                    ],
                    &[],
                );
                let Some(target) =
                    cx.opt_string(&ip.key("target"), long.get("target"), PORT_EXPECTED)?
                else {
                    return Err(cx.invalid(&ip, "the long form has no `target`", PORT_EXPECTED));
                };
                let published =
                    cx.opt_string(&ip.key("published"), long.get("published"), PORT_EXPECTED)?;
                let host_ip =
                    cx.opt_string(&ip.key("host_ip"), long.get("host_ip"), "an IP address")?;
                let protocol =
                    cx.opt_string(&ip.key("protocol"), long.get("protocol"), "tcp or udp")?;
                ports::from_long(
                    &target,
                    published.as_deref(),
                    host_ip.as_deref(),
                    protocol.as_deref(),
                )
            }
            other => ports::parse_short(&cx.string(&ip, other, PORT_EXPECTED)?),
        }
        .map_err(|problem| cx.invalid(&ip, problem, PORT_EXPECTED))?;
        out.extend(mappings);
    }
    Ok(out)
}

fn expose(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Vec<ExposedPort>, ComposeError> {
    const EXPECTED: &str = "a list of ports like `3000`, `8000-8010` or `3000/udp`";
    let mut out = Vec::new();
    for (i, item) in cx.list(p, value, EXPECTED)?.iter().enumerate() {
        let ip = p.index(i);
        let text = cx.string(&ip, item, EXPECTED)?;
        out.extend(
            ports::parse_expose(&text).map_err(|problem| cx.invalid(&ip, problem, EXPECTED))?,
        );
    }
    Ok(out)
}

fn volumes(
    cx: &mut Cx<'_>,
    scope: &Scope<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<Vec<Mount>, ComposeError> {
    let list_expected = format!("a list of mounts, each {MOUNT_EXPECTED}");
    let home = home(cx);
    let base = PathBase {
        dir: cx.base_dir,
        home: home.as_deref(),
    };
    let mut out = Vec::new();
    for (i, item) in cx.list(p, value, &list_expected)?.iter().enumerate() {
        let ip = p.index(i);
        let mount = match untag(item) {
            Value::Mapping(long) => long_mount(cx, &ip, long, &base)?,
            other => mounts::parse_short(&cx.string(&ip, other, MOUNT_EXPECTED)?, &base)
                .map_err(|problem| cx.invalid(&ip, problem, MOUNT_EXPECTED))?,
        };
        if let (MountKind::Volume, Some(name), Format::Spec) =
            (mount.kind, &mount.source, scope.format)
            && !scope.volumes.contains_key(name)
        {
            return Err(cx.invalid(
                &ip,
                format!("the named volume `{name}` is not declared"),
                format!(
                    "`{name}:` under the top-level `volumes:` (the Compose spec requires it), \
                     or a host path starting with `./` for a bind mount"
                ),
            ));
        }
        out.push(mount);
    }
    Ok(out)
}

fn long_mount(
    cx: &mut Cx<'_>,
    ip: &KeyPath,
    long: &Mapping,
    base: &PathBase<'_>,
) -> Result<Mount, ComposeError> {
    cx.check_keys(
        ip,
        long,
        &[
            "type",
            "source",
            "target",
            "read_only",
            "bind",
            "volume",
            "consistency",
            "tmpfs",
            "image",
        ],
        &[],
    );
    // Compose keys the Engine API stevedore speaks (1.41) cannot express: refused, not dropped.
    for (section, key, why) in [
        (None, "image", "image mounts need Engine API 1.48"),
        (
            Some("bind"),
            "recursive",
            "recursive read-only binds need Engine API 1.44",
        ),
        (
            Some("volume"),
            "subpath",
            "volume subpaths need Engine API 1.45",
        ),
        (
            Some("volume"),
            "labels",
            "a volume made on first use gets no labels; declare it under the top-level \
             `volumes:` with `labels:`",
        ),
    ] {
        let (holder, kp) = match section {
            None => (Some(long), ip.key(key)),
            Some(section) => (
                long.get(section).and_then(|v| untag(v).as_mapping()),
                ip.key(section).key(key),
            ),
        };
        if holder.is_some_and(|m| m.contains_key(key)) {
            return Err(cx.invalid(
                &kp,
                format!("`{key}` cannot be honoured: {why}"),
                "the mount without it",
            ));
        }
    }
    let sub = |cx: &mut Cx<'_>, key: &str, known: &[&str], unsupported: &[&str]| match long
        .get(key)
        .map(untag)
    {
        Some(Value::Mapping(map)) => {
            cx.check_keys(&ip.key(key), map, known, unsupported);
            Ok(Some(map))
        }
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(cx.wrong(&ip.key(key), other, "a mapping")),
    };
    let bind = sub(
        cx,
        "bind",
        &["selinux", "create_host_path", "propagation", "recursive"],
        &[],
    )?;
    let volume = sub(cx, "volume", &["nocopy", "subpath", "labels"], &[])?;
    let tmpfs = sub(cx, "tmpfs", &["size", "mode"], &[])?;
    let Some(kind) = cx.opt_string(&ip.key("type"), long.get("type"), "bind, volume or tmpfs")?
    else {
        return Err(cx.invalid(ip, "the long form has no `type`", MOUNT_EXPECTED));
    };
    let Some(target) = cx.opt_string(&ip.key("target"), long.get("target"), "a container path")?
    else {
        return Err(cx.invalid(ip, "the long form has no `target`", MOUNT_EXPECTED));
    };
    let source = cx.opt_string(
        &ip.key("source"),
        long.get("source"),
        "a path or volume name",
    )?;
    let read_only = match long.get("read_only") {
        Some(v) => cx.bool(&ip.key("read_only"), v)?,
        None => false,
    };
    let selinux = match bind.and_then(|b| b.get("selinux")) {
        Some(v) => Some(cx.string(&ip.key("bind").key("selinux"), v, "`z` or `Z`")?),
        None => None,
    };
    let nocopy = match volume.and_then(|v| v.get("nocopy")) {
        Some(v) => cx.bool(&ip.key("volume").key("nocopy"), v)?,
        None => false,
    };
    let spec = LongMount {
        kind: &kind,
        source: source.as_deref(),
        target: &target,
        read_only,
        selinux: selinux.as_deref(),
        nocopy,
    };
    let mut mount = mounts::from_long(&spec, base)
        .map_err(|problem| cx.invalid(ip, problem, MOUNT_EXPECTED))?;
    if let Some(bind) = bind {
        if let Some(v) = bind.get("propagation") {
            let pp = ip.key("bind").key("propagation");
            let mode = cx.string(&pp, v, "a propagation mode")?;
            const MODES: [&str; 6] = [
                "private", "rprivate", "shared", "rshared", "slave", "rslave",
            ];
            if !MODES.contains(&mode.as_str()) {
                return Err(cx.invalid(
                    &pp,
                    format!("`{mode}` is not a propagation mode"),
                    MODES.join(", "),
                ));
            }
            mount.options.push(mode);
        }
        if let Some(v) = bind.get("create_host_path") {
            let cp = ip.key("bind").key("create_host_path");
            if !cx.bool(&cp, v)? {
                return Err(cx.invalid(
                    &cp,
                    "`create_host_path: false` cannot be honoured: the Engine creates a missing \
                     bind source",
                    "`create_host_path: true` (or leave it out) and create the path first",
                ));
            }
        }
    }
    if let Some(tmpfs) = tmpfs {
        if let Some(v) = tmpfs.get("size") {
            let sp = ip.key("tmpfs").key("size");
            let text = cx.string(&sp, v, "a size like `64m` or a number of bytes")?;
            let bytes = super::runtime::bytes(&text)
                .ok_or_else(|| cx.invalid(&sp, format!("`{text}` is not a size"), "e.g. `64m`"))?;
            mount.options.push(format!("size={bytes}"));
        }
        if let Some(v) = tmpfs.get("mode") {
            // The digits as written (`0755` reads as the number 755): Docker wants octal.
            let mode = scalar_text(v)
                .map(|t| t.trim_start_matches("0o").to_owned())
                .filter(|t| !t.is_empty() && t.chars().all(|c| ('0'..='7').contains(&c)));
            let Some(mode) = mode else {
                return Err(cx.wrong(&ip.key("tmpfs").key("mode"), v, "an octal mode like 1777"));
            };
            mount.options.push(format!("mode={mode}"));
        }
    }
    Ok(mount)
}

fn volumes_from(
    cx: &Cx<'_>,
    scope: &Scope<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<Vec<VolumesFrom>, ComposeError> {
    const EXPECTED: &str =
        "a list of `service`, `service:ro`, `container:name` or `container:name:ro`";
    let mut out = Vec::new();
    for (i, text) in cx.string_list(p, value, EXPECTED)?.into_iter().enumerate() {
        let ip = p.index(i);
        let (source, mode) = match text.strip_prefix("container:") {
            Some(rest) => {
                let (name, mode) = split_mode(rest);
                (VolumesFromSource::Container(name.to_owned()), mode)
            }
            None => {
                let (name, mode) = split_mode(&text);
                if !scope.has_service(name) {
                    return Err(cx.invalid(
                        &ip,
                        format!("`{name}` is not a service of this file"),
                        format!(
                            "{}, or `container:<name>` for another container",
                            scope.service_list()
                        ),
                    ));
                }
                (VolumesFromSource::Service(name.to_owned()), mode)
            }
        };
        let read_only = match mode {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(other) => {
                return Err(cx.invalid(&ip, format!("`{other}` is not a mode"), "`ro` or `rw`"));
            }
        };
        out.push(VolumesFrom { source, read_only });
    }
    Ok(out)
}

fn split_mode(text: &str) -> (&str, Option<&str>) {
    match text.split_once(':') {
        Some((name, mode)) => (name, Some(mode)),
        None => (text, None),
    }
}

fn links(
    cx: &Cx<'_>,
    scope: &Scope<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<Vec<Link>, ComposeError> {
    const EXPECTED: &str = "a list of `service` or `service:alias`";
    let mut out = Vec::new();
    for (i, text) in cx.string_list(p, value, EXPECTED)?.into_iter().enumerate() {
        let (service, alias) = split_mode(&text);
        if !scope.has_service(service) {
            return Err(cx.invalid(
                &p.index(i),
                format!("`{service}` is not a service of this file"),
                format!(
                    "{} (use `external_links` for other containers)",
                    scope.service_list()
                ),
            ));
        }
        out.push(Link {
            service: service.to_owned(),
            alias: alias.filter(|a| !a.is_empty()).map(str::to_owned),
        });
    }
    Ok(out)
}

fn external_links(
    cx: &Cx<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<Vec<ExternalLink>, ComposeError> {
    Ok(cx
        .string_list(p, value, "a list of `container` or `container:alias`")?
        .into_iter()
        .map(|text| {
            let (container, alias) = split_mode(&text);
            ExternalLink {
                container: container.to_owned(),
                alias: alias.filter(|a| !a.is_empty()).map(str::to_owned),
            }
        })
        .collect())
}

fn depends_on(
    cx: &mut Cx<'_>,
    scope: &Scope<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<IndexMap<String, Condition>, ComposeError> {
    const EXPECTED: &str =
        "a list of service names, or a mapping of service names to `{condition: …}`";
    let mut out = IndexMap::new();
    let undefined = |cx: &Cx<'_>, path: &KeyPath, name: &str| {
        cx.invalid(
            path,
            format!("`{name}` is not a service of this file"),
            scope.service_list(),
        )
    };
    match untag(value) {
        Value::Null => {}
        Value::Sequence(_) => {
            for (i, name) in cx.string_list(p, value, EXPECTED)?.into_iter().enumerate() {
                if !scope.has_service(&name) {
                    return Err(undefined(cx, &p.index(i), &name));
                }
                out.insert(name, Condition::ServiceStarted);
            }
        }
        Value::Mapping(map) => {
            for (key, entry) in map {
                let name = key_text(key);
                let ep = p.key(&name);
                let (condition, required) = match untag(entry) {
                    Value::Null => (Condition::ServiceStarted, true),
                    Value::Mapping(long) => {
                        cx.check_keys(&ep, long, &["condition", "restart", "required"], &[]);
                        let condition = match cx.opt_string(
                            &ep.key("condition"),
                            long.get("condition"),
                            "a condition",
                        )? {
                            None => Condition::ServiceStarted,
                            Some(text) => parse_condition(&text).ok_or_else(|| {
                                cx.invalid(
                                    &ep.key("condition"),
                                    format!("`{text}` is not a condition"),
                                    "`service_started`, `service_healthy` or \
                                     `service_completed_successfully`",
                                )
                            })?,
                        };
                        if let Some(restart) = long.get("restart") {
                            cx.bool(&ep.key("restart"), restart)?;
                        }
                        let required = match long.get("required") {
                            Some(v) => cx.bool(&ep.key("required"), v)?,
                            None => true,
                        };
                        (condition, required)
                    }
                    other => return Err(cx.wrong(&ep, other, "a mapping with `condition:`")),
                };
                if !scope.has_service(&name) {
                    if required {
                        return Err(undefined(cx, &ep, &name));
                    }
                    cx.warn(
                        &ep,
                        format!(
                            "`{name}` is not a service of this file; skipped (required: false)"
                        ),
                    );
                    continue;
                }
                out.insert(name, condition);
            }
        }
        other => return Err(cx.wrong(p, other, EXPECTED)),
    }
    Ok(out)
}

fn parse_condition(text: &str) -> Option<Condition> {
    match text {
        "service_started" => Some(Condition::ServiceStarted),
        "service_healthy" => Some(Condition::ServiceHealthy),
        "service_completed_successfully" => Some(Condition::ServiceCompletedSuccessfully),
        _ => None,
    }
}

fn healthcheck(
    cx: &mut Cx<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<Option<Healthcheck>, ComposeError> {
    const TEST_EXPECTED: &str = "a shell command string, or a list starting with `CMD`, \
         `CMD-SHELL` or `NONE`";
    let map = match untag(value) {
        Value::Null => return Ok(None),
        other => cx.mapping(
            p,
            other,
            "a mapping with `test`, `interval`, `timeout`, `retries`, `start_period`",
        )?,
    };
    cx.check_keys(
        p,
        map,
        &[
            "test",
            "interval",
            "timeout",
            "retries",
            "start_period",
            "start_interval",
            "disable",
        ],
        &[],
    );
    let tp = p.key("test");
    let test = match map.get("test").map(untag) {
        None | Some(Value::Null) => Vec::new(),
        Some(list @ Value::Sequence(_)) => {
            let words = cx.string_list(&tp, list, TEST_EXPECTED)?;
            let minimum = match words.first().map(String::as_str) {
                Some("NONE") => 1,
                Some("CMD" | "CMD-SHELL") => 2,
                _ => 0,
            };
            if minimum == 0 || words.len() < minimum {
                return Err(cx.invalid(
                    &tp,
                    format!("`{}` is not a health check test", words.join(" ")),
                    TEST_EXPECTED,
                ));
            }
            words
        }
        Some(other) => {
            let command = cx.string(&tp, other, TEST_EXPECTED)?;
            if command.trim().is_empty() {
                return Err(cx.invalid(&tp, "the test is empty", TEST_EXPECTED));
            }
            vec!["CMD-SHELL".to_owned(), command]
        }
    };
    let duration = |key: &str| -> Result<Option<std::time::Duration>, ComposeError> {
        let kp = p.key(key);
        match cx.opt_string(&kp, map.get(key), DURATION_EXPECTED)? {
            None => Ok(None),
            Some(text) => duration::parse(&text)
                .map(Some)
                .map_err(|problem| cx.invalid(&kp, problem, DURATION_EXPECTED)),
        }
    };
    let disable = match map.get("disable") {
        Some(v) => cx.bool(&p.key("disable"), v)?,
        None => false,
    } || test.first().is_some_and(|t| t == "NONE");
    Ok(Some(Healthcheck {
        interval: duration("interval")?,
        timeout: duration("timeout")?,
        start_period: duration("start_period")?,
        start_interval: duration("start_interval")?,
        retries: match map.get("retries") {
            Some(v) if !v.is_null() => Some(cx.u32(&p.key("retries"), v)?),
            _ => None,
        },
        test,
        disable,
    }))
}

fn restart(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Option<Restart>, ComposeError> {
    const EXPECTED: &str =
        "`no`, `always`, `on-failure`, `on-failure:<max retries>` or `unless-stopped`";
    let text = match untag(value) {
        Value::Null => return Ok(None),
        // `restart: no` written for a YAML 1.1 reader, which makes it a boolean.
        Value::Bool(false) => return Ok(Some(Restart::No)),
        other => cx.string(p, other, EXPECTED)?,
    };
    let policy = match text.as_str() {
        "no" => Some(Restart::No),
        "always" => Some(Restart::Always),
        "unless-stopped" => Some(Restart::UnlessStopped),
        "on-failure" => Some(Restart::OnFailure(None)),
        other => other
            .strip_prefix("on-failure:")
            .and_then(|n| n.parse().ok())
            .map(|n| Restart::OnFailure(Some(n))),
    };
    policy
        .map(Some)
        .ok_or_else(|| cx.invalid(p, format!("`{text}` is not a restart policy"), EXPECTED))
}

fn networks(
    cx: &mut Cx<'_>,
    scope: &Scope<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<IndexMap<String, ServiceNetwork>, ComposeError> {
    const EXPECTED: &str =
        "a list of network names, or a mapping of network names to `{aliases: […]}`";
    let mut out = IndexMap::new();
    let mut paths = Vec::new();
    match untag(value) {
        Value::Null => {}
        Value::Sequence(_) => {
            for (i, name) in cx.string_list(p, value, EXPECTED)?.into_iter().enumerate() {
                paths.push((name.clone(), p.index(i)));
                out.insert(name, ServiceNetwork::default());
            }
        }
        Value::Mapping(map) => {
            for (key, entry) in map {
                let name = key_text(key);
                let np = p.key(&name);
                let settings = match untag(entry) {
                    Value::Null => ServiceNetwork::default(),
                    Value::Mapping(long) => {
                        cx.check_keys(
                            &np,
                            long,
                            &[
                                "aliases",
                                "ipv4_address",
                                "ipv6_address",
                                "link_local_ips",
                                "priority",
                                "mac_address",
                                "driver_opts",
                                "gw_priority",
                                "interface_name",
                            ],
                            &[],
                        );
                        for (key, api) in [
                            ("mac_address", "1.44"),
                            ("driver_opts", "1.46"),
                            ("gw_priority", "1.48"),
                            ("interface_name", "1.49"),
                        ] {
                            if long.get(key).is_some_and(|v| !untag(v).is_null()) {
                                return Err(cx.invalid(
                                    &np.key(key),
                                    format!(
                                        "a per-network `{key}` needs Engine API {api}; stevedore \
                                         speaks 1.41"
                                    ),
                                    "the network entry without it",
                                ));
                            }
                        }
                        let address =
                            |key: &str| cx.opt_string(&np.key(key), long.get(key), "an IP address");
                        ServiceNetwork {
                            aliases: match long.get("aliases") {
                                Some(v) => {
                                    cx.string_list(&np.key("aliases"), v, "a list of hostnames")?
                                }
                                None => Vec::new(),
                            },
                            ipv4_address: address("ipv4_address")?,
                            ipv6_address: address("ipv6_address")?,
                            link_local_ips: match long.get("link_local_ips") {
                                Some(v) => cx.string_list(
                                    &np.key("link_local_ips"),
                                    v,
                                    "a list of addresses",
                                )?,
                                None => Vec::new(),
                            },
                            priority: match long.get("priority") {
                                Some(v) => Some(
                                    scalar_text(v)
                                        .and_then(|t| t.trim().parse::<i64>().ok())
                                        .ok_or_else(|| {
                                            cx.wrong(&np.key("priority"), v, "a whole number")
                                        })?,
                                ),
                                None => None,
                            },
                        }
                    }
                    other => {
                        return Err(cx.wrong(&np, other, "a mapping with `aliases:`, or nothing"));
                    }
                };
                paths.push((name.clone(), np));
                out.insert(name, settings);
            }
        }
        other => return Err(cx.wrong(p, other, EXPECTED)),
    }
    for (name, np) in paths {
        if name != "default" && !scope.networks.contains_key(&name) {
            return Err(cx.invalid(
                &np,
                format!("the network `{name}` is not declared"),
                format!("`{name}:` under the top-level `networks:`"),
            ));
        }
    }
    Ok(out)
}
