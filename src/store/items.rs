//! Item, decision, story, alert and delivery records (the judged half of the store).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an item's text came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSource {
    /// The fetched article page.
    Page,
    /// The full content embedded in the feed.
    FeedContent,
    /// Only the feed's summary.
    FeedSummary,
    /// No text at all.
    #[default]
    None,
}

/// A weighted term behind a relevance score.
pub type TermWeight = (String, f32);

/// What a relevance judgement rested on, beyond its score and terms (shown by `explain`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Grounds {
    /// Mean window strength: how much of the text reads like the seeds.
    pub density: f32,
    /// Name coverage: the event's protagonists and other names present.
    pub coverage: f32,
    /// The topic's names the text uses, protagonists first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Every protagonist named.
    pub protagonists: bool,
    /// Terms and names among those that the topic learned from its alerts or its reader.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub learned: Vec<String>,
    /// A near miss that alerted because it reports a story already alerted on: (story id,
    /// story title, similarity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rescued_by: Option<(String, String, f32)>,
    /// Why the item joined or started its story.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub story: Option<String>,
    /// The reader's mark, when it moved the score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    /// The relevance stage's note (too short, cut, another language, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Why an item that scored enough was held back: the texts most like it were judged
    /// off-topic (see `judge::neighbours`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_back: Option<String>,
}

impl Grounds {
    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        *self == Grounds::default()
    }
}

/// What the pipeline decided about an item, with its reasons (shown by `explain`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    /// A copy of a seed article.
    SeedDuplicate {
        /// The seed's file name.
        seed: String,
        /// Estimated Jaccard similarity.
        similarity: f32,
        /// Share of this text found in the seed.
        contained: f32,
        /// Share of the seed's text found in this one (None in records from before it was
        /// kept).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contains: Option<f32>,
        /// True for an identical normalised text.
        exact: bool,
    },
    /// A copy of an earlier item, or the same article under another URL.
    Repeat {
        /// The earlier item's canonical URL.
        of: String,
        /// How it was recognised.
        reason: String,
        /// Estimated Jaccard similarity (1 for a URL match).
        similarity: f32,
    },
    /// Not about the topic. For a text far below the threshold (not a near miss) only the
    /// score and the relevance stage's note are kept: most of a feed list is such texts, and
    /// a daemon with many topics stores one decision per topic for each.
    OffTopic {
        /// The relevance score.
        score: f32,
        /// The threshold it missed.
        threshold: f32,
        /// The terms behind the score.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        terms: Vec<TermWeight>,
        /// Whether the configured boolean query matched (None: no query).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<bool>,
        /// What the score rested on.
        #[serde(default, skip_serializing_if = "Grounds::is_empty")]
        grounds: Grounds,
    },
    /// New coverage: alerted.
    Alert {
        /// The alert's id.
        alert: String,
        /// The story it belongs to.
        story: String,
        /// The story's title.
        story_title: String,
        /// First item of its story.
        new_story: bool,
        /// The relevance score.
        score: f32,
        /// The terms behind the score.
        terms: Vec<TermWeight>,
        /// What the score and the story rested on.
        #[serde(default)]
        grounds: Grounds,
    },
    /// No text could be had (page and feed both empty): nothing to judge.
    Unreadable {
        /// Why.
        reason: String,
    },
    /// In a language the topic does not follow (`[topic] languages`): not scored.
    OtherLanguage {
        /// The text's language (ISO 639-1 where there is one).
        lang: String,
    },
}

impl Decision {
    /// A short label: `seed_duplicate`, `repeat`, `off_topic`, `alert`, `unreadable`.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::SeedDuplicate { .. } => "seed_duplicate",
            Decision::Repeat { .. } => "repeat",
            Decision::OffTopic { .. } => "off_topic",
            Decision::Alert { .. } => "alert",
            Decision::Unreadable { .. } => "unreadable",
            Decision::OtherLanguage { .. } => "other_language",
        }
    }
}

