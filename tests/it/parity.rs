//! Parity with docker-compose: the same compose file, run once by Debian's `docker-compose`
//! (1.29) and once by `stevedore start`, must give the same containers. The fixtures and what
//! they cover are described in `tests/data/parity/README.md`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::docker::{self, Cleanup, compose_project_objects, docker as cli, unique};
use crate::support::{Project, copy_tracked, unavailable};

/// Whether `docker-compose` (v1) runs here; skipped loudly, or failed under CI, when not.
fn compose_ready() -> bool {
    match Command::new("docker-compose").arg("version").output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => unavailable("docker-compose", &String::from_utf8_lossy(&out.stderr)),
        Err(err) => unavailable(
            "docker-compose",
            &format!("{err} (apt-get install docker-compose)"),
        ),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The variables both tools see: the image, host ports, and one bare `environment:` key.
fn variables() -> Vec<(String, String)> {
    vec![
        ("PARITY_IMAGE".into(), docker::BASE_IMAGE.into()),
        ("PARITY_PORT_1".into(), free_port().to_string()),
        ("PARITY_PORT_2".into(), free_port().to_string()),
        ("FROM_SHELL".into(), "from the shell".into()),
        // A /24 of its own for fixed addresses, unlikely to meet another test's network.
        ("PARITY_SUBNET".into(), {
            let port = free_port();
            format!("10.{}.{}", 100 + port % 100, port / 256 % 256)
        }),
    ]
}

/// `docker inspect` of every container of Compose project `project`, by service.
/// And each service's container id.
fn inspect_with_ids(project: &str) -> (BTreeMap<String, Value>, BTreeMap<String, String>) {
    let ids = compose_project_objects("container", project);
    assert!(!ids.is_empty(), "project {project} has no containers");
    let mut args = vec!["inspect"];
    args.extend(ids.iter().map(String::as_str));
    let text = cli(&args).expect("docker inspect");
    let all: Vec<Value> = serde_json::from_str(&text).expect("inspect JSON");
    let by_service: BTreeMap<String, Value> = all
        .into_iter()
        .map(|c| {
            let service = c["Config"]["Labels"]["com.docker.compose.service"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (service, c)
        })
        .collect();
    let ids = by_service
        .iter()
        .map(|(service, c)| {
            (
                service.clone(),
                c["Id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (by_service, ids)
}

/// Rewrites tool-specific names into tool-neutral ones: `dev_django_1` (docker-compose 1.x)
/// and `dev-django-1` (stevedore, like Compose v2) both become `<django>`, `django_1` and
/// `django-1` become `<django-1>`, and the project prefix of networks and volumes `<p>`.
struct Names {
    project: String,
    services: Vec<String>,
    /// Container ids of the project, by service (`network_mode: service:x` names an id).
    ids: BTreeMap<String, String>,
}

impl Names {
    fn name(&self, text: &str) -> String {
        let text = text.trim_start_matches('/');
        if let Some(target) = text.strip_prefix("container:") {
            return format!("container:{}", self.name(target));
        }
        if let Some((service, _)) = self.ids.iter().find(|(_, id)| id.as_str() == text) {
            return format!("<{service}>");
        }
        for service in &self.services {
            for sep in ["_", "-"] {
                if text == format!("{}{sep}{service}{sep}1", self.project) {
                    return format!("<{service}>");
                }
                if text == format!("{service}{sep}1") {
                    return format!("<{service}-1>");
                }
            }
        }
        match text.strip_prefix(&format!("{}_", self.project)) {
            Some(rest) => format!("<p>_{rest}"),
            None => text.to_owned(),
        }
    }

    /// `target:alias` (network links) or `/target:/linker/alias` (legacy links).
    fn link(&self, text: &str) -> String {
        let (target, alias) = text.split_once(':').unwrap_or((text, ""));
        let alias = alias.rsplit('/').next().unwrap_or(alias);
        format!("{}:{}", self.name(target), self.name(alias))
    }
}

fn is_short_id(text: &str) -> bool {
    text.len() == 12 && text.chars().all(|c| c.is_ascii_hexdigit())
}

fn sorted(mut items: Vec<Value>) -> Value {
    items.sort_by_key(|v| v.to_string());
    Value::Array(items)
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The comparable form of one container.
fn normal(container: &Value, names: &Names) -> Value {
    let config = &container["Config"];
    let host = &container["HostConfig"];
    let labels: BTreeMap<String, Value> = config["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    !k.starts_with("com.docker.compose.") && !k.starts_with("org.stevedore.")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mounts: Vec<Value> = container["Mounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let name = m["Name"].as_str().unwrap_or_default();
            let name = if name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit()) {
                "<anonymous>".to_owned()
            } else {
                names.name(name)
            };
            json!({
                "type": m["Type"],
                "source": if m["Type"] == "bind" { m["Source"].clone() } else { Value::Null },
                "name": name,
                "destination": m["Destination"],
                "rw": m["RW"],
            })
        })
        .collect();
    let mut bindings: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(map) = host["PortBindings"].as_object() {
        for (port, list) in map {
            bindings.insert(
                port.clone(),
                sorted(list.as_array().cloned().unwrap_or_default()),
            );
        }
    }
    let mut exposed: Vec<String> = config["ExposedPorts"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    exposed.sort();
    let mut networks: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(map) = container["NetworkSettings"]["Networks"].as_object() {
        for (network, endpoint) in map {
            let fixed = &endpoint["IPAMConfig"]["IPv4Address"];
            let aliases: Vec<Value> = strings(&endpoint["Aliases"])
                .into_iter()
                .filter(|a| !is_short_id(a))
                .map(|a| Value::String(names.name(&a)))
                .collect();
            let links: Vec<Value> = strings(&endpoint["Links"])
                .iter()
                .map(|l| Value::String(names.link(l)))
                .collect();
            networks.insert(
                names.name(network),
                json!({"aliases": sorted(aliases), "links": sorted(links), "ipv4_address": fixed}),
            );
        }
    }
    let legacy_links: Vec<Value> = strings(&host["Links"])
        .iter()
        .map(|l| Value::String(names.link(l)))
        .collect();
    let mut env = strings(&config["Env"]);
    env.sort();
    // The keys beyond the basics (capabilities, namespaces, resources, logging, …). Left out:
    // StopTimeout, which docker-compose 1.x never sets (it applies stop_grace_period itself).
    let runtime = json!({
        // Docker's default hostname is the container's short id.
        "hostname": match config["Hostname"].as_str() {
            Some(h) if is_short_id(h) => json!("<id>"),
            _ => config["Hostname"].clone(),
        },
        "domainname": config["Domainname"],
        "stop_signal": config["StopSignal"],
        "cap_add": host["CapAdd"],
        "cap_drop": host["CapDrop"],
        "sysctls": host["Sysctls"],
        "ulimits": host["Ulimits"],
        "init": host["Init"],
        "extra_hosts": host["ExtraHosts"],
        "dns": host["Dns"],
        "dns_search": host["DnsSearch"],
        "dns_options": host["DnsOptions"],
        "shm_size": host["ShmSize"],
        "tmpfs": host["Tmpfs"],
        "readonly_rootfs": host["ReadonlyRootfs"],
        "security_opt": host["SecurityOpt"],
        "privileged": host["Privileged"],
        "pid_mode": host["PidMode"],
        "ipc_mode": host["IpcMode"],
        "log_config": host["LogConfig"],
        "memory": host["Memory"],
        "memory_reservation": host["MemoryReservation"],
        "memory_swap": host["MemorySwap"],
        "cpu_shares": host["CpuShares"],
        "nano_cpus": host["NanoCpus"],
        "pids_limit": host["PidsLimit"],
        "group_add": host["GroupAdd"],
        "oom_score_adj": host["OomScoreAdj"],
        "devices": host["Devices"],
    });
    json!({
        "image": config["Image"],
        "command": config["Cmd"],
        "entrypoint": config["Entrypoint"],
        "env": env,
        "working_dir": config["WorkingDir"],
        "user": config["User"],
        "tty": config["Tty"],
        "open_stdin": config["OpenStdin"],
        "labels": labels,
        "healthcheck": config["Healthcheck"],
        "exposed": exposed,
        "port_bindings": bindings,
        "restart": host["RestartPolicy"],
        "mounts": sorted(mounts),
        "network_mode": names.name(host["NetworkMode"].as_str().unwrap_or_default()),
        "networks": networks,
        "legacy_links": sorted(legacy_links),
        "runtime": runtime,
    })
}

/// Run one fixture through both tools and compare.
fn check(env: &str, compose_file: &str) {
    let mut cleanup = Cleanup::default();
    let theirs = unique("it-parity-dc").replace('-', "");
    let ours = unique("it-parity-sd").replace('-', "");
    cleanup.compose_project(&theirs);
    cleanup.compose_project(&ours);
    let project = Project::new();
    copy_tracked("tests/data/parity", &project.root());
    let vars = variables();
    let file = project.root().join(compose_file);

    let mut compose = Command::new("docker-compose");
    compose
        .args(["--no-ansi", "-p", &theirs, "-f"])
        .arg(&file)
        .args(["up", "-d", "--no-build"])
        .current_dir(project.root());
    for (k, v) in &vars {
        compose.env(k, v);
    }
    let out = compose.output().expect("run docker-compose");
    assert!(
        out.status.success(),
        "docker-compose up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (theirs_inspected, their_ids) = inspect_with_ids(&theirs);
    let _ = Command::new("docker-compose")
        .args(["--no-ansi", "-p", &theirs, "-f"])
        .arg(&file)
        .args(["down", "-v", "-t", "1"])
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(project.root())
        .output();

    let mut stevedore = project;
    for (k, v) in &vars {
        stevedore = stevedore.env(k, v);
    }
    stevedore
        .run(["start", env, "-f", compose_file, "-p", &ours, "--detach"])
        .success();
    let (ours_inspected, our_ids) = inspect_with_ids(&ours);
    stevedore
        .run(["down", env, "-f", compose_file, "-p", &ours, "--volumes"])
        .success();

    let services: Vec<String> = theirs_inspected.keys().cloned().collect();
    assert_eq!(
        services,
        ours_inspected.keys().cloned().collect::<Vec<_>>(),
        "the same services"
    );
    let mut differences = Vec::new();
    if std::env::var_os("PARITY_DEBUG").is_some() {
        for s in &services {
            eprintln!(
                "{s}: {}",
                normal(
                    &ours_inspected[s],
                    &Names {
                        project: ours.clone(),
                        services: services.clone(),
                        ids: our_ids.clone(),
                    }
                )
            );
        }
    }
    for service in &services {
        let want = normal(
            &theirs_inspected[service],
            &Names {
                project: theirs.clone(),
                services: services.clone(),
                ids: their_ids.clone(),
            },
        );
        let got = normal(
            &ours_inspected[service],
            &Names {
                project: ours.clone(),
                services: services.clone(),
                ids: our_ids.clone(),
            },
        );
        for (key, want_value) in want.as_object().into_iter().flatten() {
            if got[key] != *want_value {
                differences.push(format!(
                    "{compose_file} {service}.{key}:\n  docker-compose: {want_value}\n  stevedore:      {}",
                    got[key]
                ));
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Both tools need the daemon and the base image; the comparison needs docker-compose.
fn ready() -> bool {
    docker::ready() && compose_ready()
}

#[test]
fn dockdj_dev_matches_docker_compose() {
    if !ready() {
        return;
    }
    check("dev", "docker/django/dev/docker-compose.yml");
}

#[test]
fn dockdj_prod_matches_docker_compose() {
    if !ready() {
        return;
    }
    check("prod", "docker/django/prod/docker-compose.yml");
}

#[test]
fn a_spec_file_matches_docker_compose() {
    if !ready() {
        return;
    }
    check("parity", "docker/spec/parity/docker-compose.yml");
}

#[test]
fn runtime_keys_match_docker_compose() {
    if !ready() {
        return;
    }
    check("parity", "docker/spec/runtime/docker-compose.yml");
}
