//! The message catalogue: every line mwha-alert writes has one of these stable IDs.
//!
//! An ID never changes meaning once published (admins grep for it, monitoring tools match it);
//! a new situation gets a new ID. `docs/messages.md` is generated from this table
//! (`mwha-alert --catalogue-md`) and a unit test keeps the two equal.
//!
//! IDs read like IBM's BBOJ0130I: `MWHA`, four digits, one severity letter. The digits group
//! the events: 10xx resources, 20xx membership and quorum, 30xx fencing, 40xx node attributes,
//! 50xx actions run by mwha-alert, 60xx warnings every mwha resource agent logs itself (in the
//! Pacemaker log, never through mwha-alert), 90xx problems of mwha-alert itself.

use std::fmt::Write as _;

/// Severity, ordered: a recipient with `severity=warning` gets warning, error and critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn letter(self) -> char {
        match self {
            Severity::Info => 'I',
            Severity::Warning => 'W',
            Severity::Error => 'E',
            Severity::Critical => 'C',
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// The Japanese name, for docs/messages.ja.md (the option values stay `info`…`critical`).
    pub fn name_ja(self) -> &'static str {
        match self {
            Severity::Info => "情報",
            Severity::Warning => "警告",
            Severity::Error => "エラー",
            Severity::Critical => "重大",
        }
    }

    /// The syslog severity (RFC 5424): critical 2, error 3, warning 4, info 6.
    pub fn syslog(self) -> u8 {
        match self {
            Severity::Info => 6,
            Severity::Warning => 4,
            Severity::Error => 3,
            Severity::Critical => 2,
        }
    }

    /// `info`, `warning`, `error`, `critical` or their letters, any case.
    pub fn parse(text: &str) -> Option<Severity> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "i" | "info" | "notice" => Severity::Info,
            "w" | "warn" | "warning" => Severity::Warning,
            "e" | "err" | "error" => Severity::Error,
            "c" | "crit" | "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// One catalogue entry. `text` is the template of the line; `{name}` is replaced by a field.
#[derive(Debug)]
pub struct Entry {
    pub id: &'static str,
    pub severity: Severity,
    /// Short name, used in docs and as `MWHA_ALERT_EVENT` for actions.
    pub event: &'static str,
    /// The `action_<class>` options that run a command for this message, most specific first;
    /// the first one configured wins. Empty: no action can be attached.
    pub action_classes: &'static [&'static str],
    pub text: &'static str,
    pub meaning: &'static str,
    pub operator: &'static str,
    /// The same three in Japanese (`lang=ja`, docs/messages.ja.md): `text_ja` has exactly the
    /// placeholders of `text`, in the order Japanese wants them.
    pub text_ja: &'static str,
    pub meaning_ja: &'static str,
    pub operator_ja: &'static str,
}

impl Entry {
    /// The template of the line's text in `lang`.
    pub fn text_in(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.text,
            Lang::Ja => self.text_ja,
        }
    }

    /// Logged by the resource agents themselves (60xx), always in English: never a line of mwha-alert.
    pub fn is_agent_log(&self) -> bool {
        self.id.starts_with("MWHA60")
    }
}

/// The language of the message text (option `lang`). The time, the reporting node, the message
/// ID and the severity are the same in every language, and so are the event's own values (names,
/// operations, return codes, Pacemaker's descriptions, exit reasons): only mwha-alert's words change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ja,
}

impl Lang {
    /// `en` or `ja`, any case.
    pub fn parse(text: &str) -> Option<Lang> {
        match text.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "ja" => Some(Lang::Ja),
            _ => None,
        }
    }
}

macro_rules! entry {
    ($id:literal, $sev:ident, $event:literal, [$($class:literal),*], $text:literal, $meaning:literal, $operator:literal,
     $text_ja:literal, $meaning_ja:literal, $operator_ja:literal) => {
        Entry {
            id: $id,
            severity: Severity::$sev,
            event: $event,
            action_classes: &[$($class),*],
            text: $text,
            meaning: $meaning,
            operator: $operator,
            text_ja: $text_ja,
            meaning_ja: $meaning_ja,
            operator_ja: $operator_ja,
        }
    };
}

