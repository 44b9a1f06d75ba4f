//! The commands that read or change the store beside the daemon: `alerts` (with `--failed`
//! and `--retry`), `explain`, `digest --preview` and `--send`, `feedback`, `status` and
//! `topics list` ([`report::status`]).
//!
//! The embedded store is one process's at a time. So a command first tries to open the store
//! itself; when a running daemon holds it, the command goes through the daemon instead, over a
//! Unix socket in the state directory ([`server`] in the daemon, [`client`] in the command),
//! and prints what it would have printed offline: both ways run the same [`execute`] on a
//! [`Request`]. The socket is always on and guarded by file permissions (only the daemon's
//! user, or root, can connect), unlike the HTTP listener, which may be off or need a token.
//!
//! `once` never goes through the daemon: a daemon polls by itself, so `once` beside one is
//! refused, naming the daemon's pid (from [`PID_FILE`]).

pub mod client;
pub mod server;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::notify::{Deliverer, Digester};
use crate::pipeline::feedback::window_start;
use crate::pipeline::Pipeline;
use crate::report;
use crate::store::Store;

/// The control socket's file name in the state directory.
pub const SOCKET_FILE: &str = "control.sock";
/// The daemon's pid file's name in the state directory.
pub const PID_FILE: &str = "wirewatch.pid";

/// Where the control socket of a config's daemon is.
pub fn socket_path(config: &Config) -> PathBuf {
    config.state_dir.join(SOCKET_FILE)
}

/// The longest path a Unix socket address holds (Linux: 108 bytes with its terminating NUL).
const SOCKET_PATH_MAX: usize = 107;

/// A path to the socket at `path` that fits in a socket address, with what must stay open
/// until the bind or connect is done. A state directory deeper than [`SOCKET_PATH_MAX`]
/// would otherwise stop the daemon at start (its socket cannot be bound) and keep the
/// commands from reaching it: such a path is reached through `/proc/self/fd/N/` of an open
/// handle of its directory, which the kernel resolves as it would the long path (no crate
/// does this; it is a few lines).
pub(crate) fn addressable(path: &Path) -> std::io::Result<(PathBuf, Option<std::fs::File>)> {
    use std::os::fd::AsRawFd;
    if path.as_os_str().len() <= SOCKET_PATH_MAX {
        return Ok((path.to_path_buf(), None));
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok((path.to_path_buf(), None));
    };
    let handle = std::fs::File::open(dir)?;
    let short = Path::new(&format!("/proc/self/fd/{}", handle.as_raw_fd())).join(name);
    Ok((short, Some(handle)))
}

