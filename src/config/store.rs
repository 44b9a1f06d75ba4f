//! `[store]`: what the store keeps, and for how long.

use serde::{Deserialize, Serialize};

use super::values::Dur;

/// The store's retention settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// How long the extracted text of every judged item is kept (compressed), so that the
    /// reader's feedback can re-judge a window and mark a missed item relevant. `"0s"` keeps
    /// none (alerted items keep theirs regardless).
    pub keep_text: Dur,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            keep_text: Dur(std::time::Duration::from_secs(7 * 86_400)),
        }
    }
}
