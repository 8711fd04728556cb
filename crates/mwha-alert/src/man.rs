//! `mwha-alert man`: the manual page (section 8, roff), from the same option table and
//! catalogue as `--help` and `docs/messages.md`, so the three never drift. Packaging installs
//! it as mwha-alert(8).

use ocf::man::escape;

use crate::catalogue::CATALOGUE;
use crate::options::OPTIONS;

pub fn render() -> String {
    let mut out = format!(".TH MWHA-ALERT 8 \"\" \"mwha {}\" \"Pacemaker alert agents\"\n", env!("CARGO_PKG_VERSION"));
    out += ".SH NAME\nmwha\\-alert \\- Pacemaker alert agent writing one-line operator messages with stable IDs\n";
    out += ".SH SYNOPSIS\n.B /usr/lib/mwha/mwha-alert\n.br\n.B mwha-alert\n\\-\\-print | \\-\\-catalogue\\-md [en|ja] | man | \\-\\-help | \\-\\-version\n";
    out += &section(
        "DESCRIPTION",
        "Pacemaker runs mwha-alert once per cluster event and recipient, as user hacluster, with the event in the \
         CRM_alert_* environment variables. It writes one line per message: the event time (UTC), the reporting node, \
         a message ID such as MWHA1001E, and a short text. It reads the exit reason of a failed operation and the \
         recent operation history (to tell a failover from a first start) from the CIB, and the quorum state from \
         crm_node, each within a few seconds. The whole run ends within 20 seconds. With the option lang=ja the text \
         is in Japanese (UTF-8, still one line per message); the time, the node, the message ID and the severity are \
         the same in both languages, so severity, ids and exclude_ids select the same lines. Lines written to stderr \
         (copied into the Pacemaker log) stay in English.",
    );
    out += &section(
        "RECIPIENTS",
        "An absolute file path: the line is appended with one write(2) on a descriptor opened with O_APPEND; the \
         directory must be writable by hacluster. The word syslog (or no recipient): the line goes to /dev/log. \
         When a line cannot be written to its file, it is sent to syslog as MWHA9001E and the agent exits 1.",
    );
    out += ".SH OPTIONS\nInstance attributes of the alert or of the recipient (the recipient's win), \
            for example \\fBpcs alert recipient add mwha value=/var/log/mwha/alerts.log options severity=warning\\fR.\n";
    for (name, default, meaning) in OPTIONS {
        out += &format!(".TP\n\\fB{}\\fR (default: {})\n{}\n", escape(name), escape(default), escape(meaning));
    }
    out += ".SH MESSAGES\nThe full catalogue, with meanings and operator actions, is docs/messages.md \
            (\\fBmwha-alert \\-\\-catalogue\\-md\\fR), in Japanese docs/messages.ja.md \
            (\\fBmwha-alert \\-\\-catalogue\\-md ja\\fR).\n";
    for e in CATALOGUE.iter() {
        out += &format!(".TP\n\\fB{}\\fR\n{}\n", e.id, escape(e.text));
    }
    out += &section(
        "EXIT STATUS",
        "0: delivered, filtered out by the recipient's options, or nothing to report. 1: not delivered to the \
         recipient (sent to syslog, or to stderr when syslog failed too). 2: an invalid option or recipient \
         (MWHA9002E). 3: the configured action failed or timed out (MWHA5002E).",
    );
    out += &section(
        "FILES",
        "/run/mwha/alert: per-boot state (quorum, action de-duplication, failure counts of failure_threshold, what the cluster started on this node), owned by hacluster.",
    );
    out += &section("SEE ALSO", "pcs(8), crm(8), crm_mon(8), docs/policies.md in the mwha documentation.");
    out
}

fn section(title: &str, text: &str) -> String {
    format!(".SH {title}\n{}\n", escape(text))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_is_roff_and_lists_every_message_and_option() {
        let page = super::render();
        assert!(page.starts_with(".TH MWHA-ALERT 8 "));
        for e in crate::catalogue::CATALOGUE.iter() {
            assert!(page.contains(e.id), "{}", e.id);
        }
        for (name, _, _) in crate::options::OPTIONS {
            assert!(page.contains(&ocf::man::escape(name)), "{name}");
        }
        assert!(page.contains("\\fBlang\\fR (default: en)"), "the lang option");
        assert!(page.contains("docs/messages.ja.md") && page.is_ascii(), "roff stays ASCII");
    }
}
