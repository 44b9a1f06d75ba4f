//! Processing one stored entry: its text (page or feed), then the judging stages in order —
//! URL identity, relevance, content duplicates, story — and one transaction that records the
//! decision and, for new coverage, the alert and its outbox rows.
//!
//! Texts are fetched concurrently (bounded by the fetcher's limits) but judged one at a time,
//! oldest first: duplicate detection needs each decision to see the ones before it, and an
//! original should be judged before its re-posts.

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn, Instrument};
use url::Url;

use super::dupindex::dup_entry;
use super::{Pipeline, PipelineError};
use crate::dedup::{self, DupVerdict, Origin, Signature};
use crate::extract::Article;
use crate::fetch::{FetchError, Kind, Request};
use crate::store::{
    AlertRecord, Decision, DupEntry, EntryRecord, EntryStatus, ItemCommit, ItemRecord, StoryRecord,
    TextSource,
};

/// How many times a page fetch that failed transiently is retried (once per cycle) before the
/// item is judged on its feed text.
const PAGE_ATTEMPTS: u32 = 3;
/// How many entries' texts are obtained ahead of the judge, in multiples of the fetch
/// concurrency. The fetcher bounds the requests in flight; the margin keeps them all busy
/// while the oldest entry, which the judge waits for, is still being fetched (10,000 feeds:
/// 1.50 cores used instead of 1.45 with a margin of one).
const AHEAD: usize = 4;
/// Decisions that alert nobody are written in groups of at most this many (see [`Unwritten`]).
const GROUP: usize = 128;

/// Decisions judged but not written yet: the ones that alert nobody (off-topic, copies,
/// unreadable, known URLs), written together in one transaction
/// ([`crate::store::Store::commit_decisions`]) once `GROUP` have gathered, before any alert
/// (whose outbox rows must be durable before delivery), and at the end of the pass. One
/// transaction per item cost more than the item's own writes. The judge reads its own
/// unwritten decisions from here first, so it decides exactly as if each had been written.
/// A crash loses the group whole; its entries are still pending and are judged again.
#[derive(Default)]
struct Unwritten {
    /// The processed entries, done.
    entries: Vec<EntryRecord>,
    /// The latest version of each item written: the decided ones, and the originals their
    /// copies were added to.
    items: rustc_hash::FxHashMap<String, ItemRecord>,
    /// The decided texts' index records (already in the in-memory index).
    dups: Vec<DupEntry>,
}

impl Unwritten {
    /// An item by key: an unwritten version, else the stored one.
    fn item(
        &self,
        store: &crate::store::Store,
        key: &str,
    ) -> Result<Option<ItemRecord>, PipelineError> {
        match self.items.get(key) {
            Some(i) => Ok(Some(i.clone())),
            None => Ok(store.item(key)?),
        }
    }

    /// What a doc id is (`seed:NAME` / `item:URL`): an unwritten record's, else the stored one.
    fn doc_key(
        &self,
        store: &crate::store::Store,
        id: u64,
    ) -> Result<Option<String>, PipelineError> {
        match self.dups.iter().rev().find(|d| d.id == id) {
            Some(d) => Ok(Some(d.key.clone())),
            None => Ok(store.doc_key(id)?),
        }
    }
}

/// The text an entry yielded.
struct Obtained {
    article: Article,
    source: TextSource,
    note: Option<String>,
    /// The URL the page was finally fetched from.
    final_url: Option<Url>,
    /// The topic score of the text, computed in the entry's own task (it is pure and the
    /// costliest step of judging, which is sequential).
    relevance: Option<crate::relevance::Relevance>,
    /// The text's duplicate-detection signature, computed there too.
    signature: Option<Signature>,
}

/// What one processing pass decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// New coverage, alerted.
    pub alerts: usize,
    /// Copies of seed articles.
    pub seed_duplicates: usize,
    /// Copies of earlier relevant items (off-topic texts are not checked for copies).
    pub repeats: usize,
    /// Off-topic items.
    pub off_topic: usize,
    /// Items without any text.
    pub unreadable: usize,
    /// Entries whose URL was already an item (cross-posts, tracking variants, updates).
    pub known_url: usize,
    /// Entries left pending after a transient failure.
    pub deferred: usize,
}

impl Tally {
    fn count(&mut self, label: &str) {
        match label {
            "alert" => self.alerts += 1,
            "seed_duplicate" => self.seed_duplicates += 1,
            "repeat" => self.repeats += 1,
            "off_topic" => self.off_topic += 1,
            "unreadable" => self.unreadable += 1,
            _ => self.known_url += 1,
        }
    }

