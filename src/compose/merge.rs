//! The Compose merge rules, on YAML values: how an override file (`-f a.yml -f b.yml`,
//! `docker-compose.override.yml`) and a service that `extends` another change what came before.
//!
//! Mappings merge key by key; scalars are replaced; sequences are appended, except `command`,
//! `entrypoint` and `healthcheck.test` (replaced) and the "unique resources" `ports`, `volumes`,
//! `secrets` and `configs`, where an entry replaces the earlier one with the same key (target
//! path, published port). "List or mapping" keys (`environment`, `labels`, `build.args`,
//! `depends_on`, …) merge as mappings whichever form each side is written in. `!reset` removes
//! a value, `!override` replaces it whole.

use serde_norway::value::{Tag, TaggedValue};
use serde_norway::{Mapping, Value};

use super::fields::{key_text, scalar_text, untag};

/// Keys whose value replaces the earlier one instead of being appended to it.
const REPLACED: &[&str] = &["command", "entrypoint"];
/// Keys written as a list of `KEY=value` or as a mapping, merged as mappings.
const DICTIONARIES: &[&str] = &[
    "environment",
    "labels",
    "annotations",
    "sysctls",
    "extra_hosts",
    "args",
];

/// Merge the document `over` onto `base` (both in the spec form: services under `services:`).
pub(crate) fn documents(base: &mut Mapping, over: Mapping) {
    for (key, value) in over {
        let name = key_text(&key);
        match (name.as_str(), base.get_mut(&key)) {
            ("services", Some(Value::Mapping(services))) => {
                if let Value::Mapping(over_services) = untag_owned(value) {
                    for (service, settings) in over_services {
                        match (services.get_mut(&service), settings) {
                            (Some(Value::Mapping(earlier)), Value::Mapping(later)) => {
                                self::service(earlier, later);
                            }
                            (_, settings) => {
                                services.insert(service, settings);
                            }
                        }
                    }
                }
            }
            (_, Some(earlier)) => generic(earlier, value),
            (_, None) => {
                if !is_reset(&value) {
                    base.insert(key, strip_override(value));
                }
            }
        }
    }
}

/// Merge the service settings `over` onto `base`.
pub(crate) fn service(base: &mut Mapping, over: Mapping) {
    for (key, value) in over {
        let name = key_text(&key);
        if is_reset(&value) {
            base.remove(&key);
            continue;
        }
        let Some(earlier) = base.get_mut(&key) else {
            base.insert(key, strip_override(value));
            continue;
        };
        if is_override(&value) || REPLACED.contains(&name.as_str()) {
            *earlier = strip_override(value);
            continue;
        }
        match name.as_str() {
            "build" => {
                let mut earlier_map = build_mapping(earlier.clone());
                let later = build_mapping(value);
                for (k, v) in later {
                    nested(&mut earlier_map, k, v);
                }
                *earlier = Value::Mapping(earlier_map);
            }
            "healthcheck" => {
                if let (Value::Mapping(earlier), Value::Mapping(later)) =
                    (earlier, untag_owned(value))
                {
                    for (k, v) in later {
                        if key_text(&k) == "test" {
                            earlier.insert(k, v);
                        } else {
                            nested(earlier, k, v);
                        }
                    }
                }
            }
            "depends_on" => {
                let mut map = depends_on_mapping(earlier.clone());
                for (k, v) in depends_on_mapping(value) {
                    map.insert(k, v);
                }
                *earlier = Value::Mapping(map);
            }
            "networks" => {
                let mut map = names_mapping(earlier.clone());
                for (k, v) in names_mapping(value) {
                    nested(&mut map, k, v);
                }
                *earlier = Value::Mapping(map);
            }
            "ports" => unique(earlier, value, port_key),
            "volumes" => unique(earlier, value, volume_key),
            "secrets" | "configs" => unique(earlier, value, file_key),
            _ => generic_named(&name, earlier, value),
        }
    }
}

