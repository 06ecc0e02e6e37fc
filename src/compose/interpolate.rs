//! `${VAR}` interpolation, with Compose's operators, over every string value of the document.
//!
//! Forms: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
//! `${VAR:?message}` / `${VAR?message}` (error), `${VAR:+alt}` / `${VAR+alt}` (alternative when
//! set), and `$$` for a literal `$`. Defaults and alternatives may themselves contain
//! interpolations. Keys are never interpolated (Compose doesn't either). A `$` that starts none
//! of these forms (`$5`, `$(cmd)`) is kept as written, so shell snippets in `command:` survive.

use std::collections::HashSet;

use serde_norway::Value;

use super::error::ComposeError;
use super::yaml::{KeyPath, Source};
use crate::project::dotenv::DotenvFile;

/// Where variable values come from: a name in, its value out (`None` when unset).
pub type Variables<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The variable source Compose uses: the process environment first, then the project's `.env`.
pub fn process_env_over(dotenv: Option<&DotenvFile>) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| {
        std::env::var(name)
            .ok()
            .or_else(|| dotenv.and_then(|file| file.get(name)).map(str::to_owned))
    }
}

/// Why one string could not be interpolated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InterpolationError {
    /// `${VAR:?message}` with `VAR` unset (or empty).
    Missing { variable: String, message: String },
    /// Not a form we understand, e.g. `${}` or an unclosed `${`.
    Syntax(String),
}

/// Interpolate every string value below `root`, in place. Unset variables without a default
/// become empty strings and are reported once each in `warnings`.
pub(crate) fn interpolate_document(
    root: &mut Value,
    source: &Source,
    vars: Variables<'_>,
    warnings: &mut Vec<(usize, String)>,
) -> Result<(), ComposeError> {
    let mut walk = Walk {
        source,
        vars,
        warnings,
        warned: HashSet::new(),
    };
    walk.value(root, &KeyPath::root())
}

struct Walk<'a, 'w> {
    source: &'a Source,
    vars: Variables<'a>,
    warnings: &'w mut Vec<(usize, String)>,
    warned: HashSet<String>,
}

impl Walk<'_, '_> {
    fn value(&mut self, value: &mut Value, path: &KeyPath) -> Result<(), ComposeError> {
        match value {
            Value::String(text) if text.contains('$') => {
                let mut unset = Vec::new();
                *text = interpolate(text, self.vars, &mut unset)
                    .map_err(|err| self.error(path, err))?;
                for variable in unset {
                    if self.warned.insert(variable.clone()) {
                        let line = self.source.line_of(path);
                        self.warnings.push((
                            line,
                            format!(
                                "{}:{line}: `{path}`: variable `{variable}` is not set; using an \
                                 empty string (set it, or write `${{{variable}:-default}}`)",
                                self.source.file.display(),
                            ),
                        ));
                    }
                }
            }
            Value::Sequence(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    self.value(item, &path.index(index))?;
                }
            }
            Value::Mapping(map) => {
                for (key, item) in map.iter_mut() {
                    let key = super::fields::key_text(key);
                    self.value(item, &path.key(&key))?;
                }
            }
            Value::Tagged(tagged) => self.value(&mut tagged.value, path)?,
            _ => {}
        }
        Ok(())
    }

    fn error(&self, path: &KeyPath, err: InterpolationError) -> ComposeError {
        let file = self.source.file.to_owned();
        let line = self.source.line_of(path);
        match err {
            InterpolationError::Missing { variable, message } => ComposeError::MissingVariable {
                file,
                line,
                key: path.to_string(),
                variable,
                message,
            },
            InterpolationError::Syntax(problem) => ComposeError::Invalid {
                file,
                line,
                key: path.to_string(),
                problem,
                expected: "`${VAR}`, `${VAR:-default}`, `${VAR:?message}`, `${VAR:+alt}` (also \
                           without `:`), `$VAR`, or `$$` for a literal `$`"
                    .into(),
            },
        }
    }
}

/// Interpolate one string. Names of variables used without a value or default are pushed to
/// `unset`.
pub(crate) fn interpolate(
    text: &str,
    vars: Variables<'_>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolationError> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(offset) = text[i..].find('$') {
        let dollar = i + offset;
        out.push_str(&text[i..dollar]);
        match bytes.get(dollar + 1) {
            Some(b'$') => {
                out.push('$');
                i = dollar + 2;
            }
            Some(b'{') => {
                let close = matching_brace(text, dollar + 2).ok_or_else(|| {
                    InterpolationError::Syntax(format!(
                        "`{}` opens `${{` without a closing `}}`",
                        &text[dollar..]
                    ))
                })?;
                out.push_str(&braced(&text[dollar + 2..close], vars, unset)?);
                i = close + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let name_len = name_length(&text[dollar + 1..]);
                let name = &text[dollar + 1..dollar + 1 + name_len];
                out.push_str(&lookup_or_blank(name, vars, unset));
                i = dollar + 1 + name_len;
            }
            _ => {
                out.push('$');
                i = dollar + 1;
            }
        }
    }
    out.push_str(&text[i..]);
    Ok(out)
}

