//! Reading typed values out of `serde_norway::Value` nodes, leniently (numbers where strings are
//! expected, strings where numbers or booleans are expected — interpolation always produces
//! strings) and with errors that point at the key.

use std::path::Path;

use indexmap::IndexMap;
use serde_norway::{Mapping, Value};

use super::error::ComposeError;
use super::interpolate::Variables;
use super::yaml::{KeyPath, Sources};

/// Everything normalisation needs: where messages point, where relative paths start, where
/// variables come from, and the warnings gathered so far.
pub(crate) struct Cx<'a> {
    /// The files the document came from, for the line of each key.
    pub(crate) source: &'a Sources,
    /// The compose file's directory, absolute.
    pub(crate) base_dir: &'a Path,
    pub(crate) vars: Variables<'a>,
    /// Whether `env_file:` files are read (not when only build sections matter).
    pub(crate) read_env_files: bool,
    /// Warnings with their line, so they can be shown in file order.
    pub(crate) warnings: Vec<(usize, String)>,
}

impl Cx<'_> {
    /// An error at `path`.
    pub(crate) fn invalid(
        &self,
        path: &KeyPath,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> ComposeError {
        let (file, line) = self.source.locate(path);
        ComposeError::Invalid {
            file: file.to_owned(),
            line,
            key: path.to_string(),
            problem: problem.into(),
            expected: expected.into(),
        }
    }

    /// An error saying the node at `path` has the wrong shape.
    pub(crate) fn wrong(&self, path: &KeyPath, value: &Value, expected: &str) -> ComposeError {
        self.invalid(path, format!("found {}", describe(value)), expected)
    }

    /// A warning at `path`.
    pub(crate) fn warn(&mut self, path: &KeyPath, message: impl std::fmt::Display) {
        let (file, line) = self.source.locate(path);
        let text = format!("{}:{line}: `{path}`: {message}", file.display());
        self.warnings.push((line, text));
    }

    /// Warn about keys of `map` that are neither `known` nor `x-` extensions; `unsupported`
    /// lists keys Compose knows that stevedore does not act on.
    pub(crate) fn check_keys(
        &mut self,
        path: &KeyPath,
        map: &Mapping,
        known: &[&str],
        unsupported: &[&str],
    ) {
        for key in map.keys() {
            let key = key_text(key);
            if known.contains(&key.as_str()) || key.starts_with("x-") {
                continue;
            }
            if unsupported.contains(&key.as_str()) {
                self.warn(
                    &path.key(&key),
                    "is not supported by stevedore and is ignored",
                );
            } else {
                self.warn(&path.key(&key), "unknown key, ignored (check the spelling)");
            }
        }
    }

    /// A string (numbers and booleans are written out as text).
    pub(crate) fn string(
        &self,
        path: &KeyPath,
        value: &Value,
        expected: &str,
    ) -> Result<String, ComposeError> {
        scalar_text(value).ok_or_else(|| self.wrong(path, value, expected))
    }

    /// An optional string: absent and `null` are `None`.
    pub(crate) fn opt_string(
        &self,
        path: &KeyPath,
        value: Option<&Value>,
        expected: &str,
    ) -> Result<Option<String>, ComposeError> {
        match value.map(untag) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => self.string(path, v, expected).map(Some),
        }
    }

    /// A boolean, also from the strings `true`/`false`/`yes`/`no`/`on`/`off`/`1`/`0`.
    pub(crate) fn bool(&self, path: &KeyPath, value: &Value) -> Result<bool, ComposeError> {
        match untag(value) {
            Value::Bool(b) => Ok(*b),
            Value::Null => Ok(false),
            other => match scalar_text(other)
                .map(|s| s.to_ascii_lowercase())
                .as_deref()
            {
                Some("true" | "yes" | "on" | "1" | "y") => Ok(true),
                Some("false" | "no" | "off" | "0" | "n") => Ok(false),
                _ => Err(self.wrong(path, value, "`true` or `false`")),
            },
        }
    }

    /// A non-negative integer that fits in `u32`.
    pub(crate) fn u32(&self, path: &KeyPath, value: &Value) -> Result<u32, ComposeError> {
        scalar_text(value)
            .and_then(|s| s.trim().parse::<u32>().ok())
            .ok_or_else(|| self.wrong(path, value, "a whole number, 0 or more"))
    }

    /// A mapping.
    pub(crate) fn mapping<'v>(
        &self,
        path: &KeyPath,
        value: &'v Value,
        expected: &str,
    ) -> Result<&'v Mapping, ComposeError> {
        match untag(value) {
            Value::Mapping(map) => Ok(map),
            other => Err(self.wrong(path, other, expected)),
        }
    }

    /// A list; `null` is an empty list.
    pub(crate) fn list<'v>(
        &self,
        path: &KeyPath,
        value: &'v Value,
        expected: &str,
    ) -> Result<&'v [Value], ComposeError> {
        match untag(value) {
            Value::Sequence(items) => Ok(items),
            Value::Null => Ok(&[]),
            other => Err(self.wrong(path, other, expected)),
        }
    }

    /// A list of strings; `null` is an empty list.
    pub(crate) fn string_list(
        &self,
        path: &KeyPath,
        value: &Value,
        expected: &str,
    ) -> Result<Vec<String>, ComposeError> {
        self.list(path, value, expected)?
            .iter()
            .enumerate()
            .map(|(i, item)| self.string(&path.index(i), item, expected))
            .collect()
    }

    /// Compose's "list or dictionary": `["K=V", "K"]` or `{K: V, K: null}`. Bare `K` and
    /// `null` become `None`; later entries win.
    pub(crate) fn dictionary(
        &self,
        path: &KeyPath,
        value: &Value,
    ) -> Result<IndexMap<String, Option<String>>, ComposeError> {
        const EXPECTED: &str = "a list of `KEY=value` strings or a mapping of KEY: value";
        let mut out = IndexMap::new();
        match untag(value) {
            Value::Null => {}
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let text = self.string(&path.index(i), item, EXPECTED)?;
                    let (key, value) = match text.split_once('=') {
                        Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                        None => (text, None),
                    };
                    if key.is_empty() {
                        return Err(self.invalid(&path.index(i), "the key is empty", EXPECTED));
                    }
                    out.shift_remove(&key);
                    out.insert(key, value);
                }
            }
            Value::Mapping(map) => {
                for (key, item) in map {
                    let key = key_text(key);
                    let value = match untag(item) {
                        Value::Null => None,
                        other => Some(self.string(
                            &path.key(&key),
                            other,
                            "a string, number or boolean",
                        )?),
                    };
                    out.insert(key, value);
                }
            }
            other => return Err(self.wrong(path, other, EXPECTED)),
        }
        Ok(out)
    }
}

/// The node without any YAML tag (`!reset`, `!override`, custom tags): we read the value.
pub(crate) fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => untag(&tagged.value),
        other => other,
    }
}

/// A scalar as text: strings as they are, numbers and booleans as written.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match untag(value) {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A mapping key as text (keys are nearly always strings; numbers are written out).
pub(crate) fn key_text(key: &Value) -> String {
    scalar_text(key).unwrap_or_else(|| match untag(key) {
        Value::Null => "null".to_owned(),
        _ => "<complex key>".to_owned(),
    })
}

/// How a value looks, for "found …" in messages.
pub(crate) fn describe(value: &Value) -> String {
    match untag(value) {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) if s.chars().count() > 40 => "a long string".into(),
        Value::String(s) => format!("the string `{s}`"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(_) => "a tagged value".into(),
    }
}
