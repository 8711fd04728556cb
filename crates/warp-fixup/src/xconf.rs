//! server.xconf as bytes with located values: read values at [`Location`]s, list every value
//! (`inspect`), and change only the bytes of the identity values.
//!
//! quick-xml's reader positions give the byte span of every attribute value, text node and
//! CDATA section. A change splices escaped text into those spans and leaves every other byte as
//! it was (declaration, encoding, comments, whitespace, attribute order, line ends). The result
//! is parsed again and checked: the changed values read back as intended and every other element,
//! attribute and text is byte-for-byte what it was.
//!
//! Encodings: UTF-8 (declared or not) is decoded and written as is. Other ASCII-compatible
//! declared encodings (Shift_JIS, EUC-JP, ISO-8859-*…) are handled without a codec: markup is
//! ASCII in all of them, ASCII values are read directly, a non-ASCII value cannot be read, and a
//! non-ASCII replacement is written as numeric character references (`&#x30B5;`), which every
//! XML parser decodes to the same characters whatever the file's encoding.
//!
//! Invariant: a `Xconf` is only built from a well-formed document (one root, balanced and
//! matching tags, no duplicate attributes, only predefined or numeric entity references, valid
//! UTF-8 when UTF-8) whose elements nest at most [`MAX_DEPTH`] deep, so every span in it is exact
//! and every location in it is short enough to print.

use std::ops::Range;

use anyhow::{bail, Context, Result};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::location::{can_quote, Location, Step};

/// How deep elements may nest. A server.xconf nests a handful of levels; the limit keeps
/// locations (one step per level) and the work of matching them small.
pub const MAX_DEPTH: usize = 256;

/// How the file's bytes map to characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// An ASCII-compatible encoding other than UTF-8, by its declared name.
    AsciiCompatible(String),
}

#[derive(Debug)]
pub struct Xconf {
    bytes: Vec<u8>,
    encoding: Encoding,
    elements: Vec<Element>,
}

#[derive(Debug)]
struct Element {
    parent: Option<usize>,
    name: String,
    attrs: Vec<Attr>,
    content: Content,
}

#[derive(Debug)]
struct Attr {
    name: String,
    /// The raw (escaped) value between the quotes.
    value: Range<usize>,
    quote: u8,
}

#[derive(Debug)]
enum Content {
    /// `<name … />`: the span of `/>`.
    SelfClosing { close: Range<usize> },
    /// Has child elements: no text value of its own.
    Children,
    /// Text, CDATA, comments and processing instructions only.
    Leaf { inner: Range<usize>, nodes: Vec<Node> },
}

#[derive(Debug)]
enum Node {
    Text(Range<usize>),
    /// The whole section and the part between `<![CDATA[` and `]]>`.
    CData {
        whole: Range<usize>,
        inner: Range<usize>,
    },
    Other,
}

/// What a location resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Attr { element: usize, attr: usize },
    Text { element: usize },
}

/// A value as found in the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "text", rename_all = "snake_case")]
pub enum Value {
    Text(String),
    /// Non-ASCII bytes in a non-UTF-8 file: not decodable without a codec.
    Undecodable {
        bytes: usize,
    },
}

impl Value {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            Value::Undecodable { .. } => None,
        }
    }

    /// For reports: the quoted text, or what is known about it.
    pub fn describe(&self) -> String {
        match self {
            Value::Text(s) => format!("{s:?}"),
            Value::Undecodable { bytes } => format!("<{bytes} bytes of non-ASCII text in a non-UTF-8 file>"),
        }
    }
}

/// One value of the file, for `inspect`: a location that finds it, and whether that location is
/// unique (else it matches `matches` nodes and cannot be used as an identity path).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub location: String,
    pub value: Value,
    pub matches: usize,
}

/// One value that differs between two copies of a file (`inspect --compare`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Difference {
    pub location: String,
    /// How many nodes `location` matches in the file that matches more (1: usable as an
    /// identity path).
    pub matches: usize,
    /// In the first file.
    pub value: Value,
    /// In the second file.
    pub other: Value,
}

impl Xconf {
    /// Parses `bytes`; anything but a well-formed document is refused with the byte offset.
    pub fn parse(bytes: Vec<u8>) -> Result<Xconf> {
        let (encoding, elements) = scan(&bytes)?;
        Ok(Xconf { bytes, encoding, elements })
    }

    pub fn encoding(&self) -> &Encoding {
        &self.encoding
    }

    /// The value at `location`, which must match exactly one node.
    pub fn get(&self, location: &Location) -> Result<Value> {
        let target = self.resolve(location)?;
        Ok(self.value_of(target))
    }

    /// The document with the values at `changes` set, spliced into the original bytes and
    /// checked by parsing the result. `None` when every value is already as asked.
    pub fn with_values(&self, changes: &[(Location, String)]) -> Result<Option<Vec<u8>>> {
        let mut edits: Vec<(Range<usize>, Vec<u8>, &Location)> = Vec::new();
        let mut targets: Vec<(Target, &Location)> = Vec::new();
        for (location, wanted) in changes {
            let target = self.resolve(location)?;
            if let Some((_, other)) = targets.iter().find(|(t, _)| *t == target) {
                bail!("identity paths {other} and {location} name the same node");
            }
            targets.push((target, location));
            check_xml_chars(wanted).with_context(|| format!("the value for {location}"))?;
            if self.value_of(target).as_text() == Some(wanted.as_str()) {
                continue;
            }
            let (span, replacement) = self.edit(target, wanted).with_context(|| format!("setting {location}"))?;
            edits.push((span, replacement, location));
        }
        if edits.is_empty() {
            return Ok(None);
        }
        edits.sort_by_key(|(span, _, _)| span.start);
        let mut out = Vec::with_capacity(self.bytes.len() + 64);
        let mut at = 0;
        for (span, replacement, location) in &edits {
            if span.start < at {
                bail!("the change at {location} overlaps another change");
            }
            out.extend_from_slice(&self.bytes[at..span.start]);
            out.extend_from_slice(replacement);
            at = span.end;
        }
        out.extend_from_slice(&self.bytes[at..]);
        self.check_result(&out, changes).context("checking the rewritten server.xconf")?;
        Ok(Some(out))
    }

