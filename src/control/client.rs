//! A command's side of the control socket (see the module doc of [`crate::control`]).

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::{CommandError, Reply, Request};

/// How long a command waits for the daemon's answer: a retry pass or a digest send may wait on
/// webhook receivers and the mail server.
const TIMEOUT: Duration = Duration::from_secs(300);

/// Why a command could not be run through the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No daemon answers on the socket (none, or a dead one's file).
    #[error("no daemon answers on {path}: {source}")]
    NoDaemon {
        /// The socket's path.
        path: String,
        /// Why the connection failed.
        source: std::io::Error,
    },
    /// The connection broke, timed out, or the answer was unreadable.
    #[error("talking to the daemon on {path}: {message}")]
    Broken {
        /// The socket's path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The daemon ran the command, and it failed.
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// Sends `req` to the daemon listening on `socket` and returns its reply.
pub async fn request(socket: &Path, req: &Request) -> Result<Reply, ClientError> {
    let path = socket.display().to_string();
    let broken = |message: String| ClientError::Broken {
        path: path.clone(),
        message,
    };
    let no_daemon = |source| ClientError::NoDaemon {
        path: path.clone(),
        source,
    };
    let (address, _dir) = super::addressable(socket).map_err(no_daemon)?;
    let stream = UnixStream::connect(&address).await.map_err(no_daemon)?;
    let exchange = async {
        let (read, mut write) = stream.into_split();
        let mut line = serde_json::to_vec(req).map_err(|e| broken(e.to_string()))?;
        line.push(b'\n');
        write
            .write_all(&line)
            .await
            .map_err(|e| broken(e.to_string()))?;
        let mut answer = String::new();
        BufReader::new(read)
            .read_line(&mut answer)
            .await
            .map_err(|e| broken(e.to_string()))?;
        if answer.is_empty() {
            return Err(broken("the daemon closed the connection".into()));
        }
        let reply: Result<Reply, String> =
            serde_json::from_str(&answer).map_err(|e| broken(e.to_string()))?;
        reply.map_err(|e| ClientError::Command(CommandError(e)))
    };
    match tokio::time::timeout(TIMEOUT, exchange).await {
        Ok(r) => r,
        Err(_) => Err(broken(format!("no answer within {}s", TIMEOUT.as_secs()))),
    }
}
