//! Kept texts on PostgreSQL (see [`TextStore`]): one row per URL, the latest kept.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{params, PgStore};
use crate::store::{texts, KeptTextVisitor, Result, TextStore};

impl TextStore for PgStore {
    fn keep_text(&self, url: &str, at: DateTime<Utc>, packed: &[u8]) -> Result<()> {
        self.execute(
            "keeping a text",
            "INSERT INTO texts (url, kept_at, packed) VALUES ($1, $2, $3)
             ON CONFLICT (url) DO UPDATE SET kept_at = EXCLUDED.kept_at, packed = EXCLUDED.packed",
            params![url.to_string(), at, packed.to_vec()],
        )?;
        Ok(())
    }

    fn kept_text(&self, url: &str) -> Result<Option<String>> {
        Ok(self
            .query(
                "reading a kept text",
                "SELECT packed FROM texts WHERE url = $1",
                params![url.to_string()],
            )?
            .first()
            .and_then(|r| texts::unpack(r.get::<_, &[u8]>(0))))
    }

    fn kept_text_urls(&self, since: DateTime<Utc>) -> Result<HashMap<String, DateTime<Utc>>> {
        let since = since.max(DateTime::<Utc>::UNIX_EPOCH - chrono::Duration::days(365 * 1000));
        Ok(self
            .query(
                "listing kept texts",
                "SELECT url, kept_at FROM texts WHERE kept_at >= $1",
                params![since],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    /// Pages through the window oldest first, so memory holds one page at a time.
    fn for_each_kept_text(&self, since: DateTime<Utc>, f: &mut KeptTextVisitor<'_>) -> Result<()> {
        // PostgreSQL's times start in 4713 BC: an earlier `since` means "all".
        let since = since.max(DateTime::<Utc>::UNIX_EPOCH - chrono::Duration::days(365 * 1000));
        let mut after: (DateTime<Utc>, String) = (since, String::new());
        let mut first = true;
        loop {
            let rows = self.query(
                "reading kept texts",
                "SELECT url, kept_at, packed FROM texts
                 WHERE ($3 AND kept_at >= $1) OR (NOT $3 AND (kept_at, url) > ($1, $2))
                 ORDER BY kept_at, url LIMIT 1000",
                params![after.0, after.1.clone(), first],
            )?;
            first = false;
            for r in &rows {
                f(r.get(0), r.get(1), r.get(2));
            }
            match rows.last() {
                Some(last) if rows.len() == 1000 => after = (last.get(1), last.get(0)),
                _ => return Ok(()),
            }
        }
    }

    fn prune_texts(&self, before: DateTime<Utc>) -> Result<usize> {
        Ok(self.execute(
            "pruning kept texts",
            "DELETE FROM texts WHERE kept_at < $1",
            params![before],
        )? as usize)
    }

    fn kept_texts_bytes(&self) -> Result<u64> {
        Ok(self
            .count(
                "measuring kept texts",
                "SELECT coalesce(sum(octet_length(packed)), 0)::bigint FROM texts",
            )?
            .max(0) as u64)
    }
}
