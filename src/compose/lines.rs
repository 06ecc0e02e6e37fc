//! The line of every key and list item of a YAML text, found in one pass over the parser's
//! events.
//!
//! `serde_norway::Value` forgets where its nodes came from, so messages about a node ask this
//! index for its line. It is built from the events of libyaml (the parser serde_norway itself
//! runs, so lines agree with its own error positions) in time linear in the size of the text:
//! aliases are not expanded but remembered where they stand, and a lookup that meets one
//! continues below the anchored node. Keys that come in through a merge key (`<<: *base`) are
//! told apart, so a key written in place wins over a merged one.

use std::collections::HashMap;
use std::ffi::CStr;
use std::mem::MaybeUninit;

use unsafe_libyaml_norway as unsafe_sys;

use super::yaml::Seg;

/// How deep a lookup follows aliases inside anchors inside anchors.
const MAX_ALIAS_DEPTH: usize = 64;

/// Lines of the nodes of one document, by path.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineIndex {
    /// Keys and items as written, by encoded path: line, and whether a merge key brought the
    /// node to this path (an inline `<<: {…}`).
    written: HashMap<String, (usize, bool)>,
    /// Where aliases stand: the encoded path of the alias, then the anchored node's encoded
    /// path and whether the alias is a merge (`<<: *a`, `<<: [*a, *b]`), in text order.
    aliases: HashMap<String, Vec<(String, bool)>>,
}

impl LineIndex {
    /// Index `text`. A text the parser rejects gives the entries found before the error (the
    /// syntax error itself is reported by the real parse).
    pub(crate) fn build(text: &str) -> Self {
        let events = events(text);
        let mut walk = Walk {
            events: &events,
            index: Self::default(),
            anchors: HashMap::new(),
            path: String::new(),
        };
        if let Some(root) = events.iter().position(|e| !matches!(e.kind, Kind::Other)) {
            walk.node(root, false);
        }
        walk.index
    }

    /// The 1-based line of the node at `segs`, reached without (`through_merges` false) or
    /// only through (true) a merge key.
    pub(crate) fn get(&self, segs: &[Seg], through_merges: bool) -> Option<usize> {
        let keys: Vec<String> = segs.iter().map(encode).collect();
        self.find(&keys, String::new(), through_merges, 0)
    }

    /// Find the node `rest` below the node at `base` (encoded).
    fn find(&self, rest: &[String], base: String, merges: bool, depth: usize) -> Option<usize> {
        if depth > MAX_ALIAS_DEPTH {
            return None;
        }
        let mut path = base;
        let mut prefixes = Vec::with_capacity(rest.len() + 1);
        prefixes.push(path.len());
        for step in rest {
            path.push_str(step);
            prefixes.push(path.len());
        }
        if let Some(&(line, merged)) = self.written.get(&path)
            && merged == merges
        {
            return Some(line);
        }
        // The nearest alias on the way down decides what lies below it.
        for k in (0..rest.len()).rev() {
            let Some(placed) = self.aliases.get(&path[..prefixes[k]]) else {
                continue;
            };
            for (anchor, merge) in placed {
                let found = if *merge {
                    // Below a merge only merged keys can be found; any route will do.
                    self.find(&rest[k..], anchor.clone(), false, depth + 1)
                        .or_else(|| self.find(&rest[k..], anchor.clone(), true, depth + 1))
                        .filter(|_| merges)
                } else {
                    self.find(&rest[k..], anchor.clone(), merges, depth + 1)
                };
                if found.is_some() {
                    return found;
                }
            }
        }
        None
    }
}

/// One path step as a string no YAML key can make ambiguous.
fn encode(seg: &Seg) -> String {
    match seg {
        Seg::Key(key) => format!("\u{1}{key}"),
        Seg::Index(index) => format!("\u{2}{index}"),
    }
}

