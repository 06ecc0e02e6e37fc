//! Enhanced health: the environment's status and causes (`DescribeEnvironmentHealth`) and each
//! instance's status, requests, latency and CPU (`DescribeInstancesHealth`), as data and as the
//! table `stevedore health` prints.

use aws_sdk_elasticbeanstalk::Client;
use aws_sdk_elasticbeanstalk::types::{
    EnvironmentHealthAttribute, InstancesHealthAttribute, SingleInstanceHealth,
};

use super::error::AwsError;

/// The environment's health.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EnvHealth {
    /// The EB environment.
    pub environment: String,
    /// Enhanced status: `Ok`, `Warning`, `Degraded`, `Severe`, `Info`, `Pending`, `NoData`, …
    pub status: String,
    /// The basic colour: `Green`, `Yellow`, `Red`, `Grey`.
    pub color: String,
    /// Why it is not `Ok`.
    pub causes: Vec<String>,
    /// When EB last refreshed it (RFC 3339).
    pub refreshed_at: Option<String>,
    /// Each instance.
    pub instances: Vec<InstanceHealth>,
}

/// One instance's health.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InstanceHealth {
    /// `i-…`.
    pub id: String,
    /// Enhanced status.
    pub status: String,
    /// Colour.
    pub color: String,
    /// Why it is not `Ok`.
    pub causes: Vec<String>,
    /// Requests in the last `window_seconds`.
    pub requests: Option<i32>,
    /// The window the request figures cover.
    pub window_seconds: Option<i32>,
    /// Requests answered 5xx.
    pub errors_5xx: Option<i32>,
    /// Median latency, seconds.
    pub latency_p50: Option<f64>,
    /// 99th percentile latency, seconds.
    pub latency_p99: Option<f64>,
    /// CPU busy (100 − idle), percent.
    pub cpu_percent: Option<f64>,
    /// The 1-minute load average.
    pub load_1m: Option<f64>,
    /// The version it runs.
    pub version: Option<String>,
    /// The instance type.
    pub instance_type: Option<String>,
    /// Its availability zone.
    pub availability_zone: Option<String>,
}

impl InstanceHealth {
    fn from_sdk(i: &SingleInstanceHealth) -> InstanceHealth {
        let metrics = i.application_metrics();
        let latency = metrics.and_then(|m| m.latency());
        let system = i.system();
        InstanceHealth {
            id: i.instance_id().unwrap_or("-").to_owned(),
            status: i.health_status().unwrap_or("Unknown").to_owned(),
            color: i.color().unwrap_or("Grey").to_owned(),
            causes: i.causes().to_vec(),
            requests: metrics.map(|m| m.request_count()),
            window_seconds: metrics.and_then(|m| m.duration()),
            errors_5xx: metrics
                .and_then(|m| m.status_codes())
                .and_then(|c| c.status5xx()),
            latency_p50: latency.and_then(|l| l.p50()),
            latency_p99: latency.and_then(|l| l.p99()),
            cpu_percent: system
                .and_then(|s| s.cpu_utilization())
                .and_then(|c| c.idle())
                .map(|idle| (100.0 - idle).max(0.0)),
            load_1m: system.and_then(|s| s.load_average().first().copied()),
            version: i
                .deployment()
                .and_then(|d| d.version_label())
                .map(str::to_owned),
            instance_type: i.instance_type().map(str::to_owned),
            availability_zone: i.availability_zone().map(str::to_owned),
        }
    }
}