    /// Every attribute (except namespace declarations) and every leaf element's text, in
    /// document order, each with the most specific location this module can write for it.
    pub fn entries(&self) -> Vec<Entry> {
        let mut entries = Vec::new();
        for (index, element) in self.elements.iter().enumerate() {
            for (attr_index, attr) in element.attrs.iter().enumerate() {
                if attr.name == "xmlns" || attr.name.starts_with("xmlns:") {
                    continue;
                }
                let value = self.value_of(Target::Attr { element: index, attr: attr_index });
                let (location, matches) = self.location_for(index, Some(&attr.name), None);
                entries.push(Entry { location: location.to_string(), value, matches });
            }
            let leaf = matches!(element.content, Content::Leaf { .. } | Content::SelfClosing { .. });
            if !leaf {
                continue;
            }
            let value = self.value_of(Target::Text { element: index });
            let blank = value.as_text().is_some_and(|t| t.trim().is_empty());
            if blank && !element.attrs.is_empty() {
                continue;
            }
            let (location, matches) = self.location_for(index, None, None);
            entries.push(Entry { location: location.to_string(), value, matches });
        }
        entries
    }

    /// The values that differ between this file and `other`, a copy of the same file from
    /// another node (`inspect --compare`): every attribute (except namespace declarations) and
    /// every leaf element's text, in document order, each with a location that finds it in both
    /// files (`matches` is 1 when it finds that node and no other in either file). Refused, naming
    /// the first difference, when the two do not have the same elements, attribute names and
    /// nesting: values of two different layouts cannot be paired.
    pub fn compare(&self, other: &Xconf) -> Result<Vec<Difference>> {
        self.same_structure(other)?;
        let mut differences = Vec::new();
        for (index, element) in self.elements.iter().enumerate() {
            for (attr_index, attr) in element.attrs.iter().enumerate() {
                if attr.name == "xmlns" || attr.name.starts_with("xmlns:") {
                    continue;
                }
                let target = Target::Attr { element: index, attr: attr_index };
                if !self.same_value(other, target) {
                    let (location, matches) = self.location_for(index, Some(&attr.name), Some(other));
                    differences.push(Difference {
                        location: location.to_string(),
                        matches,
                        value: self.value_of(target),
                        other: other.value_of(target),
                    });
                }
            }
            if matches!(element.content, Content::Children) {
                continue;
            }
            let target = Target::Text { element: index };
            if !self.same_value(other, target) {
                let (location, matches) = self.location_for(index, None, Some(other));
                differences.push(Difference {
                    location: location.to_string(),
                    matches,
                    value: self.value_of(target),
                    other: other.value_of(target),
                });
            }
        }
        Ok(differences)
    }

    /// The same elements (names, nesting, order), attribute names and leaf-or-not in both.
    fn same_structure(&self, other: &Xconf) -> Result<()> {
        let differ = |why: String| {
            anyhow::anyhow!(
                "the two files do not have the same structure ({why}); compare two copies of one server.xconf layout, such as each \
                 node's own file taken before any sync"
            )
        };
        for (index, (a, b)) in self.elements.iter().zip(&other.elements).enumerate() {
            if a.name != b.name || a.parent != b.parent {
                return Err(differ(format!(
                    "element {} is {} in the first and {} in the second",
                    index + 1,
                    self.plain_path(index),
                    other.plain_path(index)
                )));
            }
            let names = |el: &Element| el.attrs.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
            if names(a) != names(b) {
                return Err(differ(format!(
                    "{} has attributes [{}] in the first and [{}] in the second",
                    self.plain_path(index),
                    names(a).join(" "),
                    names(b).join(" ")
                )));
            }
            if matches!(a.content, Content::Children) != matches!(b.content, Content::Children) {
                return Err(differ(format!("{} holds child elements in one file and text in the other", self.plain_path(index))));
            }
        }
        let (mine, theirs) = (self.elements.len(), other.elements.len());
        if mine != theirs {
            let (longer, which) = if mine > theirs { (self, "first") } else { (other, "second") };
            return Err(differ(format!(
                "the {which} has {} more element(s), from {}",
                mine.abs_diff(theirs),
                longer.plain_path(mine.min(theirs))
            )));
        }
        if self.encoding != other.encoding {
            return Err(differ(format!("encodings {:?} and {:?}", self.encoding, other.encoding)));
        }
        Ok(())
    }

    /// Whether `target` (valid in both: same structure) holds the same value in `other`. Values
    /// that cannot be decoded are compared by their bytes.
    fn same_value(&self, other: &Xconf, target: Target) -> bool {
        match (self.value_of(target), other.value_of(target)) {
            (Value::Text(a), Value::Text(b)) => a == b,
            _ => self.raw_of(target) == other.raw_of(target),
        }
    }

    /// The bytes that hold a value as written (escaped).
    fn raw_of(&self, target: Target) -> &[u8] {
        match target {
            Target::Attr { element, attr } => &self.bytes[self.elements[element].attrs[attr].value.clone()],
            Target::Text { element } => match &self.elements[element].content {
                Content::Leaf { inner, .. } => &self.bytes[inner.clone()],
                Content::SelfClosing { .. } | Content::Children => &[],
            },
        }
    }

