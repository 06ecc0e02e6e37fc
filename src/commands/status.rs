//! `stevedore status <env>`: each service's container, state, health, ports, image and
//! uptime, as a table or (`--json`) data. (`--remote` is Elastic Beanstalk's side:
//! `remote_status`.)

use serde_json::{Value, json};

use super::Context;
use crate::cli::StatusArgs;
use crate::engine::containers::{self, ContainerInfo};
use crate::engine::{self, labels};
use crate::lifecycle::plan;
use crate::lifecycle::scope::Runtime;
use crate::output::Report;

/// Run `status`.
pub async fn run(ctx: &Context, args: StatusArgs) -> anyhow::Result<Report> {
    let scope = ctx.env_scope(&args.env, &args.compose, Runtime::Skip)?;
    let docker = engine::connect().await?;
    let all = containers::list(&docker, &plan::project_selector(&scope.project)).await?;
    let services: Vec<&ContainerInfo> = all
        .iter()
        .filter(|c| c.label(labels::compose::ONEOFF) != "True")
        .collect();
    let mut rows = Vec::new();
    for name in scope.file.services.keys() {
        match services
            .iter()
            .find(|c| c.label(labels::compose::SERVICE) == name)
        {
            Some(container) => rows.push(row(&docker, name, container, false).await?),
            None => rows.push(json!({
                "service": name,
                "state": "not created",
                "health": null,
                "ports": [],
            })),
        }
    }
    for orphan in services.iter().filter(|c| {
        !scope
            .file
            .services
            .contains_key(c.label(labels::compose::SERVICE))
    }) {
        let name = orphan.label(labels::compose::SERVICE).to_owned();
        rows.push(row(&docker, &name, orphan, true).await?);
    }
    let text = table(&rows);
    Ok(Report::ok(
        json!({"environment": scope.env(), "project": scope.project, "services": rows}),
        text,
    ))
}

async fn row(
    docker: &bollard::Docker,
    service: &str,
    container: &ContainerInfo,
    orphan: bool,
) -> anyhow::Result<Value> {
    let state = containers::state(docker, &container.id).await?;
    let ports: Vec<Value> = container
        .ports
        .iter()
        .map(|(ip, host, inner, proto)| {
            json!({"host_ip": ip, "host_port": host, "container_port": inner, "protocol": proto})
        })
        .collect();
    Ok(json!({
        "service": service,
        "container": container.name,
        "id": container.id,
        "state": state.status,
        "health": state.health,
        "exit_code": if state.status == "exited" { state.exit_code } else { None },
        "status": container.status,
        "started_at": state.started_at,
        "image": container.image,
        "ports": ports,
        "orphan": orphan,
    }))
}

fn table(rows: &[Value]) -> String {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let mut out = format!(
        "{:<12} {:<28} {:<11} {:<10} {:<22} {:<28} {}\n",
        "SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS", "IMAGE", "STATUS"
    );
    for row in rows {
        let ports: Vec<String> = row["ports"]
            .as_array()
            .map(|ports| {
                let mut seen: Vec<String> = Vec::new();
                for p in ports {
                    let entry = format!(
                        "{}->{}/{}",
                        p["host_port"],
                        p["container_port"],
                        p["protocol"].as_str().unwrap_or("tcp")
                    );
                    if !seen.contains(&entry) {
                        seen.push(entry);
                    }
                }
                seen
            })
            .unwrap_or_default();
        let mut service = text(&row["service"]);
        if row["orphan"] == true {
            service.push_str(" (orphan)");
        }
        out.push_str(&format!(
            "{:<12} {:<28} {:<11} {:<10} {:<22} {:<28} {}\n",
            service,
            text(&row["container"]),
            text(&row["state"]),
            text(&row["health"]),
            if ports.is_empty() {
                "-".to_owned()
            } else {
                ports.join(",")
            },
            text(&row["image"]),
            text(&row["status"]),
        ));
    }
    out
}
