//! The `wirewatch` command line: its arguments (clap), and each command as a call into the
//! library. `main.rs` only tunes the allocator and calls [`main`].
//!
//! The commands that touch the store go through [`crate::control`], which runs them on the
//! store directly, or through the running daemon when one holds it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

mod feeds;
pub(crate) mod output;
mod store;
mod topics;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::control::{self, Reply, Request};
use crate::logging::{self, LogFormat};
use crate::notify::outbox::Deliverer;
use crate::pipeline::{self, Pipeline};
use crate::store::StoreError;
use output::{out, outln};

/// Watches news feeds for new coverage of one story.
#[derive(Parser, Debug)]
#[command(name = "wirewatch", version, about)]
pub struct Cli {
    /// Config file [default: $WIREWATCH_CONFIG, else config/wirewatch.toml]
    #[arg(short, long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// The topic (its id) for alerts, explain, feedback, digest --preview and feeds test
    /// [default: every topic; for feedback, the first].
    #[arg(long, global = true, value_name = "ID")]
    topic: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the daemon: poll every feed on its interval until SIGTERM or SIGINT.
    Run,
    /// Poll every feed once, process new entries, deliver what is pending, print a summary.
    Once {
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate the config and print what was understood.
    Check {
        /// Also fail (exit 2) when a configured secret cannot be read here: run it so where
        /// the service's environment is (by default, a warning: an admin shell, CI or a
        /// packaging step rarely has the service's secrets).
        #[arg(long)]
        strict: bool,
    },
    /// List alerts (or dead letters with --failed; requeue them with --retry).
    Alerts {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Only alerts decided within this long ago ("24h", "7d").
        #[arg(long, value_name = "DURATION", conflicts_with_all = ["failed", "retry"])]
        since: Option<humantime::Duration>,
        /// List deliveries that were given up (dead letters).
        #[arg(long, conflicts_with = "retry")]
        failed: bool,
        /// Put every dead letter back in the outbox and try to deliver now.
        #[arg(long)]
        retry: bool,
    },
    /// Explain why an item was decided as it was.
    Explain {
        /// The item's URL (any URL it was seen under).
        url: String,
    },
    /// Tell the topic an item is relevant or off-topic (or undo that; or list the marks).
    ///
    /// A mark moves the scores of items like it from now on; a relevant mark also teaches the
    /// topic its names and words. Nothing decided changes unless --rejudge asks for it, and
    /// an alert already sent is never retracted.
    #[command(group(clap::ArgGroup::new("verdict").args(["relevant", "off_topic", "clear", "list"]).required(true)))]
    Feedback {
        /// The item's URL (any URL it was seen under).
        #[arg(required_unless_present = "list")]
        url: Option<String>,
        /// The item belongs to the topic.
        #[arg(long)]
        relevant: bool,
        /// The item does not belong to the topic.
        #[arg(long)]
        off_topic: bool,
        /// Undo the mark on this item.
        #[arg(long)]
        clear: bool,
        /// Then judge again the items decided off-topic within this long ago ("48h") whose
        /// texts are kept (`[store] keep_text`): those the marks now make relevant alert as
        /// usual. Copies, unreadable and other-language items are not judged again.
        #[arg(long, value_name = "DURATION", conflicts_with = "list")]
        rejudge: Option<humantime::Duration>,
        /// List the marks.
        #[arg(long)]
        list: bool,
        /// With --list: one JSON object per line.
        // `requires = "list"` alone lets `URL --relevant --json` through (clap checks it
        // loosely inside the required group), so the other verdicts are ruled out by name.
        #[arg(long, requires = "list", conflicts_with_all = ["relevant", "off_topic", "clear"])]
        json: bool,
    },
    /// Render the daily digest to a file, or send it now.
    #[command(group(clap::ArgGroup::new("what").args(["preview", "send"]).required(true)))]
    Digest {
        /// Write the HTML rendering to this file instead of sending (the plain-text part goes
        /// beside it, with a .txt extension).
        #[arg(long, value_name = "FILE.html", conflicts_with = "send")]
        preview: Option<PathBuf>,
        /// The local day to render (default today).
        #[arg(long, value_name = "YYYY-MM-DD", requires = "preview")]
        day: Option<chrono::NaiveDate>,
        /// Send the digest now (covering everything since the last one) and record it.
        #[arg(long)]
        send: bool,
    },
    /// The feed list: add a feed (or a site, its feed discovered), test one, import or export
    /// OPML.
    Feeds {
        #[command(subcommand)]
        action: FeedsCommand,
    },
    /// What the store holds; on a shared (PostgreSQL) store, the workers alive, their leases
    /// and what each did.
    Status {
        /// As one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The store itself: copy it into PostgreSQL, forget what is old, compact it.
    Store {
        #[command(subcommand)]
        action: StoreCommand,
    },
    /// The topics: list them, or drop what a removed topic left in the store.
    Topics {
        #[command(subcommand)]
        action: TopicsCommand,
    },
    /// Run the whole pipeline offline on a bundled miniature world: start here.
    Demo {
        /// Directory for the demo's config, store and digest [default: a fresh temp dir].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print the clean article text of pages (files or URLs).
    Extract {
        /// One JSON object per input: {"input","url","title","byline","published","text"}.
        #[arg(long)]
        json: bool,
        /// The page's URL, for files (resolves links, picks site rules).
        #[arg(long, value_name = "URL")]
        url: Option<url::Url>,
        /// HTML files, or http(s) URLs to fetch.
        #[arg(required = true)]
        inputs: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
enum StoreCommand {
    /// Copy everything the configured store holds into a PostgreSQL database (running it
    /// again is harmless); then point `[store] url` at it.
    Migrate {
        /// The target: postgres://user@host:port/db (the password from `[store]
        /// password_env` / `password_file`).
        #[arg(long, value_name = "URL")]
        to: String,
        /// The schema to create the tables in [default: the server's search path].
        #[arg(long)]
        schema: Option<String>,
    },
    /// Forget now what is older than `[store] retain` and needed for nothing (old entries no
    /// feed lists, old items that alerted nowhere), as the daemon does once a day. The
    /// embedded store must not be in use: stop the daemon first.
    Forget,
    /// Give the space of forgotten records back to the disk: copy the embedded store into a
    /// fresh one, check it, and swap it in (safe against a kill at any point). The store must
    /// not be in use: stop the daemon first. PostgreSQL manages its own space.
    Compact,
}

#[derive(Subcommand, Debug)]
enum TopicsCommand {
    /// List the configured topics and the topics the store holds alerts of.
    List,
    /// Delete what a topic no longer in the config left in the store: its alerts, stories,
    /// decisions, learned evidence and marks, and its pending deliveries.
    Prune {
        /// The topic's id.
        id: String,
    },
}

#[derive(Subcommand, Debug)]
enum FeedsCommand {
    /// Add the feeds of an OPML file to the config file (existing text and comments kept;
    /// URLs already configured are skipped).
    Import {
        /// The OPML file (from another feed reader).
        file: PathBuf,
    },
    /// Print the configured feeds as OPML 2.0.
    Export,
    /// Add a feed to the config file: its URL, or a page of the site (its feed is discovered:
    /// `<link rel="alternate">`, then the usual paths).
    Add {
        /// The feed's URL, or a page of the site.
        #[arg(value_parser = web_url)]
        url: url::Url,
    },
    /// Poll one feed once, storing nothing, and show for each entry the URL it resolved to,
    /// where its text came from, its language and what the judge would decide, with why.
    Test {
        /// The feed's URL.
        #[arg(value_parser = web_url)]
        url: url::Url,
    },
}

/// An http(s) URL from the command line; a path or another scheme is refused with what to
/// give instead (url's own "relative URL without a base" puzzled users who gave a path).
fn web_url(s: &str) -> Result<url::Url, String> {
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u),
        Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase) => Err(format!(
            "{s:?} is not an http(s) URL: give the feed's address, such as https://example.org/feed.xml"
        )),
        Err(e) => Err(format!("{s:?} is not a valid URL: {e}")),
    }
}

/// Parses the command line and runs the command; the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(name) = cli.topic.as_ref().and_then(|_| ignores_topic(&cli.command)) {
        // A global flag that a command does not read would be silently ignored: a reader
        // who asked `status --topic x` would take every topic's figures for x's.
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "--topic applies to alerts (the list), explain, feedback, digest --preview and \
                     feeds test, not to `{name}`"
                ),
            )
            .exit();
    }
    let code = command(&cli);
    if output::failed() {
        return ExitCode::FAILURE;
    }
    code
}

