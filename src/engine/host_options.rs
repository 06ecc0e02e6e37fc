//! The container settings beyond image, command, environment, ports, mounts and networks:
//! capabilities, namespaces, resources, logging, DNS, devices, stop signal and timeout. Plain
//! data (so `lifecycle::plan` fills it purely) applied to the Engine API's create body.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, DeviceRequest, HostConfig, HostConfigCgroupnsModeEnum,
    HostConfigIsolationEnum, HostConfigLogConfig, ResourcesBlkioWeightDevice, ResourcesUlimits,
    ThrottleDevice,
};
use serde::Serialize;

/// Container settings that `docker run` takes as flags; every `None`/empty one is left to
/// Docker's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostOptions {
    /// Capabilities added.
    pub cap_add: Vec<String>,
    /// Capabilities dropped.
    pub cap_drop: Vec<String>,
    /// `host`, `none`, `container:<name>`: replaces the container's own networks.
    pub network_mode: Option<String>,
    /// PID namespace: `host` or `container:<name>`.
    pub pid_mode: Option<String>,
    /// IPC namespace.
    pub ipc_mode: Option<String>,
    /// UTS namespace.
    pub uts_mode: Option<String>,
    /// User namespace mode.
    pub userns_mode: Option<String>,
    /// cgroup namespace: `host` or `private`.
    pub cgroupns_mode: Option<String>,
    /// Parent cgroup.
    pub cgroup_parent: Option<String>,
    /// Kernel parameters.
    pub sysctls: Vec<(String, String)>,
    /// Stop signal.
    pub stop_signal: Option<String>,
    /// Seconds `docker stop` waits before it kills.
    pub stop_timeout: Option<i64>,
    /// `(name, soft, hard)`.
    pub ulimits: Vec<(String, i64, i64)>,
    /// Run an init as PID 1.
    pub init: Option<bool>,
    /// `host:ip` entries for `/etc/hosts`.
    pub extra_hosts: Vec<String>,
    /// DNS servers.
    pub dns: Vec<String>,
    /// DNS search domains.
    pub dns_search: Vec<String>,
    /// Resolver options.
    pub dns_options: Vec<String>,
    /// `/dev/shm` size, bytes.
    pub shm_size: Option<i64>,
    /// `(host, container, permissions)`.
    pub devices: Vec<(String, String, String)>,
    /// cgroup device rules.
    pub device_cgroup_rules: Vec<String>,
    /// Driver devices (GPUs): `(driver, count, device ids, capabilities, options)`.
    pub device_requests: Vec<DeviceRequestSpec>,
    /// Block IO weight.
    pub blkio_weight: Option<u16>,
    /// Per-device block IO weights.
    pub blkio_weight_device: Vec<(String, u16)>,
    /// Per-device limits: read bytes/s, write bytes/s, read IO/s, write IO/s.
    pub blkio_limits: [Vec<(String, i64)>; 4],
    /// Privileged mode.
    pub privileged: bool,
    /// Read-only root file system.
    pub read_only: bool,
    /// Security options.
    pub security_opt: Vec<String>,
    /// NIS domain name.
    pub domainname: Option<String>,
    /// Logging driver.
    pub log_driver: Option<String>,
    /// Logging driver options.
    pub log_options: Vec<(String, String)>,
    /// Memory limit, bytes.
    pub memory: Option<i64>,
    /// Memory reservation, bytes.
    pub memory_reservation: Option<i64>,
    /// Memory + swap, bytes.
    pub memory_swap: Option<i64>,
    /// Swappiness.
    pub memory_swappiness: Option<i64>,
    /// CPUs in billionths.
    pub nano_cpus: Option<i64>,
    /// CPU weight.
    pub cpu_shares: Option<i64>,
    /// CFS period, µs.
    pub cpu_period: Option<i64>,
    /// CFS quota, µs.
    pub cpu_quota: Option<i64>,
    /// Real-time period, µs.
    pub cpu_realtime_period: Option<i64>,
    /// Real-time runtime, µs.
    pub cpu_realtime_runtime: Option<i64>,
    /// Usable CPUs.
    pub cpuset_cpus: Option<String>,
    /// Windows CPU count.
    pub cpu_count: Option<i64>,
    /// Windows CPU percent.
    pub cpu_percent: Option<i64>,
    /// Process limit.
    pub pids_limit: Option<i64>,
    /// Never OOM-kill.
    pub oom_kill_disable: Option<bool>,
    /// OOM preference.
    pub oom_score_adj: Option<i64>,
    /// Extra groups.
    pub group_add: Vec<String>,
    /// OCI runtime.
    pub runtime: Option<String>,
    /// Windows isolation.
    pub isolation: Option<String>,
    /// Volume driver.
    pub volume_driver: Option<String>,
    /// Storage driver options.
    pub storage_opt: Vec<(String, String)>,
}