/// The pid the daemon of a state directory wrote, if there is one.
pub fn daemon_pid(state_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(state_dir.join(PID_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Opens the store of a config for a process that must hold it alone (`run`, `once`). When
/// another process holds it, the error says so in one line, naming the daemon's pid when a
/// daemon wrote one, followed by `daemon_hint`.
pub fn open_store_alone(config: &Config, daemon_hint: &str) -> anyhow::Result<Store> {
    crate::pipeline::open_store(config).map_err(|e| held_elsewhere(config, e, daemon_hint))
}

/// A store error for a process that must hold the store alone: [`StoreError::Busy`] said in
/// one line, naming the daemon's pid when a daemon wrote one, followed by `daemon_hint`; any
/// other error as it is.
///
/// [`StoreError::Busy`]: crate::store::StoreError::Busy
pub fn held_elsewhere(
    config: &Config,
    e: crate::store::StoreError,
    daemon_hint: &str,
) -> anyhow::Error {
    match e {
        crate::store::StoreError::Busy { .. } => match daemon_pid(&config.state_dir) {
            Some(pid) => anyhow::anyhow!(
                "a wirewatch daemon (pid {pid}) is running on {}; {daemon_hint}",
                config.state_dir.display()
            ),
            None => anyhow::anyhow!(
                "another wirewatch process is using the store in {}",
                config.state_dir.display()
            ),
        },
        e => e.into(),
    }
}

/// A command that reads or changes the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// `wirewatch alerts`: alerts decided since `since_secs` ago (all when absent).
    Alerts {
        /// One JSON object per line.
        json: bool,
        /// Only alerts decided within this many seconds.
        since_secs: Option<u64>,
        /// Only this topic's alerts (by id).
        #[serde(default)]
        topic: Option<String>,
    },
    /// `wirewatch alerts --failed`: the dead letters.
    Failed {
        /// One JSON object per line.
        json: bool,
    },
    /// `wirewatch alerts --retry`: every dead letter back in the outbox, then a delivery pass.
    Retry,
    /// `wirewatch explain URL`.
    Explain {
        /// Any URL the item was seen under.
        url: String,
        /// Only this topic's decision (by id); every topic's when absent.
        #[serde(default)]
        topic: Option<String>,
    },
    /// `wirewatch digest --preview`: the rendering of a day's digest (or of the next one).
    DigestPreview {
        /// The local day; `None` for what the next digest would say now.
        day: Option<NaiveDate>,
        /// Only this topic's section (by id).
        #[serde(default)]
        topic: Option<String>,
    },
    /// `wirewatch digest --send`: send the digest now and record it.
    DigestSend,
    /// `wirewatch status`: what the store holds ([`report::status::status`]).
    Status {
        /// One JSON object.
        #[serde(default)]
        json: bool,
    },
    /// `wirewatch topics list`: the topics and their alerts ([`report::status::topics`]).
    Topics,
    /// `wirewatch feedback URL --relevant | --off-topic | --clear [--rejudge DURATION]`.
    Feedback {
        /// Any URL the item was seen under.
        url: String,
        /// The reader's verdict.
        verdict: Verdict,
        /// Judge again the items decided within this many seconds.
        rejudge_secs: Option<u64>,
        /// The topic the verdict is about (by id); the first topic when absent.
        #[serde(default)]
        topic: Option<String>,
    },
    /// `wirewatch feedback --list`.
    FeedbackList {
        /// One JSON object per line.
        json: bool,
        /// The topic (by id); the first topic when absent.
        #[serde(default)]
        topic: Option<String>,
    },
}

/// The reader's verdict on an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// It belongs to the topic.
    Relevant,
    /// It does not.
    OffTopic,
    /// Undo the mark.
    Clear,
}

impl std::str::FromStr for Verdict {
    type Err = String;
    fn from_str(s: &str) -> Result<Verdict, String> {
        match s.trim() {
            "relevant" => Ok(Verdict::Relevant),
            "off-topic" | "offtopic" | "off_topic" => Ok(Verdict::OffTopic),
            "clear" => Ok(Verdict::Clear),
            other => Err(format!(
                "unknown verdict {other:?} (relevant, off-topic or clear)"
            )),
        }
    }
}

/// What a command produced: its standard output, and files for the caller to write (the
/// caller, not the daemon, writes them: the daemon may not see the caller's directories).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// What the command prints.
    pub stdout: String,
    /// Files to write, by their role (`html`, `text`).
    pub files: Vec<(String, String)>,
}

/// Why a command failed (its message is what the command prints as its error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(pub String);

impl CommandError {
    fn from_display<E: std::fmt::Display>(e: E) -> CommandError {
        CommandError(e.to_string())
    }
}

/// What a command runs against: the daemon's (or a fresh offline) store and config.
#[derive(Clone)]
pub struct Context {
    /// The config.
    pub config: Arc<Config>,
    /// The store.
    pub store: Store,
    /// The daemon's deliverer, so that a retry pass never overlaps its delivery loop's;
    /// offline, `alerts --retry` builds its own (only it needs the webhooks' secrets).
    pub deliverer: Option<Deliverer>,
    /// The daemon's pipeline, whose judge the reader's feedback goes to; offline, `feedback`
    /// builds its own.
    pub pipeline: Option<Pipeline>,
}

impl Context {
    /// An offline context over an open store.
    pub fn new(config: Arc<Config>, store: Store) -> Context {
        Context {
            config,
            store,
            deliverer: None,
            pipeline: None,
        }
    }

    fn pipeline(&self) -> Result<Pipeline, CommandError> {
        match &self.pipeline {
            Some(p) => Ok(p.clone()),
            None => Pipeline::new(self.config.clone(), self.store.clone())
                .map_err(CommandError::from_display),
        }
    }

    fn deliverer(&self) -> Result<Deliverer, CommandError> {
        if let Some(d) = &self.deliverer {
            return Ok(d.clone());
        }
        let endpoints = Arc::new(
            crate::notify::outbox::endpoints(&self.config).map_err(CommandError::from_display)?,
        );
        Deliverer::new(&self.config, self.store.clone(), endpoints)
            .map_err(CommandError::from_display)
    }
}