/// The name of a command that does not read `--topic`, if `command` is one.
fn ignores_topic(command: &Command) -> Option<&'static str> {
    match command {
        // Dead letters are every topic's: `--retry --topic x` would redeliver all of them.
        Command::Alerts { failed: true, .. } => Some("alerts --failed"),
        Command::Alerts { retry: true, .. } => Some("alerts --retry"),
        Command::Alerts { .. } | Command::Explain { .. } | Command::Feedback { .. } => None,
        Command::Digest { send: false, .. } => None,
        Command::Digest { .. } => Some("digest --send"),
        Command::Run => Some("run"),
        Command::Once { .. } => Some("once"),
        Command::Check { .. } => Some("check"),
        Command::Feeds { action } => match action {
            FeedsCommand::Test { .. } => None,
            FeedsCommand::Import { .. } => Some("feeds import"),
            FeedsCommand::Export => Some("feeds export"),
            FeedsCommand::Add { .. } => Some("feeds add"),
        },
        Command::Status { .. } => Some("status"),
        Command::Store { action } => Some(match action {
            StoreCommand::Migrate { .. } => "store migrate",
            StoreCommand::Forget => "store forget",
            StoreCommand::Compact => "store compact",
        }),
        Command::Topics { action } => Some(match action {
            TopicsCommand::List => "topics list",
            TopicsCommand::Prune { .. } => "topics prune",
        }),
        Command::Demo { .. } => Some("demo"),
        Command::Extract { .. } => Some("extract"),
    }
}