/// One request for driver devices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceRequestSpec {
    /// The driver (`None`: any with the capabilities).
    pub driver: Option<String>,
    /// How many (`-1`: all).
    pub count: Option<i64>,
    /// Specific devices.
    pub device_ids: Vec<String>,
    /// Required capabilities (one set).
    pub capabilities: Vec<String>,
    /// Driver options.
    pub options: Vec<(String, String)>,
}

fn throttle(list: &[(String, i64)]) -> Option<Vec<ThrottleDevice>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|(path, rate)| ThrottleDevice {
                path: Some(path.clone()),
                rate: Some(*rate),
            })
            .collect()
    })
}

fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

fn map(pairs: &[(String, String)]) -> Option<HashMap<String, String>> {
    (!pairs.is_empty()).then(|| pairs.iter().cloned().collect())
}

impl HostOptions {
    /// Write these settings into `body` (and its host config).
    pub fn apply(&self, body: &mut ContainerCreateBody) {
        body.domainname = self.domainname.clone();
        body.stop_signal = self.stop_signal.clone();
        body.stop_timeout = self.stop_timeout;
        let host = body.host_config.get_or_insert_with(HostConfig::default);
        if let Some(mode) = &self.network_mode {
            host.network_mode = Some(mode.clone());
        }
        host.cap_add = non_empty(&self.cap_add);
        host.cap_drop = non_empty(&self.cap_drop);
        host.pid_mode = self.pid_mode.clone();
        host.ipc_mode = self.ipc_mode.clone();
        host.uts_mode = self.uts_mode.clone();
        host.userns_mode = self.userns_mode.clone();
        host.cgroupns_mode = self.cgroupns_mode.as_deref().map(|mode| match mode {
            "host" => HostConfigCgroupnsModeEnum::HOST,
            _ => HostConfigCgroupnsModeEnum::PRIVATE,
        });
        host.cgroup_parent = self.cgroup_parent.clone();
        host.sysctls = map(&self.sysctls);
        host.ulimits = (!self.ulimits.is_empty()).then(|| {
            self.ulimits
                .iter()
                .map(|(name, soft, hard)| ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(*soft),
                    hard: Some(*hard),
                })
                .collect()
        });
        host.init = self.init;
        host.extra_hosts = non_empty(&self.extra_hosts);
        host.dns = non_empty(&self.dns);
        host.dns_search = non_empty(&self.dns_search);
        host.dns_options = non_empty(&self.dns_options);
        host.shm_size = self.shm_size;
        host.devices = (!self.devices.is_empty()).then(|| {
            self.devices
                .iter()
                .map(|(on_host, in_container, permissions)| DeviceMapping {
                    path_on_host: Some(on_host.clone()),
                    path_in_container: Some(in_container.clone()),
                    cgroup_permissions: Some(permissions.clone()),
                })
                .collect()
        });
        host.device_cgroup_rules = non_empty(&self.device_cgroup_rules);
        host.device_requests = (!self.device_requests.is_empty()).then(|| {
            self.device_requests
                .iter()
                .map(|r| DeviceRequest {
                    driver: r.driver.clone(),
                    count: r.count,
                    device_ids: non_empty(&r.device_ids),
                    capabilities: non_empty(&r.capabilities).map(|c| vec![c]),
                    options: map(&r.options),
                })
                .collect()
        });
        host.blkio_weight = self.blkio_weight;
        host.blkio_weight_device = (!self.blkio_weight_device.is_empty()).then(|| {
            self.blkio_weight_device
                .iter()
                .map(|(path, weight)| ResourcesBlkioWeightDevice {
                    path: Some(path.clone()),
                    weight: Some(usize::from(*weight)),
                })
                .collect()
        });
        let [read_bps, write_bps, read_iops, write_iops] = &self.blkio_limits;
        host.blkio_device_read_bps = throttle(read_bps);
        host.blkio_device_write_bps = throttle(write_bps);
        host.blkio_device_read_iops = throttle(read_iops);
        host.blkio_device_write_iops = throttle(write_iops);
        host.privileged = self.privileged.then_some(true);
        host.readonly_rootfs = self.read_only.then_some(true);
        host.security_opt = non_empty(&self.security_opt);
        if self.log_driver.is_some() || !self.log_options.is_empty() {
            host.log_config = Some(HostConfigLogConfig {
                typ: self.log_driver.clone(),
                config: map(&self.log_options),
            });
        }
        host.memory = self.memory;
        host.memory_reservation = self.memory_reservation;
        host.memory_swap = self.memory_swap;
        host.memory_swappiness = self.memory_swappiness;
        host.nano_cpus = self.nano_cpus;
        host.cpu_shares = self.cpu_shares;
        host.cpu_period = self.cpu_period;
        host.cpu_quota = self.cpu_quota;
        host.cpu_realtime_period = self.cpu_realtime_period;
        host.cpu_realtime_runtime = self.cpu_realtime_runtime;
        host.cpuset_cpus = self.cpuset_cpus.clone();
        host.cpu_count = self.cpu_count;
        host.cpu_percent = self.cpu_percent;
        host.pids_limit = self.pids_limit;
        host.oom_kill_disable = self.oom_kill_disable;
        host.oom_score_adj = self.oom_score_adj;
        host.group_add = non_empty(&self.group_add);
        host.runtime = self.runtime.clone();
        host.isolation = self.isolation.as_deref().map(|mode| match mode {
            "process" => HostConfigIsolationEnum::PROCESS,
            "hyperv" => HostConfigIsolationEnum::HYPERV,
            _ => HostConfigIsolationEnum::DEFAULT,
        });
        host.volume_driver = self.volume_driver.clone();
        host.storage_opt = map(&self.storage_opt);
    }

    /// Whether the container shares another's network stack, or has none of its own to join
    /// networks with (`host`, `none`, `container:…`).
    pub fn replaces_networks(&self) -> bool {
        self.network_mode.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_reach_the_host_config() {
        let options = HostOptions {
            cap_add: vec!["NET_ADMIN".into()],
            network_mode: Some("host".into()),
            sysctls: vec![("net.core.somaxconn".into(), "1024".into())],
            stop_signal: Some("SIGINT".into()),
            stop_timeout: Some(3),
            ulimits: vec![("nofile".into(), 1024, 2048)],
            log_driver: Some("json-file".into()),
            log_options: vec![("max-size".into(), "1m".into())],
            memory: Some(64 << 20),
            read_only: true,
            ..Default::default()
        };
        let mut body = ContainerCreateBody::default();
        options.apply(&mut body);
        let host = body.host_config.unwrap_or_default();
        assert_eq!(body.stop_signal.as_deref(), Some("SIGINT"));
        assert_eq!(body.stop_timeout, Some(3));
        assert_eq!(host.network_mode.as_deref(), Some("host"));
        assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".to_owned()]));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.memory, Some(64 << 20));
        let ulimit = &host.ulimits.unwrap_or_default()[0];
        assert_eq!((ulimit.soft, ulimit.hard), (Some(1024), Some(2048)));
        let log = host.log_config.unwrap_or_default();
        assert_eq!(log.typ.as_deref(), Some("json-file"));
        assert_eq!(
            host.sysctls.unwrap_or_default()["net.core.somaxconn"],
            "1024"
        );
        assert_eq!(host.privileged, None);
    }
}
