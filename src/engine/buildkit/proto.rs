//! Just enough protobuf wire format for the few BuildKit messages stevedore exchanges: varints,
//! length-delimited fields, and a field reader. A generated codec (prost + tonic) would bring a
//! code generator and a gRPC stack into the build for five small message types.

/// Appends `value` as a base-128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a varint field (wire type 0); zero is the default and is left out, as proto3 does.
pub fn put_uint(out: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        put_varint(out, u64::from(field) << 3);
        put_varint(out, value);
    }
}

/// Appends a length-delimited field (wire type 2), even when empty.
pub fn put_bytes(out: &mut Vec<u8>, field: u32, value: &[u8]) {
    put_varint(out, (u64::from(field) << 3) | 2);
    put_varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// One field read from a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A varint.
    Uint(u64),
    /// A length-delimited payload (string, bytes or nested message).
    Bytes(&'a [u8]),
    /// A fixed 32- or 64-bit value, not used by these messages.
    Fixed(u64),
}

/// Iterates over the fields of an encoded message; stops at the first malformed byte.
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    /// Reads the fields of `message`.
    pub fn new(message: &'a [u8]) -> Self {
        Self { rest: message }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.rest.split_first()?;
            self.rest = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(head)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (u32, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let key = self.varint()?;
        let field = u32::try_from(key >> 3).ok()?;
        let value = match key & 7 {
            0 => Value::Uint(self.varint()?),
            1 => Value::Fixed(u64::from_le_bytes(self.take(8)?.try_into().ok()?)),
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                Value::Bytes(self.take(len)?)
            }
            5 => Value::Fixed(u64::from(u32::from_le_bytes(
                self.take(4)?.try_into().ok()?,
            ))),
            _ => {
                self.rest = &[];
                return None;
            }
        };
        Some((field, value))
    }
}

/// The text of a string field, lossily.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let mut out = Vec::new();
        put_uint(&mut out, 1, 2);
        put_bytes(&mut out, 4, b"hello");
        put_uint(&mut out, 3, 300);
        let fields: Vec<_> = Fields::new(&out).collect();
        assert_eq!(
            fields,
            vec![
                (1, Value::Uint(2)),
                (4, Value::Bytes(b"hello")),
                (3, Value::Uint(300))
            ]
        );
    }

    #[test]
    fn truncated_message_stops() {
        let mut out = Vec::new();
        put_bytes(&mut out, 1, b"hello");
        out.truncate(4);
        assert_eq!(Fields::new(&out).count(), 0);
    }
}