/// Runs the parsed command; its exit code.
fn command(cli: &Cli) -> ExitCode {
    // Logs and the config, for every command but the demo (which has its own world and
    // output): logs at `default` unless RUST_LOG says otherwise; an unusable config exits 2.
    let with_config = |default: &str, run: &dyn Fn(PathBuf, Arc<Config>) -> ExitCode| {
        logging::init(cli.log_format, default);
        let path = pipeline::config_path(cli.config.as_deref());
        match Config::load(&path) {
            Ok(c) => run(path, Arc::new(c)),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        }
    };
    match &cli.command {
        Command::Demo { dir } => exit_code(block_on(async {
            crate::demo::run(dir.clone()).await.map(|_| ())
        })),
        Command::Check { strict } => {
            with_config("warn", &|path, config| check(&path, &config, *strict))
        }
        Command::Feeds {
            action: FeedsCommand::Import { file },
        } => with_config("warn", &|path, _| exit_code(feeds::import(&path, file))),
        Command::Feeds {
            action: FeedsCommand::Add { url },
        } => with_config("warn", &|path, config| {
            exit_code(block_on(feeds::add(&path, &config, url)))
        }),
        // A failed poll is the command's error, said once: not also the poll's warning of
        // a retry that a test never makes (other warnings stay).
        Command::Feeds {
            action: FeedsCommand::Test { url },
        } => with_config("warn,wirewatch::pipeline::poll=error", &|_, config| {
            exit_code(block_on(feeds::test(&config, url, cli.topic.as_deref())))
        }),
        Command::Status { json } => with_config("warn", &|_, config| {
            exit_code(block_on(print_store_command(
                config,
                Request::Status { json: *json },
            )))
        }),
        Command::Store {
            action: StoreCommand::Migrate { to, schema },
        } => with_config("warn", &|_, config| {
            exit_code(store::migrate(&config, to, schema.as_deref()))
        }),
        Command::Store {
            action: StoreCommand::Forget,
        } => with_config("warn", &|_, config| exit_code(store::forget(&config))),
        Command::Store {
            action: StoreCommand::Compact,
        } => with_config("warn", &|_, config| exit_code(store::compact(&config))),
        Command::Topics {
            action: TopicsCommand::List,
        } => with_config("warn", &|_, config| {
            exit_code(block_on(print_store_command(config, Request::Topics)))
        }),
        Command::Topics {
            action: TopicsCommand::Prune { id },
        } => with_config("warn", &|_, config| exit_code(topics::prune(&config, id))),
        Command::Feeds {
            action: FeedsCommand::Export,
        } => with_config("warn", &|_, config| {
            exit_code(
                crate::opml::export(&config)
                    .map(|x| out!("{x}"))
                    .map_err(Into::into),
            )
        }),
        Command::Run => with_config("info", &|path, config| {
            exit_code(block_on(crate::daemon::run(path, config)))
        }),
        Command::Once { json } => with_config("warn", &|_, config| {
            exit_code(block_on(once(config, *json)))
        }),
        Command::Alerts {
            json,
            since,
            failed,
            retry,
        } => {
            let req = if *retry {
                Request::Retry
            } else if *failed {
                Request::Failed { json: *json }
            } else {
                Request::Alerts {
                    json: *json,
                    since_secs: since.map(|d| std::time::Duration::from(d).as_secs()),
                    topic: cli.topic.clone(),
                }
            };
            with_config("warn", &|_, config| {
                exit_code(block_on(print_store_command(config, req.clone())))
            })
        }
        Command::Explain { url } => with_config("warn", &|_, config| {
            let req = Request::Explain {
                url: url.clone(),
                topic: cli.topic.clone(),
            };
            exit_code(block_on(print_store_command(config, req)))
        }),
        Command::Feedback {
            url,
            relevant,
            off_topic,
            clear: _,
            rejudge,
            list,
            json,
        } => with_config("warn", &|_, config| {
            let req = match (list, url) {
                (true, _) | (false, None) => Request::FeedbackList {
                    json: *json,
                    topic: cli.topic.clone(),
                },
                (false, Some(url)) => Request::Feedback {
                    url: url.clone(),
                    verdict: if *relevant {
                        control::Verdict::Relevant
                    } else if *off_topic {
                        control::Verdict::OffTopic
                    } else {
                        control::Verdict::Clear
                    },
                    rejudge_secs: rejudge.map(|d| std::time::Duration::from(d).as_secs()),
                    topic: cli.topic.clone(),
                },
            };
            exit_code(block_on(print_store_command(config, req)))
        }),
        Command::Digest { preview, day, send } => with_config("warn", &|_, config| {
            exit_code(block_on(digest(
                config,
                preview.clone(),
                *day,
                *send,
                cli.topic.clone(),
            )))
        }),
        Command::Extract { json, url, inputs } => {
            let run = |sites: &[crate::extract::SiteRule], fetch: &crate::config::FetchConfig| {
                exit_code(block_on(extract(
                    sites,
                    fetch,
                    *json,
                    url.clone(),
                    inputs.clone(),
                )))
            };
            // Extracting a page needs no topic or feeds: with no config named and none at the
            // default path, the default settings (no site rules) serve.
            let named = cli.config.is_some() || std::env::var_os("WIREWATCH_CONFIG").is_some();
            if !named && !pipeline::config_path(None).exists() {
                logging::init(cli.log_format, "warn");
                return run(&[], &crate::config::FetchConfig::default());
            }
            with_config("warn", &|_, config| run(&config.sites, &config.fetch))
        }
    }
}

