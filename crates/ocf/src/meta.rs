//! An agent's description and the meta-data XML generated from it.
//!
//! The XML keeps to what both validators accept: `ra-api-1.dtd` (ocf-tester) and pcs's
//! `ocf-1.1.rng`: a DOCTYPE, `<version>1.1</version>`, `lang` on every description, only
//! string/integer/boolean contents, no `reload-agent`, every action with a timeout.
//! Invariant: building it reads no parameter and touches nothing but stdout.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use crate::param::{ParamDefault, ParamSpec, COMMON};

#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    pub name: &'static str,
    /// Recommended timeout in seconds (a hint: pcs copies it into the CIB).
    pub timeout: u32,
    pub interval: Option<u32>,
    pub depth: Option<u32>,
    pub role: Option<&'static str>,
    /// The shortest timeout (seconds) with which the action can do its work; validate-all and
    /// the action itself warn below it.
    pub minimum: Option<u32>,
}

impl ActionSpec {
    pub const fn new(name: &'static str, timeout: u32) -> ActionSpec {
        ActionSpec { name, timeout, interval: None, depth: None, role: None, minimum: None }
    }
    pub const fn monitor(timeout: u32, interval: u32, depth: u32) -> ActionSpec {
        ActionSpec { name: "monitor", timeout, interval: Some(interval), depth: Some(depth), role: None, minimum: None }
    }
    pub const fn role(self, role: &'static str) -> ActionSpec {
        ActionSpec { role: Some(role), ..self }
    }
    pub const fn minimum(self, seconds: u32) -> ActionSpec {
        ActionSpec { minimum: Some(seconds), ..self }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct AgentMeta {
    /// The OCF type: binary name and directory entry under the provider.
    pub name: &'static str,
    pub version: &'static str,
    pub shortdesc: &'static str,
    pub longdesc: &'static str,
    /// The agent's own parameters in the order the meta-data lists them: the specs of its
    /// [`crate::param::Param`] declarations.
    pub params: &'static [&'static ParamSpec],
    pub actions: &'static [ActionSpec],
    /// The `OCF_CHECK_LEVEL`s monitor implements, starting with 0.
    pub check_levels: &'static [u32],
}

impl AgentMeta {
    /// The agent's own parameters, then those every mwha agent has.
    /// The agent's parameters and the common ones that apply to it (`check_timeouts_tolerated`
    /// only where monitor has deep checks).
    pub fn all_params(&self) -> impl Iterator<Item = &'static ParamSpec> {
        let deep_checks = self.check_levels.iter().any(|l| *l > 0);
        self.params
            .iter()
            .chain(COMMON)
            .copied()
            .filter(move |s| deep_checks || s.name != crate::param::CHECK_TIMEOUTS_TOLERATED.spec().name)
    }

