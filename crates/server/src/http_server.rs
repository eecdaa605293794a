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
//! - One client (an IPv4 address, or an IPv6 /64 network) may hold at most
//!   [`HttpLimits::max_connections_per_client`] of them; further connections from it are closed
//!   at once, so that one client cannot take every slot. Trusted reverse proxies, which carry
//!   everyone's connections, are exempt.
//! - The soft limit of open files is raised to the hard limit at start
//!   ([`raise_open_files_limit`]), since the usual soft limit of 1,024 is reached by a thousand
//!   idle sockets long before the connection limit.
//! - Request bodies that stall are cut off by the router's own timeouts (`ideaweave-web`).

use crate::config::settings;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// An address or network (CIDR) of a reverse proxy whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    /// Parses `10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32` or `::1`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has a prefix length outside 0-{max}"))?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let p = u32::from(self.prefix);
        match (ip, self.addr) {
            (IpAddr::V4(a), IpAddr::V4(n)) => {
                let mask = u32::MAX.checked_shl(32 - p).unwrap_or(0);
                u32::from(a) & mask == u32::from(n) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(n)) => {
                let mask = u128::MAX.checked_shl(128 - p).unwrap_or(0);
                u128::from(a) & mask == u128::from(n) & mask
            }
            _ => false,
        }
    }
}

/// The client a request came from: the TCP peer, unless the peer is a trusted proxy, in which
/// case the nearest address in `X-Forwarded-For` (read from the right) that is not itself a
/// trusted proxy. An untrusted peer's header is ignored: anyone can send one.
pub fn client_address(
    peer: SocketAddr,
    headers: &hyper::HeaderMap,
    proxies: &[ProxyNet],
) -> SocketAddr {
    let trusted = |ip: IpAddr| proxies.iter().any(|p| p.contains(ip));
    if !trusted(peer.ip()) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        // Some proxies add the port (`192.0.2.7:5678`, `[2001:db8::1]:5678`) or brackets.
        let bare = hop
            .parse::<SocketAddr>()
            .map(|s| s.ip().to_string())
            .unwrap_or_else(|_| hop.trim_start_matches('[').trim_end_matches(']').to_owned());
        match bare.parse::<IpAddr>() {
            Ok(ip) if trusted(ip) => continue,
            Ok(ip) => return SocketAddr::new(ip, 0),
            Err(_) => return peer,
        }
    }
    peer
}

/// Limits of the HTTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections one client (not a trusted proxy) may hold at once.
    pub max_connections_per_client: usize,
    /// How long a connection may take to send a request's headers, or stay idle between
    /// requests.
    pub header_read_timeout: Duration,
    /// How long a request body may stall before the request is answered 408.
    pub body_stall_timeout: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client (IDN-04: the sign-in back-off
    /// counts per client, which behind a proxy would otherwise be the proxy for everyone).
    pub trusted_proxies: Vec<ProxyNet>,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: settings::HTTP_MAX_CONNECTIONS.default_number() as usize,
            max_connections_per_client: settings::HTTP_MAX_CONNECTIONS_PER_CLIENT.default_number()
                as usize,
            header_read_timeout: Duration::from_secs(
                settings::HTTP_HEADER_TIMEOUT_SECONDS.default_number(),
            ),
            body_stall_timeout: Duration::from_secs(30),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The connections each client holds, counted by [`client_group`].
#[derive(Clone, Default)]
struct ClientConnections(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One client's connection, counted until it is dropped.
struct CountedConnection {
    counts: ClientConnections,
    group: IpAddr,
}

impl ClientConnections {
    /// Counts a connection of `peer`'s group, unless the group holds `max` already.
    fn admit(&self, peer: IpAddr, max: usize) -> Option<CountedConnection> {
        let group = client_group(peer);
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let held = counts.entry(group).or_insert(0);
        if *held >= max {
            return None;
        }
        *held += 1;
        Some(CountedConnection {
            counts: self.clone(),
            group,
        })
    }
}

impl Drop for CountedConnection {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = counts.get_mut(&self.group) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                counts.remove(&self.group);
            }
        }
    }
}

