//! The order services start in: layers of services whose dependencies (`depends_on`, `links`,
//! `volumes_from` of a service) all started in earlier layers, so each layer can start in
//! parallel.

use super::error::ComposeError;
use super::model::VolumesFromSource;
use super::{ComposeFile, Service};

/// The services `service` must wait for, in order of first mention, without repeats.
pub(crate) fn dependencies(service: &Service) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let named = service
        .depends_on
        .keys()
        .map(String::as_str)
        .chain(service.links.iter().map(|link| link.service.as_str()))
        .chain(
            service
                .volumes_from
                .iter()
                .filter_map(|from| match &from.source {
                    VolumesFromSource::Service(name) => Some(name.as_str()),
                    VolumesFromSource::Container(_) => None,
                }),
        )
        .chain(service.runtime.service_references());
    for name in named {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Group the services of `file` into start layers, each in file order.
pub(crate) fn layers(file: &ComposeFile) -> Result<Vec<Vec<String>>, ComposeError> {
    let mut placed: Vec<&str> = Vec::new();
    let mut remaining: Vec<&str> = file.services.keys().map(String::as_str).collect();
    let mut layers = Vec::new();
    while !remaining.is_empty() {
        let ready: Vec<&str> = remaining
            .iter()
            .copied()
            .filter(|name| {
                file.services.get(*name).is_some_and(|service| {
                    dependencies(service)
                        .iter()
                        // A reference to a service not in the file was refused at load time;
                        // should a caller have edited the model since, it cannot block anything.
                        .all(|dep| placed.contains(dep) || !file.services.contains_key(*dep))
                })
            })
            .collect();
        if ready.is_empty() {
            return Err(cycle_error(file, &remaining));
        }
        remaining.retain(|name| !ready.contains(name));
        placed.extend(&ready);
        layers.push(ready.into_iter().map(str::to_owned).collect());
    }
    Ok(layers)
}

/// Every service left over sits on or behind a cycle; walk dependencies until one repeats.
fn cycle_error(file: &ComposeFile, remaining: &[&str]) -> ComposeError {
    let mut path: Vec<&str> = Vec::new();
    let mut current = remaining.first().copied();
    while let Some(name) = current {
        if let Some(start) = path.iter().position(|seen| *seen == name) {
            let mut cycle: Vec<String> = path[start..].iter().map(|s| (*s).to_owned()).collect();
            cycle.push(name.to_owned());
            return ComposeError::Cycle {
                file: file.path.clone(),
                line: file.lines.get(path[start]).copied().unwrap_or(1),
                cycle,
            };
        }
        path.push(name);
        current = file.services.get(name).and_then(|service| {
            dependencies(service)
                .into_iter()
                .find(|dep| remaining.contains(dep))
        });
    }
    // Unreachable when the leftovers really are blocked; name them all rather than panic.
    ComposeError::Cycle {
        file: file.path.clone(),
        line: remaining
            .first()
            .and_then(|name| file.lines.get(*name).copied())
            .unwrap_or(1),
        cycle: remaining.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{ComposeError, parse};

    fn order(text: &str) -> Result<Vec<Vec<String>>, ComposeError> {
        let vars = |_: &str| None;
        let file = parse(text, Path::new("/p/docker-compose.yml"), &vars)?;
        file.startup_order()
    }

    #[test]
    fn layers_group_independent_services() {
        let text = "\
services:
  proxy: {image: p, depends_on: [app], links: [cache]}
  app: {image: a, depends_on: {db: {condition: service_healthy}}}
  db: {image: d}
  cache: {image: c}
  worker: {image: w, volumes_from: [app, 'container:other']}
  lone: {image: l}
";
        let got = order(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            got,
            vec![
                vec!["db".to_owned(), "cache".into(), "lone".into()],
                vec!["app".to_owned()],
                vec!["proxy".to_owned(), "worker".into()],
            ]
        );
    }

    #[test]
    fn v1_links_and_volumes_from_order_services() {
        let text = "nginx:\n  image: nginx\n  links: [django]\n  volumes_from: [django]\n\
                    django:\n  image: d\n";
        let got = order(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            got,
            vec![vec!["django".to_owned()], vec!["nginx".to_owned()]]
        );
    }

    #[test]
    fn empty_file_has_no_layers() {
        assert_eq!(order("services: {}\n").ok(), Some(vec![]));
    }

    #[test]
    fn a_cycle_is_an_error_naming_its_services() {
        let text = "\
services:
  first: {image: f}
  a:
    image: a
    depends_on: [b]
  b:
    image: b
    links: [c]
  c:
    image: c
    volumes_from: [a]
";
        let err = order(text).map(|_| ()).expect_err("a cycle");
        let msg = err.to_string();
        assert!(msg.contains("a -> b -> c -> a"), "{msg}");
        assert!(msg.starts_with("/p/docker-compose.yml:3:"), "{msg}");
    }

    #[test]
    fn a_service_depending_on_itself_is_a_cycle() {
        let text = "services:\n  a: {image: a, depends_on: [a]}\n";
        let msg = order(text).map(|_| ()).expect_err("a cycle").to_string();
        assert!(msg.contains("a -> a"), "{msg}");
    }
}