/// A nested key of a mapping that merges by the generic rules.
fn nested(map: &mut Mapping, key: Value, value: Value) {
    if is_reset(&value) {
        map.remove(&key);
        return;
    }
    match map.get_mut(&key) {
        Some(earlier) => generic_named(&key_text(&key), earlier, value),
        None => {
            map.insert(key, strip_override(value));
        }
    }
}

fn generic_named(name: &str, earlier: &mut Value, later: Value) {
    if DICTIONARIES.contains(&name) {
        let mut map = dictionary_mapping(earlier.clone());
        for (k, v) in dictionary_mapping(later) {
            map.insert(k, v);
        }
        *earlier = Value::Mapping(map);
    } else {
        generic(earlier, later);
    }
}

/// Mappings merge, sequences append (without repeating an equal item), anything else is
/// replaced.
fn generic(earlier: &mut Value, later: Value) {
    if is_override(&later) {
        *earlier = strip_override(later);
        return;
    }
    match (earlier, untag_owned(later)) {
        (Value::Mapping(earlier), Value::Mapping(later)) => {
            for (k, v) in later {
                nested(earlier, k, v);
            }
        }
        (Value::Sequence(earlier), Value::Sequence(later)) => {
            for item in later {
                if !earlier.contains(&item) {
                    earlier.push(item);
                }
            }
        }
        (earlier, later) => *earlier = later,
    }
}

/// Append `later`'s items; an item with the same key as an earlier one replaces it in place.
fn unique(earlier: &mut Value, later: Value, key: fn(&Value) -> Option<String>) {
    let (Value::Sequence(items), Value::Sequence(later)) = (earlier, untag_owned(later)) else {
        return;
    };
    for item in later {
        let found = key(&item).and_then(|k| items.iter().position(|e| key(e).as_ref() == Some(&k)));
        match found {
            Some(i) => items[i] = item,
            None if !items.contains(&item) => items.push(item),
            None => {}
        }
    }
}

/// A port's identity: host IP, published port, target and protocol as written.
fn port_key(item: &Value) -> Option<String> {
    match untag(item) {
        Value::Mapping(map) => {
            let field = |k: &str| map.get(k).and_then(scalar_text).unwrap_or_default();
            Some(format!(
                "{}:{}:{}/{}",
                field("host_ip"),
                field("published"),
                field("target"),
                map.get("protocol")
                    .and_then(scalar_text)
                    .unwrap_or_else(|| "tcp".into())
            ))
        }
        other => scalar_text(other),
    }
}

/// A mount's identity: its target path.
fn volume_key(item: &Value) -> Option<String> {
    match untag(item) {
        Value::Mapping(map) => map.get("target").and_then(scalar_text),
        other => {
            let text = scalar_text(other)?;
            let parts: Vec<&str> = text.split(':').collect();
            Some(match parts.as_slice() {
                [target] | [_, target] | [_, target, _] => (*target).to_owned(),
                _ => text,
            })
        }
    }
}

/// A secret's or config's identity: its target, else its source.
fn file_key(item: &Value) -> Option<String> {
    match untag(item) {
        Value::Mapping(map) => map
            .get("target")
            .or_else(|| map.get("source"))
            .and_then(scalar_text),
        other => scalar_text(other),
    }
}

/// `build: ./dir` as `{context: ./dir}`.
fn build_mapping(value: Value) -> Mapping {
    match untag_owned(value) {
        Value::Mapping(map) => map,
        other => {
            let mut map = Mapping::new();
            map.insert(Value::from("context"), other);
            map
        }
    }
}

/// `["KEY=value", "KEY"]` as `{KEY: value, KEY: null}`.
pub(crate) fn dictionary_mapping(value: Value) -> Mapping {
    match untag_owned(value) {
        Value::Mapping(map) => map,
        Value::Sequence(items) => items
            .into_iter()
            .filter_map(|item| {
                let text = scalar_text(&item)?;
                Some(match text.split_once('=') {
                    Some((k, v)) => (Value::from(k), Value::from(v)),
                    None => (Value::from(text), Value::Null),
                })
            })
            .collect(),
        _ => Mapping::new(),
    }
}