/// One article, keyed by its canonical URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// Canonical URL (the key).
    pub url: String,
    /// Its id in the duplicate index.
    pub doc_id: u64,
    /// Every URL it was seen under.
    #[serde(default)]
    pub links: Vec<String>,
    /// Ids of the feeds that listed it.
    #[serde(default)]
    pub feeds: Vec<String>,
    /// Display name of the feed it was first seen in.
    pub source: String,
    /// Headline.
    pub title: String,
    /// Byline, when the page gave one.
    #[serde(default)]
    pub byline: Option<String>,
    /// Publication time (feed or page).
    #[serde(default)]
    pub published: Option<DateTime<Utc>>,
    /// When it was first seen.
    pub first_seen: DateTime<Utc>,
    /// When it was last decided.
    pub decided_at: DateTime<Utc>,
    /// In-place updates seen since the first decision.
    #[serde(default)]
    pub revisions: u32,
    /// Where the text came from.
    #[serde(default)]
    pub text_source: TextSource,
    /// Why the page text was not used, when it was not.
    #[serde(default)]
    pub text_note: Option<String>,
    /// The clean article text; kept for alerted items only (empty otherwise).
    #[serde(default)]
    pub text: String,
    /// Words in the clean text (0 in records written before this was kept: count `text`).
    #[serde(default)]
    pub words: u32,
    /// The text's language, when it could be told ([`crate::text::lang`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The decision for each topic that judged it, with its reasons, by topic id. Stored
    /// compactly ([`decisions_codec`]): a daemon with many topics keeps one per topic.
    #[serde(default, with = "decisions_codec")]
    pub decisions: std::collections::BTreeMap<String, Decision>,
    /// The one decision a store of a single-topic version kept; moved into `decisions` (under
    /// that topic's id) when such a store is first opened with a config
    /// ([`crate::store::adopt_single_topic`]).
    #[serde(default, rename = "decision", skip_serializing)]
    pub legacy_decision: Option<Decision>,
    /// Later copies of this item (canonical URLs), for alerts and `explain`.
    #[serde(default)]
    pub duplicates: Vec<String>,
}

