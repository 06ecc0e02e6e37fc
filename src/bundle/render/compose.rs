//! A `docker-compose.yml` for the "Docker running on Amazon Linux" platform with Compose, plus a
//! Dockerrun v3 when the instances need registry credentials.
//!
//! Variable references are kept as written: on the instance Compose interpolates them from the
//! `.env` Elastic Beanstalk writes with the environment's properties.

use serde_norway::{Mapping, Value};

use super::{
    BindSource, RenderInput, RunFiles, bind_source, image_of, literal_environment, published_ports,
    unsupported_runtime,
};
use crate::bundle::{BundleError, COMPOSE_FILE, DOCKERRUN, StagedFile};
use crate::compose::runtime::{Namespace, Runtime};
use crate::compose::{Condition, MountKind, Protocol, VolumesFromSource};

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn list(items: impl IntoIterator<Item = String>) -> Value {
    Value::Sequence(items.into_iter().map(Value::String).collect())
}

/// A value of the loaded model, which is interpolated already: Compose on the instance must
/// read every `$` in it as a literal `$` (`$$`), not as a variable to fill in again.
fn escaped(text: &str) -> String {
    text.replace('$', "$$")
}

fn escaped_list<'t>(items: impl IntoIterator<Item = &'t String>) -> Value {
    list(items.into_iter().map(|item| escaped(item)))
}