/// The parts of an event the index needs.
#[derive(Debug)]
struct Event {
    kind: Kind,
    anchor: Option<String>,
    /// 1-based.
    line: usize,
}

#[derive(Debug)]
enum Kind {
    Scalar(String),
    Alias(String),
    SequenceStart,
    MappingStart,
    /// Ends of collections.
    End,
    /// Stream and document boundaries.
    Other,
}

struct Walk<'e> {
    events: &'e [Event],
    index: LineIndex,
    /// Anchor name → encoded path and line of the node it names (the latest definition).
    anchors: HashMap<String, (String, usize)>,
    /// The current path, encoded.
    path: String,
}

impl Walk<'_> {
    /// Record the node starting at event `at` (found at the current path), and return the
    /// position after it.
    fn node(&mut self, at: usize, merged: bool) -> usize {
        let Some(event) = self.events.get(at) else {
            return at;
        };
        if let Some(name) = &event.anchor {
            self.anchors
                .insert(name.clone(), (self.path.clone(), event.line));
        }
        match &event.kind {
            Kind::Alias(name) => {
                self.alias(name, merged);
                at + 1
            }
            Kind::MappingStart => self.mapping(at + 1, merged),
            Kind::SequenceStart => self.sequence(at + 1, merged, false),
            Kind::Scalar(_) | Kind::End | Kind::Other => at + 1,
        }
    }

    /// The anchored node `name` stands at the current path.
    fn alias(&mut self, name: &str, merged: bool) {
        if let Some((anchor, _)) = self.anchors.get(name) {
            let anchor = anchor.clone();
            self.index
                .aliases
                .entry(self.path.clone())
                .or_default()
                .push((anchor, merged));
        }
    }

    /// The line a node starting at `at` is reported at: an alias at its anchor's node.
    fn node_line(&self, at: usize) -> usize {
        match self.events.get(at) {
            Some(Event {
                kind: Kind::Alias(name),
                line,
                ..
            }) => self.anchors.get(name).map_or(*line, |(_, l)| *l),
            Some(event) => event.line,
            None => 1,
        }
    }

    /// Record the current path at `line`; the first occurrence wins, as a walk down the text
    /// finds it.
    fn record(&mut self, line: usize, merged: bool) {
        self.index
            .written
            .entry(self.path.clone())
            .or_insert((line, merged));
    }

    fn push(&mut self, seg: &Seg) -> usize {
        let len = self.path.len();
        self.path.push_str(&encode(seg));
        len
    }

    /// Items of a sequence until its end; `merge_list` items all stand at the current path
    /// (`<<: [*a, *b]`).
    fn sequence(&mut self, mut at: usize, merged: bool, merge_list: bool) -> usize {
        let mut index = 0;
        while let Some(event) = self.events.get(at) {
            if matches!(event.kind, Kind::End) {
                return at + 1;
            }
            if merge_list {
                at = self.node(at, true);
            } else {
                let len = self.push(&Seg::Index(index));
                self.record(self.node_line(at), merged);
                at = self.node(at, merged);
                self.path.truncate(len);
            }
            index += 1;
        }
        at
    }

    /// Pairs of a mapping until its end.
    fn mapping(&mut self, mut at: usize, merged: bool) -> usize {
        while let Some(event) = self.events.get(at) {
            match &event.kind {
                Kind::End => return at + 1,
                Kind::Scalar(key) if key == "<<" => {
                    at += 1;
                    at = match self.events.get(at).map(|e| &e.kind) {
                        Some(Kind::SequenceStart) => self.sequence(at + 1, true, true),
                        _ => self.node(at, true),
                    };
                }
                Kind::Scalar(key) => {
                    let len = self.push(&Seg::Key(key.clone()));
                    self.record(event.line, merged);
                    at = self.node(at + 1, merged);
                    self.path.truncate(len);
                }
                // A complex key: neither it nor its value can be named by a path.
                _ => {
                    let after_key = self.skip(at);
                    at = self.skip(after_key);
                }
            }
        }
        at
    }

    /// The position after the node at `at`, recording nothing.
    fn skip(&self, at: usize) -> usize {
        let mut depth = 0usize;
        let mut i = at;
        while let Some(event) = self.events.get(i) {
            i += 1;
            match event.kind {
                Kind::SequenceStart | Kind::MappingStart => depth += 1,
                Kind::End => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth == 0 {
                break;
            }
        }
        i
    }
}