/// Runs a command as [`execute`] does, on a thread of tokio's blocking pool: the store's calls
/// block (PostgreSQL's retry for up to 90 s when the database is down), and a daemon that ran
/// them on its async workers would stall its deliveries and polls behind a reader's request.
/// For the daemon's HTTP handler and control socket; a CLI, with nothing else to run, calls
/// [`execute`].
pub async fn execute_off_runtime(req: Request, ctx: Context) -> Result<Reply, CommandError> {
    let handle = tokio::runtime::Handle::current();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        handle.block_on(async move { execute(&req, &ctx).await })
    })
    .await
    .unwrap_or_else(|e| Err(CommandError(format!("the command failed: {e}"))))
}

/// Runs a command (see the module doc).
pub async fn execute(req: &Request, ctx: &Context) -> Result<Reply, CommandError> {
    let store = &ctx.store;

    let mut out = String::new();
    use std::fmt::Write;
    match req {
        Request::Alerts {
            json,
            since_secs,
            topic,
        } => {
            let since = since_secs.map(|s| window_start(std::time::Duration::from_secs(s)));
            let mut list =
                report::alerts_since(store, since).map_err(CommandError::from_display)?;
            if let Some(t) = topic {
                // A topic removed from the config keeps its alerts readable until pruned.
                if ctx.config.topic_by_id(t).is_none()
                    && !store
                        .alerts()
                        .map_err(CommandError::from_display)?
                        .iter()
                        .any(|a| &a.topic == t)
                {
                    check_topic(&ctx.config, Some(t))?;
                }
                list.retain(|a| &a.topic == t);
            }
            if *json {
                for a in &list {
                    let line = serde_json::to_string(&report::AlertLine::from(a))
                        .map_err(CommandError::from_display)?;
                    let _ = writeln!(out, "{line}");
                }
            } else {
                out.push_str(&report::alerts_table(&list));
            }
        }
        Request::Failed { json } => {
            let dead = store.dead_letters().map_err(CommandError::from_display)?;
            // The webhook by the name the config gives it (the outbox keeps only its id).
            let webhook = |endpoint: &str| {
                ctx.config
                    .webhooks
                    .iter()
                    .find(|w| w.endpoint_id() == endpoint)
                    .map(|w| w.display_name())
            };
            for d in &dead {
                // A dead letter whose alert is unreadable is listed with its own reason.
                let alert = match store.alert(&d.alert) {
                    Err(crate::store::StoreError::Corrupt { .. }) => None,
                    other => other.map_err(CommandError::from_display)?,
                };
                if *json {
                    let _ = writeln!(
                        out,
                        "{}",
                        serde_json::json!({
                            "alert": d.alert, "endpoint": d.endpoint, "webhook": webhook(&d.endpoint),
                            "attempts": d.attempts,
                            "error": d.last_error, "created": d.created, "given_up": d.finished,
                            "url": alert.as_ref().map(|a| a.url.clone()),
                            "title": alert.as_ref().map(|a| a.title.clone()),
                        })
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "{}  {}  {}  after {}: {}\n      {}",
                        d.created.format("%Y-%m-%d %H:%M"),
                        d.alert,
                        webhook(&d.endpoint).map_or_else(
                            || format!("endpoint {} (no longer configured)", d.endpoint),
                            |name| format!("webhook {name}")
                        ),
                        crate::report::status::plural(d.attempts as usize, "attempt"),
                        d.last_error.as_deref().unwrap_or("?"),
                        alert.map(|a| a.title).unwrap_or_default()
                    );
                }
            }
            if dead.is_empty() && !json {
                let _ = writeln!(out, "no dead letters");
            }
        }
        Request::Retry => {
            let deliverer = ctx.deliverer()?;
            let n = store
                .requeue_dead(Utc::now())
                .map_err(CommandError::from_display)?;
            let rep = deliverer
                .deliver_due()
                .await
                .map_err(CommandError::from_display)?;
            store.flush().await.map_err(CommandError::from_display)?;
            let _ = writeln!(
                out,
                "requeued {n} dead letters; delivered {}, retrying {}, dead {}",
                rep.delivered, rep.retrying, rep.dead
            );
        }
        Request::Explain { url, topic } => {
            check_topic(&ctx.config, topic.as_deref())?;
            let item = report::lookup(store, url)
                .map_err(CommandError::from_display)?
                .map_err(CommandError)?;
            let topics: Vec<(String, String)> = ctx
                .config
                .topics
                .iter()
                .map(|t| (t.id(), t.name.clone()))
                .filter(|(id, _)| topic.as_ref().is_none_or(|t| t == id))
                .collect();
            // Only an item some topic decided far below its threshold needs the judges.
            // Without them (a seed file unreadable, say) explain says what the store holds.
            let pipeline = if topics.iter().any(|(id, _)| report::far_below(&item, id)) {
                ctx.pipeline()
                    .map_err(|e| tracing::warn!(error = %e.0, "explain: cannot score again"))
                    .ok()
            } else {
                None
            };
            let rescore = |id: &str| {
                let p = pipeline.as_ref()?;
                p.rescore(&item, id)
                    .map_err(
                        |e| tracing::warn!(topic = id, error = %e, "explain: cannot score again"),
                    )
                    .ok()
                    .flatten()
            };
            out.push_str(
                &report::explain_topics(store, &item, &topics, &rescore)
                    .map_err(CommandError::from_display)?,
            )
        }
        Request::DigestPreview { day, topic } => {
            check_topic(&ctx.config, topic.as_deref())?;
            let digester = Digester::for_preview(&ctx.config, store.clone())
                .map_err(CommandError::from_display)?
                .only_topic(topic.clone());
            let r = digester.preview(*day).map_err(CommandError::from_display)?;
            return Ok(Reply {
                stdout: r.subject,
                files: vec![("html".into(), r.html), ("text".into(), r.text)],
            });
        }
        Request::Status { json } => {
            out = report::status::status(&ctx.config, store, *json)
                .map_err(CommandError::from_display)?;
        }
        Request::Topics => {
            out = report::status::topics(&ctx.config, store).map_err(CommandError::from_display)?;
        }
        Request::DigestSend => {
            let digester =
                Digester::new(&ctx.config, store.clone()).map_err(CommandError::from_display)?;
            let today = digester.local_day(Utc::now());
            let rec = digester
                .send(today, true)
                .await
                .map_err(CommandError::from_display)?;
            let _ = writeln!(out, "digest for {} sent: {} alerts", rec.day, rec.alerts);
            for u in &rec.undelivered {
                let _ = writeln!(out, "not delivered (given up): {u}");
            }
        }
        Request::Feedback {
            url,
            verdict,
            rejudge_secs,
            topic,
        } => {
            check_topic(&ctx.config, topic.as_deref())?;
            out.push_str(&feedback(ctx, url, *verdict, *rejudge_secs, topic.as_deref()).await?)
        }
        Request::FeedbackList { json, topic } => {
            check_topic(&ctx.config, topic.as_deref())?;
            let marks = ctx
                .pipeline()?
                .marks(topic.as_deref())
                .map_err(CommandError::from_display)?;
            for m in &marks {
                if *json {
                    let line = serde_json::json!({
                        "url": m.url, "verdict": if m.relevant { "relevant" } else { "off-topic" },
                        "at": m.at, "title": m.title,
                    });
                    let _ = writeln!(out, "{line}");
                } else {
                    let _ = writeln!(
                        out,
                        "{}  {:<9}  {}\n      {}",
                        m.at.get(..16).unwrap_or(&m.at).replace('T', " "),
                        if m.relevant { "relevant" } else { "off-topic" },
                        m.url,
                        m.title
                    );
                }
            }
            if marks.is_empty() && !json {
                let _ = writeln!(out, "no marks");
            }
        }
    }
    Ok(Reply {
        stdout: out,
        files: Vec::new(),
    })
}