pub static RSC_UNAVAILABLE: Entry = entry!(
    "MWHA1001E",
    Error,
    "unavailable",
    ["unavailable"],
    "Resource {rsc} is unavailable on {node}: {failure}",
    "A recurring monitor (or `crm_resource --fail`) found the resource failed or stopped on that node. \
     Pacemaker now recovers it: a restart in place while the node's fail count is below `migration-threshold`, \
     otherwise a move to another node. `{failure}` names the operation, the result and the agent's exit reason. \
     With `failure_threshold=N` only the Nth failure in a row on that node gets this line (the earlier ones MWHA1007W).",
    "Read the exit reason and the agent's log lines on that node (`/var/log/pacemaker/pacemaker.log`). \
     Expect MWHA1010I (available again) or MWHA1012I (moved) within the start timeout; if neither comes, \
     look at `crm_mon -1 --failcounts`.",
    "リソース {rsc} がノード {node} で使用不可になりました: {failure}",
    "定期的な monitor (または `crm_resource --fail`) が、そのノードでリソースの障害または停止を検出しました。\
     Pacemaker が回復処理を行います。\
     そのノードの失敗回数が `migration-threshold` 未満なら同じノードで再起動し、達していれば別のノードへ移動します。\
     `{failure}` には操作、結果、エージェントの終了理由 (exit reason) が入ります。\
     `failure_threshold=N` の場合、この行はそのノードでの連続 N 回目の失敗にだけ出力されます (それより前は MWHA1007W)。",
    "そのノードで終了理由とエージェントのログ (`/var/log/pacemaker/pacemaker.log`) を確認してください。\
     start のタイムアウト以内に MWHA1010I (再び使用可能) または MWHA1012I (移動) が出力されます。\
     どちらも出ない場合は `crm_mon -1 --failcounts` を確認してください。"
);
pub static RSC_START_FAILED: Entry = entry!(
    "MWHA1002E",
    Error,
    "start-failed",
    ["unavailable"],
    "Resource {rsc} could not be started on {node}: {failure}",
    "The start operation failed or timed out. With the default `start-failure-is-fatal=true` the node is now \
     banned for this resource and Pacemaker tries another node.",
    "Fix the cause named in the exit reason on that node, then `crm resource cleanup {rsc}` \
     (`pcs resource cleanup {rsc}`) so the node may run it again.",
    "リソース {rsc} をノード {node} で起動できませんでした: {failure}",
    "start 操作が失敗したか、タイムアウトしました。\
     デフォルトの `start-failure-is-fatal=true` では、このノードでのこのリソースの実行が禁止され、Pacemaker は別のノードでの起動を試みます。",
    "終了理由に示された原因をそのノードで取り除いてから `crm resource cleanup {rsc}` (`pcs resource cleanup {rsc}`) を実行し、そのノードで再びリソースを実行できるようにしてください。"
);
pub static RSC_STOP_FAILED: Entry = entry!(
    "MWHA1003C",
    Critical,
    "stop-failed",
    ["unavailable"],
    "Resource {rsc} could not be stopped on {node}: {failure}; Pacemaker will fence the node or block the resource",
    "A failed stop leaves the resource in an unknown state. With fencing enabled the node is fenced; without \
     fencing the resource is blocked (unmanaged) until an operator acts.",
    "Make sure the resource is really stopped on that node (processes, mounts, addresses), then \
     `crm resource cleanup {rsc}`. Never clean up while it may still be running there.",
    "リソース {rsc} をノード {node} で停止できませんでした: {failure}。\
     Pacemaker はノードをフェンシングするか、リソースをブロックします",
    "停止に失敗したリソースの状態は不明です。\
     フェンシングが有効ならノードはフェンシングされ、無効ならオペレーターが対処するまでリソースはブロック (unmanaged) されます。",
    "そのノードでリソースが本当に停止していること (プロセス、マウント、アドレス) を確かめてから `crm resource cleanup {rsc}` を実行してください。\
     そのノードでまだ動いている可能性があるうちは、決してクリーンアップしないでください。"
);
pub static RSC_ROLE_FAILED: Entry = entry!(
    "MWHA1004E",
    Error,
    "role-change-failed",
    ["unavailable"],
    "Resource {rsc} failed to {task} on {node}: {failure}",
    "A promote or demote of a promotable clone failed; Pacemaker recovers the instance (demote, stop, start) \
     and may choose another primary.",
    "Read the exit reason; expect MWHA1020I or MWHA1021I when a primary is running again.",
    "リソース {rsc} の {task} がノード {node} で失敗しました: {failure}",
    "プロモータブルクローンの promote (昇格) または demote (降格) が失敗しました。\
     Pacemaker はそのインスタンスを回復し (demote、stop、start)、別のプライマリーを選ぶことがあります。",
    "終了理由を確認してください。\
     プライマリーが再び稼働すると MWHA1020I または MWHA1021I が出力されます。"
);
pub static RSC_ACTIVE_UNEXPECTEDLY: Entry = entry!(
    "MWHA1005W",
    Warning,
    "active-unexpectedly",
    ["unexpected"],
    "Resource {rsc} was found {state} on {node} where the cluster had not started it",
    "A probe (the one-time monitor Pacemaker runs when a node joins or after a cleanup) found the resource \
     running outside cluster control. Pacemaker stops the extra copy, or all copies if it may only run once. \
     A cleanup's probe of a resource the cluster itself started on that node (and has not stopped since this \
     boot) gives no line: mwha-alert remembers those starts in its state_dir.",
    "Find out who started it by hand (init scripts, cron, an operator) and disable that; services managed by \
     the cluster must not start at boot.",
    "クラスターが起動していないリソース {rsc} がノード {node} で見つかりました ({state})",
    "プローブ (ノードの参加時やクリーンアップの後に Pacemaker が一度だけ実行する monitor) が、クラスターの管理外で稼働しているリソースを見つけました。\
     Pacemaker は余分なものを停止します。\
     1 か所でしか実行できないリソースでは、すべてを停止します。\
     クラスター自身がそのノードで起動した (この起動以降まだ停止していない) リソースをクリーンアップ後のプローブが見つけた場合は、何も出力しません (mwha-alert が state_dir に起動を記録しています)。",
    "誰が手動で起動したか (init スクリプト、cron、オペレーター) を調べ、それを無効にしてください。\
     クラスターが管理するサービスを OS の起動時に自動起動してはいけません。"
);
pub static RSC_OP_FAILED: Entry = entry!(
    "MWHA1006E",
    Error,
    "operation-failed",
    ["unavailable"],
    "Operation {task} of resource {rsc} failed on {node}: {failure}",
    "Another resource operation (reload, migrate_to, migrate_from, notify, validate) failed.",
    "Read the exit reason and the agent's log on that node.",
    "リソース {rsc} の操作 {task} がノード {node} で失敗しました: {failure}",
    "その他のリソース操作 (reload、migrate_to、migrate_from、notify、validate) が失敗しました。",
    "そのノードで終了理由とエージェントのログを確認してください。"
);
pub static RSC_FAILED_BELOW_THRESHOLD: Entry = entry!(
    "MWHA1007W",
    Warning,
    "failed-below-threshold",
    [],
    "Resource {rsc} failed on {node} ({count} of {threshold} failures in a row before it counts as unavailable): {failure}",
    "With `failure_threshold=N` (WebSphere's `failureThreshold`), failures 1 to N-1 in a row of a resource on a node get \
     this line instead of the one they would otherwise get (MWHA1001E, MWHA1002E, MWHA1004E or MWHA1006E), and \
     `action_unavailable` does not run; failure N gets that line and runs the action. A failed stop (MWHA1003C) is never \
     held back. The count is kept per node and resource in `state_dir` (forgotten at reboot); the resource available again \
     on that node (a successful start, promote or monitor there) resets it. Pacemaker recovers the resource as usual: this \
     option changes only mwha-alert's lines and actions, never Pacemaker's fail count or `migration-threshold`.",
    "None at once. If such lines repeat, find the cause before the threshold is reached: the exit reason, the agent's log on \
     that node, `crm_mon -1 --failcounts`.",
    "リソース {rsc} がノード {node} で失敗しました (使用不可とみなすまでの連続失敗 {threshold} 回のうち {count} 回目): {failure}",
    "`failure_threshold=N` (WebSphere の `failureThreshold`) のとき、ノードでのリソースの連続 1 回目から N-1 回目までの失敗には、\
     本来の行 (MWHA1001E、MWHA1002E、MWHA1004E、MWHA1006E) の代わりにこの行を出力し、`action_unavailable` は実行しません。\
     N 回目の失敗で本来の行を出力し、アクションを実行します。\
     停止の失敗 (MWHA1003C) は保留しません。\
     回数はノードとリソースごとに `state_dir` に記録され、ノードの再起動で消えます。\
     そのノードでリソースが再び使用可能になる (start、promote、monitor がそこで成功する) と、回数はリセットされます。\
     Pacemaker は通常どおりリソースを回復します。\
     このオプションが変えるのは mwha-alert の行とアクションだけで、Pacemaker の失敗回数や `migration-threshold` は変わりません。",
    "すぐに対処する必要はありません。\
     この行が繰り返し出る場合は、しきい値に達する前に原因を調べてください: 終了理由、そのノードのエージェントのログ、`crm_mon -1 --failcounts`。"
);
pub static RSC_AVAILABLE_AGAIN: Entry = entry!(
    "MWHA1010I",
    Info,
    "available-again",
    ["available"],
    "Resource {rsc} is available again on {node}{after}",
    "The resource started successfully on the node where it had failed (restart in place), or after a failed \
     start: the counterpart of MWHA1001E/MWHA1002E (WebSphere's BBOJ0131I).",
    "None. Clear the failure history when the cause is understood: `crm resource cleanup {rsc}`.",
    "リソース {rsc} がノード {node} で再び使用可能になりました{after}",
    "障害が発生したノードでリソースの起動に成功しました (同じノードでの再起動)。\
     または、起動の失敗の後に起動しました。\
     MWHA1001E/MWHA1002E と対になるメッセージです (WebSphere の BBOJ0131I に相当)。",
    "対処は不要です。\
     原因が分かったら、障害の履歴を消去してください: `crm resource cleanup {rsc}`。"
);
pub static RSC_STARTED: Entry = entry!(
    "MWHA1011I",
    Info,
    "started",
    ["available"],
    "Resource {rsc} started on {node}",
    "A start succeeded and no earlier location or failure of the resource was found in the cluster's recent \
     operation history: a first start, an enable, or a start after a long stop.",
    "None.",
    "リソース {rsc} がノード {node} で起動しました",
    "起動に成功し、クラスターの最近の操作履歴には、このリソースの以前の場所も障害も見つかりませんでした。\
     初回の起動、有効化 (enable)、または長い停止の後の起動です。",
    "対処は不要です。"
);
pub static RSC_MOVED: Entry = entry!(
    "MWHA1012I",
    Info,
    "moved",
    ["moved", "available"],
    "Resource {rsc} moved from {from} to {node}{why}",
    "The resource started on this node after it was stopped (or its node was lost) elsewhere within the \
     recovery window: a failover, a failback, or an administrative move. `{why}` says which when it is known. \
     This is the \"new primary\" notice clients behind a proxy or a virtual IP rely on.",
    "After a failover, find out why the old node failed (MWHA1001E or MWHA2001W before this line). \
     For a manual failback later: `crm resource move {rsc} <node>` then `crm resource clear {rsc}`.",
    "リソース {rsc} がノード {from} から {node} へ移動しました{why}",
    "回復の判定期間 (`recovery_window`) 内に他のノードで停止した (またはそのノードが失われた) リソースが、このノードで起動しました。\
     フェイルオーバー、フェイルバック、または管理者による移動です。\
     分かる場合は `{why}` がどれかを示します。\
     プロキシーや仮想 IP の背後のクライアントが頼りにする「新しいプライマリー」の通知です。",
    "フェイルオーバーの後は、元のノードで障害が起きた理由を調べてください (この行より前の MWHA1001E または MWHA2001W)。\
     後で手動でフェイルバックするには `crm resource move {rsc} <node>` を実行し、続けて `crm resource clear {rsc}` を実行します。"
);
pub static RSC_STOPPED: Entry = entry!(
    "MWHA1013I",
    Info,
    "stopped",
    ["stopped"],
    "Resource {rsc} stopped on {node}",
    "A stop succeeded: part of a restart, a move, a disable, a standby or a quorum loss.",
    "None, unless nothing starts it again (then look for MWHA1002E or `crm_mon -1`).",
    "リソース {rsc} がノード {node} で停止しました",
    "停止に成功しました。\
     再起動、移動、無効化 (disable)、スタンバイ、クォーラムの喪失のいずれかの一部です。",
    "対処は不要です。\
     ただし、その後どこでも起動されない場合は MWHA1002E または `crm_mon -1` を確認してください。"
);
pub static PRIMARY_MOVED: Entry = entry!(
    "MWHA1020I",
    Info,
    "primary-moved",
    ["promoted"],
    "Primary of {rsc} moved from {from} to {node}{why}",
    "A promotable clone has a new primary (promoted instance) on this node; the previous one was on `{from}`. \
     The counterpart of JBoss EAP's singleton election listener.",
    "None. Clients that must follow the primary should use a virtual IP colocated with the promoted role.",
    "{rsc} のプライマリーがノード {from} から {node} へ移動しました{why}",
    "プロモータブルクローンの新しいプライマリー (昇格したインスタンス) がこのノードになりました。\
     以前のプライマリーは `{from}` にありました。\
     JBoss EAP の HA シングルトンサービス選択リスナー (SingletonElectionListener) に相当します。",
    "対処は不要です。\
     プライマリーに追従すべきクライアントには、昇格したロールとコロケーションした仮想 IP を使わせてください。"
);
pub static PROMOTED: Entry = entry!(
    "MWHA1021I",
    Info,
    "promoted",
    ["promoted"],
    "Resource {rsc} promoted to primary on {node}",
    "A promote succeeded and no previous primary was found in the recent operation history (first promotion).",
    "None.",
    "リソース {rsc} がノード {node} でプライマリーに昇格しました",
    "昇格 (promote) に成功し、最近の操作履歴に以前のプライマリーは見つかりませんでした (初回の昇格)。",
    "対処は不要です。"
);
pub static DEMOTED: Entry = entry!(
    "MWHA1022I",
    Info,
    "demoted",
    ["demoted"],
    "Resource {rsc} demoted on {node}",
    "The primary on this node became a secondary: a switchover, a ban, a stop, or recovery.",
    "None; expect MWHA1020I from the new primary's node.",
    "リソース {rsc} がノード {node} で降格しました",
    "このノードのプライマリーがセカンダリーになりました。\
     切り替え、ban、停止、回復のいずれかによるものです。",
    "対処は不要です。\
     新しいプライマリーのノードから MWHA1020I が出力されます。"
);
pub static NODE_LOST: Entry = entry!(
    "MWHA2001W",
    Warning,
    "node-lost",
    ["node_lost"],
    "Node {node} left the cluster (seen from {reporter})",
    "Corosync membership lost the node: a crash, a network cut, or a clean shutdown. Every node that still \
     sees the cluster reports it. Its resources are recovered elsewhere (after fencing, when enabled).",
    "If it was not a planned shutdown, check the node (power, network, `corosync.log`); expect MWHA1012I \
     lines for its resources.",
    "ノード {node} がクラスターから離脱しました ({reporter} で検知)",
    "Corosync のメンバーシップからノードが失われました。\
     クラッシュ、ネットワークの切断、または正常なシャットダウンです。\
     クラスターに残っている各ノードがそれぞれ報告します。\
     そのノードのリソースは別のノードで回復されます (フェンシングが有効ならフェンシングの後)。",
    "計画停止でなければ、そのノード (電源、ネットワーク、`corosync.log`) を確認してください。\
     そのノードで動いていたリソースについて MWHA1012I が出力されます。"
);
pub static NODE_JOINED: Entry = entry!(
    "MWHA2002I",
    Info,
    "node-joined",
    ["node_joined"],
    "Node {node} joined the cluster (seen from {reporter})",
    "The node is a cluster member again. With `resource-stickiness` resources stay where they are; \
     with a location preference and no stickiness they fail back to it.",
    "None.",
    "ノード {node} がクラスターに参加しました ({reporter} で検知)",
    "ノードが再びクラスターのメンバーになりました。\
     `resource-stickiness` があればリソースは現在のノードにとどまり、ロケーションの優先設定があってスティッキネスがなければ、そのノードへフェイルバックします。",
    "対処は不要です。"
);
pub static NODE_STATE: Entry = entry!(
    "MWHA2003I",
    Info,
    "node-state",
    ["node_state"],
    "Node {node} is now {state} (seen from {reporter})",
    "A membership state other than member or lost was reported.",
    "None.",
    "ノード {node} の状態が {state} になりました ({reporter} で検知)",
    "member と lost 以外のメンバーシップ状態が報告されました。",
    "対処は不要です。"
);
pub static QUORUM_LOST: Entry = entry!(
    "MWHA2010C",
    Critical,
    "quorum-lost",
    ["quorum_lost"],
    "Node {reporter} lost quorum: its partition may no longer run resources (no-quorum-policy)",
    "This node's partition holds fewer than N/2+1 votes. With `no-quorum-policy=stop` (the default) it stops \
     every resource here; the majority partition, if any, keeps or takes them over. Reported on the next \
     membership change seen after quorum changes.",
    "Restore the network or the lost nodes. Do not force quorum (`pcs quorum unblock`, `corosync-quorumtool -e`) \
     while the other partition may be running the resources.",
    "ノード {reporter} がクォーラムを失いました: このパーティションではリソースを実行できなくなることがあります (no-quorum-policy)",
    "このノードのパーティションの票数が N/2+1 に届きません。\
     `no-quorum-policy=stop` (デフォルト) では、このパーティションのリソースをすべて停止します。\
     過半数を持つパーティションがあれば、そちらがリソースを維持するか引き継ぎます。\
     クォーラムが変わった後に最初に見えたメンバーシップの変化のときに報告されます。",
    "ネットワークまたは失われたノードを復旧してください。\
     他方のパーティションがリソースを実行している可能性がある間は、クォーラムを強制しないでください (`pcs quorum unblock`、`corosync-quorumtool -e`)。"
);
pub static QUORUM_REGAINED: Entry = entry!(
    "MWHA2011I",
    Info,
    "quorum-regained",
    ["quorum_regained"],
    "Node {reporter} has quorum again",
    "This node's partition holds a majority again and may run resources.",
    "None.",
    "ノード {reporter} がクォーラムを回復しました",
    "このノードのパーティションが再び過半数を持ち、リソースを実行できるようになりました。",
    "対処は不要です。"
);
pub static NODE_FENCED: Entry = entry!(
    "MWHA3001W",
    Warning,
    "node-fenced",
    ["fenced"],
    "Node {node} was fenced ({task}): {desc}",
    "A fence device rebooted or powered off the node; its resources may now be recovered elsewhere.",
    "Find out why it was fenced (a lost node, a failed stop: MWHA1003C) before letting it rejoin.",
    "ノード {node} がフェンシングされました ({task}): {desc}",
    "フェンスデバイスがノードを再起動または電源断しました。\
     そのノードのリソースは別のノードで回復できるようになります。",
    "再びクラスターに参加させる前に、フェンシングされた理由 (ノードの喪失、停止の失敗: MWHA1003C) を調べてください。"
);
pub static FENCING_FAILED: Entry = entry!(
    "MWHA3002C",
    Critical,
    "fencing-failed",
    ["fencing_failed"],
    "Fencing ({task}) of node {node} failed with rc {rc}: {desc}",
    "The fence device could not fence the node. Resources of that node cannot be recovered until fencing \
     succeeds or an operator confirms the node is down.",
    "Check the fence device and its credentials (`stonith_admin --list-registered`). Only if the node is \
     verifiably off: `stonith_admin --confirm <node>`.",
    "ノード {node} のフェンシング ({task}) が rc {rc} で失敗しました: {desc}",
    "フェンスデバイスがノードをフェンシングできませんでした。\
     フェンシングが成功するか、ノードが停止していることをオペレーターが確認するまで、そのノードのリソースは回復できません。",
    "フェンスデバイスとその認証情報を確認してください (`stonith_admin --list-registered`)。\
     ノードが停止していることを確実に確かめた場合に限り `stonith_admin --confirm <node>` を実行します。"
);
pub static ATTRIBUTE_CHANGED: Entry = entry!(
    "MWHA4001I",
    Info,
    "attribute",
    ["attribute"],
    "Node attribute {name} on {node} is now {value}",
    "A node attribute selected in the alert's configuration changed (`select_attributes`).",
    "None.",
    "ノード {node} のノード属性 {name} が {value} になりました",
    "アラートの設定で選択したノード属性 (`select_attributes`) が変わりました。",
    "対処は不要です。"
);
pub static ACTION_DONE: Entry = entry!(
    "MWHA5001I",
    Info,
    "action-done",
    [],
    "Action for {for_id} on {node} completed: {command} ({outcome})",
    "The command configured with an `action_<class>` option ran and exited 0.",
    "None.",
    "ノード {node} で {for_id} のアクションが完了しました: {command} ({outcome})",
    "`action_<class>` オプションで設定したコマンドが実行され、終了コード 0 で終了しました。",
    "対処は不要です。"
);
pub static ACTION_FAILED: Entry = entry!(
    "MWHA5002E",
    Error,
    "action-failed",
    [],
    "Action for {for_id} on {node} failed: {command} {outcome}{output}",
    "The configured command exited non-zero, could not be run, or was killed at `action_timeout`.",
    "Run the command by hand as user hacluster with the same environment (see docs/messages.md, Actions) and fix it.",
    "ノード {node} で {for_id} のアクションが失敗しました: {command} ({outcome}){output}",
    "設定したコマンドが 0 以外で終了したか、実行できなかったか、`action_timeout` で強制終了されました。",
    "同じ環境変数でユーザー hacluster としてコマンドを手動で実行し (docs/messages.ja.md の「アクション」を参照)、修正してください。"
);
pub static DELIVERY_FAILED: Entry = entry!(
    "MWHA9001E",
    Error,
    "delivery-failed",
    [],
    "Could not write to {recipient}: {error}; the message was: {line}",
    "mwha-alert could not append the line to the recipient's file (missing directory, read-only or full \
     file system, permissions), or the path is not a plain file: a symbolic link, a FIFO, a device or a file with \
     other hard links is never written. It is sent to syslog instead, and the agent exits 1 so Pacemaker logs the failure.",
    "Create the directory writable by hacluster (`install -d -o hacluster -g haclient -m 0750 DIR`), free space, \
     or point the recipient at a plain file.",
    "{recipient} に書き込めませんでした: {error}。\
     元のメッセージ: {line}",
    "mwha-alert が受信者のファイルに行を追記できませんでした (ディレクトリーがない、ファイルシステムが読み取り専用またはいっぱい、権限がない)。\
     またはパスが通常のファイルではありません。\
     シンボリックリンク、FIFO、デバイス、他のハードリンクを持つファイルには決して書き込みません。\
     行は代わりに syslog に送られ、Pacemaker が失敗を記録するよう、エージェントは終了コード 1 で終了します。",
    "hacluster が書き込めるディレクトリーを作成する (`install -d -o hacluster -g haclient -m 0750 DIR`)、空き容量を確保する、または受信者を通常のファイルに向けてください。"
);
pub static AGENT_SLOW: Entry = entry!(
    "MWHA6001W",
    Warning,
    "agent-slow",
    [],
    "{step} took {seconds} s of a {timeout} s {action} ({total} s in all, warn_ratio {ratio})",
    "Logged by an mwha resource agent (not by mwha-alert) when an action used more than warn_ratio (default 0.8) of \
     its op timeout. The slowest step is named: a check creeping toward its timeout, before Pacemaker records a failure.",
    "Find why the step is slow (load, storage, the product); raise the op timeout if the step is legitimately slow.",
    "{action} (タイムアウト {timeout} 秒) の {step} に {seconds} 秒かかりました (合計 {total} 秒、warn_ratio {ratio})",
    "mwha のリソースエージェント (mwha-alert ではありません) が、操作のタイムアウトの warn_ratio (デフォルト 0.8) を超える時間を使ったときにログに出力します。\
     最も遅いステップの名前が入るので、タイムアウトに近づいているチェックに Pacemaker が障害を記録する前に気付けます。",
    "ステップが遅い原因 (負荷、ストレージ、製品) を調べてください。\
     正当に時間のかかるステップなら、操作のタイムアウトを延ばしてください。"
);
pub static AGENT_STUCK_PROCESS: Entry = entry!(
    "MWHA6002W",
    Warning,
    "agent-stuck-process",
    [],
    "{why}: pid {pid} state {state} wchan {wchan} stack {stack}: {cmdline}",
    "Logged by an mwha resource agent before it sends SIGKILL to a process that ignored SIGTERM, or when it abandons \
     a command at its deadline: what the process was doing (state D with an nfs/cifs wait channel = hung storage).",
    "Keep the line with the product's thread dump (thread_dump=true) for the vendor; check the storage it waited on.",
    "{why}: pid {pid} 状態 {state} wchan {wchan} スタック {stack}: {cmdline}",
    "mwha のリソースエージェントが、SIGTERM に応じないプロセスに SIGKILL を送る前、またはコマンドを期限で打ち切るときにログに出力します。\
     そのプロセスが何をしていたかを示します (状態 D で wait channel が nfs/cifs のものなら、ストレージのハングです)。",
    "この行を製品のスレッドダンプ (thread_dump=true) と一緒にベンダーへ提供し、待っていたストレージを確認してください。"
);
pub static AGENT_CHECK_TIMEOUT_TOLERATED: Entry = entry!(
    "MWHA6003W",
    Warning,
    "agent-check-timeout-tolerated",
    [],
    "{check} timed out ({count} of {tolerated} tolerated in a row): {error}",
    "Logged by an mwha resource agent when a depth 10/20 check timed out and check_timeouts_tolerated lets it pass. \
     One more timeout in a row than tolerated fails the monitor; a successful check resets the count.",
    "Watch for repeats: the product or its storage answers slowly.",
    "{check} がタイムアウトしました (連続 {count} 回目、許容 {tolerated} 回): {error}",
    "mwha のリソースエージェントが、深さ 10/20 のチェックがタイムアウトし、check_timeouts_tolerated によって許容されたときにログに出力します。\
     許容回数を超えて連続でタイムアウトすると monitor は失敗します。\
     チェックが成功すると回数はリセットされます。",
    "繰り返し出ていないか注視してください。\
     製品またはそのストレージの応答が遅くなっています。"
);
pub static AGENT_TIMEOUT_BELOW_MINIMUM: Entry = entry!(
    "MWHA6004W",
    Warning,
    "agent-timeout-below-minimum",
    [],
    "the {action} timeout of {resource} is {timeout} s, below the {minimum} s this agent needs",
    "Logged by an mwha resource agent in validate-all (from the operation's timeout in the CIB) and by the action \
     itself when its op timeout is shorter than the agent needs to do its work. A stop that runs out of time fails, \
     and a failed stop gets the node fenced.",
    "Raise the operation's timeout to at least the minimum (pcs resource update RSC op stop timeout=…).",
    "{resource} の {action} のタイムアウトは {timeout} 秒で、このエージェントに必要な {minimum} 秒を下回っています",
    "mwha のリソースエージェントが、validate-all で (CIB にある操作のタイムアウトから)、また操作自体でも、そのタイムアウトが処理に必要な時間より短いときにログに出力します。\
     時間切れになった stop は失敗し、stop の失敗はノードのフェンシングにつながります。",
    "操作のタイムアウトを最小値以上に延ばしてください (pcs resource update RSC op stop timeout=…)。"
);
pub static BAD_OPTION: Entry = entry!(
    "MWHA9002E",
    Error,
    "bad-option",
    [],
    "Invalid alert option {option}={value}: {error}",
    "An alert or recipient option (instance attribute) has a value mwha-alert does not understand. The default is \
     used instead and the agent exits 2.",
    "Fix the option: `pcs alert update` / `pcs alert recipient update`, or `crm configure edit`.",
    "アラートオプション {option}={value} が不正です: {error}",
    "アラートまたは受信者のオプション (instance attribute) に、mwha-alert が解釈できない値があります。\
     代わりにデフォルト値を使い、エージェントは終了コード 2 で終了します。",
    "オプションを修正してください: `pcs alert update` / `pcs alert recipient update`、または `crm configure edit`。"
);
pub static UNKNOWN_KIND: Entry = entry!(
    "MWHA9003W",
    Warning,
    "unknown-event",
    [],
    "Unhandled Pacemaker alert kind {kind} for node {node}",
    "Pacemaker sent an event kind this version of mwha-alert does not know.",
    "None; report it so a message can be added.",
    "未対応の Pacemaker アラート種別 {kind} です (ノード {node})",
    "このバージョンの mwha-alert が知らないイベント種別を Pacemaker が送りました。",
    "対処は不要です。\
     メッセージを追加できるよう、mwha の開発元に報告してください。"
);

