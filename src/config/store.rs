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
    /// How long done entries and judged items that alerted nowhere are remembered
    /// ([`crate::store::retention`]): an entry its feed still lists, alerts, stories and
    /// copies' texts are kept regardless. `"0s"` remembers everything for ever.
    pub retain: Dur,
    /// The shared store: `postgres://user@host:port/db` (`?sslmode=require` for TLS). Absent:
    /// the embedded store in `state_dir`.
    pub url: Option<String>,
    /// The PostgreSQL schema the tables live in (created when absent); default the server's
    /// search path (`public`).
    pub schema: Option<String>,
    /// Environment variable holding the database password.
    pub password_env: Option<String>,
    /// File holding the database password.
    pub password_file: Option<std::path::PathBuf>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            keep_text: Dur(std::time::Duration::from_secs(7 * 86_400)),
            retain: Dur(std::time::Duration::from_secs(180 * 86_400)),
            url: None,
            schema: None,
            password_env: None,
            password_file: None,
        }
    }
}

impl StoreConfig {
    /// The PostgreSQL store's settings, its password read; `None` for the embedded store.
    pub fn postgres(
        &self,
    ) -> Result<Option<crate::store::postgres::PgOptions>, crate::config::SecretError> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        let password = crate::config::read_secret(
            self.password_env.as_deref(),
            self.password_file.as_deref(),
            "[store] password",
        )?;
        Ok(Some(crate::store::postgres::PgOptions {
            url: url.clone(),
            password,
            schema: self.schema.clone(),
        }))
    }
}
