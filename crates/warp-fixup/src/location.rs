//! Locations of identity values in server.xconf (`identity_paths`): an absolute element path
//! with optional attribute-equality predicates, ending in an element (its text content) or an
//! attribute. Grammar:
//!
//! ```text
//! location  := ('/' step)+ ('/@' name)?
//! step      := name ('[' '@' name '=' quoted ']')*
//! quoted    := "'" [^']* "'" | '"' [^"]* '"'
//! ```
//!
//! Names are matched exactly as written in the file, namespace prefix included
//! (`/c:config/c:server/@id`). Parsing is pure; a location renders back in one canonical form
//! (single quotes unless the value holds one), which is what the store records.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Result};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    steps: Vec<Step>,
    attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Step {
    pub name: String,
    /// `[@name='value']` predicates, all of which must hold.
    pub predicates: Vec<(String, String)>,
}

impl Location {
    pub fn new(steps: Vec<Step>, attribute: Option<String>) -> Location {
        Location { steps, attribute }
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The attribute this location names, or `None` for an element's text.
    pub fn attribute(&self) -> Option<&str> {
        self.attribute.as_deref()
    }
}

/// Parses a whitespace-separated list (`identity_paths`); whitespace inside a quoted predicate
/// value does not split. At least one location; duplicates are refused.
pub fn parse_list(text: &str) -> Result<Vec<Location>> {
    let mut locations: Vec<Location> = Vec::new();
    for word in split_words(text)? {
        let location: Location = word.parse()?;
        if locations.contains(&location) {
            bail!("identity path {location} is listed twice");
        }
        locations.push(location);
    }
    if locations.is_empty() {
        bail!("no identity path given");
    }
    Ok(locations)
}

fn split_words(text: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                continue;
            }
            None => {}
        }
        word.push(c);
    }
    if quote.is_some() {
        bail!("unterminated quote in identity paths {text:?}");
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

impl FromStr for Location {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Location> {
        let bad = |why: &str| anyhow::anyhow!("identity path {text:?} is not a location: {why}");
        let mut rest = text;
        let mut steps = Vec::new();
        let mut attribute = None;
        if !rest.starts_with('/') {
            return Err(bad("it must start with /"));
        }
        while let Some(after) = rest.strip_prefix('/') {
            if let Some(name) = after.strip_prefix('@') {
                if !is_name(name) {
                    return Err(bad("expected an attribute name after /@, at the end"));
                }
                attribute = Some(name.to_string());
                rest = "";
                break;
            }
            let end = after.find(['/', '[']).unwrap_or(after.len());
            let name = &after[..end];
            if !is_name(name) {
                return Err(bad(&format!("{name:?} is not an element name")));
            }
            rest = &after[end..];
            let mut predicates = Vec::new();
            while let Some(inner) = rest.strip_prefix('[') {
                let (predicate, after_predicate) = parse_predicate(inner).map_err(|why| bad(&why))?;
                predicates.push(predicate);
                rest = after_predicate;
            }
            steps.push(Step { name: name.to_string(), predicates });
        }
        if !rest.is_empty() {
            return Err(bad(&format!("unexpected {rest:?}")));
        }
        if steps.is_empty() {
            return Err(bad("it names no element"));
        }
        Ok(Location { steps, attribute })
    }
}

/// `@name='value']…` → the predicate and what follows the `]`.
fn parse_predicate(text: &str) -> std::result::Result<((String, String), &str), String> {
    let text = text.strip_prefix('@').ok_or("a predicate must be [@name='value']")?;
    let eq = text.find('=').ok_or("a predicate must be [@name='value']")?;
    let name = &text[..eq];
    if !is_name(name) {
        return Err(format!("{name:?} is not an attribute name"));
    }
    let value_part = &text[eq + 1..];
    let quote = value_part.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or("the predicate value must be quoted")?;
    let close = value_part[1..].find(quote).ok_or("unterminated quote")? + 1;
    let value = &value_part[1..close];
    let rest = value_part[close + 1..].strip_prefix(']').ok_or("expected ] after the predicate value")?;
    Ok(((name.to_string(), value.to_string()), rest))
}

/// An XML name as written (prefix allowed): no whitespace and none of the characters the
/// location syntax or XML markup uses.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
        && name.chars().all(|c| !c.is_whitespace() && !c.is_control() && !"/[]@='\"<>&!?()*,;".contains(c))
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            write!(f, "/{}", step.name)?;
            for (name, value) in &step.predicates {
                let quote = if value.contains('\'') { '"' } else { '\'' };
                write!(f, "[@{name}={quote}{value}{quote}]")?;
            }
        }
        if let Some(attribute) = &self.attribute {
            write!(f, "/@{attribute}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Whether a predicate value can be written in a location (not both quote kinds).
pub fn can_quote(value: &str) -> bool {
    !(value.contains('\'') && value.contains('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, canonical: &str) {
        let location: Location = text.parse().unwrap_or_else(|e| panic!("{text}: {e:#}"));
        assert_eq!(location.to_string(), canonical, "{text}");
        assert_eq!(canonical.parse::<Location>().unwrap(), location, "round trip of {canonical}");
    }

    #[test]
    fn locations_parse_and_render_canonically() {
        check("/config/server/@id", "/config/server/@id");
        check("/config/property[@name='server.name']", "/config/property[@name='server.name']");
        check("/config/property[@name=\"server.name\"][@scope='a b']", "/config/property[@name='server.name'][@scope='a b']");
        check("/c:config/c:server/@c:id", "/c:config/c:server/@c:id");
        check("/a[@v=\"it's\"]", "/a[@v=\"it's\"]");
        check("/サーバー/名前", "/サーバー/名前");
        let l: Location = "/config/server/@id".parse().unwrap();
        assert_eq!(l.attribute(), Some("id"));
        assert_eq!(l.steps().len(), 2);
    }

    #[test]
    fn malformed_locations_are_refused_with_the_reason() {
        for (text, why) in [
            ("config/server", "must start with /"),
            ("/", "is not an element name"),
            ("/@id", "names no element"),
            ("/a//b", "is not an element name"),
            ("/a/@id/b", "at the end"),
            ("/a[name='x']", "[@name='value']"),
            ("/a[@name=x]", "must be quoted"),
            ("/a[@name='x]", "unterminated"),
            ("/a[@name='x'", "expected ]"),
            ("/a[1]", "[@name='value']"),
            ("/a/text()", "is not an element name"),
            ("/a/*", "is not an element name"),
        ] {
            let err = text.parse::<Location>().unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn lists_split_on_whitespace_outside_quotes() {
        let list = parse_list("  /a/@id\n/a/p[@name='server name']\t/b ").unwrap();
        let rendered: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(rendered, ["/a/@id", "/a/p[@name='server name']", "/b"]);
        assert!(parse_list("   ").unwrap_err().to_string().contains("no identity path"));
        assert!(parse_list("/a /a").unwrap_err().to_string().contains("listed twice"));
        assert!(parse_list("/a[@x='y").unwrap_err().to_string().contains("unterminated"));
    }
}