/// The index of the `}` closing the `${` whose body starts at `start`; nested `${…}` count.
fn matching_brace(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 1;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn name_length(text: &str) -> usize {
    text.bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or(text.len())
}

fn lookup_or_blank(name: &str, vars: Variables<'_>, unset: &mut Vec<String>) -> String {
    vars(name).unwrap_or_else(|| {
        unset.push(name.to_owned());
        String::new()
    })
}

/// Evaluate the body of `${…}`.
fn braced(
    body: &str,
    vars: Variables<'_>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolationError> {
    let name_len = match body.as_bytes().first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => name_length(body),
        _ => 0,
    };
    if name_len == 0 {
        return Err(InterpolationError::Syntax(format!(
            "`${{{body}}}` does not start with a variable name"
        )));
    }
    let (name, rest) = body.split_at(name_len);
    let value = vars(name);
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let missing = |message: &str, unset: &mut Vec<String>| {
        let message = interpolate(message, vars, unset)?;
        Err(InterpolationError::Missing {
            variable: name.to_owned(),
            message: if message.is_empty() {
                "it is required".to_owned()
            } else {
                message
            },
        })
    };
    // Two-character operators first, so `:-` is not read as `:` followed by `-`.
    if let Some(default) = rest.strip_prefix(":-") {
        return match value {
            Some(v) if non_empty => Ok(v),
            _ => interpolate(default, vars, unset),
        };
    }
    if let Some(message) = rest.strip_prefix(":?") {
        return match value {
            Some(v) if non_empty => Ok(v),
            _ => missing(message, unset),
        };
    }
    if let Some(alt) = rest.strip_prefix(":+") {
        return if non_empty {
            interpolate(alt, vars, unset)
        } else {
            Ok(String::new())
        };
    }
    if let Some(default) = rest.strip_prefix('-') {
        return match value {
            Some(v) => Ok(v),
            None => interpolate(default, vars, unset),
        };
    }
    if let Some(message) = rest.strip_prefix('?') {
        return match value {
            Some(v) => Ok(v),
            None => missing(message, unset),
        };
    }
    if let Some(alt) = rest.strip_prefix('+') {
        return match value {
            Some(_) => interpolate(alt, vars, unset),
            None => Ok(String::new()),
        };
    }
    if rest.is_empty() {
        return Ok(value.unwrap_or_else(|| {
            unset.push(name.to_owned());
            String::new()
        }));
    }
    Err(InterpolationError::Syntax(format!(
        "`${{{body}}}` has `{rest}` after the variable name"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "EMPTY" => Some(String::new()),
            "OTHER" => Some("other".into()),
            _ => None,
        }
    }

    fn run(text: &str) -> (Result<String, InterpolationError>, Vec<String>) {
        let mut unset = Vec::new();
        let out = interpolate(text, &vars, &mut unset);
        (out, unset)
    }

    #[test]
    fn forms_table() {
        let table = [
            ("plain", "plain"),
            ("$SET", "value"),
            ("${SET}", "value"),
            ("a${SET}b", "avalueb"),
            ("$SET-x", "value-x"),
            ("${SET:-d}", "value"),
            ("${EMPTY:-d}", "d"),
            ("${UNSET:-d}", "d"),
            ("${SET-d}", "value"),
            ("${EMPTY-d}", ""),
            ("${UNSET-d}", "d"),
            ("${SET:?e}", "value"),
            ("${EMPTY?e}", ""),
            ("${SET:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET+alt}", ""),
            ("${UNSET:-${OTHER}}", "other"),
            ("${UNSET:-${UNSET2:-deep}}", "deep"),
            ("${UNSET:-a b:c}", "a b:c"),
            ("$$", "$"),
            ("$$SET", "$SET"),
            ("$${SET}", "${SET}"),
            ("cost: 5$", "cost: 5$"),
            ("$5 and $(cmd)", "$5 and $(cmd)"),
            ("ünïcode ${SET} ✓", "ünïcode value ✓"),
        ];
        for (input, want) in table {
            let (got, _) = run(input);
            assert_eq!(got, Ok(want.to_owned()), "input {input:?}");
        }
    }

    #[test]
    fn unset_without_default_is_blank_and_reported() {
        let (got, unset) = run("a${UNSET}b$ALSO");
        assert_eq!(got, Ok("ab".to_owned()));
        assert_eq!(unset, vec!["UNSET".to_owned(), "ALSO".to_owned()]);
        let (_, unset) = run("${UNSET:-d}");
        assert!(unset.is_empty());
    }

    #[test]
    fn errors() {
        let (got, _) = run("${UNSET:?set it please}");
        assert_eq!(
            got,
            Err(InterpolationError::Missing {
                variable: "UNSET".into(),
                message: "set it please".into()
            })
        );
        let (got, _) = run("${EMPTY:?}");
        assert!(matches!(got, Err(InterpolationError::Missing { .. })));
        for bad in ["${}", "${SET", "${1A}", "${SET:x}", "${SET!}"] {
            let (got, _) = run(bad);
            assert!(
                matches!(got, Err(InterpolationError::Syntax(_))),
                "{bad:?} gave {got:?}"
            );
        }
    }
}