/// An error naming the configured topics when `topic` is not one of them.
fn check_topic(config: &Config, topic: Option<&str>) -> Result<(), CommandError> {
    match topic {
        Some(t) if config.topic_by_id(t).is_none() => Err(CommandError(format!(
            "no topic has the id {t:?}; the topics are: {}",
            config
                .topics
                .iter()
                .map(|t| t.id())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        _ => Ok(()),
    }
}

/// How long `feedback --rejudge` waits for the worker that judges (shared store).
const REJUDGE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits for the answer to a queued re-judge ([`Pipeline::queue_rejudge`]), up to
/// [`REJUDGE_WAIT`]; `None` when none came.
async fn wait_for_rejudge(
    pipeline: &Pipeline,
    ticket: &str,
    topic: Option<&str>,
) -> Result<Option<crate::pipeline::feedback::RejudgeAnswer>, CommandError> {
    let deadline = tokio::time::Instant::now() + REJUDGE_WAIT;
    loop {
        if let Some(done) = pipeline
            .rejudge_result(ticket, topic)
            .map_err(CommandError::from_display)?
        {
            return Ok(Some(done));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// `wirewatch feedback`: records (or clears) a mark, then judges the window again if asked.
async fn feedback(
    ctx: &Context,
    url: &str,
    verdict: Verdict,
    rejudge_secs: Option<u64>,
    topic: Option<&str>,
) -> Result<String, CommandError> {
    let topic_id = topic
        .map(str::to_string)
        .unwrap_or_else(|| ctx.config.first_topic().id());
    use std::fmt::Write;
    let pipeline = ctx.pipeline()?;
    let mut out = String::new();
    match verdict {
        Verdict::Clear => {
            if pipeline
                .clear_mark(url, topic)
                .await
                .map_err(CommandError::from_display)?
            {
                let _ = writeln!(out, "mark on {} cleared", url.trim());
            } else {
                let _ = writeln!(out, "no mark on {}", url.trim());
            }
        }
        Verdict::Relevant | Verdict::OffTopic => {
            let relevant = verdict == Verdict::Relevant;
            let (item, _) = pipeline
                .mark(url, relevant, topic)
                .await
                .map_err(CommandError::from_display)?;
            let said = match (item.decision(&topic_id), relevant) {
                (Some(crate::store::Decision::Alert { .. }), false) => {
                    " (it alerted: the alert stays sent; explain and the digest show the mark)"
                }
                (Some(crate::store::Decision::Alert { .. }), true) => " (it alerted already)",
                (Some(crate::store::Decision::OffTopic { .. }), true)
                    if rejudge_secs.is_none() =>
                {
                    " (it did not alert; add --rejudge to judge it and its window again)"
                }
                (Some(crate::store::Decision::OffTopic { .. }), true) => "",
                (Some(_), true) => {
                    " (it was decided a copy, unreadable or in another language: --rejudge does not judge it again)"
                }
                _ => "",
            };
            let _ = writeln!(
                out,
                "marked {} {}{said}\n  {}",
                item.url,
                if relevant { "relevant" } else { "off-topic" },
                item.title
            );
        }
    }
    if let Some(secs) = rejudge_secs {
        let since = window_start(std::time::Duration::from_secs(secs));
        let (since, tally, here) = if ctx.store.is_shared() {
            // Only the judging worker's processing loop judges: ask it (or, with no worker
            // running, take the judge lease and do it here).
            let ticket = pipeline
                .queue_rejudge(since, topic)
                .map_err(CommandError::from_display)?;
            let mut here = false;
            if ctx.pipeline.is_none()
                && ctx
                    .store
                    .judge_lease()
                    .map_err(CommandError::from_display)?
                    .is_some()
            {
                // No worker judges: this command does, on state read now that it holds the
                // lease (a worker may have judged until a moment ago).
                let fresh = pipeline.rebuilt().map_err(CommandError::from_display)?;
                here = fresh
                    .run_queued_rejudges()
                    .await
                    .map_err(CommandError::from_display)?
                    != crate::judge::Tally::default();
            }
            match wait_for_rejudge(&pipeline, &ticket, topic).await? {
                Some((since, Ok(tally))) => (since, tally, here),
                Some((_, Err(e))) => {
                    return Err(CommandError::from_display(format!(
                        "the worker that judges could not judge the window again: {e}"
                    )))
                }
                None => {
                    let _ = writeln!(
                        out,
                        "re-judging queued: the worker that judges had not run it after {}s; it will at its next pass (`wirewatch alerts` shows what alerts)",
                        REJUDGE_WAIT.as_secs()
                    );
                    return Ok(out);
                }
            }
        } else {
            let tally = pipeline
                .rejudge(since, topic)
                .await
                .map_err(CommandError::from_display)?;
            (since, tally, ctx.pipeline.is_none())
        };
        let _ = writeln!(
            out,
            "judged again {} item(s) decided since {} that had not alerted: {} alert now, {} off-topic, {} copies",
            tally.decided(),
            since.format("%Y-%m-%d %H:%M UTC"),
            tally.alerts,
            tally.off_topic,
            tally.seed_duplicates + tally.repeats
        );
        // Judged here, offline: nobody else delivers what alerted now.
        if tally.alerts > 0 && here {
            let rep = ctx
                .deliverer()?
                .deliver_due()
                .await
                .map_err(CommandError::from_display)?;
            let _ = writeln!(
                out,
                "delivered {}, retrying {}, dead {}",
                rep.delivered, rep.retrying, rep.dead
            );
        }
    }
    Ok(out)
}
