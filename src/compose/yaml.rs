//! YAML text to a `serde_norway::Value`, and the line of any key in that text.
//!
//! `Value` forgets where its nodes came from, so errors found after parsing ask [`Source::line_of`]
//! for a line. It re-reads the text with a `DeserializeSeed` that walks down the key path and
//! stops with a sentinel error at the wanted node: serde_norway stamps every error with the mark
//! of the node being read, so the sentinel comes back carrying the exact line — through flow
//! style, quoting and anchors, which a textual scan would get wrong. Lookups only happen when
//! something is reported, so re-reading the (small) file each time costs nothing that matters.

use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_norway::Value;

use super::error::ComposeError;

/// Apply YAML 1.1 merge keys (`<<: *a` or `<<: [*a, *b]`) at every depth: a mapping's own keys
/// win over merged ones, earlier sources over later ones, and a merged-in mapping has its own
/// merges applied first — so `x-common: &c {<<: *base, …}` used as `<<: *c` brings `base`'s
/// keys too. (serde_norway's `apply_merge` copies a nested `<<` in as a plain key and drops
/// it.) One pass over the tree: each node is visited once.
fn resolve_merges(value: &mut Value) -> Result<(), &'static str> {
    match value {
        Value::Mapping(map) => {
            for child in map.values_mut() {
                resolve_merges(child)?;
            }
            let Some(merge) = map.remove("<<") else {
                return Ok(());
            };
            let sources = match merge {
                Value::Mapping(source) => vec![source],
                Value::Sequence(items) => items
                    .into_iter()
                    .map(|item| match item {
                        Value::Mapping(source) => Ok(source),
                        Value::Sequence(_) => Err("a merge list holds a list"),
                        Value::Tagged(_) => Err("a merge list holds a tagged value"),
                        _ => Err("a merge list holds a scalar"),
                    })
                    .collect::<Result<_, _>>()?,
                Value::Tagged(_) => return Err("a merge key holds a tagged value"),
                _ => return Err("a merge key holds a scalar"),
            };
            for source in sources {
                for (key, item) in source {
                    map.entry(key).or_insert(item);
                }
            }
            Ok(())
        }
        Value::Sequence(items) => items.iter_mut().try_for_each(resolve_merges),
        Value::Tagged(tagged) => resolve_merges(&mut tagged.value),
        _ => Ok(()),
    }
}

/// One step of a [`KeyPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path from the document root to a node, shown as `services.web.ports[1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(Vec<Seg>);

impl KeyPath {
    /// The document root.
    pub(crate) fn root() -> Self {
        Self::default()
    }

    /// This path extended by a mapping key.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        Self(segs)
    }

    /// This path extended by a sequence index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Self(segs)
    }

    pub(crate) fn segments(&self) -> &[Seg] {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(key) if i == 0 => write!(f, "{key}")?,
                Seg::Key(key) => write!(f, ".{key}")?,
                Seg::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// The compose file's text and name, for line lookups and messages.
#[derive(Debug, Clone)]
pub(crate) struct Source<'a> {
    /// The compose file, as named in messages.
    pub(crate) file: &'a Path,
    text: &'a str,
    /// Legacy v1 files have their services at the top level, so logical paths
    /// (`services.web.image`) lose their first step before the text is searched.
    pub(crate) v1: bool,
}

impl<'a> Source<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Self {
        Self {
            file,
            text,
            v1: false,
        }
    }

    /// Parse the text and apply YAML merge keys (`<<: *base`).
    pub(crate) fn parse(&self) -> Result<Value, ComposeError> {
        let mut value: Value =
            serde_norway::from_str(self.text).map_err(|err| ComposeError::Syntax {
                file: self.file.to_owned(),
                line: err.location().map_or(1, |l| l.line()),
                message: err.to_string(),
            })?;
        resolve_merges(&mut value).map_err(|problem| ComposeError::Syntax {
            file: self.file.to_owned(),
            // Merges are resolved after parsing, without positions; the first merge key is the
            // best guess.
            line: self.first_line_containing("<<"),
            message: format!("{problem} (merge keys take a mapping or a list of mappings)"),
        })?;
        Ok(value)
    }

    fn first_line_containing(&self, needle: &str) -> usize {
        self.text
            .lines()
            .position(|line| line.contains(needle))
            .map_or(1, |i| i + 1)
    }

    /// The 1-based line of the node at `path`, or of its nearest ancestor that can be found
    /// (keys that came in through a merge key are found at the anchor they were copied from).
    pub(crate) fn line_of(&self, path: &KeyPath) -> usize {
        let segs = match (self.v1, path.segments()) {
            (true, [Seg::Key(first), rest @ ..]) if first == "services" => rest,
            (_, segs) => segs,
        };
        for len in (1..=segs.len()).rev() {
            for through_merges in [false, true] {
                if let Some(line) = self.locate(&segs[..len], through_merges) {
                    return line;
                }
            }
        }
        1
    }

    fn locate(&self, segs: &[Seg], through_merges: bool) -> Option<usize> {
        let seed = Locate {
            path: segs,
            through_merges,
            merge_list: false,
        };
        match seed.deserialize(serde_norway::Deserializer::from_str(self.text)) {
            Err(err) if err.to_string().contains(FOUND) => err.location().map(|l| l.line()),
            _ => None,
        }
    }
}

