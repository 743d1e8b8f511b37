//! The flat XML WeChat Pay v2 speaks, `<xml><k>v</k>…</xml>`: read with quick-xml's event
//! reader into a map, written back with every value in CDATA. Security rules: wechat.md §10.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};

/// Notifies and responses are a few hundred bytes; the cap keeps a hostile body from
/// costing memory or time before its signature is even checked.
pub const MAX_XML_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    /// quick-xml expands no entities, but a DTD has no business in a payment message and
    /// refusing it outright keeps XXE and entity bombs out whatever reads the map later.
    #[error("XML with a DOCTYPE or ENTITY declaration is refused")]
    Doctype,
    #[error("XML body larger than {MAX_XML_BYTES} bytes")]
    TooLarge,
    #[error("an element nested inside a field; only flat XML is accepted")]
    Nested,
    #[error("malformed XML: {0}")]
    Malformed(String),
}

/// Parses a flat `<root><k>v</k>…</root>` (any root name) into a map. Values may be CDATA
/// (taken verbatim) or text (entity references resolved, surrounding whitespace trimmed);
/// `<k/>` gives "". Line ends are kept as sent (no XML end-of-line normalisation): the sign
/// was computed over the sender's bytes. A duplicate field is refused: with "last wins" a
/// second copy could carry a value the signature never covered past a verifier that read the
/// first.
pub fn parse_flat(bytes: &[u8]) -> Result<BTreeMap<String, String>, XmlError> {
    if bytes.len() > MAX_XML_BYTES {
        return Err(XmlError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| malformed(format!("not UTF-8: {e}")))?;
    let mut reader = Reader::from_str(text);
    let mut fields = BTreeMap::new();
    let mut position = Position::BeforeRoot;
    loop {
        let event = reader.read_event().map_err(|e| read_error(text, &reader, &e))?;
        position = match (position, event) {
            (_, Event::DocType(_)) => return Err(XmlError::Doctype),
            (Position::AfterRoot, Event::Eof) => return Ok(fields),
            (_, Event::Eof) => return Err(malformed("document ends inside the root element")),
            (position, Event::Comment(_)) => position,
            (Position::BeforeRoot, Event::Decl(_)) => Position::BeforeRoot,
            (outside @ (Position::BeforeRoot | Position::AfterRoot), Event::Text(text)) if is_blank(&text) => outside,
            (Position::BeforeRoot, Event::Start(_)) => Position::InRoot,
            (Position::BeforeRoot, Event::Empty(_)) => Position::AfterRoot,
            (Position::InRoot, Event::Text(text)) if is_blank(&text) => Position::InRoot,
            (Position::InRoot, Event::Start(start)) => Position::InField(Field::new(field_name(&start))),
            (Position::InRoot, Event::Empty(empty)) => {
                insert_once(&mut fields, field_name(&empty), String::new())?;
                Position::InRoot
            }
            (Position::InRoot, Event::End(_)) => Position::AfterRoot,
            (Position::InField(mut field), Event::Text(text)) => {
                field.push_text(&text);
                Position::InField(field)
            }
            (Position::InField(mut field), Event::CData(cdata)) => {
                field.push_verbatim(&cdata);
                Position::InField(field)
            }
            (Position::InField(mut field), Event::GeneralRef(reference)) => {
                field.push_verbatim(&resolve_reference(&reference)?);
                Position::InField(field)
            }
            (Position::InField(_), Event::Start(_) | Event::Empty(_)) => return Err(XmlError::Nested),
            (Position::InField(field), Event::End(_)) => {
                let (name, value) = field.finish();
                insert_once(&mut fields, name, value)?;
                Position::InRoot
            }
            (_, other) => return Err(malformed(format!("unexpected {} here", kind(&other)))),
        };
    }
}

/// The event's kind only: its content could be most of a 64 KiB body, too much for a log line.
fn kind(event: &Event<'_>) -> &'static str {
    match event {
        Event::Start(_) => "start tag",
        Event::End(_) => "end tag",
        Event::Empty(_) => "empty element",
        Event::Text(_) => "text",
        Event::CData(_) => "CDATA",
        Event::Comment(_) => "comment",
        Event::Decl(_) => "XML declaration",
        Event::PI(_) => "processing instruction",
        Event::DocType(_) => "DOCTYPE",
        Event::GeneralRef(_) => "entity reference",
        Event::Eof => "end of input",
    }
}

/// quick-xml reports a DOCTYPE as an event but a stray `<!ENTITY …>` (or any other DTD
/// declaration) only as a syntax error: tell those apart so an attack is logged as one.
fn read_error(text: &str, reader: &Reader<&[u8]>, error: &quick_xml::Error) -> XmlError {
    let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
    let declaration = text.get(at..).and_then(|rest| rest.strip_prefix("<!"));
    if declaration.is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic())) {
        XmlError::Doctype
    } else {
        malformed(error.to_string())
    }
}

/// Builds `<xml><k><![CDATA[v]]></k>…</xml>` in key order. Keys must be XML names (they are
/// WeChat's fixed field names); a value holding `]]>` is split across CDATA sections.
pub fn to_xml(fields: &BTreeMap<String, String>) -> String {
    to_xml_with_root("xml", fields)
}