    /// Entries decided.
    pub fn decided(&self) -> usize {
        self.alerts
            + self.seed_duplicates
            + self.repeats
            + self.off_topic
            + self.unreadable
            + self.known_url
    }
}

/// What happened to one entry.
enum Outcome {
    /// Decided and committed.
    Decided(&'static str),
    /// Left pending (a transient page failure); retried next cycle.
    Deferred,
}

impl Pipeline {
    /// Processes every pending entry (new, or changed by its feed, since it was last processed),
    /// oldest first. Returns what was decided.
    pub async fn process_pending(&self) -> Result<Tally, PipelineError> {
        let _one_at_a_time = self.processing.lock().await;
        // Keys only, in order; each record is read when its turn comes, so memory holds the
        // entries in flight, not every pending entry of a large cycle.
        let order = self.store.pending_order()?;
        let mut tally = Tally::default();
        if order.is_empty() {
            return Ok(tally);
        }
        // Fetch and extract texts concurrently, in order; judge sequentially. Each text is
        // obtained in its own task so extraction (CPU) runs on every worker thread, not only
        // on the one polling this stream (profiled: that single thread set the cycle's pace).
        let texts = stream::iter(order.into_iter().map(|key| {
            let me = self.clone();
            async move {
                // Everything that does not depend on earlier decisions happens in the entry's
                // own task (any worker thread): reading its record, fetching and extracting
                // the text, scoring relevance, fingerprinting. The judge, which must see the
                // decisions before it, runs in order on this task.
                let task = tokio::spawn(async move {
                    let rec = match me.store.pending_entry(&key) {
                        Ok(Some(rec)) => rec,
                        Ok(None) => return Ok(None),
                        Err(e) => return Err(e),
                    };
                    let span = tracing::info_span!("item", feed = %rec.feed_id, id = %rec.id);
                    let mut got = me.obtain_text(&rec).instrument(span).await;
                    if let Ok(o) = &mut got {
                        let rel = me
                            .topic
                            .score(&item_title(&rec, &o.article), &o.article.text);
                        // Only a text that could alert is checked for copies (see
                        // `judge_entry`): most of a feed list is off-topic, and its
                        // signature was a sixth of the work per item.
                        if rel.is_relevant(me.min_score) {
                            o.signature = Some(Signature::from_text(&o.article.text));
                        }
                        o.relevance = Some(rel);
                    }
                    Ok(Some((rec, got)))
                });
                task.await
            }
        }))
        .buffered(AHEAD * self.config.fetch.concurrency.max(1));
        tokio::pin!(texts);
        let mut unwritten = Unwritten::default();
        while let Some(joined) = texts.next().await {
            let (rec, got) = match joined {
                Ok(Ok(Some(pair))) => pair,
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => return Err(e.into()),
                Err(e) => {
                    // The entry stays pending (its record was moved into the failed task);
                    // the next cycle tries it again.
                    warn!(error = %e, "text task failed");
                    tally.deferred += 1;
                    continue;
                }
            };
            let span = tracing::info_span!("item", feed = %rec.feed_id, id = %rec.id);
            let _g = span.enter();
            match self.judge_entry(rec, got, &mut unwritten)? {
                Outcome::Decided(label) => tally.count(label),
                Outcome::Deferred => tally.deferred += 1,
            }
            if unwritten.entries.len() >= GROUP {
                self.write_decisions(&mut unwritten)?;
            }
        }
        self.write_decisions(&mut unwritten)?;
        if let Err(e) = self
            .store
            .put_meta("extract_templates", &self.extractor.templates_state())
        {
            warn!(error = %e, "could not save learned site templates");
        }
        if tally.alerts > 0 {
            self.delivery_wake.notify_one();
        }
        Ok(tally)
    }