    /// `/a/b/c`: the element names from the root, for messages.
    fn plain_path(&self, index: usize) -> String {
        let mut names = vec![self.elements[index].name.as_str()];
        let mut at = index;
        while let Some(parent) = self.elements[at].parent {
            names.push(&self.elements[parent].name);
            at = parent;
        }
        names.iter().rev().fold(String::new(), |path, name| path + "/" + name)
    }

    fn resolve(&self, location: &Location) -> Result<Target> {
        let found: Vec<usize> = (0..self.elements.len()).filter(|i| self.matches(*i, location.steps())).collect();
        let element = match found.as_slice() {
            [one] => *one,
            [] => bail!("{location} matches nothing in server.xconf"),
            many => bail!("{location} matches {} elements in server.xconf; add a [@name='value'] predicate", many.len()),
        };
        let el = &self.elements[element];
        match location.attribute() {
            Some(name) => match el.attrs.iter().position(|a| a.name == name) {
                Some(attr) => Ok(Target::Attr { element, attr }),
                None => bail!("{location} matches nothing in server.xconf: the element has no attribute {name}"),
            },
            None if matches!(el.content, Content::Children) => {
                bail!("{location} is an element with child elements; name a leaf element or an attribute")
            }
            None => Ok(Target::Text { element }),
        }
    }

    fn matches(&self, mut index: usize, steps: &[Step]) -> bool {
        for (depth, step) in steps.iter().enumerate().rev() {
            let el = &self.elements[index];
            let holds = |(name, value): &(String, String)| {
                el.attrs.iter().any(|a| a.name == *name && self.decode(a.value.clone(), true).as_text() == Some(value.as_str()))
            };
            if el.name != step.name || !step.predicates.iter().all(holds) {
                return false;
            }
            match (el.parent, depth) {
                (None, 0) => return true,
                (Some(parent), d) if d > 0 => index = parent,
                _ => return false,
            }
        }
        false
    }

    fn value_of(&self, target: Target) -> Value {
        match target {
            Target::Attr { element, attr } => self.decode(self.elements[element].attrs[attr].value.clone(), true),
            Target::Text { element } => match &self.elements[element].content {
                Content::SelfClosing { .. } | Content::Children => Value::Text(String::new()),
                Content::Leaf { nodes, .. } => {
                    let mut text = String::new();
                    for node in nodes {
                        let part = match node {
                            Node::Text(span) => self.decode(span.clone(), true),
                            Node::CData { inner, .. } => self.decode(inner.clone(), false),
                            Node::Other => continue,
                        };
                        match part {
                            Value::Text(s) => text.push_str(&s),
                            undecodable => return undecodable,
                        }
                    }
                    Value::Text(text)
                }
            },
        }
    }

    /// The span to replace and its new bytes for setting `target` to `value`.
    fn edit(&self, target: Target, value: &str) -> Result<(Range<usize>, Vec<u8>)> {
        let ascii_only = matches!(self.encoding, Encoding::AsciiCompatible(_));
        match target {
            Target::Attr { element, attr } => {
                let attr = &self.elements[element].attrs[attr];
                Ok((attr.value.clone(), escape(value, Some(attr.quote), ascii_only).into_bytes()))
            }
            Target::Text { element } => {
                let el = &self.elements[element];
                match &el.content {
                    Content::Children => bail!("the element has child elements"),
                    Content::SelfClosing { close } => {
                        Ok((close.clone(), format!(">{}</{}>", escape(value, None, ascii_only), el.name).into_bytes()))
                    }
                    Content::Leaf { inner, nodes } => {
                        let valued: Vec<&Node> = nodes.iter().filter(|n| !matches!(n, Node::Other)).collect();
                        match valued.as_slice() {
                            [] => Ok((inner.start..inner.start, escape(value, None, ascii_only).into_bytes())),
                            [Node::Text(span)] => Ok((span.clone(), escape(value, None, ascii_only).into_bytes())),
                            [Node::CData { whole, inner }] => {
                                let plain = !value.contains("]]>") && (!ascii_only || value.is_ascii());
                                if plain {
                                    Ok((inner.clone(), value.as_bytes().to_vec()))
                                } else {
                                    Ok((whole.clone(), escape(value, None, ascii_only).into_bytes()))
                                }
                            }
                            _ => bail!(
                                "its content mixes several text and CDATA parts; warp-fixup cannot replace it without changing other bytes"
                            ),
                        }
                    }
                }
            }
        }
    }

    /// Parses `out` and checks that the changed values read back and nothing else moved.
    fn check_result(&self, out: &[u8], changes: &[(Location, String)]) -> Result<()> {
        let after = Xconf::parse(out.to_vec())?;
        let mut changed = Vec::new();
        for (location, wanted) in changes {
            let target = after.resolve(location)?;
            let got = after.value_of(target);
            if got.as_text() != Some(wanted.as_str()) {
                bail!("{location} reads back as {} instead of {wanted:?}", got.describe());
            }
            changed.push(target);
        }
        if after.elements.len() != self.elements.len() || after.encoding != self.encoding {
            bail!("the document structure changed");
        }
        for (index, (old, new)) in self.elements.iter().zip(&after.elements).enumerate() {
            if old.name != new.name || old.parent != new.parent || old.attrs.len() != new.attrs.len() {
                bail!("element {} changed", old.name);
            }
            for (attr, (a, b)) in old.attrs.iter().zip(&new.attrs).enumerate() {
                let target = Target::Attr { element: index, attr };
                if a.name != b.name || (!changed.contains(&target) && self.bytes[a.value.clone()] != out[b.value.clone()]) {
                    bail!("attribute {} of {} changed", a.name, old.name);
                }
            }
            let text = Target::Text { element: index };
            if !changed.contains(&text) && self.value_of(text) != after.value_of(text) {
                bail!("the text of {} changed", old.name);
            }
        }
        Ok(())
    }