/// [`to_xml`] under another root, for the refund notify's `<root>` plaintext.
pub(crate) fn to_xml_with_root(root: &str, fields: &BTreeMap<String, String>) -> String {
    let mut out = format!("<{root}>");
    for (name, value) in fields {
        out.push_str(&format!(
            "<{name}><![CDATA[{}]]></{name}>",
            value.replace("]]>", "]]]]><![CDATA[>")
        ));
    }
    out.push_str(&format!("</{root}>"));
    out
}

enum Position {
    BeforeRoot,
    InRoot,
    InField(Field),
    AfterRoot,
}

/// One field's value as it arrives in pieces. Only whitespace that came as plain text at either
/// end is trimmed: CDATA and references are what the sender meant, spaces included.
struct Field {
    name: String,
    value: String,
    /// Byte range of `value` from the first to the end of the last verbatim piece.
    verbatim: Option<(usize, usize)>,
}

impl Field {
    fn new(name: String) -> Self {
        Self {
            name,
            value: String::new(),
            verbatim: None,
        }
    }

    fn push_text(&mut self, text: &str) {
        self.value.push_str(text);
    }

    fn push_verbatim(&mut self, text: &str) {
        let start = self.verbatim.map_or(self.value.len(), |(start, _)| start);
        self.value.push_str(text);
        self.verbatim = Some((start, self.value.len()));
    }

    fn finish(self) -> (String, String) {
        let value = match self.verbatim {
            None => self.value.trim_matches(is_xml_space).to_owned(),
            Some((first, last)) => {
                let head = &self.value[..first];
                let start = head.len() - head.trim_start_matches(is_xml_space).len();
                let end = last + self.value[last..].trim_end_matches(is_xml_space).len();
                self.value[start..end].to_owned()
            }
        };
        (self.name, value)
    }
}

fn field_name(element: &BytesStart<'_>) -> String {
    element.name().0.to_owned()
}

fn insert_once(fields: &mut BTreeMap<String, String>, name: String, value: String) -> Result<(), XmlError> {
    match fields.entry(name) {
        Entry::Occupied(taken) => Err(malformed(format!("duplicate field `{}`", taken.key()))),
        Entry::Vacant(slot) => {
            slot.insert(value);
            Ok(())
        }
    }
}

/// `&#…;` and the five predefined entities; any other name could only come from a DTD.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<String, XmlError> {
    if let Some(ch) = reference.resolve_char_ref().map_err(|e| malformed(e.to_string()))? {
        return Ok(ch.to_string());
    }
    resolve_predefined_entity(reference)
        .map(str::to_owned)
        .ok_or_else(|| malformed(format!("unknown entity `&{};`", &**reference)))
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_blank(text: &str) -> bool {
    text.chars().all(is_xml_space)
}

