//! Go RE2 -> `regex`: patternmatcher builds Go regular expressions from globs; this
//! translates them keeping Go's meaning (quirks included).

/// Translates a Go RE2 expression (as patternmatcher builds them) to `regex`
/// syntax, keeping Go's meaning: in Go a `[` inside a class is literal, `\d`,
/// `\s`, `\w` and `\b` are ASCII-only, `\Q..\E` quotes, and so on.
pub(super) fn go_regex_to_rust(source: &str) -> Result<String, String> {
    let mut t = Translator {
        chars: source.chars().collect(),
        pos: 0,
        out: String::new(),
        depth: 0,
        last: Last::Nothing,
    };
    t.expression()?;
    Ok(t.out)
}

/// What precedes a repetition operator, to reject what Go rejects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    Nothing,
    Atom,
    Repeat,
    LazyRepeat,
}

struct Translator {
    chars: Vec<char>,
    pos: usize,
    out: String,
    depth: usize,
    last: Last,
}

/// Go's POSIX classes; `regex` knows the same names with the same meanings.
const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

impl Translator {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn expression(&mut self) -> Result<(), String> {
        while let Some(c) = self.bump() {
            match c {
                '*' | '+' | '?' => self.repeat(&c.to_string())?,
                '{' => self.brace()?,
                '(' => self.open_group()?,
                ')' => self.close_group()?,
                '|' => {
                    self.out.push('|');
                    self.last = Last::Nothing;
                }
                '.' | '^' | '$' => self.atom(&c.to_string()),
                '\\' => {
                    let escaped = self.escape()?;
                    self.atom(&escaped);
                }
                '[' => {
                    let class = self.class()?;
                    self.atom(&class);
                }
                _ => self.atom(&regex::escape(&c.to_string())),
            }
        }
        if self.depth > 0 {
            return Err("missing closing )".into());
        }
        Ok(())
    }

    fn atom(&mut self, text: &str) {
        self.out.push_str(text);
        self.last = Last::Atom;
    }

    /// A repetition operator; Go reads a `?` right after one as "non-greedy"
    /// and rejects any other stacking.
    fn repeat(&mut self, op: &str) -> Result<(), String> {
        self.last = match (self.last, op) {
            (Last::Nothing, _) => {
                return Err(format!("missing argument to repetition operator `{op}`"));
            }
            (Last::Atom, _) => Last::Repeat,
            (Last::Repeat, "?") => Last::LazyRepeat,
            _ => return Err(format!("invalid nested repetition operator `{op}`")),
        };
        self.out.push_str(op);
        Ok(())
    }

    /// A `{` (consumed): Go's counted repetition when `{n}`, `{n,}` or
    /// `{n,m}` follows, a literal `{` otherwise.
    fn brace(&mut self) -> Result<(), String> {
        let Some((min, max)) = self.counted_repeat() else {
            self.atom(r"\{");
            return Ok(());
        };
        let too_big = min > 1000 || max.is_some_and(|max| max > 1000 || max < min);
        if too_big {
            return Err("invalid repeat count".into());
        }
        let op = match max {
            Some(max) => format!("{{{min},{max}}}"),
            None => format!("{{{min},}}"),
        };
        self.repeat(&op)
    }

    /// Parses `n}`, `n,}` or `n,m}` after a `{`, advancing only on success;
    /// `None` as the upper bound means unbounded.
    fn counted_repeat(&mut self) -> Option<(u64, Option<u64>)> {
        let start = self.pos;
        let parsed = self.repeat_bounds();
        if parsed.is_none() {
            self.pos = start;
        }
        parsed
    }

    fn repeat_bounds(&mut self) -> Option<(u64, Option<u64>)> {
        let min = self.repeat_count()?;
        let max = match self.bump()? {
            '}' => return Some((min, Some(min))),
            ',' if self.peek() == Some('}') => None,
            ',' => Some(self.repeat_count()?),
            _ => return None,
        };
        (self.bump()? == '}').then_some((min, max))
    }

