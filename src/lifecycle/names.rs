//! The names of what an environment creates, as Docker Compose v2 names them: containers
//! `<project>-<service>-1`, networks `<project>_<network>`, volumes `<project>_<volume>`.

use crate::compose::{Format, NetworkDef, VolumeDef};

/// A Compose project name from free text, by Compose's rule: lower case, `[a-z0-9_-]`,
/// starting with a letter or digit. `None` when nothing valid is left.
pub fn project_name(raw: &str) -> Option<String> {
    let name: String = raw
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The container of `service` (replica 1).
pub fn container_name(project: &str, service: &str) -> String {
    format!("{project}-{service}-1")
}

/// A one-off container of `service`; `suffix` makes it unique.
pub fn oneoff_name(project: &str, service: &str, suffix: &str) -> String {
    format!("{project}-{service}-run-{suffix}")
}

/// The real name of network `key`: its `name:`, the key itself when external, otherwise
/// `<project>_<key>` (`default` included).
pub fn network_name(project: &str, key: &str, def: Option<&NetworkDef>) -> String {
    match def {
        Some(NetworkDef {
            name: Some(name), ..
        }) => name.clone(),
        Some(def) if def.external => key.to_owned(),
        _ => format!("{project}_{key}"),
    }
}

/// The real name of named volume `key`. Legacy v1 files had no volume declarations and used
/// the name as written, unprefixed, as docker-compose 1.x does for them.
pub fn volume_name(project: &str, key: &str, def: Option<&VolumeDef>, format: Format) -> String {
    match def {
        Some(VolumeDef {
            name: Some(name), ..
        }) => name.clone(),
        Some(def) if def.external => key.to_owned(),
        _ if format == Format::V1 => key.to_owned(),
        _ => format!("{project}_{key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_follow_compose() {
        let table = [
            ("dev", Some("dev")),
            ("My App", Some("myapp")),
            ("_x-1", Some("x-1")),
            ("demo.dev", Some("demodev")),
            ("--", None),
        ];
        for (raw, want) in table {
            assert_eq!(project_name(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn names_of_what_is_created() {
        assert_eq!(container_name("dev", "app"), "dev-app-1");
        assert_eq!(oneoff_name("dev", "app", "ab12"), "dev-app-run-ab12");
        assert_eq!(network_name("dev", "default", None), "dev_default");
        let named = NetworkDef {
            name: Some("shared".into()),
            ..NetworkDef::default()
        };
        assert_eq!(network_name("dev", "front", Some(&named)), "shared");
        let external = NetworkDef {
            external: true,
            ..NetworkDef::default()
        };
        assert_eq!(network_name("dev", "outside", Some(&external)), "outside");
        assert_eq!(volume_name("dev", "data", None, Format::Spec), "dev_data");
        assert_eq!(volume_name("dev", "data", None, Format::V1), "data");
    }
}
