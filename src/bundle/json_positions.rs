//! Where each value of a JSON document starts, by path (`containerDefinitions[1].image`), so
//! messages about a run file can name the line and column. `serde_json::Value` keeps no
//! positions; this scanner walks the text once and records them. It assumes valid JSON (the
//! caller parsed it already) and gives up quietly on anything else.

use std::collections::HashMap;

/// Line and column (both 1-based) of every value and of every object key, by path. A key's
/// own position is stored under `path#key`.
#[derive(Debug, Default)]
pub struct Positions {
    at: HashMap<String, (usize, usize)>,
}

impl Positions {
    /// Scan `text`.
    pub fn of(text: &str) -> Positions {
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
            col: 1,
            out: HashMap::new(),
        };
        scanner.value(String::new());
        Positions { at: scanner.out }
    }

    /// Where the value at `path` starts; falls back to the nearest enclosing value.
    pub fn value(&self, path: &str) -> (usize, usize) {
        let mut path = path.to_owned();
        loop {
            if let Some(at) = self.at.get(&path) {
                return *at;
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path.truncate(cut),
                None => return self.at.get("").copied().unwrap_or((1, 1)),
            }
        }
    }

    /// Where the key that ends `path` is written (the value's position when unknown).
    pub fn key(&self, path: &str) -> (usize, usize) {
        self.at
            .get(&format!("{path}#key"))
            .copied()
            .unwrap_or_else(|| self.value(path))
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    col: usize,
    out: HashMap<String, (usize, usize)>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        if byte == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if byte & 0xC0 != 0x80 {
            // Count characters, not UTF-8 continuation bytes.
            self.col += 1;
        }
        Some(byte)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn value(&mut self, path: String) {
        self.skip_ws();
        self.out.insert(path.clone(), (self.line, self.col));
        match self.peek() {
            Some(b'{') => {
                self.bump();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b'}') => {
                            self.bump();
                            return;
                        }
                        Some(b',') => {
                            self.bump();
                        }
                        Some(b'"') => {
                            let at = (self.line, self.col);
                            let key = self.string();
                            let child = if path.is_empty() {
                                key
                            } else {
                                format!("{path}.{key}")
                            };
                            self.out.insert(format!("{child}#key"), at);
                            self.skip_ws();
                            if self.peek() == Some(b':') {
                                self.bump();
                            }
                            self.value(child);
                        }
                        _ => return,
                    }
                }
            }
            Some(b'[') => {
                self.bump();
                let mut index = 0;
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b']') => {
                            self.bump();
                            return;
                        }
                        Some(b',') => {
                            self.bump();
                        }
                        Some(_) => {
                            self.value(format!("{path}[{index}]"));
                            index += 1;
                        }
                        None => return,
                    }
                }
            }
            Some(b'"') => {
                self.string();
            }
            Some(_) => {
                while let Some(byte) = self.peek() {
                    if matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.bump();
                }
            }
            None => {}
        }
    }

    /// A string's contents (escapes kept as written except `\"`, enough for key names).
    fn string(&mut self) -> String {
        self.bump();
        let start = self.pos;
        while let Some(byte) = self.peek() {
            match byte {
                b'\\' => {
                    self.bump();
                    self.bump();
                }
                b'"' => break,
                _ => {
                    self.bump();
                }
            }
        }
        let text = String::from_utf8_lossy(&self.bytes[start..self.pos]).replace("\\\"", "\"");
        self.bump();
        text
    }
}

/// The known name closest to `word`, when it is close enough to be a slip: the same letters in
/// another case, or at most two edits apart (one for short words).
pub fn did_you_mean<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    if let Some(same) = known.iter().find(|k| k.to_ascii_lowercase() == lower) {
        return Some(same);
    }
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_values_and_keys() {
        let text = "{\n  \"a\": 1,\n  \"list\": [\n    {\"x\": \"é\", \"y\": true}\n  ]\n}\n";
        let p = Positions::of(text);
        assert_eq!(p.value("a"), (2, 8));
        assert_eq!(p.key("a"), (2, 3));
        assert_eq!(p.value("list[0]"), (4, 5));
        assert_eq!(p.value("list[0].y"), (4, 21));
        assert_eq!(p.key("list[0].y"), (4, 16));
        assert_eq!(p.value("list[0].missing"), (4, 5));
        assert_eq!(p.value("nothing"), (1, 1));
    }

    #[test]
    fn suggestions() {
        let known = ["containerDefinitions", "volumes", "mountPoints", "image"];
        assert_eq!(
            did_you_mean("containerDefinition", &known),
            Some("containerDefinitions")
        );
        assert_eq!(did_you_mean("MountPoints", &known), Some("mountPoints"));
        assert_eq!(did_you_mean("imgae", &known), Some("image"));
        assert_eq!(did_you_mean("logging", &known), None);
    }
}