    /// Decimal digits without a leading zero (Go's rule), saturating.
    fn repeat_count(&mut self) -> Option<u64> {
        let digits: String = self.chars[self.pos..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        self.pos += digits.len();
        Some(digits.bytes().fold(0u64, |n, d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        }))
    }

    fn open_group(&mut self) -> Result<(), String> {
        if self.peek() == Some('?') {
            return Err("group flags are not supported".into());
        }
        self.out.push('(');
        self.depth += 1;
        self.last = Last::Nothing;
        Ok(())
    }

    fn close_group(&mut self) -> Result<(), String> {
        if self.depth == 0 {
            return Err("unexpected )".into());
        }
        self.depth -= 1;
        self.atom(")");
        Ok(())
    }

    /// An escape outside a class (the `\` is consumed).
    fn escape(&mut self) -> Result<String, String> {
        let c = self
            .bump()
            .ok_or("trailing backslash at end of expression")?;
        Ok(match c {
            'A' => r"\A".into(),
            'z' => r"\z".into(),
            'b' => r"(?-u:\b)".into(),
            'B' => r"(?-u:\B)".into(),
            'Q' => self.quoted(),
            'p' | 'P' => self.unicode_class(c)?,
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => perl_class(c).into(),
            _ => regex::escape(&self.escaped_char(c)?.to_string()),
        })
    }

    /// `\Q...\E` (or to the end): everything in between is literal.
    fn quoted(&mut self) -> String {
        let mut literal = String::new();
        while let Some(c) = self.bump() {
            if c == '\\' && self.peek() == Some('E') {
                self.pos += 1;
                break;
            }
            literal.push(c);
        }
        regex::escape(&literal)
    }