/// The client a connection counts for: its IPv4 address, or its IPv6 /64 network (one
/// subscriber gets a whole /64).
fn client_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
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
    let proxies: Arc<[ProxyNet]> = limits.trusted_proxies.clone().into();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let per_client = ClientConnections::default();
    let mut last_limit_log: Option<Instant> = None;
    let mut last_client_log: Option<Instant> = None;
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
        let counted = if proxies.iter().any(|p| p.contains(peer.ip())) {
            None
        } else {
            match per_client.admit(peer.ip(), limits.max_connections_per_client) {
                Some(c) => Some(c),
                None => {
                    if last_client_log.is_none_or(|t| t.elapsed() >= LIMIT_LOG_EVERY) {
                        tracing::warn!(
                            max_connections_per_client = limits.max_connections_per_client,
                            "a client reached its connection limit (http.max_connections_per_client): its further connections are closed"
                        );
                        last_client_log = Some(Instant::now());
                    }
                    drop(stream);
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let proxies = proxies.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                let client = client_address(peer, request.headers(), &proxies);
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(client));
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
            drop(counted);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_01_connections_count_per_client_and_are_given_back() {
        let counts = ClientConnections::default();
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| counts.admit(a, 3)).collect();
        assert!(held.iter().all(Option::is_some));
        assert!(counts.admit(a, 3).is_none(), "the fourth is refused");
        assert!(counts.admit("192.0.2.8".parse().unwrap(), 3).is_some());
        drop(held);
        assert!(
            counts.admit(a, 3).is_some(),
            "closed connections are given back"
        );
        let v6 = |s: &str| client_group(s.parse().unwrap());
        assert_eq!(v6("2001:db8:1:2::1"), v6("2001:db8:1:2:ffff::9"));
        assert_ne!(v6("2001:db8:1:2::1"), v6("2001:db8:1:3::1"));
        assert_eq!(v6("::ffff:192.0.2.7"), a);
    }

    #[test]
    fn idn_04_forwarded_addresses_count_only_from_trusted_proxies() {
        let proxies = [
            ProxyNet::parse("10.0.0.0/8").unwrap(),
            ProxyNet::parse("::1").unwrap(),
        ];
        let mut headers = hyper::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.9, 10.1.2.3".parse().unwrap(),
        );
        let peer = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 4000);
        assert_eq!(
            client_address(peer("10.9.9.9"), &headers, &proxies)
                .ip()
                .to_string(),
            "203.0.113.9",
            "the nearest untrusted hop, not what the client claimed first"
        );
        assert_eq!(
            client_address(peer("198.51.100.1"), &headers, &proxies),
            peer("198.51.100.1"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            client_address(peer("::ffff:10.0.0.1"), &headers, &proxies)
                .ip()
                .to_string(),
            "203.0.113.9",
            "IPv4-mapped peers count as IPv4"
        );
        headers.insert(
            "x-forwarded-for",
            "203.0.113.5:5678, [2001:db8::7]:80".parse().unwrap(),
        );
        assert_eq!(
            client_address(peer("10.0.0.1"), &headers, &proxies)
                .ip()
                .to_string(),
            "2001:db8::7",
            "ports and brackets are taken off"
        );
        headers.insert("x-forwarded-for", "not-an-address".parse().unwrap());
        assert_eq!(
            client_address(peer("10.0.0.1"), &headers, &proxies),
            peer("10.0.0.1")
        );
        assert!(ProxyNet::parse("10.0.0.0/33").is_err());
        assert!(ProxyNet::parse("proxy.example").is_err());
        assert!(
            ProxyNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("192.0.2.1".parse().unwrap())
        );
        assert!(
            !ProxyNet::parse("192.0.2.0/24")
                .unwrap()
                .contains("192.0.3.1".parse().unwrap())
        );
    }
}