/// How an item's decisions are stored: a decision far below the threshold (no terms, no
/// grounds: see [`Decision::OffTopic`]) as the pair `[score, threshold]`, every other one as
/// itself. Most of any feed list is far off-topic for every topic, so with ten topics this
/// was most of an item record's bytes.
mod decisions_codec {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Decision, Grounds};

    #[derive(Serialize)]
    #[serde(untagged)]
    enum Out<'a> {
        Far(f32, f32),
        Full(&'a Decision),
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum In {
        Far(f32, f32),
        Full(Box<Decision>),
    }

    /// A score to three decimals: what `explain` shows of a far-off-topic one.
    fn round(x: f32) -> f32 {
        (x * 1000.0).round() / 1000.0
    }

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<String, Decision>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(m.iter().map(|(k, d)| {
            let out = match d {
                Decision::OffTopic {
                    score,
                    threshold,
                    terms,
                    query: None,
                    grounds,
                } if terms.is_empty() && grounds.is_empty() => Out::Far(round(*score), *threshold),
                d => Out::Full(d),
            };
            (k, out)
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Decision>, D::Error> {
        let m: BTreeMap<String, In> = BTreeMap::deserialize(d)?;
        Ok(m.into_iter()
            .map(|(k, v)| {
                let d = match v {
                    In::Far(score, threshold) => Decision::OffTopic {
                        score,
                        threshold,
                        terms: Vec::new(),
                        query: None,
                        grounds: Grounds::default(),
                    },
                    In::Full(d) => *d,
                };
                (k, d)
            })
            .collect())
    }
}

impl ItemRecord {
    /// The order items are judged in: by publication (when the feed gives one), then by when
    /// they were first seen.
    pub fn arrival_order(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.published.unwrap_or(self.first_seen), self.first_seen)
    }

    /// The decision for a topic, if that topic judged it.
    pub fn decision(&self, topic: &str) -> Option<&Decision> {
        self.decisions.get(topic)
    }

    /// The decision of the first topic (by id) that judged it: what a view of one topic
    /// shows (tests, single-topic tools).
    pub fn first_decision(&self) -> Option<&Decision> {
        self.all_decisions().next()
    }

    /// Every decision it has (for any topic).
    pub fn all_decisions(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.values().chain(self.legacy_decision.iter())
    }

    /// Whether some topic alerted on it.
    pub fn alerted(&self) -> bool {
        self.all_decisions()
            .any(|d| matches!(d, Decision::Alert { .. }))
    }
}

/// A story: relevant items grouped by sub-event, within one topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoryRecord {
    /// Stable id.
    pub id: String,
    /// The topic's id (empty in stores of single-topic versions, until adopted).
    #[serde(default)]
    pub topic: String,
    /// Title (its first item's headline).
    pub title: String,
    /// When its first item was seen.
    pub first_seen: DateTime<Utc>,
    /// When its last item was seen.
    pub last_seen: DateTime<Utc>,
    /// Canonical URLs of its items, in order of arrival.
    pub items: Vec<String>,
    /// The clusterer's compact summary (opaque to the store).
    #[serde(default)]
    pub summary: serde_json::Value,
}

/// An alert as decided: what every notifier renders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// Unique id, sent as `X-Wirewatch-Delivery`.
    pub id: String,
    /// The topic's id (empty in stores of single-topic versions, until adopted).
    #[serde(default)]
    pub topic: String,
    /// The topic's name, as it was when the alert was decided.
    #[serde(default)]
    pub topic_name: String,
    /// When it was decided.
    pub created: DateTime<Utc>,
    /// The article's canonical URL.
    pub url: String,
    /// Headline.
    pub title: String,
    /// The outlet (feed name).
    pub source: String,
    /// Publication time.
    pub published: Option<DateTime<Utc>>,
    /// Story id.
    pub story: String,
    /// Story title.
    pub story_title: String,
    /// First item of its story.
    pub new_story: bool,
    /// Relevance score.
    pub score: f32,
    /// A short excerpt of the text.
    pub excerpt: String,
    /// Known copies (URLs) at the time of the alert.
    #[serde(default)]
    pub duplicates: Vec<String>,
}

#[cfg(test)]
impl AlertRecord {
    /// An alert of `topic` for tests: story "s1", score 0.9, titled by its id.
    pub(crate) fn for_test(
        id: &str,
        topic: &str,
        url: &str,
        created: DateTime<Utc>,
    ) -> AlertRecord {
        AlertRecord {
            id: id.into(),
            topic: topic.into(),
            topic_name: "T".into(),
            created,
            url: url.into(),
            title: id.into(),
            source: "s".into(),
            published: None,
            story: "s1".into(),
            story_title: "A story".into(),
            new_story: true,
            score: 0.9,
            excerpt: "x".into(),
            duplicates: Vec::new(),
        }
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting to be (re)tried.
    #[default]
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up: a permanent error or too old.
    Dead,
}

/// One alert's delivery to one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The alert.
    pub alert: String,
    /// The endpoint's id (see the notify stage).
    pub endpoint: String,
    /// When the alert was created (orders deliveries per endpoint).
    pub created: DateTime<Utc>,
    /// Attempts made.
    pub attempts: u32,
    /// Earliest next attempt.
    pub next_try: DateTime<Utc>,
    /// The last failure.
    pub last_error: Option<String>,
    /// State.
    pub state: DeliveryState,
    /// When it was delivered or declared dead.
    pub finished: Option<DateTime<Utc>>,
}

