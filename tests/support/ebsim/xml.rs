//! Query protocol output: `<XResponse xmlns=…><XResult>…</XResult><ResponseMetadata>…` built
//! with a tiny writer that escapes every text node.

use aws_sdk_elasticbeanstalk::primitives::{DateTime, DateTimeFormat};

/// EB's XML namespace.
pub const NAMESPACE: &str = "http://elasticbeanstalk.amazonaws.com/docs/2010-12-01/";
/// STS's XML namespace.
pub const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Escape text for an XML element body.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An element-by-element XML builder.
#[derive(Default)]
pub struct Xml {
    out: String,
}

impl Xml {
    /// An empty document fragment.
    pub fn new() -> Xml {
        Xml::default()
    }

    /// `<name>text</name>`.
    pub fn text(&mut self, name: &str, text: &str) -> &mut Xml {
        self.out
            .push_str(&format!("<{name}>{}</{name}>", escape(text)));
        self
    }

    /// `<name>text</name>` when `text` is present.
    pub fn opt(&mut self, name: &str, text: Option<&str>) -> &mut Xml {
        if let Some(text) = text {
            self.text(name, text);
        }
        self
    }

    /// A timestamp in the format the SDK parses (ISO 8601, UTC, milliseconds).
    pub fn time(&mut self, name: &str, time: DateTime) -> &mut Xml {
        let text = time
            .fmt(DateTimeFormat::DateTime)
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
        self.text(name, &text)
    }

    /// `<name>` … `</name>` around what `body` writes.
    pub fn element(&mut self, name: &str, body: impl FnOnce(&mut Xml)) -> &mut Xml {
        self.out.push_str(&format!("<{name}>"));
        body(self);
        self.out.push_str(&format!("</{name}>"));
        self
    }

    /// A list: `<name><member>…</member>…</name>`, one member per item.
    pub fn list<T>(
        &mut self,
        name: &str,
        items: &[T],
        mut member: impl FnMut(&mut Xml, &T),
    ) -> &mut Xml {
        self.element(name, |x| {
            for item in items {
                x.element("member", |x| member(x, item));
            }
        })
    }

    /// A list of strings: `<name><member>text</member>…</name>`.
    pub fn strings(&mut self, name: &str, items: &[String]) -> &mut Xml {
        self.element(name, |x| {
            for item in items {
                x.text("member", item);
            }
        })
    }

    /// The fragment written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

/// The success envelope for `action`, around the `…Result` body.
pub fn response(action: &str, result: &str, request_id: &str) -> String {
    // STS shares the endpoint in the rig; its answers carry its own namespace.
    let namespace = if action == "GetCallerIdentity" {
        STS_NAMESPACE
    } else {
        NAMESPACE
    };
    format!(
        "<{action}Response xmlns=\"{namespace}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_lists_use_members() {
        let mut x = Xml::new();
        x.text("M", "a<b & 'c'").list("L", &["1", "2"], |x, v| {
            x.text("V", v);
        });
        assert_eq!(
            x.finish(),
            "<M>a&lt;b &amp; &apos;c&apos;</M><L><member><V>1</V></member><member><V>2</V></member></L>"
        );
    }
}