    /// A location for an element (and attribute): the plain path, with attribute predicates
    /// added from the deepest step up until it matches one node, as long as that helps. With
    /// `other` (a file of the same structure), only attributes whose values are the same in both
    /// files become predicates, and the count is the larger of the two files' counts, so a
    /// location that matches one node matches the same node in either file.
    fn location_for(&self, index: usize, attribute: Option<&str>, other: Option<&Xconf>) -> (Location, usize) {
        let mut chain = vec![index];
        while let Some(parent) = self.elements[*chain.last().expect("chain starts non-empty")].parent {
            chain.push(parent);
        }
        chain.reverse();
        let mut steps: Vec<Step> = chain.iter().map(|i| Step { name: self.elements[*i].name.clone(), predicates: Vec::new() }).collect();
        let count_in = |doc: &Xconf, steps: &[Step]| (0..doc.elements.len()).filter(|i| doc.matches(*i, steps)).count();
        let count = |steps: &[Step]| count_in(self, steps).max(other.map_or(0, |o| count_in(o, steps)));
        let mut matches = count(&steps);
        for depth in (0..chain.len()).rev() {
            if matches <= 1 {
                break;
            }
            let el = &self.elements[chain[depth]];
            // The located attribute itself is the last resort: it is what changes.
            let is_target = |a: &&Attr| depth == chain.len() - 1 && Some(a.name.as_str()) == attribute;
            let ordered = el.attrs.iter().filter(|a| !is_target(a)).chain(el.attrs.iter().filter(is_target));
            for attr in ordered {
                let Some(value) = self.decode(attr.value.clone(), true).as_text().map(str::to_string) else { continue };
                if attr.name.starts_with("xmlns") || !can_quote(&value) || value.chars().any(char::is_whitespace) {
                    continue;
                }
                // A value that differs between the files is no way to find the node in both.
                let same_in_other = |o: &Xconf| {
                    o.elements[chain[depth]]
                        .attrs
                        .iter()
                        .find(|a| a.name == attr.name)
                        .and_then(|a| o.decode(a.value.clone(), true).as_text().map(str::to_string))
                        == Some(value.clone())
                };
                if other.is_some_and(|o| !same_in_other(o)) {
                    continue;
                }
                steps[depth].predicates.push((attr.name.clone(), value));
                let narrowed = count(&steps);
                if narrowed < matches {
                    matches = narrowed;
                    if matches <= 1 {
                        break;
                    }
                } else {
                    steps[depth].predicates.pop();
                }
            }
        }
        (Location::new(steps, attribute.map(str::to_string)), matches)
    }

    /// Unescaped text of a span (`escaped`: entity references are decoded, as in attribute
    /// values and text; not in CDATA).
    fn decode(&self, span: Range<usize>, escaped: bool) -> Value {
        let raw = &self.bytes[span];
        if matches!(self.encoding, Encoding::AsciiCompatible(_)) && !raw.is_ascii() {
            return Value::Undecodable { bytes: raw.len() };
        }
        let text = std::str::from_utf8(raw).expect("checked at parse: UTF-8 file or ASCII span");
        if !escaped {
            return Value::Text(text.to_string());
        }
        let unescaped = quick_xml::escape::unescape(text).expect("checked at parse: references are valid");
        Value::Text(unescaped.into_owned())
    }
}

