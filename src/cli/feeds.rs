//! `wirewatch feeds ...`: the feed list. `import` (OPML) and `add` (a feed or a site's page,
//! its feed discovered) append to the config file, keeping its text; `test` polls one feed
//! once and shows what wirewatch would make of each entry, storing nothing.

use crate::cli::output::outln;
use std::path::Path;
use std::sync::Arc;

use url::Url;

use crate::config::{Config, FeedConfig};
use crate::fetch::{Fetcher, Kind, Request, Response};
use crate::opml::{ImportReport, OpmlFeed};
use crate::Pipeline;

/// `feeds import FILE`.
pub fn import(config_path: &Path, file: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let text = String::from_utf8_lossy(&text);
    let r = crate::opml::import(config_path, &text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    print_report(config_path, &r);
    Ok(())
}

fn print_report(config_path: &Path, r: &ImportReport) {
    for f in &r.added {
        outln!(
            "added    {}  {}",
            f.url,
            f.title.as_deref().unwrap_or_default()
        );
    }
    for f in &r.already_present {
        outln!("present  {}", f.url);
    }
    for x in &r.rejected {
        outln!("skipped  {}  ({})", x.xml_url, x.reason);
    }
    outln!(
        "{} added to {}, {} already present, {} skipped{}",
        crate::report::status::plural(r.added.len(), "feed"),
        config_path.display(),
        r.already_present.len(),
        r.rejected.len(),
        if r.added.is_empty() {
            ""
        } else {
            "\na running daemon picks them up on reload (systemctl reload wirewatch, or SIGHUP)"
        }
    );
}

async fn fetch(fetcher: &Fetcher, url: &Url) -> anyhow::Result<Response> {
    fetcher
        .get(Request {
            url,
            kind: Kind::Feed,
            etag: None,
            last_modified: None,
            form: None,
            validators_for: None,
        })
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))
}

/// `feeds add URL`: a feed's URL, or a page of a site whose feed is discovered
/// ([`crate::parse::discover`]); appended to the config like `feeds import` does.
pub async fn add(config_path: &Path, config: &Config, url: &Url) -> anyhow::Result<()> {
    let fetcher = Fetcher::new(&config.fetch)?;
    let first = fetch(&fetcher, url).await?;
    let parsed = |r: &Response| {
        crate::parse::parse_feed(&r.body, r.content_type.as_deref(), Some(&r.final_url)).ok()
    };
    let found = match parsed(&first) {
        Some(feed) => Some((url.clone(), feed)),
        None => {
            let html = String::from_utf8_lossy(&first.body);
            let mut found = None;
            for candidate in crate::parse::discover::candidates(&html, &first.final_url) {
                let Ok(r) = fetch(&fetcher, &candidate).await else {
                    continue;
                };
                if let Some(feed) = parsed(&r) {
                    outln!("found    {candidate} (from {url})");
                    found = Some((candidate, feed));
                    break;
                }
            }
            found
        }
    };
    let Some((feed_url, feed)) = found else {
        anyhow::bail!(
            "{url} is not a feed, and no feed was found from it (none announced with \
             <link rel=\"alternate\">, none at the usual paths)"
        );
    };
    outln!(
        "feed     {} ({:?}, {} entries)",
        feed.title.as_deref().unwrap_or("untitled"),
        feed.format,
        feed.entries.len()
    );
    let r = crate::opml::add_feeds(
        config_path,
        vec![OpmlFeed {
            url: feed_url,
            title: feed.title,
        }],
        "Added by `wirewatch feeds add`",
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    print_report(config_path, &r);
    Ok(())
}

/// `feeds test URL`: polls the feed once into a scratch store (with the config's topic,
/// seeds, fetch and site settings; no webhooks, no digest) and prints, for each entry, what
/// `explain` would say: the URL it resolved to, where its text came from and how long it is,
/// its language and the judge's decision with its reasons. The scratch store is deleted;
/// the configured store is not touched, so copies of items already seen there are not
/// recognised here.
pub async fn test(config: &Config, url: &Url, topic: Option<&str>) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let mut c = config.clone();
    if let Some(t) = topic {
        c.topics.retain(|x| x.id() == t);
        if c.topics.is_empty() {
            anyhow::bail!("no topic has the id {t:?} (see `wirewatch check`)");
        }
    }
    let topics: Vec<(String, String)> = c.topics.iter().map(|t| (t.id(), t.name.clone())).collect();
    c.state_dir = scratch.path().to_path_buf();
    c.feeds = vec![FeedConfig {
        url: url.clone(),
        name: None,
        interval: None,
        full_text: None,
    }];
    c.webhooks.clear();
    c.digest = None;
    // Texts are kept (in the scratch store) to tell every entry's language below: the judge
    // tells it only where it decides something.
    c.store.keep_text = crate::config::Dur(std::time::Duration::from_secs(3600));
    let store = crate::Store::open(&c.db_path())?;
    let pipeline = Pipeline::new(Arc::new(c), store.clone())?;
    let report = pipeline.poll_once().await?;
    for f in &report.feeds {
        if let Some(e) = &f.error {
            anyhow::bail!("{url}: {e}");
        }
    }
    outln!(
        "a dry run into a scratch store: nothing is kept or sent, and the alert and story ids below exist only in it\n"
    );
    outln!("{}\n", report.summary());
    let mut items = store.items()?;
    items.sort_by_key(|i| i.arrival_order());
    for item in &mut items {
        if item.lang.is_none() {
            let text = match store.kept_text(&item.url)? {
                Some(t) => t,
                None => item.text.clone(),
            };
            item.lang = crate::text::lang::detect(&text).map(|l| l.code.to_string());
        }
        let rescore = |id: &str| pipeline.rescore(item, id).ok().flatten();
        outln!(
            "{}",
            crate::report::explain_topics(&store, item, &topics, &rescore)?
        );
    }
    if items.is_empty() {
        outln!("(the feed has no entries)");
    }
    Ok(())
}
