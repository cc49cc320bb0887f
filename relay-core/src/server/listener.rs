//! The accept loop: a connection cap, accept back-off, and the drain on stop.

use super::session::{connection, linger_close};
use super::{ACCEPT_BACKOFF, Shared, TOO_MANY_CONNECTIONS_RETRY_AFTER_SECS};
use crate::log;
use crate::shutdown::Trigger;
use crate::stats;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout};

/// How long connections get to end by themselves once the grace is over and they were told to
/// stop (they write nothing more; this is only their teardown), before they are aborted.
pub const CUT_TEARDOWN: Duration = Duration::from_secs(1);

/// Accepts connections until the engine drains (`trigger` moves to draining), then lets open
/// connections finish within the configured grace (streams play on meanwhile; idle keep-alive
/// connections close at once), then cuts the rest.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, trigger: Trigger) {
    let mut stop = trigger.subscribe();
    let max = shared.config().max_connections;
    let permits = Arc::new(Semaphore::new(max));
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        log!(Warn, "connection from {peer} refused: {max} connections open");
                        // Not counted against the cap: it lives at most LINGER_TIMEOUT.
                        tokio::spawn(async move {
                            let mut stream = stream;
                            if stream.write_all(too_many_connections().as_bytes()).await.is_ok() {
                                linger_close(stream).await;
                            }
                        });
                        continue;
                    };
                    let shared = shared.clone();
                    let shutdown = trigger.subscribe();
                    tasks.spawn(async move {
                        stats::inc(&shared.stats.connections_total);
                        stats::inc(&shared.stats.connections_active);
                        connection(stream, peer, &shared, shutdown).await;
                        stats::dec(&shared.stats.connections_active);
                        drop(permit);
                    });
                }
                Err(e) => {
                    log!(Warn, "accept failed: {e}");
                    sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = stop.draining() => break,
        }
    }
    drop(listener);
    let grace = shared.config().shutdown_grace;
    let drained = timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    // Readers of shared channels end with the cut too, drained or not.
    trigger.cut();
    if drained.is_err() {
        log!(
            Warn,
            "cutting {} connections still open after {grace:?}",
            tasks.len()
        );
        let ended = timeout(CUT_TEARDOWN, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if ended.is_err() {
            tasks.shutdown().await;
        }
    }
}

fn too_many_connections() -> String {
    let body = "too many connections\n";
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nRetry-After: {TOO_MANY_CONNECTIONS_RETRY_AFTER_SECS}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