/// Ask Elastic Beanstalk for `environment`'s enhanced health and its instances'.
pub async fn describe(eb: &Client, environment: &str) -> Result<EnvHealth, AwsError> {
    let env = eb
        .describe_environment_health()
        .environment_name(environment)
        .attribute_names(EnvironmentHealthAttribute::All)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeEnvironmentHealth", e))?;
    let mut instances = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = eb
            .describe_instances_health()
            .environment_name(environment)
            .attribute_names(InstancesHealthAttribute::All)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeInstancesHealth", e))?;
        instances.extend(
            out.instance_health_list()
                .iter()
                .map(InstanceHealth::from_sdk),
        );
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(EnvHealth {
        environment: env.environment_name().unwrap_or(environment).to_owned(),
        status: env.health_status().unwrap_or("Unknown").to_owned(),
        color: env.color().unwrap_or("Grey").to_owned(),
        causes: env.causes().to_vec(),
        refreshed_at: env.refreshed_at().and_then(|t| {
            t.fmt(aws_sdk_elasticbeanstalk::primitives::DateTimeFormat::DateTime)
                .ok()
        }),
        instances,
    })
}

/// The health as text: a header, the causes, and one row per instance.
pub fn render(health: &EnvHealth) -> String {
    let mut out = format!(
        "{}  {} ({})\n",
        health.environment, health.status, health.color
    );
    for cause in &health.causes {
        out.push_str(&format!("  cause: {cause}\n"));
    }
    let header = [
        "instance", "status", "req/s", "5xx", "p50", "p99", "cpu", "load", "version",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for i in &health.instances {
        let rate = match (i.requests, i.window_seconds) {
            (Some(n), Some(w)) if w > 0 => format!("{:.1}", f64::from(n) / f64::from(w)),
            _ => "-".into(),
        };
        let ms = |s: Option<f64>| s.map_or("-".into(), |s| format!("{:.0}ms", s * 1000.0));
        rows.push(vec![
            i.id.clone(),
            i.status.clone(),
            rate,
            i.errors_5xx.map_or("-".into(), |n| n.to_string()),
            ms(i.latency_p50),
            ms(i.latency_p99),
            i.cpu_percent.map_or("-".into(), |c| format!("{c:.1}%")),
            i.load_1m.map_or("-".into(), |l| format!("{l:.2}")),
            i.version.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(&format!("  {}\n", line.join("  ").trim_end()));
    }
    for i in health.instances.iter().filter(|i| !i.causes.is_empty()) {
        for cause in &i.causes {
            out.push_str(&format!("  {}: {cause}\n", i.id));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_instance_and_says_why() {
        let health = EnvHealth {
            environment: "shop-prod".into(),
            status: "Degraded".into(),
            color: "Red".into(),
            causes: vec!["50.0 % of the requests are failing with HTTP 5xx.".into()],
            refreshed_at: None,
            instances: vec![
                InstanceHealth {
                    id: "i-0abc".into(),
                    status: "Ok".into(),
                    color: "Green".into(),
                    causes: vec![],
                    requests: Some(120),
                    window_seconds: Some(10),
                    errors_5xx: Some(0),
                    latency_p50: Some(0.002),
                    latency_p99: Some(0.031),
                    cpu_percent: Some(4.6),
                    load_1m: Some(0.08),
                    version: Some("1.2.0".into()),
                    instance_type: None,
                    availability_zone: None,
                },
                InstanceHealth {
                    id: "i-0def".into(),
                    status: "Severe".into(),
                    color: "Red".into(),
                    causes: vec!["Process default has been unhealthy for 5 minutes.".into()],
                    requests: None,
                    window_seconds: None,
                    errors_5xx: None,
                    latency_p50: None,
                    latency_p99: None,
                    cpu_percent: None,
                    load_1m: None,
                    version: None,
                    instance_type: None,
                    availability_zone: None,
                },
            ],
        };
        let text = render(&health);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "shop-prod  Degraded (Red)");
        assert!(lines[1].contains("cause: 50.0 %"), "{text}");
        assert!(lines[2].starts_with("  instance  status"), "{text}");
        assert_eq!(
            lines[3],
            "  i-0abc    Ok      12.0   0    2ms  31ms  4.6%  0.08  1.2.0"
        );
        assert_eq!(
            lines[4],
            "  i-0def    Severe  -      -    -    -     -     -     -"
        );
        assert_eq!(
            lines[5],
            "  i-0def: Process default has been unhealthy for 5 minutes."
        );
    }
}
