//! An entry's text: the article page (fetch, then extract) when full text is on, else (or when
//! the page gives nothing) the feed's content, else its summary. A page that failed
//! transiently is retried on later cycles before the feed's text is settled for.
//!
//! A Google News link whose id names the article only to Google
//! ([`crate::parse::aggregator`]) is looked up first (two requests to Google, under the
//! fetcher's per-host limits; the answer is remembered); when that fails the item is judged on
//! the feed's text rather than on Google's page.

use tracing::{debug, info};
use url::Url;

use super::Pipeline;
use crate::extract::Article;
use crate::fetch::{FetchError, Kind, Request};
use crate::judge::{Attempt, Deferred, Text};
use crate::parse::aggregator::{self, Aggregated};
use crate::store::{EntryRecord, TextSource};

/// How many times a page fetch that failed transiently is tried before the item is judged on
/// its feed text.
const PAGE_ATTEMPTS: u32 = 4;

/// The wait before a page that failed transiently is tried again: [`crate::backoff`] from
/// 30 s (30 s, 1 min, 2 min: about three and a half minutes in all, ±20 %), or the host's
/// `Retry-After` when longer (at most 15 min). Passes come every few seconds in a busy daemon,
/// so "the next pass" alone would spend the attempts on one short outage of the publisher's
/// site and judge the item on its feed's summary.
fn page_retry_delay(
    attempts: u32,
    retry_after: Option<std::time::Duration>,
) -> std::time::Duration {
    use std::time::Duration;
    let wait = crate::backoff::backoff(Duration::from_secs(30), attempts, Duration::from_secs(240));
    wait.max(
        retry_after
            .unwrap_or_default()
            .min(Duration::from_secs(900)),
    )
}

impl Pipeline {
    /// Gets an entry's text (see the module doc), or why it must wait for a later cycle.
    pub(super) async fn obtain_text(&self, rec: &EntryRecord) -> Result<Text, Deferred> {
        let full_text = self
            .feeds
            .config(&self.config, &rec.feed_id)
            .and_then(|f| f.full_text)
            .unwrap_or(self.config.fetch.full_text);
        let mut link = rec.entry.link.as_deref().and_then(|l| Url::parse(l).ok());
        let mut note = None;
        // The publisher's URL behind a Google News link, when a lookup found it.
        let mut resolved = None;
        if let Some(Aggregated::GoogleLookup(id)) = link.as_ref().and_then(aggregator::aggregated) {
            match self.google_lookup(&id).await {
                Ok(u) => {
                    debug!(url = %u, "Google News link resolved");
                    resolved = Some(u.clone());
                    link = Some(u);
                }
                // Google busy or unreachable (a 429, a 5xx, a timeout): the lookup is tried
                // again like a page, rather than the item judged on a headline at once.
                Err(LookupFailed(_, Some(e))) if worth_waiting_for(&e, rec, Attempt::Lookup) => {
                    return Err(defer(e, rec, Attempt::Lookup));
                }
                Err(LookupFailed(why, _)) => {
                    info!(%why, "Google News link not resolved; judging the feed's text");
                    note = Some(format!("Google News link not resolved: {why}"));
                    link = None;
                }
            }
        }
        if let (true, Some(url)) = (full_text, link.as_ref()) {
            let res = self
                .fetcher
                .get(Request {
                    url,
                    kind: Kind::Page,
                    etag: None,
                    last_modified: None,
                    form: None,
                    validators_for: None,
                })
                .await;
            match res {
                Ok(resp) => {
                    let started = std::time::Instant::now();
                    let article = self.extractor.extract_page(
                        &resp.body,
                        resp.content_type.as_deref(),
                        Some(&resp.final_url),
                    );
                    self.metrics.observe_extract(started.elapsed());
                    if !article.text.trim().is_empty() {
                        return Ok(Text {
                            article,
                            source: TextSource::Page,
                            note: None,
                            final_url: Some(resp.final_url),
                        });
                    }
                    note = Some(match article.empty_reason.as_deref() {
                        Some(wall) if wall.starts_with("page was ") => wall.to_string(),
                        reason => {
                            format!("page gave no text: {}", reason.unwrap_or("unknown reason"))
                        }
                    });
                }
                Err(e) if worth_waiting_for(&e, rec, Attempt::Page) => {
                    return Err(defer(e, rec, Attempt::Page));
                }
                Err(e) => note = Some(format!("page fetch failed: {e}")),
            }
            if let Some(n) = &note {
                info!(note = %n, "falling back to the feed's text");
            }
        }
        let e = &rec.entry;
        for (html, source) in [
            (e.content_html.as_deref(), TextSource::FeedContent),
            (e.summary.as_deref(), TextSource::FeedSummary),
        ] {
            if let Some(h) = html.filter(|h| !h.trim().is_empty()) {
                let article = self.extractor.extract_fragment(h, link.as_ref());
                if !article.text.trim().is_empty() {
                    return Ok(Text {
                        article,
                        source,
                        note,
                        final_url: resolved,
                    });
                }
            }
        }
        Ok(Text {
            article: Article::default(),
            source: TextSource::None,
            note: Some(note.unwrap_or_else(|| "the feed entry has no text".into())),
            final_url: resolved,
        })
    }