/// Escapes `value` for an attribute quoted with `quote`, or for element text (`None`).
/// Characters a parser would normalise (tabs and line ends in attributes, carriage returns in
/// text) are written as character references so the value reads back exactly.
fn escape(value: &str, quote: Option<u8>, ascii_only: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quote == Some(b'"') => out.push_str("&quot;"),
            '\'' if quote == Some(b'\'') => out.push_str("&apos;"),
            '\t' | '\n' if quote.is_some() => out.push_str(&format!("&#{};", c as u32)),
            '\r' => out.push_str("&#13;"),
            c if ascii_only && !c.is_ascii() => out.push_str(&format!("&#x{:X};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// XML 1.0 allows tab, line feed, carriage return and everything from U+0020 except the
/// surrogates and U+FFFE/U+FFFF (which a Rust string cannot hold or are checked here).
fn check_xml_chars(value: &str) -> Result<()> {
    if let Some(c) = value.chars().find(|c| (*c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')) {
        bail!("{value:?} contains the character U+{:04X}, which XML does not allow", c as u32);
    }
    Ok(())
}

/// ASCII-compatible encodings handled without a codec (case-insensitive names and aliases).
const ASCII_COMPATIBLE: &[&str] = &[
    "us-ascii",
    "ascii",
    "shift_jis",
    "shift-jis",
    "sjis",
    "x-sjis",
    "ms932",
    "cp932",
    "windows-31j",
    "euc-jp",
    "x-euc-jp",
    "iso-8859-1",
    "iso-8859-15",
    "latin1",
    "windows-1252",
    "cp1252",
];

fn encoding_named(name: &str) -> Result<Encoding> {
    let lower = name.trim().to_ascii_lowercase();
    if lower == "utf-8" || lower == "utf8" {
        return Ok(Encoding::Utf8);
    }
    if ASCII_COMPATIBLE.contains(&lower.as_str()) {
        return Ok(Encoding::AsciiCompatible(name.trim().to_string()));
    }
    bail!("server.xconf declares encoding {name:?}, which warp-fixup does not support (UTF-8 and ASCII-compatible encodings such as Shift_JIS are)")
}

/// One pass over the document: encoding, elements with their spans, well-formedness.
fn scan(bytes: &[u8]) -> Result<(Encoding, Vec<Element>)> {
    if bytes.starts_with(&[0xFE, 0xFF])
        || bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0, 0x3C])
        || bytes.starts_with(&[0x3C, 0])
    {
        bail!("server.xconf is UTF-16 or UTF-32, which warp-fixup does not support");
    }
    // quick-xml skips a UTF-8 BOM without counting it in its positions: skip it ourselves.
    let base = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let mut reader = Reader::from_reader(&bytes[base..]);
    reader.config_mut().check_end_names = true;
    let mut encoding = Encoding::Utf8;
    let mut elements: Vec<Element> = Vec::new();
    // Open elements: index, end of the start tag, whether a child element was seen, nodes.
    let mut open: Vec<(usize, usize, bool, Vec<Node>)> = Vec::new();
    let mut root_seen = false;
    let mut first_event = true;
    loop {
        let before = base + reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| malformed(&format!("{e}"), base + reader.error_position() as usize))?;
        let after = base + reader.buffer_position() as usize;
        let is_decl = matches!(event, Event::Decl(_));
        match event {
            Event::Decl(decl) => {
                if !first_event {
                    return Err(malformed("the XML declaration is not at the start", before));
                }
                if let Some(declared) = decl.encoding() {
                    let declared = declared.map_err(|e| malformed(&format!("bad XML declaration: {e}"), before))?;
                    encoding = encoding_named(&String::from_utf8_lossy(&declared))?;
                }
                if encoding == Encoding::Utf8 {
                    std::str::from_utf8(bytes).map_err(|e| malformed("invalid UTF-8", e.valid_up_to()))?;
                }
            }
            Event::Start(start) | Event::Empty(start) if open.is_empty() && root_seen => {
                return Err(malformed(&format!("a second root element <{}>", String::from_utf8_lossy(start.name().as_ref())), before));
            }
            Event::Start(_) | Event::Empty(_) if open.len() >= MAX_DEPTH => {
                bail!("server.xconf nests elements more than {MAX_DEPTH} deep (at byte {before}); warp-fixup refuses it")
            }
            Event::Start(start) => {
                let index = push_element(bytes, &mut elements, &open, &start, before)?;
                mark_child(&mut open);
                open.push((index, after, false, Vec::new()));
                root_seen = true;
            }
            Event::Empty(start) => {
                let index = push_element(bytes, &mut elements, &open, &start, before)?;
                mark_child(&mut open);
                if &bytes[after - 2..after] != b"/>" {
                    return Err(malformed("unexpected end of an empty element", before));
                }
                elements[index].content = Content::SelfClosing { close: after - 2..after };
                root_seen = true;
            }
            Event::End(_) => {
                let (index, inner_start, has_children, nodes) =
                    open.pop().ok_or_else(|| malformed("an end tag without a start tag", before))?;
                elements[index].content =
                    if has_children { Content::Children } else { Content::Leaf { inner: inner_start..before, nodes } };
            }
            Event::Text(text) => {
                check_span(bytes, before..after, &text)?;
                check_references(&bytes[before..after], before)?;
                match open.last_mut() {
                    Some((_, _, _, nodes)) => nodes.push(Node::Text(before..after)),
                    None if bytes[before..after].iter().all(u8::is_ascii_whitespace) => {}
                    None => return Err(malformed("text outside the root element", before)),
                }
            }
            Event::CData(_) => {
                if !(bytes[before..].starts_with(b"<![CDATA[") && bytes[..after].ends_with(b"]]>")) {
                    return Err(malformed("a CDATA section with unexpected bounds", before));
                }
                match open.last_mut() {
                    Some((_, _, _, nodes)) => nodes.push(Node::CData { whole: before..after, inner: before + 9..after - 3 }),
                    None => return Err(malformed("CDATA outside the root element", before)),
                }
            }
            Event::Comment(_) | Event::PI(_) => {
                if let Some((_, _, _, nodes)) = open.last_mut() {
                    nodes.push(Node::Other);
                }
            }
            Event::DocType(_) => {
                if root_seen {
                    return Err(malformed("a DOCTYPE after the root element", before));
                }
            }
            Event::Eof => break,
        }
        if first_event && !is_decl && encoding == Encoding::Utf8 {
            std::str::from_utf8(bytes).map_err(|e| malformed("invalid UTF-8", e.valid_up_to()))?;
        }
        first_event = false;
    }
    if let Some((index, ..)) = open.last() {
        return Err(malformed(&format!("element <{}> is not closed", elements[*index].name), bytes.len()));
    }
    if !root_seen {
        return Err(malformed("no root element", 0));
    }
    Ok((encoding, elements))
}

fn push_element(
    bytes: &[u8],
    elements: &mut Vec<Element>,
    open: &[(usize, usize, bool, Vec<Node>)],
    start: &BytesStart,
    at: usize,
) -> Result<usize> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| malformed(&format!("bad attribute in <{name}>: {e}"), at))?;
        let value = span_within(bytes, &attr.value).ok_or_else(|| malformed("an attribute value outside the input", at))?;
        if value.start == 0 || !matches!(bytes[value.start - 1], b'"' | b'\'') || bytes.get(value.end) != Some(&bytes[value.start - 1]) {
            return Err(malformed(&format!("attribute {} of <{name}> is not quoted", String::from_utf8_lossy(attr.key.as_ref())), at));
        }
        check_references(&bytes[value.clone()], value.start)?;
        if bytes[value.clone()].contains(&b'<') {
            return Err(malformed(&format!("'<' in an attribute value of <{name}>"), value.start));
        }
        attrs.push(Attr { name: String::from_utf8_lossy(attr.key.as_ref()).into_owned(), quote: bytes[value.start - 1], value });
    }
    elements.push(Element { parent: open.last().map(|(i, ..)| *i), name, attrs, content: Content::Children });
    Ok(elements.len() - 1)
}

fn mark_child(open: &mut [(usize, usize, bool, Vec<Node>)]) {
    if let Some((_, _, has_children, _)) = open.last_mut() {
        *has_children = true;
    }
}

