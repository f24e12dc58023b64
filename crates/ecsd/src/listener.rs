//! The HTTP/1 serving loop: accepts connections up to a cap, gives each a header-read timeout
//! and a bounded read buffer, tells the router who the peer is, and shuts down gracefully.
//!
//! `axum::serve` has none of these limits: a client could hold any number of connections with
//! half-sent requests, each with up to ~400 KB of unfinished headers, for as long as it liked.
//! Body and whole-request deadlines are the router's (`api::Deadlines`), so that their answers
//! are in the error envelope.

use axum::extract::ConnectInfo;
use axum::http::uri::Scheme;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The most bytes of a request head (request line and headers) a connection may buffer: room
/// for the 16 KiB of headers ecsd accepts (`api::identity::auth::MAX_HEADER_BYTES`, answered 431 in the
/// envelope above it) and a long request line. A larger head is answered 431 by hyper, without
/// the envelope, and the connection is closed; this is what bounds the memory a half-sent
/// request can hold.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

/// The default header-read timeout (`--header-read-timeout`).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The default connection cap (`--max-connections`).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 1024;

/// At most one "connection limit reached" warning per this interval: under a flood the cap is
/// reached again each time a slot frees.
const CAP_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a connection may take to send a request's headers, counted from the moment
    /// the server waits for them: a new connection, and an idle keep-alive connection after
    /// its previous answer. Then the connection is closed.
    pub header_read_timeout: Duration,
    /// How many connections are open at most. At the cap, ecsd stops accepting: new
    /// connections wait in the kernel's accept queue and are served, in order, as open ones
    /// close.
    pub max_connections: u32,
    /// How long writing an answer may make no progress (a client that does not read it)
    /// before the connection is closed.
    pub write_stall_timeout: Duration,
    /// How long shutdown waits for open connections before dropping them.
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` completes; then stops
/// accepting, lets every connection finish its in-flight request (idle ones close at once),
/// and returns when all are closed or `shutdown_grace` has passed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let max_connections = limits.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(max_connections as usize));
    // Each connection holds a receiver; `closed()` on the sender resolves when all are gone.
    let (stop, stopped) = watch::channel(false);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    let http = Arc::new(http);
    let mut last_warning: Option<tokio::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        // A slot first, then accept: at the cap nothing is accepted, so no descriptor or
        // buffer is spent on connections that could not be served.
        if slots.available_permits() == 0
            && last_warning.is_none_or(|at| at.elapsed() >= CAP_WARNING_INTERVAL)
        {
            last_warning = Some(tokio::time::Instant::now());
            tracing::warn!(
                max_connections,
                "connection limit reached; new connections wait until open ones close (--max-connections)"
            );
        }
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else {
            break; // the semaphore is never closed
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tokio::select! {
                        () = accept_error(error) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        let guarded = ConnectionGuard::new(stream, limits.write_stall_timeout, tls.is_none());
        let (http, app, tls) = (http.clone(), app.clone(), tls.clone());
        let stopped = stopped.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let Some(tls) = tls else {
                return serve_connection(&http, guarded, app, peer, Scheme::HTTP, stopped).await;
            };
            // The handshake comes before the head and is bounded like it.
            match tokio::time::timeout(limits.header_read_timeout, tls.accept(guarded)).await {
                Ok(Ok(stream)) => {
                    serve_connection(&http, stream, app, peer, Scheme::HTTPS, stopped).await
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    drop(stopped);
    let _ = stop.send(true);
    if tokio::time::timeout(limits.shutdown_grace, stop.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            open = max_connections as usize - slots.available_permits(),
            "connections still open after the shutdown grace period; dropping them"
        );
    }
}

/// Serves one connection until it ends, or until `stopped` says to finish: then an idle
/// connection closes at once, and one in a request finishes it first.
async fn serve_connection<I>(
    http: &http1::Builder,
    io: I,
    app: Router,
    peer: SocketAddr,
    scheme: Scheme,
    mut stopped: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        // The peer, for per-client limits (the extractor `ConnectInfo` reads it), and whether
        // the client came over TLS, for URLs that point back at ecsd.
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(scheme.clone());
        let answer = app.clone().oneshot(request);
        async move {
            let response = answer.await?;
            // A `drop_response` fault rule: the request took effect; the client gets no
            // answer. An error from the service makes hyper close the connection unanswered.
            if response
                .extensions()
                .get::<api::faults::DropResponse>()
                .is_some()
            {
                return Err(DroppedByFaultRule);
            }
            Ok(response)
        }
    });
    let connection = http.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stopped.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // Timeouts, resets and malformed requests: the client's doing, not ours.
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// The service error that closes a connection without an answer (`drop_response`).
#[derive(Debug)]
struct DroppedByFaultRule;

impl std::fmt::Display for DroppedByFaultRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answer dropped by a fault rule (drop_response)")
    }
}

impl std::error::Error for DroppedByFaultRule {}

impl From<std::convert::Infallible> for DroppedByFaultRule {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// A connection whose writes fail once they have made no progress for `timeout`: otherwise a
/// client that asks for a large answer and never reads it would hold its connection (and its
/// slot under the cap) for ever, since hyper has no write timeout.
///
/// On the plain-HTTP port it also looks at the first bytes: a TLS handshake there (a client
/// told `https://`) is logged, so the operator sees why that client fails, and the connection
/// is closed.
struct ConnectionGuard<S> {
    inner: S,
    timeout: Duration,
    /// Armed when a write cannot proceed; disarmed by any progress.
    stalled_since: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Until the first bytes have been read on a plain-HTTP connection.
    check_for_tls: bool,
}