/// The sentinel "error" that carries the found node's position out of the deserializer.
const FOUND: &str = "\u{1}stevedore: node found";

fn found<E: de::Error>() -> E {
    E::custom(FOUND)
}

/// Walks down `path`; fails with [`FOUND`] at the node it names, succeeds when it is absent.
struct Locate<'p> {
    path: &'p [Seg],
    through_merges: bool,
    /// The node is the value of a `<<` key, which may be a list of mappings to search each of.
    merge_list: bool,
}

impl Locate<'_> {
    fn child<'p>(&self, path: &'p [Seg]) -> Locate<'p> {
        Locate {
            path,
            through_merges: self.through_merges,
            merge_list: false,
        }
    }

    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(found())
        } else {
            Ok(())
        }
    }
}

impl<'de> DeserializeSeed<'de> for Locate<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Locate<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match self.path.first() {
            None => return Err(found()),
            Some(Seg::Key(_)) if self.merge_list => {
                while seq.next_element_seed(self.child(self.path))?.is_some() {}
            }
            Some(Seg::Index(wanted)) if !self.merge_list => {
                let mut index = 0;
                loop {
                    let more = if index == *wanted {
                        seq.next_element_seed(self.child(&self.path[1..]))?
                            .is_some()
                    } else {
                        seq.next_element::<IgnoredAny>()?.is_some()
                    };
                    if !more {
                        break;
                    }
                    index += 1;
                }
            }
            // serde_norway insists that every element is consumed.
            Some(_) => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let wanted = match self.path.first() {
            None => return Err(found()),
            Some(Seg::Key(key)) => Some(key.as_str()),
            Some(Seg::Index(_)) => None,
        };
        let last = self.path.len() == 1;
        while let Some(kind) = map.next_key_seed(KeySeed { wanted, last })? {
            match kind {
                KeyKind::Wanted => map.next_value_seed(self.child(&self.path[1..]))?,
                KeyKind::Merge if self.through_merges => map.next_value_seed(Locate {
                    path: self.path,
                    through_merges: true,
                    merge_list: true,
                })?,
                KeyKind::Merge | KeyKind::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

enum KeyKind {
    Wanted,
    Merge,
    Other,
}

/// Reads one mapping key; fails with [`FOUND`] (at the key's own position) when it is the last
/// step of the path.
struct KeySeed<'p> {
    wanted: Option<&'p str>,
    last: bool,
}

impl KeySeed<'_> {
    fn classify<E: de::Error>(&self, key: &str) -> Result<KeyKind, E> {
        if self.wanted == Some(key) {
            if self.last {
                Err(found())
            } else {
                Ok(KeyKind::Wanted)
            }
        } else if key == "<<" {
            Ok(KeyKind::Merge)
        } else {
            Ok(KeyKind::Other)
        }
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = KeyKind;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<KeyKind, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = KeyKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyKind, E> {
        self.classify(&v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyKind, E> {
        self.classify(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyKind, E> {
        self.classify(&v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyKind, E> {
        self.classify(&v.to_string())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyKind, E> {
        self.classify(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<KeyKind, E> {
        Ok(KeyKind::Other)
    }

    fn visit_none<E: de::Error>(self) -> Result<KeyKind, E> {
        Ok(KeyKind::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyKind, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(KeyKind::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyKind, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(KeyKind::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(steps: &[&str]) -> KeyPath {
        steps
            .iter()
            .fold(KeyPath::root(), |p, step| match step.parse() {
                Ok(index) => p.index(index),
                Err(_) => p.key(step),
            })
    }

    const TEXT: &str = "\
x-base: &base
  restart: always
  environment:
    A: 1
services:
  web:
    <<: *base
    image: nginx
    ports:
      - \"80:80\"
      - target: 443
        published: 8443
  db: {image: postgres, ports: [5432]}
";

    #[test]
    fn finds_keys_items_and_flow_style() {
        let source = Source::new(Path::new("c.yml"), TEXT);
        let table: &[(&[&str], usize)] = &[
            (&["services"], 5),
            (&["services", "web"], 6),
            (&["services", "web", "image"], 8),
            (&["services", "web", "ports"], 9),
            (&["services", "web", "ports", "0"], 10),
            (&["services", "web", "ports", "1"], 11),
            (&["services", "web", "ports", "1", "published"], 12),
            (&["services", "db", "ports", "0"], 13),
            (&["services", "db", "image"], 13),
            // Merged in from the anchor: found where it is written.
            (&["services", "web", "restart"], 2),
            (&["services", "web", "environment", "A"], 4),
            // Absent: the nearest ancestor.
            (&["services", "web", "nope"], 6),
            (&["nothing"], 1),
        ];
        for (steps, want) in table {
            assert_eq!(source.line_of(&path(steps)), *want, "{steps:?}");
        }
    }

    #[test]
    fn v1_paths_drop_services() {
        let mut source = Source::new(Path::new("c.yml"), "# v1\nweb:\n  image: x\n");
        source.v1 = true;
        assert_eq!(source.line_of(&path(&["services", "web", "image"])), 3);
    }

    #[test]
    fn display_is_dotted() {
        assert_eq!(
            path(&["services", "web", "ports", "1", "target"]).to_string(),
            "services.web.ports[1].target"
        );
    }
}