/// The span of `part` inside `bytes`, when `part` borrows from it.
fn span_within(bytes: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    (start + part.len() <= bytes.len()).then_some(start..start + part.len())
}

fn check_span(bytes: &[u8], span: Range<usize>, text: &[u8]) -> Result<()> {
    if &bytes[span.clone()] != text {
        return Err(malformed("reader positions out of step (internal error)", span.start));
    }
    Ok(())
}

/// Every `&` starts a predefined entity (`lt gt amp apos quot`) or a character reference to a
/// character XML allows; DTD-defined entities are not supported.
fn check_references(raw: &[u8], offset: usize) -> Result<()> {
    let mut i = 0;
    while let Some(pos) = raw[i..].iter().position(|b| *b == b'&') {
        let start = i + pos;
        let end = raw[start..].iter().position(|b| *b == b';').map(|p| start + p).filter(|e| e - start <= 12);
        let Some(end) = end else { return Err(malformed("an '&' that starts no reference", offset + start)) };
        let name = &raw[start + 1..end];
        let ok = match name {
            b"lt" | b"gt" | b"amp" | b"apos" | b"quot" => true,
            [b'#', b'x', hex @ ..] => {
                u32::from_str_radix(std::str::from_utf8(hex).unwrap_or("!"), 16).ok().and_then(char::from_u32).is_some_and(xml_char)
            }
            [b'#', dec @ ..] => {
                std::str::from_utf8(dec).ok().and_then(|d| d.parse::<u32>().ok()).and_then(char::from_u32).is_some_and(xml_char)
            }
            _ => false,
        };
        if !ok {
            return Err(malformed(&format!("unsupported reference &{};", String::from_utf8_lossy(name)), offset + start));
        }
        i = end + 1;
    }
    Ok(())
}

fn xml_char(c: char) -> bool {
    c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}' || matches!(c, '\t' | '\n' | '\r')
}

