//! Running the command configured for a message class, like WebSphere's notification action
//! codes (`failureNotificationActionCode`): 1 = message only (no `action_*` option), 2 = pause
//! the listeners of the node where the resource is unavailable and resume them when it is
//! available again, 3 = stop the applications that use the resource on that node only, and start
//! them again when it is available (commands the admin provides, see `examples/alert-action-*`).
//! Per node: the command gets the node of the event in `MWHA_ALERT_NODE` and, for an `available`
//! message after a move, the node the resource left in `MWHA_ALERT_FROM`, where the pause or stop
//! happened. With `failure_threshold=N` the `unavailable` command runs at the Nth failure in a
//! row only (classify, MWHA1007W before).
//!
//! The command is an argv (never a shell), runs as the agent's user (hacluster) with a clean
//! environment plus the event's fields, in its own process group, and is killed with that group
//! at `action_timeout` (`ocf::spawn::bounded`). It runs after the line is written, so a hung
//! action can never delay or lose the message.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;

use ocf::deadline::Deadline;
use ocf::spawn::{bounded, CommandLine};

use crate::classify::Message;
use crate::event::sanitize;
use crate::options::ActionCommand;

/// How the action ended, for MWHA5001I / MWHA5002E.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOutcome {
    pub ok: bool,
    /// "exited 0 in 0.2s", "exited 3 in 0.1s", "did not finish within 10.0s", "could not be run: ...".
    pub outcome: String,
    /// The same for `lang=ja`: "終了コード 0、0.2s", "10.0s 以内に終了しませんでした", "実行できませんでした: ...".
    pub outcome_ja: String,
    /// ": <last line of output>" on failure, else empty.
    pub output: String,
}

/// The environment the command gets on top of a clean PATH/LANG/TZ/HOME.
pub fn environment(message: &Message, line: &str, crm_vars: &[(String, String)]) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = vec![
        ("MWHA_ALERT_ID".into(), message.entry.id.into()),
        ("MWHA_ALERT_SEVERITY".into(), message.entry.severity.name().into()),
        ("MWHA_ALERT_EVENT".into(), message.entry.event.into()),
        ("MWHA_ALERT_LINE".into(), line.into()),
        ("MWHA_ALERT_RESOURCE".into(), message.field("rsc").into()),
        ("MWHA_ALERT_NODE".into(), message.field("node").into()),
        ("MWHA_ALERT_FROM".into(), message.field("from").into()),
        ("MWHA_ALERT_REPORTER".into(), message.field("reporter").into()),
    ];
    for (k, v) in crm_vars.iter().filter(|(k, _)| k.starts_with("CRM_alert_")) {
        env.push((k.into(), v.into()));
    }
    env
}

pub fn run(command: &ActionCommand, env: Vec<(OsString, OsString)>, deadline: &Deadline) -> ActionOutcome {
    let mut cmd = CommandLine::new(&command.argv[0]);
    for arg in &command.argv[1..] {
        cmd = cmd.arg(arg);
    }
    let cmd = cmd.cwd("/").envs(env);
    match bounded(None, &cmd, deadline) {
        Err(e) => ActionOutcome {
            ok: false,
            outcome: format!("could not be run: {e:#}"),
            outcome_ja: format!("実行できませんでした: {e:#}"),
            output: String::new(),
        },
        Ok(done) => {
            let ok = done.success();
            let seconds = done.elapsed.as_secs_f64();
            let outcome = if done.status.is_some() { format!("{} in {seconds:.1}s", done.describe()) } else { done.describe() };
            let outcome_ja = match done.status.map(|s| (s.code(), s.signal())) {
                None => format!("{seconds:.1}s 以内に終了しませんでした"),
                Some((Some(code), _)) => format!("終了コード {code}、{seconds:.1}s"),
                Some((None, Some(signal))) => format!("シグナル {signal} で終了、{seconds:.1}s"),
                Some((None, None)) => format!("終了、{seconds:.1}s"),
            };
            let last = sanitize(done.last_line());
            let output = if ok || last.is_empty() { String::new() } else { format!(": {}", last.chars().take(200).collect::<String>()) };
            ActionOutcome { ok, outcome, outcome_ja, output }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::catalogue;

    fn message() -> Message {
        crate::classify::classify(
            &crate::event::Event::from_vars(
                &[
                    ("CRM_alert_kind", "resource"),
                    ("CRM_alert_rsc", "d"),
                    ("CRM_alert_node", "n1"),
                    ("CRM_alert_task", "monitor"),
                    ("CRM_alert_interval", "2000"),
                    ("CRM_alert_rc", "7"),
                    ("CRM_alert_target_rc", "0"),
                    ("CRM_alert_status", "0"),
                ]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            )
            .unwrap(),
            &crate::classify::Facts { reporter: "n1".into(), ..Default::default() },
        )
        .remove(0)
    }

    fn command(argv: &[&str]) -> ActionCommand {
        ActionCommand { option: "action_unavailable".into(), argv: argv.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn the_command_gets_the_event_and_no_shell() {
        let m = message();
        assert_eq!(m.entry.id, catalogue::RSC_UNAVAILABLE.id);
        let env = environment(&m, "the line", &[("CRM_alert_rsc".into(), "d".into()), ("secret".into(), "x".into())]);
        let out = run(
            &command(&[
                "/bin/sh",
                "-c",
                "test \"$MWHA_ALERT_ID $MWHA_ALERT_RESOURCE $CRM_alert_rsc ${secret:-none}\" = \"MWHA1001E d d none\"",
            ]),
            env,
            &Deadline::after(Duration::from_secs(10)),
        );
        assert!(out.ok, "{out:?}");
        // Arguments are passed as they are: `;` is not a shell separator here.
        let out = run(&command(&["/bin/echo", "a;", "false"]), vec![], &Deadline::after(Duration::from_secs(10)));
        assert!(out.ok && out.outcome.starts_with("exited 0"), "{out:?}");
    }

    #[test]
    fn failures_and_timeouts_are_reported_with_output() {
        let out = run(&command(&["/bin/sh", "-c", "echo listener busy >&2; exit 3"]), vec![], &Deadline::after(Duration::from_secs(10)));
        assert_eq!((out.ok, out.output.as_str()), (false, ": listener busy"));
        assert!(out.outcome.starts_with("exited 3"), "{out:?}");
        assert!(out.outcome_ja.starts_with("終了コード 3、"), "{out:?}");
        let out = run(&command(&["/bin/sh", "-c", "kill -TERM $$"]), vec![], &Deadline::after(Duration::from_secs(10)));
        assert!(out.outcome.starts_with("killed by signal 15") && out.outcome_ja.starts_with("シグナル 15 で終了、"), "{out:?}");
        let started = Instant::now();
        let out = run(&command(&["/bin/sleep", "30"]), vec![], &Deadline::after(Duration::from_millis(300)));
        assert!(!out.ok && out.outcome.contains("did not finish"), "{out:?}");
        assert!(out.outcome_ja.ends_with("s 以内に終了しませんでした"), "{out:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        let out = run(&command(&["/nonexistent/pause-listeners"]), vec![], &Deadline::after(Duration::from_secs(1)));
        assert!(!out.ok && out.outcome.starts_with("could not be run"), "{out:?}");
        assert!(out.outcome_ja.starts_with("実行できませんでした: "), "{out:?}");
    }
}
