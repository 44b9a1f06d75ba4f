//! An entry's text: the article page (fetch, then extract) when full text is on, else (or when
//! the page gives nothing) the feed's content, else its summary. A page that failed
//! transiently is retried on later cycles before the feed's text is settled for.

use tracing::info;
use url::Url;

use super::Pipeline;
use crate::extract::Article;
use crate::fetch::{FetchError, Kind, Request};
use crate::judge::{Deferred, Text};
use crate::store::{EntryRecord, TextSource};

/// How many times a page fetch that failed transiently is tried (once per cycle) before the
/// item is judged on its feed text.
const PAGE_ATTEMPTS: u32 = 3;

impl Pipeline {
    /// Gets an entry's text (see the module doc), or why it must wait for a later cycle.
    pub(super) async fn obtain_text(&self, rec: &EntryRecord) -> Result<Text, Deferred> {
        let full_text = self
            .feeds
            .config(&self.config, &rec.feed_id)
            .and_then(|f| f.full_text)
            .unwrap_or(self.config.fetch.full_text);
        let link = rec.entry.link.as_deref().and_then(|l| Url::parse(l).ok());
        let mut note = None;
        if let (true, Some(url)) = (full_text, link.as_ref()) {
            let res = self
                .fetcher
                .get(Request {
                    url,
                    kind: Kind::Page,
                    etag: None,
                    last_modified: None,
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
                    note = Some(format!(
                        "page gave no text: {}",
                        article.empty_reason.as_deref().unwrap_or("unknown reason")
                    ));
                }
                Err(e) if is_retryable(&e) && rec.attempts + 1 < PAGE_ATTEMPTS => {
                    return Err(Deferred(e));
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
                        final_url: None,
                    });
                }
            }
        }
        Ok(Text {
            article: Article::default(),
            source: TextSource::None,
            note: Some(note.unwrap_or_else(|| "the feed entry has no text".into())),
            final_url: None,
        })
    }
}

/// A page failure worth another try next cycle (the host may come back).
fn is_retryable(e: &FetchError) -> bool {
    e.is_transient()
}