    /// Go's single-character escapes (`\` and `c` consumed): octal, hex, C
    /// escapes and quoted punctuation. Anything else is an error in Go.
    fn escaped_char(&mut self, c: char) -> Result<char, String> {
        let invalid = || format!("invalid escape sequence `\\{c}`");
        match c {
            '1'..='7' if !self.peek().is_some_and(is_octal) => Err(invalid()),
            '0'..='7' => Ok(self.octal(c)),
            'x' => self.hex().ok_or_else(invalid),
            'a' => Ok('\x07'),
            'f' => Ok('\x0C'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            't' => Ok('\t'),
            'v' => Ok('\x0B'),
            _ if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(c),
            _ => Err(invalid()),
        }
    }

    /// Up to two more octal digits after `first`.
    fn octal(&mut self, first: char) -> char {
        let mut value = first.to_digit(8).unwrap_or(0);
        for _ in 0..2 {
            match self.peek().and_then(|d| d.to_digit(8)) {
                Some(digit) => {
                    value = value * 8 + digit;
                    self.pos += 1;
                }
                None => break,
            }
        }
        // At most 0o777, always a valid scalar value.
        char::from_u32(value).unwrap_or('\0')
    }

    /// `\xHH` or `\x{H...}` after the `x`.
    fn hex(&mut self) -> Option<char> {
        if self.peek() == Some('{') {
            self.pos += 1;
            let mut value: u32 = 0;
            let mut digits = 0;
            loop {
                let c = self.bump()?;
                if c == '}' && digits > 0 {
                    return char::from_u32(value);
                }
                value = value.checked_mul(16)? + c.to_digit(16)?;
                if value > 0x10FFFF {
                    return None;
                }
                digits += 1;
            }
        }
        let high = self.bump()?.to_digit(16);
        let low = self.bump()?.to_digit(16);
        char::from_u32(high? * 16 + low?)
    }

    /// `\pX`, `\p{Name}`, `\PX`, `\p{^Name}` (the `\` and `p`/`P` consumed).
    fn unicode_class(&mut self, p: char) -> Result<String, String> {
        let c = self.bump().ok_or("missing Unicode class name")?;
        let name = if c == '{' {
            let mut name = String::new();
            loop {
                match self.bump() {
                    Some('}') => break name,
                    Some(c) => name.push(c),
                    None => return Err("missing closing } in Unicode class".into()),
                }
            }
        } else {
            c.to_string()
        };
        let (negated, name) = match name.strip_prefix('^') {
            Some(rest) => (p == 'p', rest.to_owned()),
            None => (p == 'P', name),
        };
        // Go's one-letter names are the general categories C, L, M, N, P, S, Z.
        let known = match name.len() {
            1 => "CLMNPSZ".contains(name.as_str()),
            _ => !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        };
        if !known {
            return Err(format!("invalid Unicode class `{name}`"));
        }
        Ok(format!("\\{}{{{name}}}", if negated { 'P' } else { 'p' }))
    }

    /// A class (the `[` consumed), Go rules, emitted as a `regex` class.
    fn class(&mut self) -> Result<String, String> {
        let mut out = String::from("[");
        if self.peek() == Some('^') {
            self.pos += 1;
            out.push('^');
        }
        let mut first = true;
        loop {
            match self.peek() {
                None => return Err("missing closing ]".into()),
                Some(']') if !first => {
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            first = false;
            let item = self.class_item()?;
            out.push_str(&item);
        }
        out.push(']');
        Ok(out)
    }

    fn class_item(&mut self) -> Result<String, String> {
        if self.peek() == Some('[')
            && self.peek_at(1) == Some(':')
            && let Some(named) = self.posix_class()?
        {
            return Ok(named);
        }
        if self.peek() == Some('\\') {
            match self.peek_at(1) {
                Some(c @ ('p' | 'P')) => {
                    self.pos += 2;
                    return self.unicode_class(c);
                }
                Some(c @ ('d' | 'D' | 's' | 'S' | 'w' | 'W')) => {
                    self.pos += 2;
                    return Ok(perl_class(c).into());
                }
                _ => {}
            }
        }
        let lo = self.class_char()?;
        let mut hi = lo;
        if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c != ']') {
            self.pos += 1;
            hi = self.class_char()?;
            if hi < lo {
                return Err(format!("invalid character class range `{lo}-{hi}`"));
            }
        }
        let escape = |c: char| regex::escape(&c.to_string());
        Ok(match hi == lo {
            true => escape(lo),
            false => format!("{}-{}", escape(lo), escape(hi)),
        })
    }

    /// `[:name:]` or `[:^name:]`; Go looks for the closing `:]` anywhere ahead
    /// and treats the `[` as literal when there is none.
    fn posix_class(&mut self) -> Result<Option<String>, String> {
        let rest: String = self.chars[self.pos + 2..].iter().collect();
        let Some(end) = rest.find(":]") else {
            return Ok(None);
        };
        let name = &rest[..end];
        if !POSIX_CLASSES.contains(&name.strip_prefix('^').unwrap_or(name)) {
            return Err(format!("invalid character class range `[:{name}:]`"));
        }
        self.pos += 2 + name.chars().count() + 2;
        Ok(Some(format!("[:{name}:]")))
    }

    fn class_char(&mut self) -> Result<char, String> {
        match self.bump() {
            None => Err("missing closing ]".into()),
            Some('\\') => {
                let c = self
                    .bump()
                    .ok_or("trailing backslash at end of expression")?;
                self.escaped_char(c)
            }
            Some(c) => Ok(c),
        }
    }
}

fn is_octal(c: char) -> bool {
    c.is_digit(8)
}

/// Go's ASCII-only Perl classes, spelled out (regex's are Unicode-aware).
fn perl_class(c: char) -> &'static str {
    match c {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        's' => r"[\t\n\x0C\r\x20]",
        'S' => r"[^\t\n\x0C\r\x20]",
        'w' => "[0-9A-Za-z_]",
        _ => "[^0-9A-Za-z_]",
    }
}
