//! The daemon's side of the control socket: one request per connection, one JSON line each
//! way (a [`Request`] in, a `Result<Reply, String>` out), run by [`super::execute`] (on
//! tokio's blocking pool) against the daemon's current store, config and deliverer.
//!
//! The socket file is made by the daemon in its state directory and set to mode 0600, and
//! each connection's peer credentials are checked: only the daemon's user (and root) is
//! answered. A socket left by a daemon that was killed is replaced
//! at the next start (the store's lock says no other daemon runs on this directory).
//!
//! At shutdown the requests being answered are waited for (the daemon's grace bounds the
//! wait): an `alerts --retry` or `digest --send` cut short after sending but before recording
//! would send again after the restart. A client that does not send its request within
//! [`REQUEST_WAIT`] is answered with an error, so it cannot hold the shutdown.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn, Instrument};

use super::{execute_off_runtime, Context, Request};

/// The longest request line accepted.
const MAX_REQUEST: usize = 64 * 1024;
/// How long a client has to send its request line.
pub const REQUEST_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Binds the control socket at `path` and serves requests with the context `ctx` holds at
/// each request (the daemon swaps it on reload), until `shutdown`. The socket file is removed
/// when serving ends.
pub async fn serve(
    path: PathBuf,
    ctx: watch::Receiver<Context>,
    shutdown: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    // Only ours: the store's lock is held, so a socket here is a dead daemon's.
    match std::fs::remove_file(&path) {
        Ok(()) => debug!(path = %path.display(), "removed a stale control socket"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = {
        let (address, _dir) = super::addressable(&path)?;
        UnixListener::bind(&address)?
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    // The socket is made with the process's umask and narrowed just after: a client of
    // another user could connect in between. Each connection's peer is checked too (the
    // kernel's credentials, which the peer cannot forge): the daemon's own user or root.
    let owner = std::fs::metadata(&path)?.uid();
    Ok(tokio::spawn(async move {
        let answering = tokio_util::task::TaskTracker::new();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        match stream.peer_cred() {
                            Ok(c) if c.uid() == owner || c.uid() == 0 => {
                                let ctx = ctx.borrow().clone();
                                answering.spawn(answer(stream, ctx));
                            }
                            Ok(c) => warn!(uid = c.uid(), "control connection of another user refused"),
                            Err(e) => warn!(error = %e, "control connection refused: no peer credentials"),
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "control socket accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        }
        // No new connection from here; the requests being answered finish.
        drop(listener);
        remove(&path);
        answering.close();
        if !answering.is_empty() {
            debug!(
                requests = answering.len(),
                "waiting for control requests to finish"
            );
        }
        answering.wait().await;
    }))
}

fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            warn!(error = %e, path = %path.display(), "could not remove the control socket");
        }
    }
}

/// Reads one request, runs it, writes the reply.
async fn answer(stream: tokio::net::UnixStream, ctx: Context) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_REQUEST as u64));
    let read = tokio::time::timeout(REQUEST_WAIT, reader.read_line(&mut line)).await;
    let reply: Result<super::Reply, String> = match read {
        Err(_) => Err(format!("no request within {}s", REQUEST_WAIT.as_secs())),
        Ok(Ok(0)) => return,
        Ok(Ok(_)) => match serde_json::from_str::<Request>(&line) {
            Ok(req) => {
                let span = tracing::info_span!("control", request = ?req);
                execute_off_runtime(req, ctx)
                    .instrument(span)
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(format!("unreadable control request: {e}")),
        },
        Ok(Err(e)) => Err(format!("reading the control request: {e}")),
    };
    let mut out = match serde_json::to_vec(&reply) {
        Ok(v) => v,
        Err(e) => {
            warn!(error = %e, "control reply not serialisable");
            return;
        }
    };
    out.push(b'\n');
    if let Err(e) = write.write_all(&out).await {
        debug!(error = %e, "control client went away before its reply");
    }
}