/// Every message, in ID order.
pub static CATALOGUE: [&Entry; 31] = [
    &RSC_UNAVAILABLE,
    &RSC_START_FAILED,
    &RSC_STOP_FAILED,
    &RSC_ROLE_FAILED,
    &RSC_ACTIVE_UNEXPECTEDLY,
    &RSC_OP_FAILED,
    &RSC_FAILED_BELOW_THRESHOLD,
    &RSC_AVAILABLE_AGAIN,
    &RSC_STARTED,
    &RSC_MOVED,
    &RSC_STOPPED,
    &PRIMARY_MOVED,
    &PROMOTED,
    &DEMOTED,
    &NODE_LOST,
    &NODE_JOINED,
    &NODE_STATE,
    &QUORUM_LOST,
    &QUORUM_REGAINED,
    &NODE_FENCED,
    &FENCING_FAILED,
    &ATTRIBUTE_CHANGED,
    &ACTION_DONE,
    &ACTION_FAILED,
    &AGENT_SLOW,
    &AGENT_STUCK_PROCESS,
    &AGENT_CHECK_TIMEOUT_TOLERATED,
    &AGENT_TIMEOUT_BELOW_MINIMUM,
    &DELIVERY_FAILED,
    &BAD_OPTION,
    &UNKNOWN_KIND,
];