pub(super) fn render(input: &RenderInput<'_>) -> Result<RunFiles, BundleError> {
    let mut notes = Vec::new();
    let mut lossy = Vec::new();
    let mut mounts = Vec::new();
    let ports = published_ports(input, &mut notes, &mut lossy)?;
    let mut services = Mapping::new();
    let mut named_volumes = Mapping::new();
    for (name, service) in &input.compose.services {
        let mut out = Mapping::new();
        out.insert(s("image"), s(image_of(name, service, input, &mut notes)?));
        if let Some(entrypoint) = &service.entrypoint {
            out.insert(s("entrypoint"), escaped_list(entrypoint));
        }
        if let Some(command) = &service.command {
            out.insert(s("command"), escaped_list(command));
        }
        let mut environment = Mapping::new();
        let mut quiet = Vec::new();
        for (key, value) in literal_environment(name, service, input, &mut quiet) {
            environment.insert(s(key), s(escaped(&value)));
        }
        if let Some(raw) = input.raw.get(name) {
            for (key, written) in &raw.variable_env {
                let value = written.clone().unwrap_or_else(|| format!("${{{key}}}"));
                environment.insert(s(key.clone()), s(value));
            }
        }
        if !environment.is_empty() {
            out.insert(s("environment"), Value::Mapping(environment));
        }
        if !service.env_file.is_empty() {
            // The instance's `.env` holds the environment's properties (what `--sync-env` sets
            // from environments/<env>/.env), so the service still gets them all.
            out.insert(s("env_file"), list([".env".to_owned()]));
        }
        let published: Vec<String> = ports
            .get(name)
            .into_iter()
            .flatten()
            .map(|p| {
                let mut text = match p.host {
                    Some(host) => format!("{host}:{}", p.container),
                    None => p.container.to_string(),
                };
                if p.protocol != Protocol::Tcp {
                    text.push('/');
                    text.push_str(p.protocol.as_str());
                }
                text
            })
            .collect();
        if !published.is_empty() {
            out.insert(s("ports"), list(published));
        }
        if !service.expose.is_empty() {
            out.insert(
                s("expose"),
                list(service.expose.iter().map(|e| e.port.to_string())),
            );
        }
        if !service.links.is_empty() {
            out.insert(
                s("links"),
                list(service.links.iter().map(|l| match &l.alias {
                    Some(alias) => format!("{}:{alias}", l.service),
                    None => l.service.clone(),
                })),
            );
        }
        if !service.depends_on.is_empty() {
            let mut depends = Mapping::new();
            for (dependency, condition) in &service.depends_on {
                let condition = match condition {
                    Condition::ServiceStarted => "service_started",
                    Condition::ServiceHealthy => "service_healthy",
                    Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
                };
                let mut entry = Mapping::new();
                entry.insert(s("condition"), s(condition));
                depends.insert(s(dependency.clone()), Value::Mapping(entry));
            }
            out.insert(s("depends_on"), Value::Mapping(depends));
        }
        let mut volumes = Vec::new();
        let mut tmpfs: Vec<String> = Vec::new();
        for mount in &service.volumes {
            let mode = if mount.read_only { ":ro" } else { "" };
            match (mount.kind, &mount.source) {
                (MountKind::Bind, Some(source)) => {
                    let host = match bind_source(input.root, name, source, &mut notes) {
                        BindSource::Bundle(rel) if rel.is_empty() => ".".to_owned(),
                        BindSource::Bundle(rel) => {
                            mounts.push(rel.clone());
                            format!("./{rel}")
                        }
                        BindSource::Host(path) => path,
                    };
                    volumes.push(format!("{host}:{}{mode}", mount.target));
                }
                (MountKind::Volume, Some(volume)) => {
                    named_volumes.insert(s(volume.clone()), Value::Mapping(Mapping::new()));
                    volumes.push(format!("{volume}:{}{mode}", mount.target));
                }
                (MountKind::Volume | MountKind::Bind, None) => volumes.push(mount.target.clone()),
                (MountKind::Tmpfs, _) if mount.options.is_empty() => {
                    tmpfs.push(mount.target.clone())
                }
                (MountKind::Tmpfs, _) => {
                    tmpfs.push(format!("{}:{}", mount.target, mount.options.join(",")))
                }
            }
        }
        if !volumes.is_empty() {
            out.insert(s("volumes"), list(volumes));
        }
        tmpfs.extend(service.runtime.tmpfs.iter().cloned());
        if !tmpfs.is_empty() {
            out.insert(s("tmpfs"), list(tmpfs));
        }
        if !service.labels.is_empty() {
            let labels: Mapping = service
                .labels
                .iter()
                .map(|(k, v)| (s(k.clone()), s(escaped(v))))
                .collect();
            out.insert(s("labels"), Value::Mapping(labels));
        }
        for (key, on) in [("tty", service.tty), ("stdin_open", service.stdin_open)] {
            if on {
                out.insert(s(key), Value::Bool(true));
            }
        }
        unsupported_runtime(name, service, SUPPORTED, "the compose bundle", &mut lossy);
        runtime_keys(&service.runtime, &mut out);
        let mut from = Vec::new();
        for entry in &service.volumes_from {
            let mode = if entry.read_only { ":ro" } else { "" };
            match &entry.source {
                VolumesFromSource::Service(source) => from.push(format!("{source}{mode}")),
                VolumesFromSource::Container(container) => {
                    return Err(BundleError::Invalid(format!(
                        "service `{name}` takes volumes from container `{container}`, which does \
                         not exist on Elastic Beanstalk; use a service of the compose file"
                    )));
                }
            }
        }
        if !from.is_empty() {
            out.insert(s("volumes_from"), list(from));
        }
        for (key, value) in [
            ("working_dir", &service.working_dir),
            ("user", &service.user),
            ("hostname", &service.hostname),
        ] {
            if let Some(value) = value {
                out.insert(s(key), s(escaped(value)));
            }
        }
        if let Some(restart) = service.restart {
            out.insert(s("restart"), s(restart.to_string()));
        }
        if let Some(healthcheck) = &service.healthcheck {
            let mut check = Mapping::new();
            if healthcheck.disable {
                check.insert(s("disable"), Value::Bool(true));
            } else {
                if !healthcheck.test.is_empty() {
                    check.insert(s("test"), escaped_list(&healthcheck.test));
                }
                for (key, value) in [
                    ("interval", healthcheck.interval),
                    ("timeout", healthcheck.timeout),
                    ("start_period", healthcheck.start_period),
                ] {
                    if let Some(value) = value {
                        check.insert(s(key), s(format!("{}ms", value.as_millis())));
                    }
                }
                if let Some(retries) = healthcheck.retries {
                    check.insert(s("retries"), Value::Number(retries.into()));
                }
            }
            out.insert(s("healthcheck"), Value::Mapping(check));
        }
        services.insert(s(name.clone()), Value::Mapping(out));
    }
    let mut doc = Mapping::new();
    doc.insert(s("services"), Value::Mapping(services));
    if !named_volumes.is_empty() {
        doc.insert(s("volumes"), Value::Mapping(named_volumes));
    }
    let text = serde_norway::to_string(&Value::Mapping(doc))
        .map_err(|e| BundleError::Invalid(format!("rendering {COMPOSE_FILE}: {e}")))?;
    let header =
        "# Rendered by stevedore from the environment's compose file; images pinned by digest.\n";
    let mut files = vec![StagedFile::new(
        COMPOSE_FILE,
        format!("{header}{text}").into_bytes(),
    )];
    if let Some(auth) = input.auth {
        files.push(StagedFile::json(
            DOCKERRUN,
            &serde_json::json!({
                "AWSEBDockerrunVersion": "3",
                "Authentication": {"bucket": auth.bucket, "key": auth.key},
            }),
        )?);
    }
    Ok(RunFiles {
        files,
        notes,
        mounts,
        lossy,
    })
}