    /// The publisher's URL of a Google News article id that only Google resolves: its
    /// article page gives a signature and a timestamp, which a batch RPC exchanges for the
    /// URL ([`aggregator::google_lookup_form`]). Remembered for the life of the process.
    async fn google_lookup(&self, id: &str) -> Result<Url, LookupFailed> {
        if let Some(u) = self
            .google_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            return Ok(u.clone());
        }
        let base = self
            .config
            .fetch
            .google_news_endpoint()
            .ok_or_else(|| LookupFailed::why("lookups are off ([fetch] google_news)"))?;
        let join = |path: &str| {
            base.join(path)
                .map_err(|e| LookupFailed::why(format!("{base}{path}: {e}")))
        };
        let page_url = join(&format!("rss/articles/{id}"))?;
        let page = self
            .fetcher
            .get(Request {
                url: &page_url,
                kind: Kind::Page,
                etag: None,
                last_modified: None,
                form: None,
                validators_for: None,
            })
            .await
            .map_err(|e| LookupFailed(format!("article page: {e}"), Some(e)))?;
        let (sg, ts) = aggregator::google_lookup_params(&String::from_utf8_lossy(&page.body))
            .ok_or_else(|| LookupFailed::why("Google's article page has no lookup parameters"))?;
        let rpc = join("_/DotsSplashUi/data/batchexecute")?;
        let form = aggregator::google_lookup_form(id, &ts, &sg);
        let answer = self
            .fetcher
            .get(Request {
                url: &rpc,
                kind: Kind::Page,
                etag: None,
                last_modified: None,
                form: Some(&form),
                validators_for: None,
            })
            .await
            .map_err(|e| LookupFailed(format!("lookup: {e}"), Some(e)))?;
        let url = aggregator::google_lookup_answer(&String::from_utf8_lossy(&answer.body))
            .ok_or_else(|| LookupFailed::why("Google's answer names no article"))?;
        let mut ids = self.google_ids.lock().unwrap_or_else(|p| p.into_inner());
        if ids.len() >= GOOGLE_IDS_REMEMBERED {
            ids.clear();
        }
        ids.insert(id.to_string(), url.clone());
        Ok(url)
    }
}

/// Why a Google News lookup found no URL, with the fetch error when a request failed (a
/// transient one defers the entry).
struct LookupFailed(String, Option<FetchError>);

impl LookupFailed {
    fn why(why: impl Into<String>) -> LookupFailed {
        LookupFailed(why.into(), None)
    }
}

/// How many Google News lookups are remembered (then forgotten all at once: an entry is
/// looked up again only when its feed changes it).
const GOOGLE_IDS_REMEMBERED: usize = 10_000;

/// How long an entry waits for its host's pauses without spending attempts, from when it
/// was first stored (not from its last change: a feed that changes an entry at every poll
/// must not extend the wait): past the longest pause a host can ask for (an hour), a host
/// that keeps pausing this process costs attempts like any failure, and the item is judged
/// on its feed text rather than waiting for the host for days.
const PAUSED_WAIT_MAX: chrono::Duration = chrono::Duration::hours(2);

