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
