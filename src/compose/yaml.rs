//! YAML text to a `serde_norway::Value` with merge keys applied, and the line of any key in that
//! text.
//!
//! `Value` forgets where its nodes came from, so errors found after parsing ask [`Source::line_of`]
//! for a line. It answers from a [`LineIndex`] built once, on the first question, in one pass
//! over the parser's events — through flow style, quoting and anchors, which a textual scan
//! would get wrong — so a file with thousands of warnings still loads in linear time.

use std::cell::OnceCell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_norway::Value;

use super::error::ComposeError;
use super::lines::LineIndex;

/// Apply YAML 1.1 merge keys (`<<: *a` or `<<: [*a, *b]`) at every depth: a mapping's own keys
/// win over merged ones, earlier sources over later ones, and a merged-in mapping has its own
/// merges applied first — so `x-common: &c {<<: *base, …}` used as `<<: *c` brings `base`'s
/// keys too. (serde_norway's `apply_merge` copies a nested `<<` in as a plain key and drops
/// it.) One pass over the tree: each node is visited once.
pub(crate) fn resolve_merges(value: &mut Value) -> Result<(), &'static str> {
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
pub(crate) struct Source {
    /// The compose file, as named in messages.
    pub(crate) file: PathBuf,
    text: String,
    /// Legacy v1 files have their services at the top level, so logical paths
    /// (`services.web.image`) lose their first step before the text is searched.
    pub(crate) v1: bool,
    /// Built on the first line lookup (loading asks for each service's line: once per load).
    lines: OnceCell<LineIndex>,
}

impl Source {
    pub(crate) fn new(file: &Path, text: &str) -> Self {
        Self {
            file: file.to_owned(),
            text: text.to_owned(),
            v1: false,
            lines: OnceCell::new(),
        }
    }

    /// Parse the text and apply YAML merge keys (`<<: *base`).
    pub(crate) fn parse(&self) -> Result<Value, ComposeError> {
        let mut value: Value =
            serde_norway::from_str(&self.text).map_err(|err| ComposeError::Syntax {
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
        self.deepest(path.segments()).map_or(1, |(_, line)| line)
    }

    /// How many steps of `segs` (a logical path) lead to a node of this text, and its line.
    fn deepest(&self, segs: &[Seg]) -> Option<(usize, usize)> {
        let (skipped, segs) = match (self.v1, segs) {
            (true, [Seg::Key(first), rest @ ..]) if first == "services" => (1, rest),
            (_, segs) => (0, segs),
        };
        let index = self.lines.get_or_init(|| LineIndex::build(&self.text));
        for len in (1..=segs.len()).rev() {
            for through_merges in [false, true] {
                if let Some(line) = index.get(&segs[..len], through_merges) {
                    return Some((len + skipped, line));
                }
            }
        }
        None
    }
}

/// Where the nodes of a document made of several files came from: each key is found in the
/// file that set it last (the override wins, as in the merge), a service's inherited keys in
/// the service it `extends`.
#[derive(Debug, Clone)]
pub(crate) struct Sources {
    placed: Vec<Placed>,
}

#[derive(Debug, Clone)]
struct Placed {
    source: Rc<Source>,
    /// `(prefix in the document, prefix in the file)`: for `extends`, the extending service's
    /// path and the base service's path in its own file.
    moved: Option<(Vec<Seg>, Vec<Seg>)>,
}

impl Sources {
    /// The document is `main` alone, so far.
    pub(crate) fn new(main: Rc<Source>) -> Self {
        Self {
            placed: vec![Placed {
                source: main,
                moved: None,
            }],
        }
    }

    /// The first file: the one the project is named after and messages fall back to.
    pub(crate) fn main(&self) -> &Path {
        &self.placed[0].source.file
    }

    /// The document's `at` took keys from `from` in `source`.
    pub(crate) fn push_moved(&mut self, source: Rc<Source>, at: &KeyPath, from: &KeyPath) {
        self.placed.push(Placed {
            source,
            moved: Some((at.segments().to_vec(), from.segments().to_vec())),
        });
    }

    /// Everything `other` knows about, after what this set knows.
    pub(crate) fn extend(&mut self, other: Sources) {
        self.placed.extend(other.placed);
    }

    /// The file and 1-based line of the node at `path` (or of its deepest ancestor found).
    pub(crate) fn locate(&self, path: &KeyPath) -> (&Path, usize) {
        let segs = path.segments();
        let mut best: Option<(usize, &Path, usize)> = None;
        for placed in &self.placed {
            let found = match &placed.moved {
                None => placed.source.deepest(segs),
                Some((at, from)) => {
                    let Some(rest) = segs.strip_prefix(at.as_slice()) else {
                        continue;
                    };
                    let mut in_file = from.clone();
                    in_file.extend_from_slice(rest);
                    // Only what lies below the base service tells more than the service.
                    placed
                        .source
                        .deepest(&in_file)
                        .filter(|(len, _)| *len > from.len())
                        .map(|(len, line)| (len - from.len() + at.len(), line))
                }
            };
            if let Some((len, line)) = found
                && best.is_none_or(|(best_len, _, _)| len >= best_len)
            {
                best = Some((len, &placed.source.file, line));
            }
        }
        match best {
            Some((_, file, line)) => (file, line),
            None => (self.main(), 1),
        }
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
    fn anchors_inside_anchors_plain_aliases_and_merge_lists() {
        let text = "\
x-a: &a
  env: &env
    K: v
x-b: &b
  <<: *a
  own: 1
x-c: &c {flow: 2}
services:
  s:
    <<: [*b, *c]
    env2: *env
    inline:
      <<: {deep: 3}
";
        let source = Source::new(Path::new("c.yml"), text);
        let table: &[(&[&str], usize)] = &[
            (&["services", "s", "own"], 6),
            (&["services", "s", "env", "K"], 3),
            (&["services", "s", "env2", "K"], 3),
            (&["services", "s", "env2"], 11),
            (&["services", "s", "flow"], 7),
            (&["services", "s", "inline", "deep"], 13),
            (&["services", "s", "missing", "deeper"], 9),
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
