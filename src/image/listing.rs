//! Listing an environment's images (`image ls`): rows for JSON and a table for people.

use bollard::Docker;
use serde_json::{Value, json};

use super::BuildScope;
use crate::engine::{images, labels};

/// The labels that select an environment's images.
fn env_selector(scope: &BuildScope) -> Vec<(String, String)> {
    vec![
        (labels::PROJECT.to_owned(), scope.project_name.clone()),
        (labels::ENVIRONMENT.to_owned(), scope.env.name.clone()),
    ]
}

/// The images of `scope`'s environment (of `service` only, when given), one JSON row each.
pub async fn list(
    docker: &Docker,
    scope: &BuildScope,
    service: Option<&str>,
) -> anyhow::Result<Vec<Value>> {
    let mut selector = env_selector(scope);
    if let Some(service) = service {
        selector.push((labels::SERVICE.to_owned(), service.to_owned()));
    }
    let found = images::with_labels(docker, &selector).await?;
    let rows: Vec<Value> = found
        .iter()
        .map(|image| {
            let label = |key: &str| image.labels.get(key).cloned().unwrap_or_default();
            json!({
                "service": label(labels::SERVICE),
                "tags": image.repo_tags,
                "id": image.id,
                "size": image.size,
                "created": image.created,
                "commit": label(labels::COMMIT),
                "dirty": label(labels::DIRTY) == "true",
            })
        })
        .collect();
    Ok(rows)
}

/// The rows as a table.
pub fn image_table(rows: &[Value]) -> String {
    let mut text = format!(
        "{:<12} {:<40} {:<12} {:>10} {:<20} {}\n",
        "SERVICE", "TAG", "ID", "SIZE", "CREATED", "COMMIT"
    );
    for row in rows {
        let tags = row["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let id = super::short_id(row["id"].as_str().unwrap_or(""));
        let commit: String = row["commit"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(12)
            .collect();
        let dirty = if row["dirty"] == true { "+dirty" } else { "" };
        text.push_str(&format!(
            "{:<12} {:<40} {:<12} {:>10} {:<20} {commit}{dirty}\n",
            row["service"].as_str().unwrap_or(""),
            tags,
            id,
            super::human_bytes(row["size"].as_u64().unwrap_or(0)),
            format_unix(row["created"].as_i64().unwrap_or(0)),
        ));
    }
    text
}

/// `YYYY-MM-DD HH:MM` (UTC) from a Unix timestamp, without a date crate.
fn format_unix(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rem = seconds.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_dates() {
        assert_eq!(format_unix(0), "1970-01-01 00:00");
        assert_eq!(format_unix(1_795_400_000), "2026-11-23 02:13");
        assert_eq!(format_unix(951_825_600), "2000-02-29 12:00");
    }
}
