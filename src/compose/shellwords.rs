//! Splitting a `command:`/`entrypoint:` string into words the way Compose does (POSIX `shlex`
//! rules, no comments): whitespace separates, `'…'` is literal, `"…"` honours `\"`, `\\`, `\$`,
//! `` \` `` and `\<newline>`, and a backslash outside quotes escapes the next character.
//! Nothing is expanded: there is no shell.

/// The words of `text`, or why it cannot be split (an unclosed quote, a trailing backslash).
pub(crate) fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word exists once something (even an empty quoted string) was written.
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a single quote (') is never closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => word.push(e),
                            Some('\n') => {}
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => return Err("a double quote (\") is never closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a double quote (\") is never closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => return Err("it ends with a backslash that escapes nothing".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let table: &[(&str, &[&str])] = &[
            ("", &[]),
            ("   ", &[]),
            ("a b  c", &["a", "b", "c"]),
            (
                "sh -c 'echo $HOME && ls'",
                &["sh", "-c", "echo $HOME && ls"],
            ),
            (r#"echo "a \"b\" \$c \n""#, &["echo", r#"a "b" $c \n"#]),
            (r"a\ b c", &["a b", "c"]),
            ("''", &[""]),
            ("a'b'\"c\"", &["abc"]),
            (
                "gunicorn -c /etc/g.py app:wsgi",
                &["gunicorn", "-c", "/etc/g.py", "app:wsgi"],
            ),
            ("x # not a comment", &["x", "#", "not", "a", "comment"]),
            ("a\tb\nc", &["a", "b", "c"]),
        ];
        for (text, want) in table {
            let got = split(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(got, *want, "{text:?}");
        }
        for bad in ["'open", "\"open", "end\\", "\"a\\"] {
            assert!(split(bad).is_err(), "{bad:?}");
        }
    }
}
