//! `[http]`: the built-in status page, JSON API and metrics.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The built-in HTTP server.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Serve at all.
    pub enabled: bool,
    /// Address to listen on; loopback by default.
    pub listen: std::net::SocketAddr,
    /// Environment variable holding a bearer token every request must present.
    pub token_env: Option<String>,
    /// File holding the bearer token.
    pub token_file: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8787)),
            token_env: None,
            token_file: None,
        }
    }
}
