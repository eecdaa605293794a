//! The HTTP server loop (SEC-01): what keeps one client holding thousands of sockets from
//! taking a node offline.
//!
//! - Each connection must send a request's headers within [`HttpLimits::header_read_timeout`];
//!   the same clock runs from the moment a connection opens and while a kept-alive connection
//!   waits for its next request, so idle and half-sent connections are closed, not kept for
//!   ever.
//! - At most [`HttpLimits::max_connections`] connections are served at once; beyond that the
//!   node stops accepting (the kernel's backlog holds the rest) and says so in the log, once a
//!   minute while it lasts.
//! - The soft limit of open files is raised to the hard limit at start
//!   ([`raise_open_files_limit`]), since the usual soft limit of 1,024 is reached by a thousand
//!   idle sockets long before the connection limit.
//! - Request bodies that stall are cut off by the router's own timeouts (`ideaweave-web`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Limits of the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers, or stay idle between
    /// requests.
    pub header_read_timeout: Duration,
    /// How long a request body may stall before the request is answered 408.
    pub body_stall_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
            body_stall_timeout: Duration::from_secs(30),
        }
    }
}

/// How long requests in flight may take to finish after shutdown was asked for.
const DRAIN: Duration = Duration::from_secs(30);
/// How often the connection limit being reached is logged while it lasts.
const LIMIT_LOG_EVERY: Duration = Duration::from_secs(60);

/// Raises this process's soft limit of open files to its hard limit; returns the limit now in
/// force. A failure is logged, not fatal: the node still runs, with fewer sockets.
pub fn raise_open_files_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => {
            tracing::debug!(open_files = n, "open-files limit");
            Some(n)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-files limit; idle sockets may exhaust it");
            None
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then lets requests
/// in flight finish (for at most 30 seconds).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // HTTP/1.1 only: its header timer starts as soon as a connection waits for a request, while
    // a protocol-sniffing server waits for a first byte without a deadline. HTTP/2 is for the
    // TLS terminator in front of the node.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut last_limit_log: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        if permits.available_permits() == 0
            && last_limit_log.is_none_or(|t| t.elapsed() >= LIMIT_LOG_EVERY)
        {
            tracing::warn!(
                max_connections = limits.max_connections,
                "the connection limit (http.max_connections) is reached: new connections wait until others close"
            );
            last_limit_log = Some(Instant::now());
        }
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors or a reset before accept: wait a little rather
                    // than spin, and keep serving the connections already open.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                router.clone().oneshot(request)
            },
        );
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still running {DRAIN:?} after shutdown was asked for were cut off"
        );
    }
    Ok(())
}
