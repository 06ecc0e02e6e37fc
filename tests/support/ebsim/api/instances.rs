//! DescribeInstancesHealth: enhanced health per instance. The emulated environment has one
//! instance; its status follows the environment's health. The emulator serves no real traffic,
//! so the request and CPU figures are fixed, plausible numbers that renderers can show.

use super::super::error::ApiError;
use super::super::state::{EnvStatus, date, now_ms};
use super::super::xml::Xml;
use super::Call;
use super::environments::find;

/// The attribute names EB accepts.
const ATTRIBUTES: &[&str] = &[
    "HealthStatus",
    "Color",
    "Causes",
    "ApplicationMetrics",
    "RefreshedAt",
    "LaunchedAt",
    "System",
    "Deployment",
    "AvailabilityZone",
    "InstanceType",
    "All",
];

pub fn describe(call: &Call<'_>) -> Result<String, ApiError> {
    let mut asked = Vec::new();
    for n in 1.. {
        let Some(name) = call.params.get(&format!("AttributeNames.member.{n}")) else {
            break;
        };
        if !ATTRIBUTES.contains(&name) {
            return Err(ApiError::constraint(
                "attributeNames",
                name,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    ATTRIBUTES.join(", ")
                ),
            ));
        }
        asked.push(name.to_owned());
    }
    let wants = |name: &str| asked.is_empty() || asked.iter().any(|a| a == name || a == "All");
    let state = call.shared.state();
    let id = find(&state, call.params)?;
    let Some(env) = state.environments.iter().find(|e| e.id == id) else {
        return Err(ApiError::no_environment_id(&id));
    };
    let serving = env.health.wire() == "Green" && env.status == EnvStatus::Ready;
    let mut x = Xml::new();
    x.element("InstanceHealthList", |x| {
        x.element("member", |x| {
            x.text("InstanceId", &env.instance_id);
            if wants("HealthStatus") {
                x.text("HealthStatus", env.health.status(env.status));
            }
            if wants("Color") {
                x.text("Color", env.health.wire());
            }
            if wants("Causes") {
                x.strings("Causes", &env.causes);
            }
            if wants("LaunchedAt") {
                x.time("LaunchedAt", date(env.created));
            }
            if wants("ApplicationMetrics") {
                x.element("ApplicationMetrics", |x| {
                    x.text("Duration", "10")
                        .text("RequestCount", if serving { "120" } else { "0" });
                    if serving {
                        x.element("StatusCodes", |x| {
                            x.text("Status2xx", "118")
                                .text("Status3xx", "0")
                                .text("Status4xx", "2")
                                .text("Status5xx", "0");
                        })
                        .element("Latency", |x| {
                            for (name, value) in [
                                ("P999", "0.052"),
                                ("P99", "0.031"),
                                ("P95", "0.012"),
                                ("P90", "0.008"),
                                ("P85", "0.006"),
                                ("P75", "0.004"),
                                ("P50", "0.002"),
                                ("P10", "0.001"),
                            ] {
                                x.text(name, value);
                            }
                        });
                    }
                });
            }
            if wants("System") {
                x.element("System", |x| {
                    x.element("CPUUtilization", |x| {
                        for (name, value) in [
                            ("User", "3.2"),
                            ("Nice", "0.0"),
                            ("System", "1.1"),
                            ("Idle", "95.4"),
                            ("IOWait", "0.3"),
                            ("IRQ", "0.0"),
                            ("SoftIRQ", "0.0"),
                        ] {
                            x.text(name, value);
                        }
                    })
                    .element("LoadAverage", |x| {
                        for value in ["0.08", "0.05", "0.01"] {
                            x.text("member", value);
                        }
                    });
                });
            }
            if wants("Deployment") {
                x.element("Deployment", |x| {
                    x.opt("VersionLabel", env.version_label.as_deref())
                        .text("DeploymentId", &env.deployment.unwrap_or(0).to_string())
                        .text("Status", "Deployed")
                        .time("DeploymentTime", date(env.updated));
                });
            }
            if wants("AvailabilityZone") {
                x.text(
                    "AvailabilityZone",
                    &format!("{}a", call.shared.options.region),
                );
            }
            if wants("InstanceType") {
                x.text("InstanceType", "t3.micro");
            }
        });
    });
    x.time("RefreshedAt", date(now_ms()));
    Ok(x.finish())
}