    /// Gets an entry's text: the article page when full text is on, else (or when the page
    /// gives nothing) the feed's content, else its summary. `Err` means "try again later".
    async fn obtain_text(&self, rec: &EntryRecord) -> Result<Obtained, String> {
        let feed = self.feed_config(&rec.feed_id);
        let full_text = feed
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
                    let art = self.extractor.extract_page(
                        &resp.body,
                        resp.content_type.as_deref(),
                        Some(&resp.final_url),
                    );
                    self.metrics.observe_extract(started.elapsed());
                    if !art.text.trim().is_empty() {
                        return Ok(Obtained {
                            article: art,
                            source: TextSource::Page,
                            note: None,
                            final_url: Some(resp.final_url),
                            relevance: None,
                            signature: None,
                        });
                    }
                    note = Some(format!(
                        "page gave no text: {}",
                        art.empty_reason.as_deref().unwrap_or("unknown reason")
                    ));
                }
                Err(e) if is_retryable_page_error(&e) && rec.attempts + 1 < PAGE_ATTEMPTS => {
                    return Err(format!("page fetch failed: {e}"));
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
                let art = self.extractor.extract_fragment(h, link.as_ref());
                if !art.text.trim().is_empty() {
                    return Ok(Obtained {
                        article: art,
                        source,
                        note,
                        final_url: None,
                        relevance: None,
                        signature: None,
                    });
                }
            }
        }
        Ok(Obtained {
            article: Article::default(),
            source: TextSource::None,
            note: Some(note.unwrap_or_else(|| "the feed entry has no text".into())),
            final_url: None,
            relevance: None,
            signature: None,
        })
    }

    fn judge_entry(
        &self,
        mut rec: EntryRecord,
        got: Result<Obtained, String>,
        unwritten: &mut Unwritten,
    ) -> Result<Outcome, PipelineError> {
        let mut got = match got {
            Ok(g) => g,
            Err(why) => {
                rec.attempts += 1;
                rec.note = Some(why.clone());
                self.store.put_entry(&rec)?;
                warn!(reason = %why, attempt = rec.attempts, "deferred to the next cycle");
                return Ok(Outcome::Deferred);
            }
        };
        let now = Utc::now();
        let source = self.source_name(&rec.feed_id);
        let link = rec.entry.link.clone();
        let fetched = link.as_deref().and_then(|l| Url::parse(l).ok());
        // 1. URL identity: the canonical URL of the link, or the page's declared canonical.
        let link_canon = fetched.as_ref().map(dedup::url::canonicalize);
        let page_url = got.final_url.clone().or_else(|| fetched.clone());
        let declared = page_url
            .as_ref()
            .map(|p| dedup::url::prefer_declared(p, got.article.canonical_url.as_deref()));
        let key = declared
            .as_ref()
            .or(link_canon.as_ref())
            .map(|u| u.to_string())
            .unwrap_or_else(|| format!("urn:wirewatch:{}:{}", rec.feed_id, rec.id));
        rec.status = EntryStatus::Done;
        rec.note = got.note.clone();

        let mut seen_under: Vec<String> = Vec::new();
        for u in [link.clone(), link_canon.as_ref().map(|u| u.to_string())]
            .into_iter()
            .flatten()
        {
            if !seen_under.contains(&u) {
                seen_under.push(u);
            }
        }
        // The same article under a URL we already know (its own, or one it declares canonical).
        let known = [
            Some(key.clone()),
            link_canon.as_ref().map(|u| u.to_string()),
        ]
        .into_iter()
        .flatten()
        .find_map(|k| unwritten.item(&self.store, &k).transpose())
        .transpose()?;
        if let Some(item) = known {
            return self.known_url(rec, item, got, seen_under, &source, unwritten);
        }

        let precomputed = got.relevance.take();
        let title = item_title(&rec, &got.article);
        let text = got.article.text.clone();
        let published = rec.entry.published.or_else(|| {
            got.article
                .published
                .as_deref()
                .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
                .map(|d| d.with_timezone(&Utc))
        });
        let doc_id = doc_id_of(&format!("item:{key}"));
        let mut item = ItemRecord {
            url: key.clone(),
            doc_id,
            links: seen_under,
            feeds: vec![rec.feed_id.clone()],
            source: source.clone(),
            title: title.clone(),
            byline: got.article.byline.clone(),
            published,
            first_seen: rec.first_seen,
            decided_at: now,
            revisions: 0,
            text_source: got.source,
            text_note: got.note.clone(),
            // The text itself is kept for alerted items only (below): for the rest (most of
            // any feed list) it was most of the bytes written per item, and only its length
            // is ever shown again.
            text: String::new(),
            words: text.split_whitespace().count() as u32,
            decision: Decision::Unreadable {
                reason: String::new(),
            },
            duplicates: Vec::new(),
        };
        if text.trim().is_empty() {
            item.decision = Decision::Unreadable {
                reason: got.note.unwrap_or_else(|| "no text".into()),
            };
            self.stage(unwritten, rec, item, None, None);
            info!(url = %key, "unreadable; no alert");
            return Ok(Outcome::Decided("unreadable"));
        }

        // 2. Relevance. Judged before content duplicates, and an off-topic text is not
        // indexed: the index exists to stop a second alert for the same article, and an
        // off-topic text never alerted. Its copies are off-topic in their turn (the score is
        // a function of title and text), and a copy that scores on topic where its original
        // did not alerts as the first relevant version. Most of any feed list is off-topic, so
        // this keeps the index (memory, a record written per text) to the texts that matter.
        let rel = match precomputed {
            Some(r) => r,
            None => self.topic.score(&title, &text),
        };
        let terms: Vec<(String, f32)> = rel.terms.iter().take(12).cloned().collect();
        if !rel.is_relevant(self.min_score) {
            item.decision = Decision::OffTopic {
                score: rel.score,
                threshold: self.min_score,
                terms,
                query: rel.query,
            };
            self.stage(unwritten, rec, item, None, None);
            info!(url = %key, score = rel.score, "off-topic; no alert");
            return Ok(Outcome::Decided("off_topic"));
        }

        // 3. Content duplicates.
        let sig = got
            .signature
            .take()
            .unwrap_or_else(|| Signature::from_text(&text));
        let verdict = self
            .dup_index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .judge(
                &self.store,
                &unwritten.dups,
                &sig,
                Some(doc_id),
                &self.dup_params,
            )?;
        let dup_entry = dup_entry(doc_id, format!("item:{key}"), &sig, Origin::Item);
        if let DupVerdict::Duplicate {
            of,
            origin,
            similarity,
            contained,
            exact,
            ..
        } = verdict
        {
            let target = unwritten.doc_key(&self.store, of)?.unwrap_or_default();
            match origin {
                Origin::Seed => {
                    item.decision = Decision::SeedDuplicate {
                        seed: target.strip_prefix("seed:").unwrap_or(&target).to_string(),
                        similarity,
                        contained,
                        exact,
                    };
                    self.stage(unwritten, rec, item, Some((dup_entry, &sig)), None);
                    info!(url = %key, seed = %target, similarity, "copy of a seed; no alert");
                    return Ok(Outcome::Decided("seed_duplicate"));
                }
                Origin::Item => {
                    let of_url = target.strip_prefix("item:").unwrap_or(&target).to_string();
                    item.decision = Decision::Repeat {
                        of: of_url.clone(),
                        reason: if exact {
                            "identical text".into()
                        } else {
                            format!("near-identical text ({:.0}% contained)", contained * 100.0)
                        },
                        similarity,
                    };
                    let original = unwritten.item(&self.store, &of_url)?.map(|mut o| {
                        if !o.duplicates.contains(&key) {
                            o.duplicates.push(key.clone());
                        }
                        o
                    });
                    self.stage(unwritten, rec, item, Some((dup_entry, &sig)), original);
                    info!(url = %key, of = %of_url, similarity, "repeat of an earlier item; no alert");
                    return Ok(Outcome::Decided("repeat"));
                }
            }
        }

        // 4. Story. What was judged before is written first: the story and alert are
        // written (and the alert delivered) at once, and read the store.
        self.write_decisions(unwritten)?;
        let ts = published.unwrap_or(now).timestamp();
        let (assignment, summary) = {
            let mut stories = match self.stories.lock() {
                Ok(s) => s,
                Err(p) => p.into_inner(),
            };
            let a = stories.assign(&key, &title, &text, ts);
            let summary = stories
                .stories()
                .iter()
                .find(|s| s.id == a.story_id)
                .cloned();
            (a, summary)
        };
        let mut story = self
            .store
            .story(&assignment.story_id)?
            .unwrap_or(StoryRecord {
                id: assignment.story_id.clone(),
                title: assignment.story_title.clone(),
                first_seen: now,
                last_seen: now,
                items: Vec::new(),
                summary: serde_json::Value::Null,
            });
        story.last_seen = now;
        if !story.items.contains(&key) {
            story.items.push(key.clone());
        }
        if let Some(s) = summary {
            story.summary = serde_json::to_value(s).unwrap_or_default();
        }

        // 5. Alert.
        let alert = AlertRecord {
            id: alert_id(&key, now),
            created: now,
            url: key.clone(),
            title: title.clone(),
            source: source.clone(),
            published,
            story: story.id.clone(),
            story_title: story.title.clone(),
            new_story: assignment.new_story,
            score: rel.score,
            excerpt: excerpt(&text, crate::notify::EXCERPT_CHARS),
            duplicates: Vec::new(),
        };
        item.text = text.clone();
        item.decision = Decision::Alert {
            alert: alert.id.clone(),
            story: story.id.clone(),
            story_title: story.title.clone(),
            new_story: assignment.new_story,
            score: rel.score,
            terms,
        };
        self.commit_alert(&rec, &item, (&dup_entry, &sig), &story, &alert)?;
        info!(
            url = %key,
            score = rel.score,
            story = %story.id,
            new_story = assignment.new_story,
            "ALERT"
        );
        Ok(Outcome::Decided("alert"))
    }

    /// An entry whose URL is already an item: a cross-post, a tracking variant, or the feed
    /// updating the article in place. Never a second alert for the same article.
    fn known_url(
        &self,
        rec: EntryRecord,
        mut item: ItemRecord,
        got: Obtained,
        seen_under: Vec<String>,
        source: &str,
        unwritten: &mut Unwritten,
    ) -> Result<Outcome, PipelineError> {
        for u in seen_under {
            if !item.links.contains(&u) {
                item.links.push(u);
            }
        }
        let same_feed = item.feeds.contains(&rec.feed_id);
        if !same_feed {
            item.feeds.push(rec.feed_id.clone());
        }
        if rec.revisions > 0 && same_feed {
            item.revisions += 1;
            if !got.article.text.trim().is_empty() {
                item.text = got.article.text.clone();
            }
            debug!(url = %item.url, revisions = item.revisions, "in-place update of a known item; no second alert");
        } else {
            debug!(url = %item.url, from = %source, "already known under this URL (cross-post or variant); no alert");
        }
        self.stage(unwritten, rec, item, None, None);
        Ok(Outcome::Decided("known_url"))
    }

    /// Adds a decision that alerts nobody to the unwritten group; its text joins the
    /// in-memory duplicate index at once.
    fn stage(
        &self,
        unwritten: &mut Unwritten,
        rec: EntryRecord,
        item: ItemRecord,
        dup: Option<(DupEntry, &Signature)>,
        original: Option<ItemRecord>,
    ) {
        if let Some((d, sig)) = dup {
            self.dup_index
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(d.id, sig);
            unwritten.dups.push(d);
        }
        if let Some(o) = original {
            unwritten.items.insert(o.url.clone(), o);
        }
        self.metrics.count_decision(item.decision.label());
        unwritten.items.insert(item.url.clone(), item);
        unwritten.entries.push(rec);
    }

    /// Writes the unwritten group (see [`Unwritten`]).
    fn write_decisions(&self, unwritten: &mut Unwritten) -> Result<(), PipelineError> {
        if unwritten.entries.is_empty() && unwritten.items.is_empty() {
            return Ok(());
        }
        let items: Vec<&ItemRecord> = unwritten.items.values().collect();
        self.store
            .commit_decisions(&unwritten.entries, &items, &unwritten.dups)?;
        *unwritten = Unwritten::default();
        Ok(())
    }

    /// Writes an alert at once, with its item, story and outbox rows, in one transaction (the
    /// unwritten group went first).
    fn commit_alert(
        &self,
        rec: &EntryRecord,
        item: &ItemRecord,
        (dup, sig): (&DupEntry, &Signature),
        story: &StoryRecord,
        alert: &AlertRecord,
    ) -> Result<(), PipelineError> {
        let endpoints = crate::notify::outbox::route(alert, &self.endpoints);
        self.store.commit_item(&ItemCommit {
            entry: Some(rec),
            item,
            dup: Some(dup),
            story: Some(story),
            alert: Some(alert),
            endpoints: &endpoints,
        })?;
        self.dup_index
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dup.id, sig);
        self.metrics.count_decision(item.decision.label());
        Ok(())
    }
}

/// A page failure worth another try next cycle (the host may come back).
fn is_retryable_page_error(e: &FetchError) -> bool {
    e.is_transient()
}

/// A stable doc id for an item or seed key ("item:URL" / "seed:NAME" hashed).
pub fn doc_id_of(key: &str) -> u64 {
    let d = Sha256::digest(key.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
}

fn alert_id(url: &str, now: DateTime<Utc>) -> String {
    let d = Sha256::digest(format!("{url}|{}", now.timestamp_micros()).as_bytes());
    format!("al_{}", hex::encode(&d[..10]))
}

fn item_title(rec: &EntryRecord, art: &Article) -> String {
    rec.entry
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or_else(|| art.title.clone())
        .unwrap_or_else(|| "(untitled)".into())
}

/// The first `max` characters of a text, cut at a word boundary, with an ellipsis.
pub fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    let end = cut.rfind(' ').unwrap_or(cut.len());
    format!(
        "{}…",
        cut[..end].trim_end_matches([',', ';', ':', '.', ' '])
    )
}
