//! Per-site knowledge: rules from config (`[[sites]]` with `drop` selectors and `cut_after`
//! regexes) and templates learned from the pages of a site seen so far.
//!
//! A learned template is the set of text blocks that recur on different pages of one host:
//! menus, newsletter boxes, disclaimers, "Explore more ..." lines. A block seen on at least two
//! earlier, different pages of the same host, and on most of the pages seen there, is treated
//! as boilerplate on the next one. A page whose
//! body mostly repeats blocks already known (the same article under another URL, an AMP copy,
//! an update in place) is not counted, so one article never becomes its own site's template.
//! Memory is bounded: at most `MAX_HOSTS` hosts (least recently used evicted) and
//! `MAX_KEYS_PER_HOST` block keys per host.

use super::ExtractError;
use regex::Regex;
use scraper::Selector;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

const MAX_HOSTS: usize = 2000;
const MAX_KEYS_PER_HOST: usize = 6000;
/// A block is template once it has been seen on this many distinct earlier pages...
const TEMPLATE_MIN_PAGES: u32 = 2;
/// ...and on at least this many tenths of the site's pages: site furniture is on nearly every
/// page, while a subhead two articles happen to share ("Why it matters") is not.
const TEMPLATE_MIN_SHARE: u32 = 6;
/// Blocks counted per page (the rest of a huge page is ignored).
const MAX_BLOCKS_PER_PAGE: usize = 3000;

/// A `[[sites]]` rule with its selectors and regexes compiled.
pub(crate) struct CompiledRule {
    pub host: String,
    pub drop: Vec<Selector>,
    pub cut_after: Vec<Regex>,
}

