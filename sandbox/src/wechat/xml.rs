//! The flat XML of WeChat Pay v2 (wechat.md §2, §7, §10): one root element whose
//! children are the fields, read and written with quick-xml.
//!
//! Reading takes the fields in any order, each value as plain text (entities and
//! character references resolved) or CDATA or both, and refuses a DOCTYPE (XXE) and
//! anything that is not flat. Writing puts values in CDATA as WeChat does, except the
//! fields the caller asks to be bare (WeChat writes `total_fee` without CDATA).

use super::Fields;
use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesCData, BytesEnd, BytesRef, BytesStart, BytesText, Event};
use std::fmt;

/// Why a body is not a flat XML message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    /// A DOCTYPE (and with it any entity definition) is never accepted.
    Doctype,
    /// A field holds elements of its own.
    Nested(String),
    /// The same field twice.
    Duplicate(String),
    /// Not well-formed, or not one root element.
    Malformed(String),
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlError::Doctype => f.write_str("a DOCTYPE is not accepted"),
            XmlError::Nested(field) => write!(f, "field {field} holds elements"),
            XmlError::Duplicate(field) => write!(f, "field {field} appears twice"),
            XmlError::Malformed(why) => write!(f, "not flat XML: {why}"),
        }
    }
}

/// Where the reader is in the document.
enum Place {
    BeforeRoot,
    InRoot,
    /// Inside a field: its name, its text parts, and whether one was CDATA.
    InField {
        name: String,
        value: String,
        blank_text: String,
        has_cdata: bool,
    },
    AfterRoot,
}

fn malformed(why: impl fmt::Display) -> XmlError {
    XmlError::Malformed(why.to_string())
}

fn name_of(start: &BytesStart<'_>) -> String {
    start.name().as_ref().to_owned()
}

/// The text a reference stands for: one of XML's five entities or a character reference.
fn resolve(reference: &BytesRef<'_>) -> Result<String, XmlError> {
    if let Some(character) = reference.resolve_char_ref().map_err(malformed)? {
        return Ok(character.to_string());
    }
    let name = reference.xml10_content();
    resolve_predefined_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| malformed(format!("unknown entity &{name};")))
}

/// The fields of a flat XML message (any root name). Whitespace between fields is
/// ignored, and so is whitespace around a CDATA value (pretty-printed bodies); other
/// text is kept as sent.
pub fn parse_flat(body: &[u8]) -> Result<Fields, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| malformed("not UTF-8"))?;
    let mut reader = Reader::from_str(text);
    let mut fields = Fields::new();
    let mut place = Place::BeforeRoot;
    loop {
        let event = reader.read_event().map_err(malformed)?;
        place = match (place, event) {
            (_, Event::DocType(_)) => return Err(XmlError::Doctype),
            (place, Event::Comment(_)) => place,
            (Place::BeforeRoot, Event::Decl(_)) => Place::BeforeRoot,
            (Place::BeforeRoot, Event::Start(_)) => Place::InRoot,
            (Place::BeforeRoot, Event::Empty(_)) => Place::AfterRoot,
            (outside @ (Place::BeforeRoot | Place::InRoot | Place::AfterRoot), Event::Text(text))
                if text.xml10_content().trim().is_empty() =>
            {
                outside
            }
            (Place::InRoot, Event::Start(start)) => Place::InField {
                name: name_of(&start),
                value: String::new(),
                blank_text: String::new(),
                has_cdata: false,
            },
            (Place::InRoot, Event::Empty(empty)) => {
                insert(&mut fields, name_of(&empty), String::new())?;
                Place::InRoot
            }
            (Place::InRoot, Event::End(_)) => Place::AfterRoot,
            (
                Place::InField {
                    name,
                    mut value,
                    mut blank_text,
                    has_cdata,
                },
                Event::Text(text),
            ) => {
                let content = text.xml10_content();
                if content.trim().is_empty() {
                    blank_text.push_str(&content);
                } else {
                    value.push_str(&blank_text);
                    blank_text.clear();
                    value.push_str(&content);
                }
                Place::InField {
                    name,
                    value,
                    blank_text,
                    has_cdata,
                }
            }
            (
                Place::InField {
                    name,
                    mut value,
                    blank_text,
                    ..
                },
                Event::CData(cdata),
            ) => {
                // Blank text next to CDATA is layout, not value.
                value.push_str(&cdata.into_inner());
                drop(blank_text);
                Place::InField {
                    name,
                    value,
                    blank_text: String::new(),
                    has_cdata: true,
                }
            }
            (
                Place::InField {
                    name,
                    mut value,
                    blank_text,
                    has_cdata,
                },
                Event::GeneralRef(reference),
            ) => {
                value.push_str(&blank_text);
                value.push_str(&resolve(&reference)?);
                Place::InField {
                    name,
                    value,
                    blank_text: String::new(),
                    has_cdata,
                }
            }
            (Place::InField { name, .. }, Event::Start(_) | Event::Empty(_)) => return Err(XmlError::Nested(name)),
            (
                Place::InField {
                    name,
                    mut value,
                    blank_text,
                    has_cdata,
                },
                Event::End(_),
            ) => {
                if !has_cdata {
                    value.push_str(&blank_text);
                }
                insert(&mut fields, name, value)?;
                Place::InRoot
            }
            (Place::AfterRoot, Event::Eof) => return Ok(fields),
            (_, Event::Eof) => return Err(malformed("the document ends inside its root element")),
            (_, other) => return Err(malformed(format!("unexpected {other:?}"))),
        };
    }
}

