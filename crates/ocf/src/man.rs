//! Man pages generated from the same declarations as the meta-data, so they never drift
//! (owned by the packaging work; product-agnostic). `<agent> man` prints the page as roff.

use crate::meta::{long_with_default, AgentMeta};

pub fn render(meta: &AgentMeta) -> String {
    let mut out =
        format!(".TH OCF_MWHA_{} 7 \"\" \"mwha {}\" \"OCF resource agents\"\n", meta.name.to_uppercase().replace('-', "_"), meta.version);
    out += &format!(".SH NAME\nocf:mwha:{} \\- {}\n", meta.name, escape(meta.shortdesc));
    out += &format!(".SH DESCRIPTION\n{}\n.SH PARAMETERS\n", escape(meta.longdesc));
    for p in meta.all_params() {
        let required = if p.required { ", required" } else { "" };
        out += &format!(".TP\n\\fB{}\\fR ({}{required})\n{}\n", p.name, p.kind.as_str(), escape(&long_with_default(p)));
    }
    out += ".SH ACTIONS\n";
    for a in meta.actions {
        let interval = a.interval.map(|i| format!(", interval {i}s")).unwrap_or_default();
        out += &format!(".TP\n\\fB{}\\fR\nrecommended timeout {}s{interval}\n", a.name, a.timeout);
    }
    out
}

/// Text made safe for roff: backslashes and hyphens escaped, no line starting a request.
pub fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('-', "\\-")
        .lines()
        .map(|l| if l.starts_with(['.', '\'']) { format!("\\&{l}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
}
