//! The `wirewatch` command: a thin CLI over the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use wirewatch::config::Config;
use wirewatch::logging::{self, LogFormat};
use wirewatch::notify::outbox::Deliverer;
use wirewatch::pipeline::{self, Pipeline};
use wirewatch::report;

/// Watches news feeds for new coverage of one story.
#[derive(Parser, Debug)]
#[command(name = "wirewatch", version, about)]
struct Cli {
    /// Config file [default: $WIREWATCH_CONFIG, else config/wirewatch.toml]
    #[arg(short, long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
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
    Check,
    /// List alerts (or dead letters with --failed; requeue them with --retry).
    Alerts {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Only alerts decided within this long ago ("24h", "7d").
        #[arg(long, value_name = "DURATION")]
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
    /// Render the daily digest to a file, or send it now.
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
    /// Import or export the feed list (OPML).
    Feeds {
        #[command(subcommand)]
        action: FeedsCommand,
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
enum FeedsCommand {
    /// Add the feeds of an OPML file to the config file (existing text and comments kept;
    /// URLs already configured are skipped).
    Import {
        /// The OPML file (from another feed reader).
        file: PathBuf,
    },
    /// Print the configured feeds as OPML 2.0.
    Export,
}

/// Tunes glibc's malloc for a long-running daemon with a few busy threads:
///
/// - Arenas capped at three. By default glibc gives each thread that allocates its own arena
///   (up to 8 per core), and sled's I/O threads and tokio's workers each fragment their own:
///   on a 3,000-feed cycle, peak RSS 139-144 MB with the default, 125-128 MB with two. But
///   with two, threads queue for an arena's lock (a tenth of all CPU samples of a cycle went
///   to that lock's futex wake-ups and waits); three halve that.
/// - Allocations of 128 KiB and more mapped on their own, returned to the system when freed.
///   glibc's default threshold moves up after each large free (to 32 MiB at most), so large
///   buffers (page bodies, sled's) then come from the heap and leave it fragmented: peak RSS
///   on a 10,000-feed cycle varied between 130 and 150 MB with the moving threshold, 125-130
///   with it fixed (`benches/README.md`).
///
/// `MALLOC_ARENA_MAX` and `MALLOC_MMAP_THRESHOLD_`, when set, win over these.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    // SAFETY: called first thing in `main`, before any other thread exists; mallopt only
    // sets a malloc parameter, and a refusal (return 0) leaves the default in place.
    unsafe {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, 3);
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

fn main() -> ExitCode {
    tune_malloc();
    let cli = Cli::parse();
    if let Command::Demo { dir } = &cli.command {
        // The demo installs its own output (decisions on stdout, warnings on stderr).
        return run_async(wirewatch::demo::run(dir.clone()));
    }
    let default_filter = match cli.command {
        Command::Run => "info",
        _ => "warn",
    };
    logging::init(cli.log_format, default_filter);
    let path = pipeline::config_path(cli.config.as_deref());
    let config = match Config::load(&path) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Feeds {
        action: FeedsCommand::Import { file },
    } = &cli.command
    {
        return match feeds_import(&path, file) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::Check = cli.command {
        // Site rules are compiled by the extract stage (once, here as in the pipeline).
        if let Err(e) = wirewatch::extract::Extractor::new(&config.sites) {
            eprintln!("error: invalid config file {}: {e}", path.display());
            return ExitCode::from(2);
        }
        println!("config {} is valid\n{}", path.display(), config.describe());
        return ExitCode::SUCCESS;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Run => wirewatch::daemon::run(path, config).await,
            Command::Once { json } => once(config, json).await,
            Command::Check => Ok(()),
            Command::Alerts {
                json,
                since,
                failed,
                retry,
            } => alerts(config, json, since.map(Into::into), failed, retry).await,
            Command::Explain { url } => explain(config, &url),
            Command::Digest { preview, day, send } => digest(config, preview, day, send).await,
            Command::Extract { json, url, inputs } => extract(config, json, url, inputs).await,
            Command::Feeds { .. } => {
                print!("{}", wirewatch::opml::export(&config)?);
                Ok(())
            }
            Command::Demo { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a future on a fresh runtime, mapping its result to an exit code.
fn run_async<T>(fut: impl std::future::Future<Output = anyhow::Result<T>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(fut) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn feeds_import(config_path: &std::path::Path, file: &std::path::Path) -> anyhow::Result<()> {
    let text =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let text = String::from_utf8_lossy(&text);
    let r = wirewatch::opml::import(config_path, &text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    for f in &r.added {
        println!(
            "added    {}  {}",
            f.url,
            f.title.as_deref().unwrap_or_default()
        );
    }
    for f in &r.already_present {
        println!("present  {}", f.url);
    }
    for x in &r.rejected {
        println!("skipped  {}  ({})", x.xml_url, x.reason);
    }
    println!(
        "{} feeds added to {}, {} already present, {} skipped{}",
        r.added.len(),
        config_path.display(),
        r.already_present.len(),
        r.rejected.len(),
        if r.added.is_empty() {
            ""
        } else {
            "\na running daemon picks them up on reload (systemctl reload wirewatch, or SIGHUP)"
        }
    );
    Ok(())
}

async fn once(config: Arc<Config>, json: bool) -> anyhow::Result<()> {
    let store = pipeline::open_store(&config)?;
    let pipeline = Pipeline::new(config.clone(), store)?;
    let progress = wirewatch::progress::Progress::for_stderr(config.feeds.len());
    let mut report = pipeline.poll_once_observed(&|e| progress.event(e)).await?;
    progress.finish();
    let deliverer = Deliverer::new(&config, pipeline.store().clone(), pipeline.endpoints())?;
    report.delivery = deliverer.deliver_due().await?;
    pipeline.store().flush().await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.summary());
    }
    Ok(())
}

async fn alerts(
    config: Arc<Config>,
    json: bool,
    since: Option<std::time::Duration>,
    failed: bool,
    retry: bool,
) -> anyhow::Result<()> {
    let store = pipeline::open_store(&config)?;
    if retry {
        let n = store.requeue_dead(chrono::Utc::now())?;
        let endpoints = std::sync::Arc::new(wirewatch::notify::outbox::endpoints(&config)?);
        let deliverer = Deliverer::new(&config, store.clone(), endpoints)?;
        let rep = deliverer.deliver_due().await?;
        store.flush().await?;
        println!(
            "requeued {n} dead letters; delivered {}, retrying {}, dead {}",
            rep.delivered, rep.retrying, rep.dead
        );
        return Ok(());
    }
    if failed {
        let dead = store.dead_letters()?;
        for d in &dead {
            let alert = store.alert(&d.alert)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "alert": d.alert, "endpoint": d.endpoint, "attempts": d.attempts,
                        "error": d.last_error, "created": d.created, "given_up": d.finished,
                        "url": alert.as_ref().map(|a| a.url.clone()),
                        "title": alert.as_ref().map(|a| a.title.clone()),
                    })
                );
            } else {
                println!(
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
            println!("no dead letters");
        }
        return Ok(());
    }
    let since = match since {
        Some(d) => Some(chrono::Utc::now() - chrono::Duration::from_std(d)?),
        None => None,
    };
    let list = report::alerts_since(&store, since)?;
    if json {
        for a in &list {
            println!("{}", serde_json::to_string(&report::AlertLine::from(a))?);
        }
    } else {
        print!("{}", report::alerts_table(&list));
    }
    Ok(())
}

async fn digest(
    config: Arc<Config>,
    preview: Option<PathBuf>,
    day: Option<chrono::NaiveDate>,
    send: bool,
) -> anyhow::Result<()> {
    let store = pipeline::open_store(&config)?;
    let digester = wirewatch::notify::Digester::new(&config, store)?;
    if let Some(path) = preview {
        let r = digester.preview(day)?;
        std::fs::write(&path, &r.html)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        let txt = path.with_extension("txt");
        std::fs::write(&txt, &r.text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", txt.display()))?;
        println!(
            "{}\nwrote {} and {}",
            r.subject,
            path.display(),
            txt.display()
        );
        return Ok(());
    }
    if send {
        let today = digester.local_day(chrono::Utc::now());
        let rec = digester.send(today, true).await?;
        println!("digest for {} sent: {} alerts", rec.day, rec.alerts);
        return Ok(());
    }
    anyhow::bail!("say --preview FILE.html or --send")
}

fn explain(config: Arc<Config>, url: &str) -> anyhow::Result<()> {
    let store = pipeline::open_store(&config)?;
    let canonical = url::Url::parse(url.trim())
        .map(|u| wirewatch::dedup::url::canonicalize(&u).to_string())
        .unwrap_or_else(|_| url.trim().to_string());
    match report::find_item(&store, url.trim(), &canonical)? {
        Some(item) => {
            print!("{}", report::explain(&store, &item)?);
            Ok(())
        }
        None => anyhow::bail!("no item seen under {url} (canonical form {canonical})"),
    }
}

async fn extract(
    config: Arc<Config>,
    json: bool,
    url: Option<url::Url>,
    inputs: Vec<String>,
) -> anyhow::Result<()> {
    let extractor = wirewatch::extract::Extractor::new(&config.sites)?;
    let fetcher = wirewatch::fetch::Fetcher::new(&config.fetch)?;
    let mut failures = 0;
    for input in &inputs {
        let (body, ctype, page_url) =
            if input.starts_with("http://") || input.starts_with("https://") {
                let u = url::Url::parse(input)?;
                match fetcher
                    .get(wirewatch::fetch::Request {
                        url: &u,
                        kind: wirewatch::fetch::Kind::Page,
                        etag: None,
                        last_modified: None,
                    })
                    .await
                {
                    Ok(r) => (r.body.to_vec(), r.content_type, Some(r.final_url)),
                    Err(e) => {
                        eprintln!("error: {input}: {e}");
                        failures += 1;
                        continue;
                    }
                }
            } else {
                match std::fs::read(input) {
                    Ok(b) => (b, None, url.clone()),
                    Err(e) => {
                        eprintln!("error: {input}: {e}");
                        failures += 1;
                        continue;
                    }
                }
            };
        let art = extractor.extract_page(&body, ctype.as_deref(), page_url.as_ref());
        if json {
            println!(
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
                println!("==> {input} <==");
            }
            if let Some(t) = &art.title {
                println!("{t}\n");
            }
            if art.text.is_empty() {
                println!(
                    "(no text: {})",
                    art.empty_reason.as_deref().unwrap_or("unknown")
                );
            } else {
                println!("{}", art.text);
            }
        }
    }
    if failures == inputs.len() {
        anyhow::bail!("no input could be read");
    }
    Ok(())
}