    pub fn supports(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a.name == action)
    }

    pub fn to_xml(&self) -> String {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        let out = self.write_xml(&mut w);
        out.expect("writing XML to a Vec cannot fail");
        let mut xml = String::from_utf8(w.into_inner()).expect("the XML writer emits UTF-8");
        xml.push('\n');
        xml
    }

    fn write_xml(&self, w: &mut Writer<Vec<u8>>) -> quick_xml::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", None, None)))?;
        w.write_event(Event::DocType(BytesText::from_escaped("resource-agent SYSTEM \"ra-api-1.dtd\"")))?;
        let mut root = BytesStart::new("resource-agent");
        root.push_attribute(("name", self.name));
        root.push_attribute(("version", self.version));
        w.write_event(Event::Start(root))?;
        text_element(w, "version", "1.1", false)?;
        text_element(w, "longdesc", self.longdesc, true)?;
        text_element(w, "shortdesc", self.shortdesc, true)?;
        w.write_event(Event::Start(BytesStart::new("parameters")))?;
        for p in self.all_params() {
            let mut el = BytesStart::new("parameter");
            el.push_attribute(("name", p.name));
            el.push_attribute(("required", if p.required { "1" } else { "0" }));
            el.push_attribute(("unique", if p.unique { "1" } else { "0" }));
            w.write_event(Event::Start(el))?;
            text_element(w, "longdesc", &long_with_default(p), true)?;
            text_element(w, "shortdesc", p.shortdesc, true)?;
            let mut content = BytesStart::new("content");
            content.push_attribute(("type", p.kind.as_str()));
            if let ParamDefault::Value(v) = p.default {
                content.push_attribute(("default", v));
            }
            w.write_event(Event::Empty(content))?;
            w.write_event(Event::End(BytesEnd::new("parameter")))?;
        }
        w.write_event(Event::End(BytesEnd::new("parameters")))?;
        w.write_event(Event::Start(BytesStart::new("actions")))?;
        for a in self.actions {
            let mut el = BytesStart::new("action");
            el.push_attribute(("name", a.name));
            el.push_attribute(("timeout", format!("{}s", a.timeout).as_str()));
            if let Some(i) = a.interval {
                el.push_attribute(("interval", format!("{i}s").as_str()));
            }
            if let Some(d) = a.depth {
                el.push_attribute(("depth", d.to_string().as_str()));
            }
            if let Some(r) = a.role {
                el.push_attribute(("role", r));
            }
            w.write_event(Event::Empty(el))?;
        }
        w.write_event(Event::End(BytesEnd::new("actions")))?;
        w.write_event(Event::End(BytesEnd::new("resource-agent")))?;
        Ok(())
    }

    /// Usage text for `usage`, `help` and unknown actions.
    pub fn usage(&self) -> String {
        let mut names: Vec<&str> = Vec::new();
        for a in self.actions {
            if !names.contains(&a.name) {
                names.push(a.name);
            }
        }
        format!("usage: {} {{{}}}\n", self.name, names.join("|"))
    }
}

/// The longdesc as shown to admins, with the default (a value or a derived rule) appended so
/// every tool shows it.
pub fn long_with_default(p: &ParamSpec) -> String {
    match p.default {
        ParamDefault::Derived(rule) => format!("{} Default: {rule}.", p.longdesc),
        // pcs resource describe (0.11) never shows content/@default: say it in the text too.
        ParamDefault::Value(v) => format!("{} Default: {v}.", p.longdesc),
        ParamDefault::None => p.longdesc.to_string(),
    }
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str, lang: bool) -> quick_xml::Result<()> {
    let mut el = BytesStart::new(name);
    if lang {
        el.push_attribute(("lang", "en"));
    }
    w.write_event(Event::Start(el))?;
    w.write_event(Event::Text(BytesText::new(text)))?;
    w.write_event(Event::End(BytesEnd::new(name)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::param::Param;
    use std::path::PathBuf;

    static DIR: Param<PathBuf> = Param::path("dir", "Dir", "The dir.").required().unique();
    static DATA: Param<PathBuf> = Param::path("data", "Data", "Data.").derived("dir");

    static META: AgentMeta = AgentMeta {
        name: "t",
        version: "0.1.0",
        shortdesc: "Test <agent>",
        longdesc: "Long & winding.",
        params: &[DIR.spec(), DATA.spec()],
        actions: &[ActionSpec::new("start", 20), ActionSpec::monitor(20, 10, 0), ActionSpec::monitor(30, 61, 10)],
        check_levels: &[0, 10],
    };

    #[test]
    fn xml_has_doctype_version_escaping_and_derived_defaults() {
        let xml = META.to_xml();
        assert!(xml.contains("<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">"), "{xml}");
        assert!(xml.contains("<version>1.1</version>"));
        assert!(xml.contains("Test &lt;agent&gt;"));
        assert!(xml.contains("Data. Default: dir."));
        assert!(xml.contains(r#"<action name="monitor" timeout="30s" interval="61s" depth="10"/>"#), "{xml}");
        assert_eq!(META.usage(), "usage: t {start|monitor}\n");
    }
}