fn malformed(reason: impl Into<String>) -> XmlError {
    XmlError::Malformed(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn parse(text: &str) -> Result<BTreeMap<String, String>, XmlError> {
        parse_flat(text.as_bytes())
    }

    #[test]
    fn notify_with_cdata_and_bare_values() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<xml>
  <appid><![CDATA[wx2421b1c4370ec43b]]></appid>
  <attach><![CDATA[支付测试]]></attach>
  <total_fee>1</total_fee>
  <cash_fee> 1 </cash_fee>
  <coupon_count></coupon_count>
  <device_info/>
  <return_code><![CDATA[SUCCESS]]></return_code>
</xml>"#;
        let expected = map(&[
            ("appid", "wx2421b1c4370ec43b"),
            ("attach", "支付测试"),
            ("total_fee", "1"),
            ("cash_fee", "1"),
            ("coupon_count", ""),
            ("device_info", ""),
            ("return_code", "SUCCESS"),
        ]);
        assert_eq!(parse(body).unwrap(), expected);
    }

    #[test]
    fn any_root_name_is_accepted() {
        assert_eq!(
            parse("<root><refund_fee>6</refund_fee></root>").unwrap(),
            map(&[("refund_fee", "6")])
        );
        assert_eq!(parse("<xml/>").unwrap(), map(&[]));
    }

    #[test]
    fn text_is_unescaped_and_trimmed_but_cdata_is_verbatim() {
        let body = "<xml><a> x &amp; y &#x41;&#66; </a><b>\n  <![CDATA[ &amp; ]]>\n</b><c> <![CDATA[]]> </c></xml>";
        assert_eq!(
            parse(body).unwrap(),
            map(&[("a", "x & y AB"), ("b", " &amp; "), ("c", "")])
        );
    }

    #[test]
    fn text_around_cdata_is_trimmed_only_at_the_outer_ends() {
        assert_eq!(
            parse("<xml><a>   xy <![CDATA[ z ]]> w  </a></xml>").unwrap(),
            map(&[("a", "xy  z  w")])
        );
        assert_eq!(
            parse("<xml><a><![CDATA[x]]> y  </a></xml>").unwrap(),
            map(&[("a", "x y")])
        );
    }

    #[test]
    fn an_unexpected_event_is_named_by_its_kind_only() {
        assert_eq!(
            parse("<xml><a><?pi secret?></a></xml>"),
            Err(XmlError::Malformed("unexpected processing instruction here".into()))
        );
        assert_eq!(
            parse("<xml><a>1</a></xml><b/>"),
            Err(XmlError::Malformed("unexpected empty element here".into()))
        );
    }

    #[test]
    fn escaped_whitespace_is_kept() {
        assert_eq!(parse("<xml><a> &#32;x&#32; </a></xml>").unwrap(), map(&[("a", " x ")]));
    }

    #[test]
    fn xxe_payload_is_refused_as_doctype() {
        let xxe = r#"<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><a>&xxe;</a></xml>"#;
        assert_eq!(parse(xxe), Err(XmlError::Doctype));
    }

    #[test]
    fn billion_laughs_is_refused_as_doctype() {
        let lol = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><a>&lol9;</a></xml>"#;
        assert_eq!(parse(lol), Err(XmlError::Doctype));
    }

    #[test]
    fn declarations_anywhere_are_refused_as_doctype() {
        for body in [
            "<xml><!DOCTYPE foo><a>1</a></xml>",
            r#"<!ENTITY xxe SYSTEM "file:///etc/passwd"><xml><a>1</a></xml>"#,
            r#"<xml><!ENTITY xxe SYSTEM "file:///etc/passwd"><a>1</a></xml>"#,
            r#"<xml><a><!entity xxe "x"></a></xml>"#,
        ] {
            assert_eq!(parse(body), Err(XmlError::Doctype), "{body}");
        }
    }

    #[test]
    fn declaration_lookalikes_in_cdata_and_comments_are_data() {
        let body = r#"<xml><!-- <!ENTITY x "y"> --><a><![CDATA[<!DOCTYPE x><!ENTITY y>]]></a></xml>"#;
        assert_eq!(parse(body).unwrap(), map(&[("a", "<!DOCTYPE x><!ENTITY y>")]));
    }

    #[test]
    fn undeclared_entity_is_malformed() {
        assert!(matches!(parse("<xml><a>&xxe;</a></xml>"), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn nested_element_is_refused() {
        assert_eq!(parse("<xml><a><b>1</b></a></xml>"), Err(XmlError::Nested));
        assert_eq!(parse("<xml><a>1<b/></a></xml>"), Err(XmlError::Nested));
    }

    #[test]
    fn duplicate_field_is_refused() {
        let twice = "<xml><total_fee>1</total_fee><total_fee>100</total_fee></xml>";
        assert!(matches!(parse(twice), Err(XmlError::Malformed(reason)) if reason.contains("total_fee")));
        assert!(matches!(parse("<xml><a/><a>1</a></xml>"), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn non_utf8_is_refused() {
        let gbk = b"<xml><body>\xd6\xa7\xb8\xb6</body></xml>";
        assert!(matches!(parse_flat(gbk), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        assert_eq!(MAX_XML_BYTES, 65_536, "64 KiB");
        let padding = "x".repeat(MAX_XML_BYTES);
        assert_eq!(parse(&format!("<xml><a>{padding}</a></xml>")), Err(XmlError::TooLarge));
        let just_fits = format!(
            "<xml><a>{}</a></xml>",
            "x".repeat(MAX_XML_BYTES - "<xml><a></a></xml>".len())
        );
        assert_eq!(parse(&just_fits).unwrap()["a"].len(), MAX_XML_BYTES - 18);
    }

    #[test]
    fn broken_documents_are_malformed() {
        for body in [
            "",
            "   ",
            "not xml",
            "<xml><a>1</a>",
            "<xml><a>1</b></xml>",
            "<xml>stray<a>1</a></xml>",
            "<xml><a>1</a></xml><xml/>",
            "<xml><a>1</a></xml>trailing",
            "<xml><a>x & y</a></xml>",
            "<xml><a><?pi x?></a></xml>",
        ] {
            assert!(matches!(parse(body), Err(XmlError::Malformed(_))), "{body:?}");
        }
    }

    #[test]
    fn to_xml_wraps_values_in_cdata() {
        let fields = map(&[("return_code", "SUCCESS"), ("return_msg", "OK")]);
        assert_eq!(
            to_xml(&fields),
            "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
        );
    }

    #[test]
    fn cdata_terminator_in_a_value_round_trips() {
        let fields = map(&[("a", "x]]>y"), ("b", "]]>]]>"), ("c", "]]"), ("d", "<![CDATA[")]);
        assert_eq!(parse(&to_xml(&fields)).unwrap(), fields);
    }

    proptest! {
        #[test]
        fn to_xml_then_parse_round_trips(
            fields in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC*|.*\\]\\]>.*", 0..8),
        ) {
            prop_assert_eq!(parse(&to_xml(&fields)).unwrap(), fields);
        }

        #[test]
        fn parse_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            markup in "[<>/!?a-zA-Z&#;\\[\\] =\"-]{0,80}",
        ) {
            let _ = parse_flat(&bytes);
            let _ = parse(&markup);
        }
    }
}
