//! Secrets (webhook signing keys, the SMTP password, the HTTP token) come from an environment
//! variable or a file, never from the config file itself, so that the config can be shown,
//! shared and kept in version control.

use std::path::{Path, PathBuf};

/// A configured secret that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable named in the config is unset or empty.
    #[error("{what}: environment variable {var} is not set")]
    EnvUnset {
        /// Which secret.
        what: String,
        /// The variable.
        var: String,
    },
    /// The file named in the config cannot be read.
    #[error("{what}: cannot read {}: {source}", path.display())]
    File {
        /// Which secret.
        what: String,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Reads a secret from an environment variable or a file (trailing newline trimmed); `None`
/// when neither is configured. `what` names the secret in errors.
pub fn read_secret(
    env: Option<&str>,
    file: Option<&Path>,
    what: &str,
) -> Result<Option<Vec<u8>>, SecretError> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(v.into_bytes())),
            _ => Err(SecretError::EnvUnset {
                what: what.to_string(),
                var: var.to_string(),
            }),
        };
    }
    if let Some(path) = file {
        return std::fs::read(path)
            .map(|mut v| {
                while v.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    v.pop();
                }
                Some(v)
            })
            .map_err(|source| SecretError::File {
                what: what.to_string(),
                path: path.to_path_buf(),
                source,
            });
    }
    Ok(None)
}

impl super::Config {
    /// The configured secrets that cannot be read here and now: what would stop the daemon
    /// at start (the HTTP token, a webhook's signing key, the store's password) or fail a
    /// digest at sending time (the SMTP password). `wirewatch check` reports them, so that a
    /// missing variable shows before the service starts rather than when it is needed.
    pub fn unreadable_secrets(&self) -> Vec<SecretError> {
        let mut wanted: Vec<(Option<&str>, Option<&Path>, String)> = Vec::new();
        if self.http.enabled {
            wanted.push((
                self.http.token_env.as_deref(),
                self.http.token_file.as_deref(),
                "http token".into(),
            ));
        }
        for w in &self.webhooks {
            wanted.push((
                w.secret_env.as_deref(),
                w.secret_file.as_deref(),
                format!("webhook {} secret", w.display_name()),
            ));
        }
        if let Some(smtp) = &self.smtp {
            wanted.push((
                smtp.password_env.as_deref(),
                smtp.password_file.as_deref(),
                "smtp password".into(),
            ));
        }
        if self.store.url.is_some() {
            wanted.push((
                self.store.password_env.as_deref(),
                self.store.password_file.as_deref(),
                "[store] password".into(),
            ));
        }
        wanted
            .into_iter()
            .filter_map(|(env, file, what)| read_secret(env, file, &what).err())
            .collect()
    }
}