/// Compile config rules; a bad selector or regex is an error naming it.
pub(crate) fn compile(rules: &[super::SiteRule]) -> Result<Vec<CompiledRule>, ExtractError> {
    rules
        .iter()
        .map(|r| {
            let host = normalize_host(&r.host);
            if host.is_empty() {
                return Err(ExtractError::EmptyHost);
            }
            let drop = r
                .drop
                .iter()
                .map(|s| {
                    Selector::parse(s).map_err(|e| ExtractError::Selector {
                        host: r.host.clone(),
                        selector: s.clone(),
                        message: e.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let cut_after = r
                .cut_after
                .iter()
                .map(|s| {
                    Regex::new(s).map_err(|e| ExtractError::Regex {
                        host: r.host.clone(),
                        regex: s.clone(),
                        message: e.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(CompiledRule {
                host,
                drop,
                cut_after,
            })
        })
        .collect()
}

/// Lower-case, without a leading `www.` and a trailing dot.
pub(crate) fn normalize_host(h: &str) -> String {
    let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
    h.strip_prefix("www.").map(str::to_string).unwrap_or(h)
}

/// The rule for a host: exact match or a parent domain.
pub(crate) fn rule_for<'a>(rules: &'a [CompiledRule], host: &str) -> Option<&'a CompiledRule> {
    rules.iter().find(|r| {
        host == r.host
            || (host.len() > r.host.len()
                && host.ends_with(&r.host)
                && host.as_bytes()[host.len() - r.host.len() - 1] == b'.')
    })
}

/// FNV-1a over the alphanumeric characters, lower-cased: stable across runs and versions,
/// so persisted templates stay valid (std's hasher makes no such promise).
pub(crate) fn block_key(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    for c in text.chars() {
        // ASCII fast path (most text): same bytes as the general path below.
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                eat(c.to_ascii_lowercase() as u8);
            }
            continue;
        }
        if !c.is_alphanumeric() {
            continue;
        }
        for l in c.to_lowercase() {
            let mut buf = [0u8; 4];
            for &b in l.encode_utf8(&mut buf).as_bytes() {
                eat(b);
            }
        }
    }
    h
}

#[derive(Default)]
struct SiteTemplate {
    pages: u32,
    counts: HashMap<u64, u32>,
    last_used: u64,
}

#[derive(Default)]
struct Store {
    sites: HashMap<String, SiteTemplate>,
    tick: u64,
}

/// Learned per-site templates, shared between threads.
#[derive(Default)]
pub(crate) struct Templates {
    inner: Mutex<Store>,
}

impl Templates {
    /// Which of these block keys are template on this host.
    pub(crate) fn known(&self, host: &str, keys: &[u64]) -> Vec<bool> {
        let store = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match store.sites.get(host) {
            Some(site) => keys
                .iter()
                .map(|k| {
                    site.counts.get(k).is_some_and(|&n| {
                        n >= TEMPLATE_MIN_PAGES && n * 10 >= site.pages * TEMPLATE_MIN_SHARE
                    })
                })
                .collect(),
            None => vec![false; keys.len()],
        }
    }

    /// Count a page's blocks, unless its body repeats what the site already holds.
    pub(crate) fn learn(&self, host: &str, page_keys: &[u64], body_keys: &[u64]) {
        let mut store = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        store.tick += 1;
        let tick = store.tick;
        if !store.sites.contains_key(host) && store.sites.len() >= MAX_HOSTS {
            if let Some(oldest) = store
                .sites
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(h, _)| h.clone())
            {
                store.sites.remove(&oldest);
            }
        }
        let site = store.sites.entry(host.to_string()).or_default();
        site.last_used = tick;
        if !body_keys.is_empty() {
            let seen = body_keys
                .iter()
                .filter(|k| site.counts.contains_key(k))
                .count();
            if seen * 2 >= body_keys.len() {
                return; // the same article again
            }
        }
        let mut uniq: Vec<u64> = page_keys
            .iter()
            .take(MAX_BLOCKS_PER_PAGE)
            .copied()
            .collect();
        uniq.sort_unstable();
        uniq.dedup();
        for k in uniq {
            *site.counts.entry(k).or_insert(0) += 1;
        }
        site.pages += 1;
        if site.counts.len() > MAX_KEYS_PER_HOST {
            site.counts.retain(|_, n| *n >= 2);
            if site.counts.len() > MAX_KEYS_PER_HOST {
                site.counts.clear();
            }
        }
    }

    /// Serializable snapshot.
    pub(crate) fn state(&self) -> Value {
        let store = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let sites: serde_json::Map<String, Value> = store
            .sites
            .iter()
            .map(|(h, s)| {
                let blocks: serde_json::Map<String, Value> = s
                    .counts
                    .iter()
                    .map(|(k, n)| (format!("{k:016x}"), json!(n)))
                    .collect();
                (h.clone(), json!({"pages": s.pages, "blocks": blocks}))
            })
            .collect();
        json!({"version": 1, "sites": sites})
    }

    /// Replace the store with a snapshot; returns the number of hosts loaded.
    pub(crate) fn load(&self, v: &Value) -> Result<usize, ExtractError> {
        let sites = v
            .get("sites")
            .and_then(Value::as_object)
            .ok_or(ExtractError::BadState("no \"sites\" object"))?;
        let mut store = Store::default();
        for (h, s) in sites.iter().take(MAX_HOSTS) {
            let mut t = SiteTemplate {
                pages: s
                    .get("pages")
                    .and_then(Value::as_u64)
                    .map_or(0, |n| n.min(u64::from(u32::MAX)) as u32),
                ..SiteTemplate::default()
            };
            if let Some(blocks) = s.get("blocks").and_then(Value::as_object) {
                for (k, n) in blocks.iter().take(MAX_KEYS_PER_HOST) {
                    let (Ok(key), Some(n)) = (u64::from_str_radix(k, 16), n.as_u64()) else {
                        return Err(ExtractError::BadState("bad block entry"));
                    };
                    t.counts.insert(key, n.min(u64::from(u32::MAX)) as u32);
                }
            }
            store.sites.insert(normalize_host(h), t);
        }
        let n = store.sites.len();
        *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = store;
        Ok(n)
    }
}

#[cfg(test)]
mod block_key_tests {
    use super::block_key;

    /// Persisted templates are keyed by these values: they must never change (values computed
    /// independently: FNV-1a 64 over the UTF-8 of the lower-cased alphanumeric characters).
    #[test]
    fn block_keys_are_stable() {
        assert_eq!(block_key("Share this article"), 0x257f_afab_d185_34a6);
        assert_eq!(block_key("Ünïcödé Straße 2025!"), 0xc619_0ac5_693d_9da2);
        assert_eq!(block_key(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(block_key("Ⅻ İstanbul"), 0x05a0_69a1_47f8_5b48);
    }
}