/// Every runtime key but secrets and configs: Compose on the instance runs them as `start` does.
const SUPPORTED: &[&str] = &[
    "cap_add",
    "cap_drop",
    "network_mode",
    "pid",
    "ipc",
    "uts",
    "userns_mode",
    "cgroup",
    "cgroup_parent",
    "sysctls",
    "stop_signal",
    "stop_grace_period",
    "ulimits",
    "init",
    "extra_hosts",
    "dns",
    "dns_search",
    "dns_opt",
    "shm_size",
    "tmpfs",
    "devices",
    "device_cgroup_rules",
    "privileged",
    "read_only",
    "security_opt",
    "domainname",
    "logging",
    "mem_limit",
    "mem_reservation",
    "memswap_limit",
    "mem_swappiness",
    "cpus",
    "cpu_shares",
    "cpu_period/cpu_quota/cpu_rt_*",
    "cpuset",
    "pids_limit",
    "oom_kill_disable",
    "oom_score_adj",
    "group_add",
    "runtime",
    "storage_opt",
    "platform",
    "gpus",
    "blkio_config",
];

/// `blkio_config` in the Compose spec's form.
fn blkio(b: &crate::compose::runtime::Blkio) -> Value {
    let mut out = Mapping::new();
    if let Some(weight) = b.weight {
        out.insert(s("weight"), Value::Number(weight.into()));
    }
    let entries = |field: &str, list: Vec<(String, i64)>| {
        Value::Sequence(
            list.into_iter()
                .map(|(path, n)| {
                    let mut entry = Mapping::new();
                    entry.insert(s("path"), s(path));
                    entry.insert(s(field), Value::Number(n.into()));
                    Value::Mapping(entry)
                })
                .collect(),
        )
    };
    let weights = b
        .weight_device
        .iter()
        .map(|(p, w)| (p.clone(), i64::from(*w)))
        .collect();
    for (key, field, list) in [
        ("weight_device", "weight", weights),
        ("device_read_bps", "rate", b.device_read_bps.clone()),
        ("device_write_bps", "rate", b.device_write_bps.clone()),
        ("device_read_iops", "rate", b.device_read_iops.clone()),
        ("device_write_iops", "rate", b.device_write_iops.clone()),
    ] {
        if !list.is_empty() {
            out.insert(s(key), entries(field, list));
        }
    }
    Value::Mapping(out)
}

/// GPU requests as `deploy.resources.reservations.devices`.
fn device_reservations(rt: &Runtime) -> Value {
    let devices: Vec<Value> = rt
        .device_requests
        .iter()
        .map(|r| {
            let mut entry = Mapping::new();
            if let Some(driver) = &r.driver {
                entry.insert(s("driver"), s(driver.clone()));
            }
            match r.count {
                Some(-1) => {
                    entry.insert(s("count"), s("all"));
                }
                Some(n) => {
                    entry.insert(s("count"), Value::Number(n.into()));
                }
                None => {}
            }
            if !r.device_ids.is_empty() {
                entry.insert(s("device_ids"), list(r.device_ids.iter().cloned()));
            }
            entry.insert(s("capabilities"), list(r.capabilities.iter().cloned()));
            if !r.options.is_empty() {
                let options: Mapping = r
                    .options
                    .iter()
                    .map(|(k, v)| (s(k.clone()), s(escaped(v))))
                    .collect();
                entry.insert(s("options"), Value::Mapping(options));
            }
            Value::Mapping(entry)
        })
        .collect();
    let mut reservations = Mapping::new();
    reservations.insert(s("devices"), Value::Sequence(devices));
    let mut resources = Mapping::new();
    resources.insert(s("reservations"), Value::Mapping(reservations));
    let mut deploy = Mapping::new();
    deploy.insert(s("resources"), Value::Mapping(resources));
    Value::Mapping(deploy)
}