impl<S> ConnectionGuard<S> {
    fn new(inner: S, timeout: Duration, plain_http: bool) -> Self {
        Self {
            inner,
            timeout,
            stalled_since: None,
            check_for_tls: plain_http,
        }
    }

    /// Turns a write's `Pending` into an error once the stall has lasted `timeout`.
    fn guard<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled_since = None;
            return poll;
        }
        let timeout = self.timeout;
        let timer = self
            .stalled_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client has not read the answer in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin + PeerAddress> AsyncRead for ConnectionGuard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if this.check_for_tls && matches!(poll, Poll::Ready(Ok(()))) {
            let first_bytes = &buf.filled()[before..];
            if !first_bytes.is_empty() {
                this.check_for_tls = false;
                if crate::tls::looks_like_tls(first_bytes) {
                    tracing::warn!(
                        peer = %this.inner.peer_address(),
                        "a TLS handshake arrived on the plain-HTTP port: the client uses https:// but ecsd serves http:// here (use http://, or start ecsd with --tls-cert/--tls-key or --tls-self-signed); connection closed"
                    );
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "TLS on the plain-HTTP port",
                    )));
                }
            }
        }
        poll
    }
}

/// Who is at the other end, for log lines.
trait PeerAddress {
    fn peer_address(&self) -> String;
}

