//! A service's runtime keys (capabilities, namespaces, resources, logging, …) as the Engine's
//! container settings. Pure, like the rest of the plan.

use super::names;
use super::plan::Target;
use crate::compose::Service;
use crate::compose::runtime::Namespace;
use crate::engine::host_options::{DeviceRequestSpec, HostOptions};

/// The Engine settings of `service`'s container; `service:<name>` namespaces name the other
/// service's container.
pub fn options(target: &Target<'_>, service: &Service) -> HostOptions {
    let rt = &service.runtime;
    let namespace = |ns: &Option<Namespace>| {
        ns.as_ref().map(|ns| match ns {
            Namespace::Mode(mode) => mode.clone(),
            Namespace::Container(container) => format!("container:{container}"),
            Namespace::Service(other) => format!("container:{}", container_of(target, other)),
        })
    };
    let r = &rt.resources;
    HostOptions {
        cap_add: rt.cap_add.clone(),
        cap_drop: rt.cap_drop.clone(),
        network_mode: namespace(&rt.network_mode),
        pid_mode: namespace(&rt.pid),
        ipc_mode: namespace(&rt.ipc),
        uts_mode: rt.uts.clone(),
        userns_mode: rt.userns_mode.clone(),
        cgroupns_mode: rt.cgroup.clone(),
        cgroup_parent: rt.cgroup_parent.clone(),
        sysctls: pairs(&rt.sysctls),
        stop_signal: rt.stop_signal.clone(),
        // Docker counts whole seconds; a shorter grace period still gets one.
        stop_timeout: rt.stop_grace_period.map(|d| {
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 { secs + 1 } else { secs }
        }),
        ulimits: rt
            .ulimits
            .iter()
            .map(|(name, limit)| (name.clone(), limit.soft, limit.hard))
            .collect(),
        init: rt.init,
        extra_hosts: rt.extra_hosts.clone(),
        dns: rt.dns.clone(),
        dns_search: rt.dns_search.clone(),
        dns_options: rt.dns_opt.clone(),
        shm_size: rt.shm_size,
        devices: rt
            .devices
            .iter()
            .map(|d| (d.host.clone(), d.container.clone(), d.permissions.clone()))
            .collect(),
        device_cgroup_rules: rt.device_cgroup_rules.clone(),
        device_requests: rt
            .device_requests
            .iter()
            .map(|r| DeviceRequestSpec {
                driver: r.driver.clone(),
                count: r.count,
                device_ids: r.device_ids.clone(),
                capabilities: r.capabilities.clone(),
                options: pairs(&r.options),
            })
            .collect(),
        blkio_weight: rt.blkio.as_ref().and_then(|b| b.weight),
        blkio_weight_device: rt
            .blkio
            .as_ref()
            .map(|b| b.weight_device.clone())
            .unwrap_or_default(),
        blkio_limits: rt
            .blkio
            .as_ref()
            .map(|b| {
                [
                    b.device_read_bps.clone(),
                    b.device_write_bps.clone(),
                    b.device_read_iops.clone(),
                    b.device_write_iops.clone(),
                ]
            })
            .unwrap_or_default(),
        privileged: rt.privileged,
        read_only: rt.read_only,
        security_opt: rt.security_opt.clone(),
        domainname: rt.domainname.clone(),
        log_driver: rt.logging.as_ref().and_then(|l| l.driver.clone()),
        log_options: rt
            .logging
            .as_ref()
            .map(|l| pairs(&l.options))
            .unwrap_or_default(),
        memory: r.memory,
        memory_reservation: r.memory_reservation,
        memory_swap: r.memory_swap,
        memory_swappiness: r.memory_swappiness,
        nano_cpus: r.nano_cpus,
        cpu_shares: r.cpu_shares,
        cpu_period: r.cpu_period,
        cpu_quota: r.cpu_quota,
        cpu_realtime_period: r.cpu_rt_period,
        cpu_realtime_runtime: r.cpu_rt_runtime,
        cpuset_cpus: r.cpuset.clone(),
        cpu_count: r.cpu_count,
        cpu_percent: r.cpu_percent,
        pids_limit: r.pids_limit,
        oom_kill_disable: r.oom_kill_disable,
        oom_score_adj: r.oom_score_adj,
        group_add: rt.group_add.clone(),
        runtime: rt.runtime.clone(),
        isolation: rt.isolation.clone(),
        volume_driver: rt.volume_driver.clone(),
        storage_opt: pairs(&rt.storage_opt),
    }
}

/// The container name of service `name` of the target's file.
pub fn container_of(target: &Target<'_>, name: &str) -> String {
    target
        .file
        .services
        .get(name)
        .and_then(|s| s.container_name.clone())
        .unwrap_or_else(|| names::container_name(target.project, name))
}

/// Secrets and configs as read-only binds, `source:target:ro`.
pub fn file_binds(service: &Service) -> Vec<String> {
    service
        .runtime
        .files
        .iter()
        .map(|f| format!("{}:{}:ro", f.source.display(), f.target))
        .collect()
}

fn pairs(map: &indexmap::IndexMap<String, String>) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
