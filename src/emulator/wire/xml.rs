//! A tiny XML tree for awsQuery responses (SNS, STS).

/// One XML value: text, a sequence of named children, a `<member>` list or an `<entry>` map.
#[derive(Debug, Clone, PartialEq)]
pub enum Xml {
    Text(String),
    Node(Vec<(String, Xml)>),
    Members(Vec<Xml>),
    Entries(Vec<(String, String)>),
}

impl Xml {
    pub fn text(s: impl Into<String>) -> Xml {
        Xml::Text(s.into())
    }
    pub fn node() -> Xml {
        Xml::Node(Vec::new())
    }
    /// Adds a named child (only on `Node`).
    pub fn with(mut self, name: &str, child: Xml) -> Xml {
        if let Xml::Node(ref mut v) = self {
            v.push((name.to_string(), child));
        }
        self
    }
    pub fn with_text(self, name: &str, text: impl Into<String>) -> Xml {
        self.with(name, Xml::Text(text.into()))
    }
    /// Adds a child only when the value is present.
    pub fn with_opt(self, name: &str, text: Option<impl Into<String>>) -> Xml {
        match text {
            Some(t) => self.with_text(name, t),
            None => self,
        }
    }

    pub fn write(&self, out: &mut String) {
        match self {
            Xml::Text(t) => escape_into(t, out),
            Xml::Node(children) => {
                for (name, child) in children {
                    out.push('<');
                    out.push_str(name);
                    out.push('>');
                    child.write(out);
                    out.push_str("</");
                    out.push_str(name);
                    out.push('>');
                }
            }
            Xml::Members(items) => {
                for item in items {
                    out.push_str("<member>");
                    item.write(out);
                    out.push_str("</member>");
                }
            }
            Xml::Entries(entries) => {
                for (k, v) in entries {
                    out.push_str("<entry><key>");
                    escape_into(k, out);
                    out.push_str("</key><value>");
                    escape_into(v, out);
                    out.push_str("</value></entry>");
                }
            }
        }
    }
}

pub fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {
                out.push_str(&format!("&#x{:X};", c as u32))
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_lists_maps_and_escapes() {
        let x = Xml::node()
            .with_text("A", "x<y&z")
            .with("L", Xml::Members(vec![Xml::text("1"), Xml::text("2")]))
            .with("M", Xml::Entries(vec![("k".into(), "v".into())]));
        let mut s = String::new();
        x.write(&mut s);
        assert_eq!(
            s,
            "<A>x&lt;y&amp;z</A><L><member>1</member><member>2</member></L><M><entry><key>k</key><value>v</value></entry></M>"
        );
    }
}