impl PeerAddress for tokio::net::TcpStream {
    fn peer_address(&self) -> String {
        self.peer_addr()
            .map_or_else(|_| "unknown".to_owned(), |peer| peer.to_string())
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ConnectionGuard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.guard(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.guard(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.guard(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.guard(cx, poll)
    }
}

/// Accept errors other than a peer that went away are usually the process's descriptor limit
/// (EMFILE): wait a little for descriptors to be released rather than spin.
async fn accept_error(error: io::Error) {
    use io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Descriptors kept for everything but connections (measured: 25 at start).
pub const RESERVED_DESCRIPTORS: u64 = 32;

/// The connection cap an open-files limit of `open_files` leaves room for (at least 1).
pub fn connections_allowed(requested: u32, open_files: u64) -> u32 {
    let room = open_files.saturating_sub(RESERVED_DESCRIPTORS).max(1);
    u32::try_from(room).map_or(requested, |room| requested.min(room))
}

/// The soft limit on open files of this process, where the system tells it (Linux).
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use std::io::{Read, Write};
    use std::sync::mpsc;

    /// How long a test waits for anything; far above what each step needs.
    const BOUND: Duration = Duration::from_secs(30);

    const LIMITS: ConnectionLimits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(10),
        max_connections: 16,
        write_stall_timeout: Duration::from_secs(10),
        shutdown_grace: BOUND,
    };

    /// A running [`serve`] on its own runtime: its address, the shutdown trigger, and the
    /// thread that ends when `serve` has returned.
    struct Running {
        address: SocketAddr,
        shutdown: Option<tokio::sync::oneshot::Sender<()>>,
        done: mpsc::Receiver<()>,
    }

    fn start(app: Router) -> Running {
        start_with(app, LIMITS)
    }

    fn start_with(app: Router, limits: ConnectionLimits) -> Running {
        let (address_sender, address) = mpsc::channel();
        let (shutdown, shutdown_requested) = tokio::sync::oneshot::channel::<()>();
        let (done_sender, done) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
                let _ = address_sender.send(listener.local_addr().expect("address"));
                serve(listener, app, limits, None, async {
                    let _ = shutdown_requested.await;
                })
                .await;
            });
            let _ = done_sender.send(());
        });
        Running {
            address: address.recv_timeout(BOUND).expect("listening"),
            shutdown: Some(shutdown),
            done,
        }
    }

    fn connect(address: SocketAddr) -> std::net::TcpStream {
        let stream = std::net::TcpStream::connect(address).expect("connects");
        stream.set_read_timeout(Some(BOUND)).expect("timeout");
        stream
    }

    /// What the server sends until it closes the connection (bounded by the read timeout).
    fn read_answer(stream: &mut std::net::TcpStream) -> String {
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .expect("answered and closed in time");
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// One slot; a client asks for 64 MiB and reads none of it: after the write-stall timeout
    /// its connection is closed, and the next client is served. Without the guard the slot
    /// stays taken and the second request is never answered (the read below times out).
    #[test]
    fn a_client_that_does_not_read_its_answer_loses_its_connection() {
        let app = Router::new().route("/big", get(|| async { vec![b'x'; 64 << 20] }));
        let running = start_with(
            app,
            ConnectionLimits {
                max_connections: 1,
                write_stall_timeout: Duration::from_secs(1),
                ..LIMITS
            },
        );
        let mut greedy = connect(running.address);
        greedy
            .write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("sent");
        let mut next = connect(running.address);
        next.write_all(b"GET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .expect("sent");
        let answer = read_answer(&mut next);
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        drop(greedy);
    }

    #[test]
    fn every_request_carries_its_peer_address() {
        let app = Router::new().route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        );
        let running = start(app);
        let mut client = connect(running.address);
        client
            .write_all(b"GET /peer HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .expect("sent");
        let answer = read_answer(&mut client);
        let local = client.local_addr().expect("address").to_string();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(&local), "{answer} should name {local}");
    }

    #[test]
    fn shutdown_refuses_new_connections_and_lets_an_in_flight_request_finish() {
        let (entered, handler_entered) = mpsc::channel::<()>();
        let (release, released) = tokio::sync::watch::channel(false);
        let entered = Arc::new(std::sync::Mutex::new(entered));
        let handler = move || {
            let mut released = released.clone();
            let _ = entered.lock().map(|entered| entered.send(()));
            async move {
                let _ = released.wait_for(|released| *released).await;
                "finished"
            }
        };
        let mut running = start(Router::new().route("/slow", get(handler)));
        let mut client = connect(running.address);
        client
            .write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("sent");
        handler_entered
            .recv_timeout(BOUND)
            .expect("the request is in flight");

        if let Some(shutdown) = running.shutdown.take() {
            let _ = shutdown.send(());
        }
        // The listener closes: new connections are refused (polled, bounded).
        let refused_by = std::time::Instant::now() + BOUND;
        while std::net::TcpStream::connect(running.address).is_ok() {
            assert!(std::time::Instant::now() < refused_by, "still accepting");
            std::thread::sleep(Duration::from_millis(10));
        }
        // `serve` waits for the request in flight...
        assert!(
            running.done.try_recv().is_err(),
            "returned before the request finished"
        );
        let _ = release.send(true);
        // ...which is answered, and its connection then closed.
        let answer = read_answer(&mut client);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("finished"), "{answer}");
        running
            .done
            .recv_timeout(BOUND)
            .expect("serve returns once no connection is left");
    }

    #[test]
    fn the_cap_leaves_descriptors_for_the_rest_of_the_process() {
        assert_eq!(connections_allowed(1024, 1024), 992);
        assert_eq!(connections_allowed(1024, 20_000), 1024);
        assert_eq!(connections_allowed(1024, 64), 32);
        assert_eq!(connections_allowed(1024, 10), 1, "never 0");
        assert_eq!(connections_allowed(5, u64::MAX), 5);
    }

    #[test]
    fn the_open_files_limit_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(open_files_limit().is_some_and(|limit| limit > 0));
        }
    }
}