/// `wirewatch check`: the config as understood, or why it is not usable. Site rules are
/// compiled by the extract stage, once, here as in the pipeline.
fn check(path: &std::path::Path, config: &Config, strict: bool) -> ExitCode {
    if let Err(e) = crate::extract::Extractor::new(&config.sites) {
        eprintln!("error: invalid config file {}: {e}", path.display());
        return ExitCode::from(2);
    }
    for t in &config.topics {
        if let Err(e) = t.seed_files() {
            eprintln!("error: invalid config file {}: {e}", path.display());
            return ExitCode::from(2);
        }
        if let Some(q) = t.query.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            if let Err(e) = crate::relevance::query::Query::parse(q) {
                eprintln!(
                    "error: invalid config file {}: topic {}: query: {e}",
                    path.display(),
                    t.id()
                );
                return ExitCode::from(2);
            }
        }
    }
    // Secrets come from the environment or files, not the config: say which cannot be read
    // here, where the daemon would stop (or a digest fail) on them. A warning unless
    // `--strict`: this shell may not have the service's environment (EnvironmentFile=,
    // credentials, a container's secrets).
    let missing = config.unreadable_secrets();
    let level = if strict { "error" } else { "warning" };
    for e in &missing {
        eprintln!("{level}: {e}");
    }
    if !missing.is_empty() {
        eprintln!(
            "{level}: {} of the config's secrets cannot be read here; the service needs them where it runs (`check --strict` in its environment makes this an error)",
            missing.len()
        );
        if strict {
            return ExitCode::from(2);
        }
    }
    crate::daemon::warn_if_open(config);
    outln!("config {} is valid\n{}", path.display(), config.describe());
    ExitCode::SUCCESS
}