fn insert(fields: &mut Fields, name: String, value: String) -> Result<(), XmlError> {
    if fields.contains_key(&name) {
        return Err(XmlError::Duplicate(name));
    }
    fields.insert(name, value);
    Ok(())
}

/// How a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `<![CDATA[…]]>`, WeChat's usual form.
    Cdata,
    /// Plain text with `&`, `<` and `>` escaped, as WeChat writes `total_fee`.
    Text,
    /// Plain text with every non-ASCII character as a character reference (`&#26376;`):
    /// the same value to any XML reader.
    EscapedUnicode,
}

/// Builds a message element by element, in the order given.
pub struct XmlWriter {
    writer: Writer<Vec<u8>>,
    root: String,
    separator: &'static str,
}

impl XmlWriter {
    /// A message with root `root`; `separator` goes between elements ("" as in API
    /// bodies, "\n" as in `req_info`).
    pub fn new(root: &str, separator: &'static str) -> XmlWriter {
        let mut writer = Writer::new(Vec::new());
        writer
            .write_event(Event::Start(BytesStart::new(root)))
            .expect("writing to memory cannot fail");
        let mut xml = XmlWriter {
            writer,
            root: root.to_owned(),
            separator,
        };
        xml.separate();
        xml
    }

    fn separate(&mut self) {
        if !self.separator.is_empty() {
            self.event(Event::Text(BytesText::from_escaped(self.separator)));
        }
    }

    fn event(&mut self, event: Event<'_>) {
        self.writer.write_event(event).expect("writing to memory cannot fail");
    }

    pub fn field(&mut self, name: &str, value: &str, form: Form) -> &mut XmlWriter {
        self.event(Event::Start(BytesStart::new(name)));
        match form {
            Form::Cdata => {
                // "]]>" cannot stand inside one CDATA section: split it over two.
                let mut rest = value;
                while let Some(end) = rest.find("]]>") {
                    self.event(Event::CData(BytesCData::new(&rest[..end + 2])));
                    rest = &rest[end + 2..];
                }
                self.event(Event::CData(BytesCData::new(rest)));
            }
            Form::Text => self.event(Event::Text(BytesText::new(value))),
            Form::EscapedUnicode => {
                let escaped = quick_xml::escape::escape(value);
                let referenced: String = escaped
                    .chars()
                    .map(|c| {
                        if c.is_ascii() {
                            c.to_string()
                        } else {
                            format!("&#{};", u32::from(c))
                        }
                    })
                    .collect();
                self.event(Event::Text(BytesText::from_escaped(referenced)));
            }
        }
        self.event(Event::End(BytesEnd::new(name)));
        self.separate();
        self
    }