/// `depends_on: [db]` as `{db: {condition: service_started}}`.
fn depends_on_mapping(value: Value) -> Mapping {
    match untag_owned(value) {
        Value::Mapping(map) => map,
        Value::Sequence(items) => items
            .into_iter()
            .map(|item| {
                let mut entry = Mapping::new();
                entry.insert(Value::from("condition"), Value::from("service_started"));
                (item, Value::Mapping(entry))
            })
            .collect(),
        _ => Mapping::new(),
    }
}

/// `networks: [a, b]` as `{a: null, b: null}`.
fn names_mapping(value: Value) -> Mapping {
    match untag_owned(value) {
        Value::Mapping(map) => map,
        Value::Sequence(items) => items.into_iter().map(|i| (i, Value::Null)).collect(),
        _ => Mapping::new(),
    }
}

fn tag_is(value: &Value, name: &str) -> bool {
    matches!(value, Value::Tagged(tagged) if tagged.tag == Tag::new(name))
}

fn is_reset(value: &Value) -> bool {
    tag_is(value, "reset")
}

fn is_override(value: &Value) -> bool {
    tag_is(value, "override")
}

/// The value without an `!override` tag (other tags stay for the reader).
fn strip_override(value: Value) -> Value {
    match value {
        Value::Tagged(tagged) if tagged.tag == Tag::new("override") => tagged.value,
        other => other,
    }
}

/// The value without a merge tag (`!override`, `!reset`) around it.
fn untag_owned(value: Value) -> Value {
    match value {
        Value::Tagged(tagged) => {
            let TaggedValue { tag, value } = *tagged;
            if tag == Tag::new("override") || tag == Tag::new("reset") {
                value
            } else {
                Value::Tagged(Box::new(TaggedValue { tag, value }))
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Mapping {
        serde_norway::from_str(text).expect("yaml")
    }

    #[test]
    fn services_merge_by_the_compose_rules() {
        let mut base = yaml(
            "services:\n  web:\n    image: a\n    command: [x, y]\n    environment: [A=1, B=2]\n    \
             ports: ['80:80', '443:443']\n    volumes: ['./a:/data', 'logs:/logs']\n    \
             dns: [1.1.1.1]\n    depends_on: [db]\n    healthcheck: {test: [CMD, a], retries: 3}\n",
        );
        let over = yaml(
            "services:\n  web:\n    image: b\n    command: [z]\n    environment: {B: 3, C: 4}\n    \
             ports: ['80:80', '8080:8080']\n    volumes: ['./b:/data']\n    dns: [8.8.8.8]\n    \
             depends_on: {cache: {condition: service_healthy}}\n    healthcheck: {test: [CMD, b]}\n  \
             new: {image: n}\n",
        );
        documents(&mut base, over);
        let want = yaml(
            "services:\n  web:\n    image: b\n    command: [z]\n    environment: {A: '1', B: 3, C: 4}\n    \
             ports: ['80:80', '443:443', '8080:8080']\n    volumes: ['./b:/data', 'logs:/logs']\n    \
             dns: [1.1.1.1, 8.8.8.8]\n    depends_on: {db: {condition: service_started}, cache: {condition: service_healthy}}\n    \
             healthcheck: {test: [CMD, b], retries: 3}\n  new: {image: n}\n",
        );
        assert_eq!(base, want);
    }

    #[test]
    fn reset_and_override_tags() {
        let mut base =
            yaml("services:\n  web:\n    image: a\n    ports: ['80:80']\n    labels: {a: '1'}\n");
        let over =
            yaml("services:\n  web:\n    ports: !reset []\n    labels: !override {b: '2'}\n");
        documents(&mut base, over);
        assert_eq!(
            base,
            yaml("services:\n  web:\n    image: a\n    labels: {b: '2'}\n")
        );
    }
}
