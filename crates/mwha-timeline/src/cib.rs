//! The CIB's operation history (`cibadmin -Q -o status`): each action's exec-time, by node,
//! resource, action and call ID, for the steps whose duration the log did not give (actions
//! the DC ran on a node whose log is not at hand). Optional: `--cib` asks the local cluster
//! (bounded in time and size), `--cib-file` reads a saved copy.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use quick_xml::events::Event as Xml;
use quick_xml::Reader;

use crate::incident::{DurationSource, Incident};

/// (node, resource, action, call ID) → exec-time in ms.
#[derive(Debug, Default)]
pub struct History(HashMap<(String, String, String, u32), i64>);

const MAX_BYTES: u64 = 64 * 1024 * 1024;

impl History {
    pub fn parse(xml: &str) -> Result<History> {
        let mut reader = Reader::from_str(xml);
        let mut map = HashMap::new();
        let (mut uname, mut rsc) = (String::new(), String::new());
        loop {
            let ev = reader.read_event().context("CIB status is not XML")?;
            let (Xml::Start(e) | Xml::Empty(e)) = &ev else {
                if matches!(ev, Xml::Eof) {
                    break;
                }
                continue;
            };
            let attr = |name: &[u8]| -> Option<String> {
                e.try_get_attribute(name).ok().flatten().and_then(|a| a.unescape_value().ok()).map(|v| v.into_owned())
            };
            match e.name().as_ref() {
                b"node_state" => uname = attr(b"uname").unwrap_or_default(),
                b"lrm_resource" => rsc = attr(b"id").unwrap_or_default(),
                b"lrm_rsc_op" => {
                    let node = attr(b"on_node").filter(|n| !n.is_empty()).unwrap_or_else(|| uname.clone());
                    let (Some(op), Some(call), Some(exec)) = (
                        attr(b"operation"),
                        attr(b"call-id").and_then(|c| c.parse::<u32>().ok()),
                        attr(b"exec-time").and_then(|t| t.parse::<i64>().ok()),
                    ) else {
                        continue;
                    };
                    map.insert((node, rsc.clone(), op, call), exec);
                }
                _ => {}
            }
        }
        Ok(History(map))
    }

    pub fn read(path: &Path) -> Result<History> {
        let mut text = String::new();
        std::fs::File::open(path)
            .with_context(|| format!("cannot open {}", path.display()))?
            .take(MAX_BYTES)
            .read_to_string(&mut text)
            .with_context(|| format!("cannot read {}", path.display()))?;
        History::parse(&text).with_context(|| path.display().to_string())
    }

    /// Runs `cibadmin -Q -o status`, killed after `limit`; at most 64 MiB of output is read.
    pub fn query(limit: Duration) -> Result<History> {
        let mut child = Command::new("cibadmin")
            .args(["-Q", "-o", "status"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot run cibadmin")?;
        let mut stdout = child.stdout.take().context("cibadmin has no stdout")?;
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            let read = (&mut stdout).take(MAX_BYTES).read_to_string(&mut text);
            read.map(|_| text)
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().context("waiting for cibadmin")? {
                break status;
            }
            if started.elapsed() >= limit {
                // Our own child, by its handle.
                let _ = child.kill();
                let _ = child.wait();
                bail!("cibadmin -Q -o status did not answer within {} s", limit.as_secs());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let text = reader.join().map_err(|_| anyhow::anyhow!("reading cibadmin's output failed"))?.context("reading cibadmin's output")?;
        if !status.success() {
            bail!("cibadmin -Q -o status failed ({status})");
        }
        History::parse(&text)
    }

    /// Gives a duration to the steps that have none, from the matching history entry.
    pub fn fill(&self, inc: &mut Incident) {
        for s in &mut inc.steps {
            let (Some(rsc), Some(call), None) = (&s.resource, s.call, s.exec_ms) else { continue };
            if let Some(ms) = self.0.get(&(s.node.clone(), rsc.clone(), s.kind.name().to_string(), call)) {
                s.exec_ms = Some(*ms);
                s.exec_source = Some(DurationSource::Cib);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::tests::incidents;

    const STATUS: &str = r#"<status>
  <node_state id="2" uname="n2" in_ccm="true" crmd="online">
    <lrm id="2"><lrm_resources>
      <lrm_resource id="d" type="Dummy" class="ocf" provider="pacemaker">
        <lrm_rsc_op id="d_last_0" operation_key="d_start_0" operation="start" on_node="n2" call-id="16" rc-code="0" interval="0" exec-time="33" queue-time="0"/>
        <lrm_rsc_op id="d_monitor_10000" operation_key="d_monitor_10000" operation="monitor" call-id="17" rc-code="0" exec-time="7"/>
      </lrm_resource>
    </lrm_resources></lrm>
  </node_state>
</status>"#;

    #[test]
    fn exec_times_fill_steps_the_log_did_not_time() {
        let h = History::parse(STATUS).unwrap();
        assert_eq!(h.0.len(), 2);
        let mut inc = incidents(
            &[
                "10:00:00.000 n1 pacemaker-controld notice: Node n3 state is now lost | nodeid=3",
                "10:00:00.081 n1 pacemaker-controld notice: Initiating start operation d_start_0 on n2 | action 3",
                "10:00:00.130 n1 pacemaker-controld info: Transition 3 action 3 (d_start_0 on n2) confirmed: ok | rc=0 call-id=16",
            ],
            30_000,
            None,
        )
        .remove(0);
        assert_eq!(inc.steps[1].duration_ms(), Some(49));
        h.fill(&mut inc);
        assert_eq!((inc.steps[1].duration_ms(), inc.steps[1].duration_source()), (Some(33), Some(DurationSource::Cib)));
    }

    #[test]
    fn bad_xml_is_an_error() {
        assert!(History::parse("<status><node_state uname='a'></status>").is_err());
    }
}