    pub fn finish(mut self) -> String {
        let root = std::mem::take(&mut self.root);
        self.event(Event::End(BytesEnd::new(root)));
        String::from_utf8(self.writer.into_inner()).expect("the writer was given only UTF-8")
    }
}

/// `fields` under `<xml>`, in name order, each value in CDATA.
pub fn to_xml(fields: &Fields) -> String {
    let mut xml = XmlWriter::new("xml", "");
    for (name, value) in fields {
        xml.field(name, value, Form::Cdata);
    }
    xml.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn reads_the_official_notify_layout() {
        // The shape of the sample notify on WeChat's 支付结果通知 page: CDATA values,
        // `total_fee` bare, fields not in name order, pretty-printed.
        let body = "<xml>\n  <appid><![CDATA[wx2421b1c4370ec43b]]></appid>\n  <attach><![CDATA[支付测试]]></attach>\n  \
                    <total_fee>1</total_fee>\n  <coupon_fee><![CDATA[10]]></coupon_fee>\n  \
                    <bank_type><![CDATA[CFT]]></bank_type>\n</xml>";
        assert_eq!(
            parse_flat(body.as_bytes()).unwrap(),
            fields(&[
                ("appid", "wx2421b1c4370ec43b"),
                ("attach", "支付测试"),
                ("total_fee", "1"),
                ("coupon_fee", "10"),
                ("bank_type", "CFT"),
            ])
        );
    }

    #[test]
    fn text_references_and_cdata_give_the_same_values() {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><xml><!-- c --><a>x &amp; &lt;y&gt; &#26376;&#x5361;</a>\
                    <b><![CDATA[x & <y> 月卡]]></b><c/><d></d><e>  <![CDATA[ kept ]]>\n</e><f> text </f></xml>";
        let read = parse_flat(body.as_bytes()).unwrap();
        assert_eq!(read["a"], "x & <y> 月卡");
        assert_eq!(read["b"], "x & <y> 月卡");
        assert_eq!((read["c"].as_str(), read["d"].as_str()), ("", ""));
        assert_eq!(read["e"], " kept ");
        assert_eq!(read["f"], " text ");
    }

    #[test]
    fn refuses_what_is_not_flat_xml() {
        let xxe =
            r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>"#;
        assert_eq!(parse_flat(xxe.as_bytes()), Err(XmlError::Doctype));
        assert_eq!(
            parse_flat(b"<xml><a><b>1</b></a></xml>"),
            Err(XmlError::Nested("a".into()))
        );
        assert_eq!(
            parse_flat(b"<xml><a>1</a><a>2</a></xml>"),
            Err(XmlError::Duplicate("a".into()))
        );
        for bad in [
            &b"<xml><a>1</a>"[..],
            b"<xml><a>1</b></xml>",
            b"{\"a\": 1}",
            b"<xml><a>&nbsp;</a></xml>",
            b"<xml></xml><xml></xml>",
            b"<xml><a>\xff</a></xml>",
            b"",
        ] {
            assert!(parse_flat(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn writes_cdata_bare_and_referenced_values_that_read_back() {
        let mut xml = XmlWriter::new("xml", "");
        xml.field("z", "a]]>b", Form::Cdata)
            .field("total_fee", "1990", Form::Text)
            .field("attach", "月卡 & <x>", Form::EscapedUnicode)
            .field("a", "", Form::Cdata);
        let body = xml.finish();
        assert_eq!(
            body,
            "<xml><z><![CDATA[a]]]]><![CDATA[>b]]></z><total_fee>1990</total_fee>\
             <attach>&#26376;&#21345; &amp; &lt;x&gt;</attach><a><![CDATA[]]></a></xml>"
        );
        assert_eq!(
            parse_flat(body.as_bytes()).unwrap(),
            fields(&[
                ("z", "a]]>b"),
                ("total_fee", "1990"),
                ("attach", "月卡 & <x>"),
                ("a", "")
            ])
        );
    }

    #[test]
    fn to_xml_writes_every_field_in_cdata_in_name_order() {
        let written = to_xml(&fields(&[("b", "2"), ("a", "1")]));
        assert_eq!(written, "<xml><a><![CDATA[1]]></a><b><![CDATA[2]]></b></xml>");
    }
}