/// Runs a future on the process's one runtime.
fn block_on(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?
        .block_on(fut)
}

/// The exit code of a command's result, printing its error (once) on failure.
fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Not eprintln!: a closed stderr (`2>&1 | head`) must not turn this into a panic.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Prints `error: MESSAGE` on stderr; a closed stderr is not a panic.
fn say_error(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "error: {message}");
}

/// An error and its causes on one line, each cause said once: many errors already end with
/// their cause's message (`store connecting to ...: error connecting to server: ...`), and
/// anyhow's `{:#}` would repeat it.
fn error_chain(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !line.ends_with(&c) {
            line.push_str(": ");
            line.push_str(&c);
        }
    }
    line
}

/// Runs a store command here, or through the running daemon when it holds the store.
async fn store_command(config: Arc<Config>, req: Request) -> anyhow::Result<Reply> {
    match pipeline::open_store(&config) {
        Ok(store) => {
            let ctx = control::Context::new(config, store);
            let reply = control::execute(&req, &ctx).await?;
            ctx.store.flush().await?;
            Ok(reply)
        }
        Err(StoreError::Busy { .. }) => {
            match control::client::request(&control::socket_path(&config), &req).await {
                Ok(r) => Ok(r),
                // A daemon started from an older binary (upgraded, not yet restarted) does
                // not know a command added since.
                Err(control::client::ClientError::Command(e))
                    if e.0.starts_with("unreadable control request") =>
                {
                    anyhow::bail!(
                        "the running daemon{} is older than this wirewatch and does not know this command: restart it (systemctl restart wirewatch) ({})",
                        control::daemon_pid(&config.state_dir)
                            .map(|p| format!(" (pid {p})"))
                            .unwrap_or_default(),
                        e.0
                    )
                }
                Err(control::client::ClientError::NoDaemon { .. }) => anyhow::bail!(
                    "another wirewatch process{} is using the store in {}, and no daemon answers on its control socket",
                    control::daemon_pid(&config.state_dir)
                        .map(|p| format!(" (pid {p})"))
                        .unwrap_or_default(),
                    config.state_dir.display()
                ),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs a store command (see [`store_command`]) and prints its output.
async fn print_store_command(config: Arc<Config>, req: Request) -> anyhow::Result<()> {
    out!("{}", store_command(config, req).await?.stdout);
    Ok(())
}

async fn once(config: Arc<Config>, json: bool) -> anyhow::Result<()> {
    let store = control::open_store_alone(
        &config,
        "it polls the feeds itself: stop it to run `once` (wirewatch alerts, explain and digest work beside it)",
    )?;
    let pipeline = Pipeline::new(config.clone(), store)?;
    // A cron job hung on a deadlocked store would hang for good; exiting says so.
    crate::daemon::stall::watch_store(pipeline.store(), "run it again (what it did is kept)");
    pipeline.backfill_topics().await?;
    let progress = crate::progress::Progress::for_stderr(config.feeds.len());
    let mut report = pipeline.poll_once_observed(&|e| progress.event(e)).await?;
    progress.finish();
    let deliverer = Deliverer::new(&config, pipeline.store().clone(), pipeline.endpoints())?;
    report.delivery = deliverer.deliver_due().await?;
    pipeline.store().flush().await?;
    if json {
        outln!("{}", serde_json::to_string(&report)?);
    } else {
        outln!("{}", report.summary());
    }
    Ok(())
}

async fn digest(
    config: Arc<Config>,
    preview: Option<PathBuf>,
    day: Option<chrono::NaiveDate>,
    send: bool,
    topic: Option<String>,
) -> anyhow::Result<()> {
    if let Some(path) = preview {
        let r = store_command(config, Request::DigestPreview { day, topic }).await?;
        let file = |role: &str| {
            r.files
                .iter()
                .find(|(k, _)| k == role)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        std::fs::write(&path, file("html"))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        let txt = path.with_extension("txt");
        std::fs::write(&txt, file("text"))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", txt.display()))?;
        outln!(
            "{}\nwrote {} and {}",
            r.stdout,
            path.display(),
            txt.display()
        );
        return Ok(());
    }
    if send {
        return print_store_command(config, Request::DigestSend).await;
    }
    anyhow::bail!("say --preview FILE.html or --send")
}

async fn extract(
    sites: &[crate::extract::SiteRule],
    fetch: &crate::config::FetchConfig,
    json: bool,
    url: Option<url::Url>,
    inputs: Vec<String>,
) -> anyhow::Result<()> {
    let extractor = crate::extract::Extractor::new(sites)?;
    let fetcher = crate::fetch::Fetcher::new(fetch)?;
    let mut failures = 0;
    for input in &inputs {
        if output::closed() {
            // Nobody reads on: fetching the remaining pages would be wasted.
            break;
        }
        let (body, ctype, page_url) =
            if input.starts_with("http://") || input.starts_with("https://") {
                let u = url::Url::parse(input)?;
                match fetcher
                    .get(crate::fetch::Request {
                        url: &u,
                        kind: crate::fetch::Kind::Page,
                        etag: None,
                        last_modified: None,
                        form: None,
                        validators_for: None,
                    })
                    .await
                {
                    Ok(r) => (r.body.to_vec(), r.content_type, Some(r.final_url)),
                    Err(e) => {
                        say_error(&format!("{input}: {e}"));
                        failures += 1;
                        continue;
                    }
                }
            } else {
                match std::fs::read(input) {
                    Ok(b) => (b, None, url.clone()),
                    Err(e) => {
                        say_error(&format!("{input}: {e}"));
                        failures += 1;
                        continue;
                    }
                }
            };
        let art = extractor.extract_page(&body, ctype.as_deref(), page_url.as_ref());
        if json {
            outln!(
                "{}",
                serde_json::json!({
                    "input": input,
                    "url": page_url.as_ref().map(|u| u.to_string()).or(art.canonical_url.clone()),
                    "title": art.title, "byline": art.byline, "published": art.published,
                    "text": art.text, "empty_reason": art.empty_reason,
                })
            );
        } else {
            if inputs.len() > 1 {
                outln!("==> {input} <==");
            }
            if let Some(t) = &art.title {
                outln!("{t}\n");
            }
            if art.text.is_empty() {
                outln!(
                    "(no text: {})",
                    art.empty_reason.as_deref().unwrap_or("unknown")
                );
            } else {
                outln!("{}", art.text);
            }
        }
    }
    if failures > 0 {
        anyhow::bail!(
            "{failures} of {} inputs could not be read (said above)",
            inputs.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_of_an_error_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        // A cause its context already quotes (the store's errors end with their cause's
        // message): once.
        let e = anyhow::Error::new(io).context("store connecting to x: connection refused");
        assert_eq!(error_chain(&e), "store connecting to x: connection refused");
        // A cause it does not quote: appended, as `{:#}` would.
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let e = anyhow::Error::new(io).context("store connecting to x");
        assert_eq!(error_chain(&e), "store connecting to x: connection refused");
    }

    #[test]
    fn feed_urls_on_the_command_line_are_web_urls() {
        assert!(web_url("https://example.org/feed.xml").is_ok());
        let path = web_url("/tmp/feed.xml").unwrap_err();
        assert!(path.contains("is not an http(s) URL"), "{path}");
        assert!(web_url("ftp://example.org/feed").is_err());
    }
}