/// The runtime keys, written back in the Compose spec's own forms.
fn runtime_keys(rt: &Runtime, out: &mut Mapping) {
    let mut put = |key: &str, value: Value| {
        out.insert(s(key), value);
    };
    let text = |value: &Option<String>| value.as_deref().map(|t| s(escaped(t)));
    let number = |value: Option<i64>| value.map(|n| Value::Number(n.into()));
    let strings = |items: &[String]| (!items.is_empty()).then(|| escaped_list(items));
    let pairs = |map: &indexmap::IndexMap<String, String>| {
        (!map.is_empty()).then(|| {
            Value::Mapping(
                map.iter()
                    .map(|(k, v)| (s(k.clone()), s(escaped(v))))
                    .collect(),
            )
        })
    };
    let namespace = |ns: &Option<Namespace>| ns.as_ref().map(|n| s(n.to_string()));
    let r = &rt.resources;
    let entries: Vec<(&str, Option<Value>)> = vec![
        ("cap_add", strings(&rt.cap_add)),
        ("cap_drop", strings(&rt.cap_drop)),
        ("network_mode", namespace(&rt.network_mode)),
        ("pid", namespace(&rt.pid)),
        ("ipc", namespace(&rt.ipc)),
        ("uts", text(&rt.uts)),
        ("userns_mode", text(&rt.userns_mode)),
        ("cgroup", text(&rt.cgroup)),
        ("cgroup_parent", text(&rt.cgroup_parent)),
        ("sysctls", pairs(&rt.sysctls)),
        ("stop_signal", text(&rt.stop_signal)),
        (
            "stop_grace_period",
            rt.stop_grace_period
                .map(|d| s(format!("{}ms", d.as_millis()))),
        ),
        (
            "ulimits",
            (!rt.ulimits.is_empty()).then(|| {
                Value::Mapping(
                    rt.ulimits
                        .iter()
                        .map(|(name, limit)| {
                            let mut entry = Mapping::new();
                            entry.insert(s("soft"), Value::Number(limit.soft.into()));
                            entry.insert(s("hard"), Value::Number(limit.hard.into()));
                            (s(name.clone()), Value::Mapping(entry))
                        })
                        .collect(),
                )
            }),
        ),
        ("init", rt.init.map(Value::Bool)),
        ("extra_hosts", strings(&rt.extra_hosts)),
        ("dns", strings(&rt.dns)),
        ("dns_search", strings(&rt.dns_search)),
        ("dns_opt", strings(&rt.dns_opt)),
        ("shm_size", number(rt.shm_size)),
        (
            "devices",
            (!rt.devices.is_empty()).then(|| {
                list(
                    rt.devices
                        .iter()
                        .map(|d| format!("{}:{}:{}", d.host, d.container, d.permissions)),
                )
            }),
        ),
        ("device_cgroup_rules", strings(&rt.device_cgroup_rules)),
        ("privileged", rt.privileged.then_some(Value::Bool(true))),
        ("read_only", rt.read_only.then_some(Value::Bool(true))),
        ("security_opt", strings(&rt.security_opt)),
        ("domainname", text(&rt.domainname)),
        (
            "logging",
            rt.logging.as_ref().map(|l| {
                let mut entry = Mapping::new();
                if let Some(driver) = &l.driver {
                    entry.insert(s("driver"), s(driver.clone()));
                }
                if let Some(options) = pairs(&l.options) {
                    entry.insert(s("options"), options);
                }
                Value::Mapping(entry)
            }),
        ),
        ("mem_limit", number(r.memory)),
        ("mem_reservation", number(r.memory_reservation)),
        ("memswap_limit", number(r.memory_swap)),
        ("mem_swappiness", number(r.memory_swappiness)),
        (
            "cpus",
            r.nano_cpus.map(|n| s(format!("{}", n as f64 / 1e9))),
        ),
        ("cpu_shares", number(r.cpu_shares)),
        ("cpu_period", number(r.cpu_period)),
        ("cpu_quota", number(r.cpu_quota)),
        ("cpu_rt_period", number(r.cpu_rt_period)),
        ("cpu_rt_runtime", number(r.cpu_rt_runtime)),
        ("cpuset", text(&r.cpuset)),
        ("pids_limit", number(r.pids_limit)),
        ("oom_kill_disable", r.oom_kill_disable.map(Value::Bool)),
        ("oom_score_adj", number(r.oom_score_adj)),
        ("group_add", strings(&rt.group_add)),
        ("runtime", text(&rt.runtime)),
        ("storage_opt", pairs(&rt.storage_opt)),
        ("platform", text(&rt.platform)),
        ("blkio_config", rt.blkio.as_ref().map(blkio)),
        (
            "deploy",
            (!rt.device_requests.is_empty()).then(|| device_reservations(rt)),
        ),
    ];
    for (key, value) in entries {
        if let Some(value) = value {
            put(key, value);
        }
    }
}