impl DeliveryRecord {
    /// A new alert's delivery to an endpoint, due at once.
    pub fn pending(alert: &AlertRecord, endpoint: &str) -> DeliveryRecord {
        DeliveryRecord {
            alert: alert.id.clone(),
            endpoint: endpoint.to_string(),
            created: alert.created,
            attempts: 0,
            next_try: alert.created,
            last_error: None,
            state: DeliveryState::Pending,
            finished: None,
        }
    }
}

#[cfg(test)]
impl ItemRecord {
    /// A plain item of the store's tests: no decision yet, seen and decided at `now`.
    pub(crate) fn for_test(url: &str, now: DateTime<Utc>) -> ItemRecord {
        ItemRecord {
            url: url.into(),
            doc_id: 0,
            links: Vec::new(),
            feeds: Vec::new(),
            source: "s".into(),
            title: "t".into(),
            byline: None,
            published: None,
            first_seen: now,
            decided_at: now,
            revisions: 0,
            text_source: TextSource::Page,
            text_note: None,
            text: String::new(),
            words: 0,
            lang: None,
            decisions: Default::default(),
            legacy_decision: None,
            duplicates: Vec::new(),
        }
    }
}

/// A digest that was sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestRecord {
    /// The local date it covers (YYYY-MM-DD).
    pub day: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// Alerts it listed.
    pub alerts: usize,
    /// The alerts it covered up to (exclusive upper bound of `created`).
    pub covered_until: DateTime<Utc>,
    /// The mails given up because the server refused them: "recipients: reason" each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undelivered: Vec<String>,
    /// The alerts it listed that were created shortly before `covered_until`: the next digest
    /// looks back past `covered_until` for alerts committed late, and skips these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tail: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_copy_keeps_how_much_of_the_seed_it_holds() {
        let d = Decision::SeedDuplicate {
            seed: "01.txt".into(),
            similarity: 0.42,
            contained: 0.51,
            contains: Some(0.72),
            exact: false,
        };
        let json = serde_json::to_string(&d).expect("encodes");
        let back: Decision = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back, d);
        // A record from before the share was kept.
        let old = json.replace(",\"contains\":0.72", "");
        assert_ne!(old, json);
        let back: Decision = serde_json::from_str(&old).expect("old decodes");
        assert!(matches!(
            back,
            Decision::SeedDuplicate { contains: None, .. }
        ));
    }

    #[test]
    fn far_off_topic_decisions_are_stored_small_and_read_back() {
        let far = Decision::OffTopic {
            score: 0.0123,
            threshold: 0.45,
            terms: Vec::new(),
            query: None,
            grounds: Grounds::default(),
        };
        let near = Decision::OffTopic {
            score: 0.4,
            threshold: 0.45,
            terms: vec![("openai".into(), 0.5)],
            query: Some(true),
            grounds: Grounds {
                density: 0.3,
                ..Grounds::default()
            },
        };
        let mut item = ItemRecord::for_test("https://a.example/1", Utc::now());
        item.doc_id = 1;
        item.decisions = [("a".to_string(), far), ("b".to_string(), near.clone())]
            .into_iter()
            .collect();
        let json = serde_json::to_string(&item).expect("encodes");
        assert!(json.contains("\"a\":[0.012,0.45]"), "{json}");
        let back: ItemRecord = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back.decision("b"), Some(&near));
        assert!(matches!(
            back.decision("a"),
            Some(Decision::OffTopic { score, .. }) if (*score - 0.012).abs() < 1e-6
        ));
        // A record of a single-topic version: its one decision, under `decision`.
        let old = json.replace(
            "\"decisions\":",
            "\"decision\":{\"kind\":\"unreadable\",\"reason\":\"r\"},\"x\":",
        );
        let back: ItemRecord = serde_json::from_str(&old).expect("old decodes");
        assert!(matches!(
            back.legacy_decision,
            Some(Decision::Unreadable { .. })
        ));
    }
}
