//! The commands that read or change the store beside the daemon: `alerts` (with `--failed`
//! and `--retry`), `explain`, `digest --preview` and `--send`.
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
    match crate::pipeline::open_store(config) {
        Ok(s) => Ok(s),
        Err(crate::store::StoreError::Busy { .. }) => match daemon_pid(&config.state_dir) {
            Some(pid) => anyhow::bail!(
                "a wirewatch daemon (pid {pid}) is running on {}; {daemon_hint}",
                config.state_dir.display()
            ),
            None => anyhow::bail!(
                "another wirewatch process is using the store in {}",
                config.state_dir.display()
            ),
        },
        Err(e) => Err(e.into()),
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
    },
    /// `wirewatch digest --preview`: the rendering of a day's digest (or of the next one).
    DigestPreview {
        /// The local day; `None` for what the next digest would say now.
        day: Option<NaiveDate>,
    },
    /// `wirewatch digest --send`: send the digest now and record it.
    DigestSend,
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
}

impl Context {
    /// An offline context over an open store.
    pub fn new(config: Arc<Config>, store: Store) -> Context {
        Context {
            config,
            store,
            deliverer: None,
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

/// Runs a command (see the module doc).
pub async fn execute(req: &Request, ctx: &Context) -> Result<Reply, CommandError> {
    let store = &ctx.store;

    let mut out = String::new();
    use std::fmt::Write;
    match req {
        Request::Alerts { json, since_secs } => {
            let since = since_secs.map(|s| Utc::now() - chrono::Duration::seconds(s as i64));
            let list = report::alerts_since(store, since).map_err(CommandError::from_display)?;
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
            for d in &dead {
                let alert = store.alert(&d.alert).map_err(CommandError::from_display)?;
                if *json {
                    let _ = writeln!(
                        out,
                        "{}",
                        serde_json::json!({
                            "alert": d.alert, "endpoint": d.endpoint, "attempts": d.attempts,
                            "error": d.last_error, "created": d.created, "given_up": d.finished,
                            "url": alert.as_ref().map(|a| a.url.clone()),
                            "title": alert.as_ref().map(|a| a.title.clone()),
                        })
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "{}  {}  endpoint {}  after {} attempts: {}\n      {}",
                        d.created.format("%Y-%m-%d %H:%M"),
                        d.alert,
                        d.endpoint,
                        d.attempts,
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
        Request::Explain { url } => {
            let url = url.trim();
            let canonical = url::Url::parse(url)
                .map(|u| crate::dedup::url::canonicalize(&u).to_string())
                .unwrap_or_else(|_| url.to_string());
            match report::find_item(store, url, &canonical).map_err(CommandError::from_display)? {
                Some(item) => {
                    let evidence = crate::judge::stored_evidence(store, &ctx.config.topic.id())
                        .map_err(CommandError::from_display)?;
                    out.push_str(
                        &report::explain(store, &item, Some(&evidence))
                            .map_err(CommandError::from_display)?,
                    )
                }
                None => {
                    return Err(CommandError(format!(
                        "no item seen under {url} (canonical form {canonical})"
                    )))
                }
            }
        }
        Request::DigestPreview { day } => {
            let digester =
                Digester::new(&ctx.config, store.clone()).map_err(CommandError::from_display)?;
            let r = digester.preview(*day).map_err(CommandError::from_display)?;
            return Ok(Reply {
                stdout: r.subject,
                files: vec![("html".into(), r.html), ("text".into(), r.text)],
            });
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
        }
    }
    Ok(Reply {
        stdout: out,
        files: Vec::new(),
    })
}