/// Whether a failed page fetch or Google lookup (`budget`: each has its own attempts) is
/// worth another try later (the host may come back): a transient failure with attempts
/// left, or a request never made because its host asked this process to pause (within
/// [`PAUSED_WAIT_MAX`] that spends no attempt, so a long pause ends with the page fetched,
/// not with the item judged on its feed text).
fn worth_waiting_for(e: &FetchError, rec: &EntryRecord, budget: Attempt) -> bool {
    paused_for_free(e, rec) || (e.is_transient() && spent(rec, budget) + 1 < PAGE_ATTEMPTS)
}

/// The attempts an entry has spent of a budget.
fn spent(rec: &EntryRecord, budget: Attempt) -> u32 {
    match budget {
        Attempt::Lookup => rec.lookup_attempts,
        Attempt::Page | Attempt::Free => rec.attempts,
    }
}

/// A request not made because its host is paused, for an entry still within
/// [`PAUSED_WAIT_MAX`].
fn paused_for_free(e: &FetchError, rec: &EntryRecord) -> bool {
    matches!(e, FetchError::HostPaused { .. })
        && chrono::Utc::now() - rec.first_seen < PAUSED_WAIT_MAX
}

/// The entry put off after a failure [`worth_waiting_for`]: until its host's pause is over
/// (a second more), else by [`page_retry_delay`].
fn defer(e: FetchError, rec: &EntryRecord, budget: Attempt) -> Deferred {
    if paused_for_free(&e, rec) {
        let wait = e.retry_after().unwrap_or_default() + std::time::Duration::from_secs(1);
        return Deferred(e, wait, Attempt::Free);
    }
    let wait = page_retry_delay(spent(rec, budget) + 1, e.retry_after());
    Deferred(e, wait, budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A paused host's request costs an entry no attempt for [`PAUSED_WAIT_MAX`] after it
    /// was stored; then it does, like any failure, so a host that keeps pausing this process
    /// cannot hold an entry for days; and the wait is the pause's.
    #[test]
    fn a_paused_host_is_waited_for_free_only_so_long() {
        let paused = || FetchError::HostPaused {
            host: "example.org".into(),
            retry_after: std::time::Duration::from_secs(600),
        };
        let entry = crate::parse::Entry::default();
        let now = chrono::Utc::now();
        let (mut rec, _) =
            crate::store::records::upserted(None, "f", "e", &entry, now).expect("new entry");
        rec.attempts = PAGE_ATTEMPTS - 1;
        assert!(
            worth_waiting_for(&paused(), &rec, Attempt::Page),
            "attempts do not matter"
        );
        let d = defer(paused(), &rec, Attempt::Page);
        assert_eq!(d.2, Attempt::Free);
        assert_eq!(d.1, std::time::Duration::from_secs(601));
        rec.first_seen = now - PAUSED_WAIT_MAX - chrono::Duration::minutes(1);
        assert!(
            !worth_waiting_for(&paused(), &rec, Attempt::Page),
            "its attempts are spent"
        );
        rec.attempts = 0;
        assert_eq!(defer(paused(), &rec, Attempt::Page).2, Attempt::Page);
    }

    /// The Google News lookup and the page it finds have an attempt budget each: a lookup
    /// Google was busy for three times leaves the page its four tries.
    #[test]
    fn a_lookup_and_its_page_have_their_own_attempts() {
        let busy = || FetchError::Status {
            status: 503,
            retry_after: None,
        };
        let entry = crate::parse::Entry::default();
        let (mut rec, _) =
            crate::store::records::upserted(None, "f", "e", &entry, chrono::Utc::now())
                .expect("new entry");
        rec.lookup_attempts = PAGE_ATTEMPTS - 1;
        assert!(
            !worth_waiting_for(&busy(), &rec, Attempt::Lookup),
            "lookup spent"
        );
        assert!(
            worth_waiting_for(&busy(), &rec, Attempt::Page),
            "the page has its own"
        );
        assert_eq!(defer(busy(), &rec, Attempt::Page).2, Attempt::Page);
        rec.attempts = PAGE_ATTEMPTS - 1;
        assert!(!worth_waiting_for(&busy(), &rec, Attempt::Page));
    }
}