/// Replaces each `{name}` of `template` by its field; unknown names stay as they are.
pub fn render(template: &str, fields: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                let name = &after[..close];
                match fields.iter().find(|(k, _)| *k == name) {
                    // Whatever a field holds (an error text, a command's output), the
                    // message stays on one line.
                    Some((_, v)) => out.push_str(&crate::event::sanitize(v)),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The names of the `{fields}` a template uses, in order.
#[cfg(test)]
pub(crate) fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    names
}

/// `docs/messages.md`: the catalogue for operators.
pub fn markdown() -> String {
    let mut md = String::new();
    md.push_str(
        "# mwha-alert messages\n\n\
         <!-- Generated by `mwha-alert --catalogue-md` from crates/mwha-alert/src/catalogue.rs; do not edit. -->\n\n\
         `mwha-alert` is the Pacemaker alert agent of mwha (`/usr/lib/mwha/mwha-alert`).\n\
         It turns every cluster event into one line with a stable message ID (lines from `tests/cluster/alert-messages`):\n\n\
         ```\n\
         2026-11-25T22:08:14.744Z n1 MWHA1001E Resource d is unavailable on n1: monitor (every 2s) returned 7 (not running)\n\
         2026-11-25T22:08:14.872Z n1 MWHA1010I Resource d is available again on n1 after monitor failed (rc 7)\n\
         2026-11-25T22:08:17.480Z n2 MWHA2001W Node n1 left the cluster (seen from n2)\n\
         2026-11-25T22:08:18.528Z n2 MWHA1012I Resource d moved from n1 to n2 after node n1 was lost\n\
         ```\n\n\
         Fields: the event's time (UTC, from Pacemaker), the node that reported it, the message ID, the text.\n\
         The ID is `MWHA`, four digits and the severity: `I` info, `W` warning, `E` error, `C` critical.\n\
         An ID never changes meaning; new situations get new IDs.\n\
         With the option `lang=ja` the text is in Japanese; the time, the node, the ID and the severity stay the same, \
         so `severity`, `ids` and `exclude_ids` select the same lines: [messages.ja.md](messages.ja.md).\n\
         How to configure the agent, the recipients and the actions: [policies.md](policies.md) and `mwha-alert --help`.\n\n\
         ## Summary\n\n\
         | ID | Severity | Event | Text |\n\
         |---|---|---|---|\n",
    );
    for e in CATALOGUE.iter() {
        let _ = writeln!(md, "| {} | {} | {} | {} |", e.id, e.severity.name(), e.event, e.text.replace('|', "\\|"));
    }
    md.push_str("\n## Messages\n");
    for e in CATALOGUE.iter() {
        let _ = write!(md, "\n### {} {}\n\n", e.id, e.event);
        let _ = writeln!(md, "- Severity: {} ({})", e.severity.name(), e.severity.letter());
        let _ = writeln!(md, "- Text: `{}`", e.text);
        if e.action_classes.is_empty() {
            md.push_str("- Action option: none\n");
        } else {
            let names: Vec<String> = e.action_classes.iter().map(|c| format!("`action_{c}`")).collect();
            let _ = writeln!(md, "- Action option: {}", names.join(", then "));
        }
        let _ = writeln!(md, "- Meaning: {}", e.meaning);
        let _ = writeln!(md, "- What to do: {}", e.operator);
    }
    md.push_str(FIELDS_AND_EXITS);
    md
}

/// `docs/messages.ja.md`: the same catalogue for Japanese operators (`lang=ja`).
pub fn markdown_ja() -> String {
    let mut md = String::new();
    md.push_str(
        "# mwha-alert メッセージ一覧\n\n\
         <!-- Generated by `mwha-alert --catalogue-md ja` from crates/mwha-alert/src/catalogue.rs; do not edit. -->\n\n\
         `mwha-alert` は mwha の Pacemaker アラートエージェントです (`/usr/lib/mwha/mwha-alert`)。\n\
         クラスターのイベントごとに、固定のメッセージ ID を持つ 1 行を出力します。\n\
         アラートまたは受信者のオプション `lang=ja` を指定すると、本文が日本語になります (デフォルトは `lang=en` の英語で、\
         英語版の一覧は [messages.md](messages.md) です)。\n\
         次の行は [messages.md](messages.md) の例と同じイベントを `lang=ja` で出力したものです:\n\n\
         ```\n\
         2026-11-25T22:08:14.744Z n1 MWHA1001E リソース d がノード n1 で使用不可になりました: monitor (2s 間隔) の戻り値 7 (not running)\n\
         2026-11-25T22:08:14.872Z n1 MWHA1010I リソース d がノード n1 で再び使用可能になりました (monitor の失敗 (rc 7) の後)\n\
         2026-11-25T22:08:17.480Z n2 MWHA2001W ノード n1 がクラスターから離脱しました (n2 で検知)\n\
         2026-11-25T22:08:18.528Z n2 MWHA1012I リソース d がノード n1 から n2 へ移動しました (ノード n1 の離脱後)\n\
         ```\n\n\
         1 行の項目は、イベントの時刻 (UTC、Pacemaker が渡す時刻)、報告したノード、メッセージ ID、本文の順です。\n\
         ID は `MWHA`、4 桁の数字、重要度の 1 文字からなります: `I` 情報 (info)、`W` 警告 (warning)、`E` エラー (error)、`C` 重大 (critical)。\n\
         ID の意味は変わりません。新しい事象には新しい ID を割り当てます。\n\
         時刻、ノード、ID、重要度は `lang` によらず同じです。\
         そのため `severity`、`ids`、`exclude_ids` による振り分けや ID での検索は、どちらの言語でも同じ行を選びます。\n\
         本文のうち、リソース名、ノード名、操作名 (monitor、start など)、戻り値と Pacemaker の説明 (not running など)、\
         エージェントの終了理由 (exit reason)、コマンドとその出力は、どちらの言語でも同じ値がそのまま入ります。\
         日本語になるのは mwha-alert 自身の言葉だけです。\n\
         UTF-8 で、1 メッセージにつき 1 行です (値に含まれる改行や制御文字は空白に置き換えます)。\n\
         エージェントの設定、受信者、アクションについては [policies.md](policies.md) (英語) と `mwha-alert --help` を参照してください。\n\n\
         ## 一覧\n\n\
         | ID | 重要度 (severity) | イベント | 本文 |\n\
         |---|---|---|---|\n",
    );
    for e in CATALOGUE.iter() {
        let _ = writeln!(md, "| {} | {} | {} | {} |", e.id, e.severity.name(), e.event, e.text_ja.replace('|', "\\|"));
    }
    md.push_str("\n## メッセージ\n");
    for e in CATALOGUE.iter() {
        let _ = write!(md, "\n### {} {}\n\n", e.id, e.event);
        let _ = writeln!(md, "- 重要度: {} ({}、{})", e.severity.name_ja(), e.severity.name(), e.severity.letter());
        let _ = writeln!(md, "- 本文: `{}`", e.text_ja);
        let _ = writeln!(md, "- 英語の本文 (`lang=en`): `{}`", e.text);
        if e.is_agent_log() {
            md.push_str(
                "- 出力先: mwha のリソースエージェントが Pacemaker のログ (`/var/log/pacemaker/pacemaker.log`) に英語で出力します。\
                 `lang` の対象外で、ログに現れるのは英語の本文です。日本語の本文は読むための訳です。\n",
            );
        }
        if e.action_classes.is_empty() {
            md.push_str("- アクションオプション: なし\n");
        } else {
            let names: Vec<String> = e.action_classes.iter().map(|c| format!("`action_{c}`")).collect();
            let first = if names.len() > 1 { " (設定されている最初のものを実行)" } else { "" };
            let _ = writeln!(md, "- アクションオプション: {}{first}", names.join("、"));
        }
        let _ = writeln!(md, "- 意味: {}", e.meaning_ja);
        let _ = writeln!(md, "- 対処: {}", e.operator_ja);
    }
    md.push_str(FIELDS_AND_EXITS_JA);
    md
}

/// The catalogue in `lang` (`mwha-alert --catalogue-md [en|ja]`).
pub fn markdown_in(lang: Lang) -> String {
    match lang {
        Lang::En => markdown(),
        Lang::Ja => markdown_ja(),
    }
}

const FIELDS_AND_EXITS: &str = "
## Fields

- `{rsc}`: the resource (`CRM_alert_rsc`); `{node}`: the node the event is about (`CRM_alert_node`);
  `{reporter}`: the node that ran the agent (membership events are reported by every node that sees them).
- `{failure}`: the operation and its result, e.g. `monitor (every 2s) returned 7 (not running)`,
  `start timed out after 20.0s`, followed by `: ` and the agent's exit reason when the cluster recorded one.
  Pacemaker 2.1 does not pass the exit reason to alert agents; mwha-alert reads it from the status section of the CIB.
- `{from}`, `{why}`, `{after}`: where the resource was before, and why, inferred from the cluster's operation history
  (the last stop, demote or failure of the resource on another node within `recovery_window`, or a lost node that was
  running it).
- `{state}`, `{task}`, `{rc}`, `{desc}`, `{name}`, `{value}`: Pacemaker's own values for the event.
- `{count}`, `{threshold}` (MWHA1007W): the failures in a row of the resource on that node so far, and `failure_threshold`.

## Actions

A recipient option `action_<class>` (`action_unavailable`, `action_available`, `action_moved`, `action_stopped`,
`action_promoted`, `action_demoted`, `action_unexpected`, `action_node_lost`, `action_node_joined`,
`action_quorum_lost`, `action_quorum_regained`, `action_fenced`, `action_fencing_failed`) runs a command after the line
is written, for the resources listed in `action_resources` (default: every resource): an absolute program path and arguments separated by spaces (no shell, no quoting), as user hacluster,
in its own process group, killed after `action_timeout` (default 10s). Its environment holds the event:
`MWHA_ALERT_ID`, `MWHA_ALERT_SEVERITY`, `MWHA_ALERT_EVENT`, `MWHA_ALERT_LINE`, `MWHA_ALERT_RESOURCE`,
`MWHA_ALERT_NODE`, `MWHA_ALERT_FROM`, `MWHA_ALERT_REPORTER`, plus every `CRM_alert_*` variable.
Its outcome is logged as MWHA5001I or MWHA5002E. Actions do not depend on the recipient's `severity`, `ids` and
`exclude_ids`, which select lines only.
An `available` action after a move (MWHA1012I) runs on the node the resource moved to; `MWHA_ALERT_FROM` names the node
it left, where an `unavailable` action may have paused or stopped something: undo it there too.

## Failure threshold

`failure_threshold=N` (default 1: every failure) is WebSphere's `failureThreshold`: the failure messages MWHA1001E,
MWHA1002E, MWHA1004E and MWHA1006E, and `action_unavailable`, wait for the Nth failure in a row of a resource on a node;
failures 1 to N-1 get MWHA1007W and run no action. A failed stop (MWHA1003C) is never held back, and counts.
The resource available again on that node (a successful start, promote or monitor there) resets the count.
The count is kept per node and resource in `state_dir/failures`, under the directory's lock, so the processes Pacemaker
runs at once (one per event and recipient) count each event once; it is forgotten at reboot. When it cannot be kept
(no `state_dir`, the lock not free within 2 s) the failure gets its usual line and action: a failure is never hidden.
Pacemaker's own fail count and `migration-threshold` are not changed by this option.

## Exit codes

| code | meaning |
|---|---|
| 0 | the line was written to the recipient, or the recipient's filter dropped it, or the event needs no line |
| 1 | the line could not be written to the recipient; it was sent to syslog (stderr if syslog failed too) |
| 2 | an option or the recipient is invalid (MWHA9002E); the line was delivered with the defaults, or to syslog |
| 3 | the line was delivered but the configured action failed or timed out (MWHA5002E) |
";

const FIELDS_AND_EXITS_JA: &str = "
## 本文の項目

- `{rsc}`: リソース (`CRM_alert_rsc`)。`{node}`: イベントの対象のノード (`CRM_alert_node`)。
  `{reporter}`: エージェントを実行したノード (メンバーシップのイベントは、それが見えたすべてのノードが報告します)。
- `{failure}`: 操作とその結果。例: `monitor (2s 間隔) の戻り値 7 (not running)`、`start のタイムアウト (20.0s)`、
  `start の実行失敗: not installed (status 7)`。クラスターに終了理由が記録されていれば、`: ` に続けて付きます。
  Pacemaker 2.1 は終了理由をアラートエージェントに渡さないため、mwha-alert が CIB の status セクションから読み取ります。
  終了理由はエージェントが書いたままの英語です (Pacemaker の慣習)。
- `{from}`、`{why}`、`{after}`: リソースが以前どのノードにあったか、なぜ移動したか。クラスターの操作履歴から推定します
  (`recovery_window` 以内の、他のノードでのそのリソースの最後の stop、demote、障害、またはそれを実行していたノードの喪失)。
  例: `{why}` は ` (ノード n1 の離脱後)`、` (n1 での monitor の失敗 (rc 7) の後)`、または空。`{after}` は ` (monitor の失敗 (rc 7) の後)`。
- `{state}`、`{task}`、`{rc}`、`{desc}`、`{name}`、`{value}`: イベントに対する Pacemaker 自身の値で、英語のままです。
  ただし MWHA1005W の `{state}` は mwha-alert の言葉で、`稼働中` または `プライマリーとして稼働中` になります。
- `{command}`、`{outcome}`、`{output}`: アクションのコマンド、その結果 (例: `終了コード 0、0.2s`、`10.0s 以内に終了しませんでした`)、
  失敗したときの出力の最後の行。
- `{error}`: MWHA9002E では不正な値の説明 (日本語)、MWHA9001E では OS のエラー (英語のまま)。
- `{count}`、`{threshold}` (MWHA1007W): そのノードでのリソースのこれまでの連続失敗回数と、`failure_threshold` の値。

## アクション

受信者のオプション `action_<class>` (`action_unavailable`、`action_available`、`action_moved`、`action_stopped`、
`action_promoted`、`action_demoted`、`action_unexpected`、`action_node_lost`、`action_node_joined`、
`action_quorum_lost`、`action_quorum_regained`、`action_fenced`、`action_fencing_failed`) は、行を書き込んだ後にコマンドを実行します。
対象は `action_resources` に挙げたリソースです (デフォルトはすべてのリソース)。
コマンドはプログラムの絶対パスと空白で区切った引数です (シェルも引用符も使いません)。
ユーザー hacluster として、独自のプロセスグループで実行し、`action_timeout` (デフォルト 10s) を過ぎると強制終了します。
環境変数にはイベントが入ります:
`MWHA_ALERT_ID`、`MWHA_ALERT_SEVERITY`、`MWHA_ALERT_EVENT`、`MWHA_ALERT_LINE`、`MWHA_ALERT_RESOURCE`、
`MWHA_ALERT_NODE`、`MWHA_ALERT_FROM`、`MWHA_ALERT_REPORTER`、およびすべての `CRM_alert_*` 変数。
`MWHA_ALERT_LINE` は受信者の `lang` で書いた行です。それ以外の値は `lang` によらず同じです。
結果は MWHA5001I または MWHA5002E として記録されます。
アクションは受信者の `severity`、`ids`、`exclude_ids` には左右されません (これらは行を選ぶだけです)。
移動 (MWHA1012I) の後の `available` のアクションは、移動先のノードで実行されます。
`MWHA_ALERT_FROM` は移動元のノードです。`unavailable` のアクションがそこで何かを一時停止または停止していれば、そこでも元に戻してください。

## 失敗のしきい値

`failure_threshold=N` (デフォルト 1: すべての失敗) は WebSphere の `failureThreshold` に相当します。
失敗のメッセージ MWHA1001E、MWHA1002E、MWHA1004E、MWHA1006E と `action_unavailable` は、ノードでのリソースの連続 N 回目の失敗まで保留されます。
1 回目から N-1 回目の失敗には MWHA1007W を出力し、アクションは実行しません。
停止の失敗 (MWHA1003C) は保留せず、回数には数えます。
そのノードでリソースが再び使用可能になる (start、promote、monitor がそこで成功する) と、回数はリセットされます。
回数はノードとリソースごとに `state_dir/failures` に、ディレクトリーのロックを取って記録します。
そのため Pacemaker が同時に実行する複数のプロセス (イベントと受信者ごとに 1 つ) も、1 つのイベントを 1 回だけ数えます。回数はノードの再起動で消えます。
回数を記録できない場合 (`state_dir` がない、ロックが 2 秒以内に取れない) は、失敗に本来の行とアクションを使います。失敗を隠すことはありません。
このオプションは Pacemaker 自身の失敗回数や `migration-threshold` を変えません。

## 終了コード

| コード | 意味 |
|---|---|
| 0 | 行を受信者に書き込んだ、受信者のフィルターで除外した、または行を出す必要のないイベントだった |
| 1 | 行を受信者に書き込めなかった。代わりに syslog に送った (syslog も失敗したときは標準エラー出力) |
| 2 | オプションまたは受信者が不正 (MWHA9002E)。行はデフォルトの設定で、または syslog に送った |
| 3 | 行は送ったが、設定したアクションが失敗したかタイムアウトした (MWHA5002E) |
";

#[cfg(test)]
mod tests {
    use super::*;

    fn by_id(id: &str) -> Option<&'static Entry> {
        CATALOGUE.iter().copied().find(|e| e.id == id)
    }

    #[test]
    fn ids_are_unique_well_formed_and_ordered() {
        let mut last = "";
        for e in CATALOGUE.iter() {
            assert_eq!(e.id.len(), 9, "{}", e.id);
            assert!(e.id.starts_with("MWHA"), "{}", e.id);
            assert!(e.id[4..8].chars().all(|c| c.is_ascii_digit()), "{}", e.id);
            assert_eq!(e.id.chars().last(), Some(e.severity.letter()), "{}: letter must match the severity", e.id);
            assert!(e.id > last, "{} must come after {last}", e.id);
            last = e.id;
            assert!(!e.text.ends_with('.'), "{}: no trailing period", e.id);
        }
    }

    #[test]
    fn named_entries_point_at_their_ids() {
        for (entry, id) in [
            (&RSC_UNAVAILABLE, "MWHA1001E"),
            (&RSC_OP_FAILED, "MWHA1006E"),
            (&RSC_FAILED_BELOW_THRESHOLD, "MWHA1007W"),
            (&RSC_AVAILABLE_AGAIN, "MWHA1010I"),
            (&RSC_STOPPED, "MWHA1013I"),
            (&PRIMARY_MOVED, "MWHA1020I"),
            (&DEMOTED, "MWHA1022I"),
            (&NODE_LOST, "MWHA2001W"),
            (&QUORUM_LOST, "MWHA2010C"),
            (&QUORUM_REGAINED, "MWHA2011I"),
            (&FENCING_FAILED, "MWHA3002C"),
            (&ATTRIBUTE_CHANGED, "MWHA4001I"),
            (&ACTION_FAILED, "MWHA5002E"),
            (&DELIVERY_FAILED, "MWHA9001E"),
            (&UNKNOWN_KIND, "MWHA9003W"),
        ] {
            assert_eq!(entry.id, id);
        }
        assert!(by_id("MWHA1012I").is_some_and(|e| e.event == "moved"));
    }

    #[test]
    fn render_fills_fields_and_keeps_unknown_ones() {
        let fields = [("rsc", "d".to_string()), ("node", "n1".to_string())];
        assert_eq!(render("Resource {rsc} on {node} {x} {", &fields), "Resource d on n1 {x} {");
        let forged = [("rsc", "d\u{2028}MWHA0000I forged\r\n".to_string())];
        assert_eq!(render("Resource {rsc}", &forged), "Resource d MWHA0000I forged  ");
        assert_eq!(placeholders(RSC_MOVED.text), ["rsc", "from", "node", "why"]);
    }

    #[test]
    fn severities_parse_and_order() {
        assert_eq!(Severity::parse("Warning"), Some(Severity::Warning));
        assert_eq!(Severity::parse("C"), Some(Severity::Critical));
        assert_eq!(Severity::parse("loud"), None);
        assert!(Severity::Info < Severity::Warning && Severity::Error < Severity::Critical);
    }

    /// Every `{field}` of the English text is in the Japanese one, and no other: whatever the
    /// language, the line carries the same values.
    #[test]
    fn every_japanese_text_keeps_the_placeholders_of_the_english_one() {
        for e in CATALOGUE.iter() {
            let mut en = placeholders(e.text);
            let mut ja = placeholders(e.text_ja);
            en.sort_unstable();
            ja.sort_unstable();
            assert_eq!(ja, en, "{}: the Japanese text must keep exactly the English placeholders", e.id);
            for (what, text) in [("text_ja", e.text_ja), ("meaning_ja", e.meaning_ja), ("operator_ja", e.operator_ja)] {
                assert!(!text.trim().is_empty() && !text.is_ascii(), "{}: {what} is not Japanese: {text}", e.id);
                assert!(!text.contains(['\n', '\r']), "{}: {what} spans lines", e.id);
            }
            // Concise like the English lines: no closing 。 or period; sentences inside end with 。.
            assert!(!e.text_ja.ends_with(['。', '.']), "{}: no trailing 。", e.id);
            assert!(!e.text_ja.contains("  "), "{}: double space", e.id);
            assert_eq!(e.text_in(Lang::En), e.text);
            assert_eq!(e.text_in(Lang::Ja), e.text_ja);
        }
    }

    #[test]
    fn languages_parse() {
        assert_eq!(Lang::parse("ja"), Some(Lang::Ja));
        assert_eq!(Lang::parse(" EN "), Some(Lang::En));
        assert_eq!(Lang::parse("ja_JP.UTF-8"), None);
        assert_eq!(Lang::default(), Lang::En);
    }

    /// docs/messages.md and docs/messages.ja.md are generated from the catalogue; regenerate them with
    /// `cargo run -p mwha-alert -- --catalogue-md > docs/messages.md` and
    /// `cargo run -p mwha-alert -- --catalogue-md ja > docs/messages.ja.md`.
    #[test]
    fn docs_messages_md_is_the_generated_catalogue() {
        for (file, lang, arg) in [("messages.md", Lang::En, ""), ("messages.ja.md", Lang::Ja, " ja")] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs").join(file);
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == markdown_in(lang),
                "{} differs from the catalogue; run: cargo run -p mwha-alert -- --catalogue-md{arg} > docs/{file}",
                path.display()
            );
        }
    }

    #[test]
    fn the_japanese_catalogue_lists_every_message_with_both_texts() {
        let md = markdown_ja();
        for e in CATALOGUE.iter() {
            assert!(md.contains(&format!("### {} {}", e.id, e.event)), "{}", e.id);
            assert!(md.contains(&format!("- 本文: `{}`", e.text_ja)), "{}", e.id);
            assert!(md.contains(&format!("- 英語の本文 (`lang=en`): `{}`", e.text)), "{}", e.id);
        }
    }
}