/// The events of the first document of `text`, up to the first error.
fn events(text: &str) -> Vec<Event> {
    let mut out = Vec::new();
    let mut parser = Box::<unsafe_sys::yaml_parser_t>::new_uninit();
    let parser = parser.as_mut_ptr();
    // SAFETY: the parser is initialised before use, lives on the heap (libyaml keeps a pointer
    // to it as its read handler's data, so it must not move), reads `text`, which outlives it,
    // and is deleted before the box is dropped. Every event is read and then deleted once.
    unsafe {
        if unsafe_sys::yaml_parser_initialize(parser).fail {
            return out;
        }
        unsafe_sys::yaml_parser_set_input_string(parser, text.as_ptr(), text.len() as _);
        loop {
            let mut event = MaybeUninit::<unsafe_sys::yaml_event_t>::uninit();
            let event = event.as_mut_ptr();
            if unsafe_sys::yaml_parser_parse(parser, event).fail {
                break;
            }
            let (converted, done) = convert(&*event);
            unsafe_sys::yaml_event_delete(event);
            out.push(converted);
            if done {
                break;
            }
        }
        unsafe_sys::yaml_parser_delete(parser);
    }
    out
}

/// The event's kind, anchor and line; `true` once the first document has ended.
///
/// # Safety
/// `event` must be an event the parser filled in and that has not been deleted.
unsafe fn convert(event: &unsafe_sys::yaml_event_t) -> (Event, bool) {
    let line = event.start_mark.line as usize + 1;
    // SAFETY: each union field is read only for the event type that fills it in; strings are
    // libyaml's NUL-terminated copies.
    let (kind, anchor) = unsafe {
        match event.type_ {
            unsafe_sys::YAML_SCALAR_EVENT => {
                let data = &event.data.scalar;
                // A slice may never start at null, not even an empty one.
                let bytes: &[u8] = if data.value.is_null() {
                    &[]
                } else {
                    std::slice::from_raw_parts(data.value, data.length as usize)
                };
                (
                    Kind::Scalar(String::from_utf8_lossy(bytes).into_owned()),
                    c_string(data.anchor),
                )
            }
            unsafe_sys::YAML_ALIAS_EVENT => (
                Kind::Alias(c_string(event.data.alias.anchor).unwrap_or_default()),
                None,
            ),
            unsafe_sys::YAML_SEQUENCE_START_EVENT => (
                Kind::SequenceStart,
                c_string(event.data.sequence_start.anchor),
            ),
            unsafe_sys::YAML_MAPPING_START_EVENT => (
                Kind::MappingStart,
                c_string(event.data.mapping_start.anchor),
            ),
            unsafe_sys::YAML_SEQUENCE_END_EVENT | unsafe_sys::YAML_MAPPING_END_EVENT => {
                (Kind::End, None)
            }
            _ => (Kind::Other, None),
        }
    };
    let done = matches!(
        event.type_,
        unsafe_sys::YAML_DOCUMENT_END_EVENT | unsafe_sys::YAML_STREAM_END_EVENT
    );
    (Event { kind, anchor, line }, done)
}

/// A NUL-terminated string from libyaml, if the pointer is set.
///
/// # Safety
/// `ptr` is null or points at a NUL-terminated string.
unsafe fn c_string(ptr: *const u8) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: not null, and NUL-terminated by the caller's promise.
    let text = unsafe { CStr::from_ptr(ptr.cast()) };
    Some(text.to_string_lossy().into_owned())
}