fn malformed(why: &str, offset: usize) -> anyhow::Error {
    anyhow::anyhow!("server.xconf is not well-formed XML: {why} (at byte {offset})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(text: &str) -> Location {
        text.parse().unwrap()
    }

    /// Sets `changes` in `input` and compares with `expected` byte for byte.
    fn check(input: &[u8], changes: &[(&str, &str)], expected: &[u8]) {
        let doc = Xconf::parse(input.to_vec()).unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(input)));
        let changes: Vec<(Location, String)> = changes.iter().map(|(l, v)| (loc(l), v.to_string())).collect();
        let out = doc.with_values(&changes).unwrap_or_else(|e| panic!("{e:#}")).unwrap_or_else(|| input.to_vec());
        assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(expected));
        assert_eq!(out, expected);
        let again = Xconf::parse(out).unwrap();
        for (location, value) in &changes {
            assert_eq!(again.get(location).unwrap(), Value::Text(value.clone()), "{location}");
        }
        assert_eq!(again.with_values(&changes).unwrap(), None, "idempotent");
    }

    fn refused(input: &[u8], changes: &[(&str, &str)], why: &str) {
        let err = Xconf::parse(input.to_vec())
            .and_then(|doc| doc.with_values(&changes.iter().map(|(l, v)| (loc(l), v.to_string())).collect::<Vec<_>>()))
            .unwrap_err();
        assert!(format!("{err:#}").contains(why), "expected {why:?} in {err:#}");
    }

    #[test]
    fn only_the_value_bytes_change() {
        check(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- keep -->\n<config>\n  <server   name='n1'  id=\"a\"\n/>\n</config>\n",
            &[("/config/server/@id", "b2"), ("/config/server/@name", "n2")],
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- keep -->\n<config>\n  <server   name='n2'  id=\"b2\"\n/>\n</config>\n",
        );
        check(
            b"<server>\n  <serverId>standin-id</serverId>\n  <serverName>standin-name</serverName>\n</server>\n",
            &[("/server/serverId", "node1"), ("/server/serverName", "Node One")],
            b"<server>\n  <serverId>node1</serverId>\n  <serverName>Node One</serverName>\n</server>\n",
        );
    }

    #[test]
    fn crlf_comments_and_predicates() {
        check(
            b"<config>\r\n<!-- server.name -->\r\n<property name=\"server.id\">a</property>\r\n<property name=\"server.name\">old</property>\r\n</config>\r\n",
            &[("/config/property[@name='server.name']", "new name"), ("/config/property[@name=\"server.id\"]", "b")],
            b"<config>\r\n<!-- server.name -->\r\n<property name=\"server.id\">b</property>\r\n<property name=\"server.name\">new name</property>\r\n</config>\r\n",
        );
        check(b"<a><b><!-- why -->old</b></a>", &[("/a/b", "new")], b"<a><b><!-- why -->new</b></a>");
        check(b"<a><b>x\r\ny</b></a>", &[("/a/b", "p\rq")], b"<a><b>p&#13;q</b></a>");
    }

    #[test]
    fn cdata_and_empty_and_self_closing_elements() {
        check(b"<a><id><![CDATA[old & <raw>]]></id></a>", &[("/a/id", "new & <raw>")], b"<a><id><![CDATA[new & <raw>]]></id></a>");
        check(b"<a><id><![CDATA[old]]></id></a>", &[("/a/id", "x]]>y")], b"<a><id>x]]&gt;y</id></a>");
        check(b"<a><id></id></a>", &[("/a/id", "v")], b"<a><id>v</id></a>");
        check(b"<a><id/><name a=\"1\" /></a>", &[("/a/id", "v"), ("/a/name", "<n>")], b"<a><id>v</id><name a=\"1\" >&lt;n&gt;</name></a>");
        check(b"<a><id/></a>", &[("/a/id", "")], b"<a><id/></a>");
        refused(b"<a><id>x<![CDATA[y]]></id></a>", &[("/a/id", "z")], "mixes several text and CDATA parts");
    }

    #[test]
    fn entities_are_decoded_and_values_escaped() {
        let doc = Xconf::parse(b"<a id=\"x&amp;y&#x41;&#66;&quot;\" n='it&apos;s'>&lt;t&gt;</a>".to_vec()).unwrap();
        assert_eq!(doc.get(&loc("/a/@id")).unwrap(), Value::Text("x&yAB\"".into()));
        assert_eq!(doc.get(&loc("/a/@n")).unwrap(), Value::Text("it's".into()));
        assert_eq!(doc.get(&loc("/a")).unwrap(), Value::Text("<t>".into()));
        check(
            b"<a id=\"x&amp;y\" n='v'>t</a>",
            &[("/a/@id", "a\"b'c&d<e>\tf\ng"), ("/a/@n", "it's \"q\""), ("/a", "1 < 2 & 3 > 2 \"'")],
            b"<a id=\"a&quot;b'c&amp;d&lt;e&gt;&#9;f&#10;g\" n='it&apos;s \"q\"'>1 &lt; 2 &amp; 3 &gt; 2 \"'</a>",
        );
        refused(b"<a id=\"x\"/>", &[("/a/@id", "bell\u{7}")], "which XML does not allow");
    }

    #[test]
    fn namespaces_are_matched_by_the_name_as_written() {
        check(
            b"<c:config xmlns:c=\"urn:x\" xmlns=\"urn:d\"><c:server c:id=\"1\"><name>n</name></c:server></c:config>",
            &[("/c:config/c:server/@c:id", "2"), ("/c:config/c:server/name", "m")],
            b"<c:config xmlns:c=\"urn:x\" xmlns=\"urn:d\"><c:server c:id=\"2\"><name>m</name></c:server></c:config>",
        );
        refused(b"<c:config xmlns:c=\"urn:x\"><c:server id=\"1\"/></c:config>", &[("/config/server/@id", "2")], "matches nothing");
    }

    #[test]
    fn utf8_with_bom_and_multibyte_values() {
        let input = "\u{FEFF}<?xml version=\"1.0\"?><サーバー 名前=\"東京\"><id>é</id></サーバー>".as_bytes();
        let expected = "\u{FEFF}<?xml version=\"1.0\"?><サーバー 名前=\"大阪\"><id>ü</id></サーバー>".as_bytes();
        check(input, &[("/サーバー/@名前", "大阪"), ("/サーバー/id", "ü")], expected);
    }

    #[test]
    fn shift_jis_files_keep_their_bytes_and_get_character_references() {
        // "サーバ" in Shift_JIS in a comment and in another element: never decoded, never touched.
        let sjis_server = [0x83, 0x54, 0x81, 0x5B, 0x83, 0x6F];
        let mut input = b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n<!-- ".to_vec();
        input.extend_from_slice(&sjis_server);
        input.extend_from_slice(b" -->\n<config><note>");
        input.extend_from_slice(&sjis_server);
        input.extend_from_slice(b"</note><server id=\"a\" name=\"old\"/></config>\n");
        let doc = Xconf::parse(input.clone()).unwrap();
        assert_eq!(doc.encoding(), &Encoding::AsciiCompatible("Shift_JIS".into()));
        assert_eq!(doc.get(&loc("/config/note")).unwrap(), Value::Undecodable { bytes: 6 });
        let old: &[u8] = b"id=\"a\" name=\"old\"";
        let at = input.windows(old.len()).position(|w| w == old).unwrap();
        let mut expected = input.clone();
        expected.splice(at..at + old.len(), b"id=\"b\" name=\"&#x5927;&#x962A;-1\"".iter().copied());
        check(&input, &[("/config/server/@id", "b"), ("/config/server/@name", "大阪-1")], &expected);
        // A value that was undecodable is simply replaced.
        let out = doc.with_values(&[(loc("/config/note"), "x".into())]).unwrap().unwrap();
        assert!(out.windows(17).any(|w| w == b"<note>x</note><se"), "{}", String::from_utf8_lossy(&out));
    }

    #[test]
    fn malformed_documents_and_bad_locations_are_refused() {
        for (input, why) in [
            (&b"<a><b></a>"[..], "not well-formed"),
            (b"<a>", "is not closed"),
            (b"<a/><b/>", "second root"),
            (b"", "no root element"),
            (b"text<a/>", "outside the root"),
            (b"<a x=\"1\" x=\"2\"/>", "bad attribute"),
            (b"<a>&nbsp;</a>", "unsupported reference &nbsp;"),
            (b"<a>AT&T</a>", "starts no reference"),
            (b"<a x=\"&#0;\"/>", "unsupported reference"),
            (b"<a>\xff</a>", "invalid UTF-8"),
            (b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>", "does not support"),
            (b"\xff\xfe<\x00a\x00/\x00>\x00", "UTF-16"),
            (b"<a></b>", "not well-formed"),
        ] {
            let err = Xconf::parse(input.to_vec()).unwrap_err();
            assert!(format!("{err:#}").contains(why), "{:?}: expected {why:?} in {err:#}", String::from_utf8_lossy(input));
        }
        let doc = b"<c><p n=\"a\">1</p><p n=\"b\">2</p><q><r/></q></c>";
        refused(doc, &[("/c/p", "x")], "matches 2 elements");
        refused(doc, &[("/c/p[@n='z']", "x")], "matches nothing");
        refused(doc, &[("/c/p[@n='a']/@m", "x")], "has no attribute m");
        refused(doc, &[("/c/q", "x")], "child elements");
        refused(doc, &[("/c/p[@n='a']", "x"), ("/c/p[@n=\"a\"]", "y")], "name the same node");
        refused(doc, &[("/p", "x")], "matches nothing");
    }

    #[test]
    fn nesting_is_limited() {
        let nested = |depth: usize| format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth)).into_bytes();
        assert!(Xconf::parse(nested(MAX_DEPTH)).is_ok());
        let self_closing = format!("{}<a/>{}", "<a>".repeat(MAX_DEPTH - 1), "</a>".repeat(MAX_DEPTH - 1));
        assert!(Xconf::parse(self_closing.into_bytes()).is_ok());
        for too_deep in [nested(MAX_DEPTH + 1), nested(50_000), format!("{}<a/>", "<a>".repeat(MAX_DEPTH)).into_bytes()] {
            let err = Xconf::parse(too_deep).unwrap_err().to_string();
            assert!(err.contains("nests elements more than 256 deep (at byte 768)"), "{err}");
        }
    }

    fn compared(a: &str, b: &str) -> Result<Vec<(String, usize, String, String)>> {
        let (a, b) = (Xconf::parse(a.as_bytes().to_vec()).unwrap(), Xconf::parse(b.as_bytes().to_vec()).unwrap());
        let text = |v: &Value| v.as_text().unwrap_or("?").to_string();
        Ok(a.compare(&b)?.into_iter().map(|d| (d.location, d.matches, text(&d.value), text(&d.other))).collect())
    }

    #[test]
    fn compare_lists_exactly_the_values_that_differ_with_locations_valid_in_both() {
        let node1 = "<?xml version=\"1.0\"?>\n<config>\n  <server id=\"s-1\" port=\"21381\"/>\n  <property name=\"server.name\">Tokyo</property>\n  <property name=\"lang\">ja</property>\n</config>\n";
        let node2 = "<?xml version=\"1.0\"?>\n<config>\n  <server id=\"s-2\" port=\"21381\"/>\n  <property name=\"server.name\">Osaka</property>\n  <property name=\"lang\">ja</property>\n</config>\n";
        let found = compared(node1, node2).unwrap();
        let expected = [
            ("/config/server/@id".to_string(), 1, "s-1".to_string(), "s-2".to_string()),
            ("/config/property[@name='server.name']".to_string(), 1, "Tokyo".to_string(), "Osaka".to_string()),
        ];
        assert_eq!(found, expected);
        for (location, _, a, b) in &found {
            let location = loc(location);
            assert_eq!(Xconf::parse(node1.as_bytes().to_vec()).unwrap().get(&location).unwrap(), Value::Text(a.clone()));
            assert_eq!(Xconf::parse(node2.as_bytes().to_vec()).unwrap().get(&location).unwrap(), Value::Text(b.clone()));
        }
        assert!(compared(node1, node1).unwrap().is_empty());
        // Only attributes equal in both files become predicates: an id that differs cannot find
        // the node in the other file (nor on a third node).
        let found = compared("<c><s id=\"a1\">x</s><s id=\"a2\">y</s></c>", "<c><s id=\"b1\">X</s><s id=\"b2\">y</s></c>").unwrap();
        let summary: Vec<(&str, usize)> = found.iter().map(|(l, n, ..)| (l.as_str(), *n)).collect();
        assert_eq!(summary, [("/c/s/@id", 2), ("/c/s", 2), ("/c/s/@id", 2)]);
        // Values compared as decoded text: another spelling of the same value is no difference.
        assert!(compared("<a v=\"x&amp;y\">&#65;</a>", "<a v='x&#38;y'>A</a>").unwrap().is_empty());
    }

    #[test]
    fn compare_refuses_files_of_another_structure() {
        for (a, b, why) in [
            ("<c><s id=\"1\"/></c>", "<c><s id=\"1\"/><t/></c>", "the second has 1 more element(s), from /c/t"),
            ("<c><s id=\"1\"/></c>", "<c><s name=\"1\"/></c>", "/c/s has attributes [id] in the first and [name] in the second"),
            ("<c><s>1</s></c>", "<c><s><t/></s></c>", "/c/s holds child elements in one file and text in the other"),
            ("<c><s/><t/></c>", "<c><t/><s/></c>", "element 2 is /c/s in the first and /c/t in the second"),
        ] {
            let err = format!("{:#}", compared(a, b).unwrap_err());
            assert!(err.contains("do not have the same structure") && err.contains(why), "{a} vs {b}: {err}");
        }
    }

    #[test]
    fn entries_list_every_value_with_a_unique_location_where_possible() {
        let doc = Xconf::parse(
            b"<config xmlns:x=\"u\"><server id=\"s1\" name=\"one\"/><property name=\"server.name\">N</property><property name=\"port\">1</property><empty/><dup/><dup/></config>".to_vec(),
        )
        .unwrap();
        let listed: Vec<(String, String, usize)> =
            doc.entries().into_iter().map(|e| (e.location, e.value.as_text().unwrap_or("?").to_string(), e.matches)).collect();
        let expected = [
            ("/config/server/@id", "s1", 1),
            ("/config/server/@name", "one", 1),
            ("/config/property[@name='server.name']/@name", "server.name", 1),
            ("/config/property[@name='server.name']", "N", 1),
            ("/config/property[@name='port']/@name", "port", 1),
            ("/config/property[@name='port']", "1", 1),
            ("/config/empty", "", 1),
            ("/config/dup", "", 2),
            ("/config/dup", "", 2),
        ];
        let expected: Vec<(String, String, usize)> = expected.iter().map(|(l, v, n)| (l.to_string(), v.to_string(), *n)).collect();
        assert_eq!(listed, expected);
        for entry in doc.entries().iter().filter(|e| e.matches == 1) {
            assert_eq!(doc.get(&loc(&entry.location)).unwrap(), entry.value, "{}", entry.location);
        }
    }
}
