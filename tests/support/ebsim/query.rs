//! AWS Query protocol input: a form-encoded body (`Action=…&Version=2010-12-01&Foo.member.1=…`)
//! read into typed values, with EB-style errors for anything malformed.

use std::collections::BTreeMap;

use aws_sdk_elasticbeanstalk::primitives::{DateTime, DateTimeFormat};

use super::error::ApiError;

/// The decoded parameters of one request.
#[derive(Debug, Default, Clone)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Decode an `application/x-www-form-urlencoded` body (also used for admin query strings).
    pub fn parse(body: &[u8]) -> Params {
        Params {
            values: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// The value of `name`, treating an empty string as absent (the SDK sends `Foo=` for empty
    /// lists, and EB treats empty strings as missing).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value of `name`, or EB's missing-parameter error.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::missing_parameter(name))
    }

    /// A boolean (`true`/`false`, any case); absent is `None`.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::malformed(name, v, "a boolean")),
        }
    }

    /// An integer; absent is `None`.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::malformed(name, v, "an integer")),
        }
    }

    /// An ISO 8601 timestamp (what the SDK sends for `StartTime`); absent is `None`.
    pub fn time(&self, name: &str) -> Result<Option<DateTime>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => DateTime::from_str(v, DateTimeFormat::DateTime)
                .map(Some)
                .map_err(|_| ApiError::malformed(name, v, "an ISO 8601 timestamp")),
        }
    }

    /// A list of strings serialised as `name.member.1`, `name.member.2`, … in index order.
    pub fn list(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}.member.");
        let mut items: Vec<(u32, String)> = self
            .values
            .iter()
            .filter_map(|(k, v)| {
                let index = k.strip_prefix(&prefix)?.parse().ok()?;
                Some((index, v.clone()))
            })
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// A list of structures serialised as `name.member.N.Field`; each becomes its own `Params`.
    pub fn structs(&self, name: &str) -> Vec<Params> {
        let prefix = format!("{name}.member.");
        let mut items: BTreeMap<u32, Params> = BTreeMap::new();
        for (k, v) in &self.values {
            let Some(rest) = k.strip_prefix(&prefix) else {
                continue;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(index) = index.parse() else { continue };
            items
                .entry(index)
                .or_default()
                .values
                .insert(field.to_owned(), v.clone());
        }
        items.into_values().collect()
    }

    /// The fields of a nested structure `name.Field` as their own `Params`.
    pub fn nested(&self, name: &str) -> Params {
        let prefix = format!("{name}.");
        Params {
            values: self
                .values
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_owned(), v.clone())))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_structs_follow_member_indexes() {
        let p = Params::parse(
            b"A.member.2=b&A.member.1=a&O.member.1.Namespace=ns&O.member.1.Value=v&O.member.10.Value=w&S.Bucket=x",
        );
        assert_eq!(p.list("A"), ["a", "b"]);
        let s = p.structs("O");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].get("Namespace"), Some("ns"));
        assert_eq!(s[1].get("Value"), Some("w"));
        assert_eq!(p.nested("S").get("Bucket"), Some("x"));
        assert!(p.int("A.member.1").is_err());
    }
}
