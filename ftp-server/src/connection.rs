//! One control connection: drives a [`ServerSession`] and performs the work it requests.
//!
//! The loop follows the session's drain order after every input: write
//! [`poll_transmit`](ServerSession::poll_transmit), run [`poll_request`](ServerSession::poll_request),
//! then wait for whichever comes first — control bytes (while the session wants input), an event
//! from a running transfer, the session's deadline, or the server's shutdown. Storage and
//! authentication requests are awaited in place (the session reads no further command while one
//! is outstanding); transfers run as their own task and report back over a channel.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ftp_proto::server::{
    DataChannel, Outcome, Request, RequestId, ServerSession, StorageOp, TransferEvent, UserInfo,
};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use tracing::{debug, info, warn, Instrument};

use crate::auth::{AuthError, Authenticator};
use crate::convert::{entry, file_name, now_unix, storage_error};
use crate::runtime::{Listener, Runtime, Stream};
use crate::server::Shared;
use crate::storage::Storage;
use crate::stream::MaybeTls;
use crate::transfer::{self, TransferJob};

/// What a transfer task reports to its session.
pub(crate) struct TransferReport {
    pub id: RequestId,
    pub event: TransferEvent,
}

/// The server-wide shutdown signal as a session sees it.
pub(crate) struct Shutdown {
    /// Closed (every sender dropped) when the server begins to shut down.
    pub signal: async_channel::Receiver<()>,
    /// How long running transfers may take to finish after that.
    pub grace: Duration,
}

enum Wake {
    Read(io::Result<usize>),
    Transfer(TransferReport),
    Timer,
    Shutdown,
    ShutdownDeadline,
}

/// Serves one control connection until it closes.
pub(crate) async fn serve<R, S, A>(
    shared: Arc<Shared<R, S, A>>,
    control: R::Stream,
    peer: SocketAddr,
    implicit_tls: bool,
    shutdown: Shutdown,
) where
    R: Runtime,
    S: Storage,
    A: Authenticator,
{
    let local = match control.local_addr() {
        Ok(a) => canonical(a),
        Err(e) => {
            debug!(%peer, "control connection lost before the greeting: {e}");
            return;
        }
    };
    let peer = canonical(peer);
    let span = tracing::info_span!("session", %peer, user = tracing::field::Empty);
    #[cfg(feature = "rustls")]
    let tls = shared
        .tls
        .as_ref()
        .map(|t| t.for_connection(t.reuse_required(shared.config.tls)));
    let mut control = MaybeTls::Plain(control);
    async move {
        debug!("connected");
        let config = Arc::clone(&shared.config);
        let session = if implicit_tls {
            #[cfg(feature = "rustls")]
            {
                let Some(tls) = &tls else { return };
                if let Err(e) = handshake(&shared.rt, &mut control, &tls.control, &config).await {
                    debug!("implicit TLS handshake failed: {e}");
                    return;
                }
                ServerSession::new_implicit_tls(config, local, peer, Instant::now())
            }
            #[cfg(not(feature = "rustls"))]
            return;
        } else {
            ServerSession::new(config, local, peer, Instant::now())
        };
        let mut conn = Connection {
            shared,
            session,
            local,
            peer,
            passive: None,
            transfers: Vec::new(),
            reports: async_channel::unbounded(),
            span: tracing::Span::current(),
            #[cfg(feature = "rustls")]
            tls,
        };
        conn.session
            .set_command_log(tracing::enabled!(tracing::Level::DEBUG));
        if let Err(e) = conn.run(&mut control, shutdown).await {
            debug!("control connection ended: {e}");
        }
        let _ = control.close().await;
        debug!("disconnected");
    }
    .instrument(span)
    .await;
}

/// Runs the server side of the control connection's TLS handshake, bounded by the data
/// timeout (a client that stalls mid-handshake holds nothing for long).
#[cfg(feature = "rustls")]
async fn handshake<R: Runtime>(
    rt: &R,
    control: &mut MaybeTls<R::Stream>,
    acceptor: &futures_rustls::TlsAcceptor,
    config: &ftp_proto::server::ServerConfig,
) -> io::Result<()> {
    let deadline = Instant::now() + config.data_timeout;
    let timeout = async {
        rt.sleep_until(deadline).await;
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        ))
    };
    future::or(control.upgrade(acceptor), timeout).await
}

struct Connection<R: Runtime, S, A> {
    shared: Arc<Shared<R, S, A>>,
    session: ServerSession,
    local: SocketAddr,
    peer: SocketAddr,
    /// The passive listener the next transfer accepts on.
    passive: Option<R::Listener>,
    /// Running transfers: dropping the sender tells the task to stop.
    transfers: Vec<(RequestId, async_channel::Sender<()>)>,
    reports: (
        async_channel::Sender<TransferReport>,
        async_channel::Receiver<TransferReport>,
    ),
    span: tracing::Span,
    /// This connection's TLS settings (its own session cache), when the server offers TLS.
    #[cfg(feature = "rustls")]
    tls: Option<crate::tls::ConnectionTls>,
}

impl<R, S, A> Connection<R, S, A>
where
    R: Runtime,
    S: Storage,
    A: Authenticator,
{
    async fn run(
        &mut self,
        control: &mut MaybeTls<R::Stream>,
        shutdown: Shutdown,
    ) -> io::Result<()> {
        let mut buf = vec![0u8; 4096];
        let mut shutting_down = false;
        let mut grace_deadline: Option<Instant> = None;
        loop {
            self.drain(control).await?;
            if self.session.is_closed() {
                return Ok(());
            }
            let deadline = self.session.poll_timeout();
            let wants_input = self.session.wants_input();
            let rt = self.shared.rt.clone();

            let read = async {
                if wants_input {
                    Wake::Read(control.read(&mut buf).await)
                } else {
                    future::pending().await
                }
            };
            let report = async {
                match self.reports.1.recv().await {
                    Ok(r) => Wake::Transfer(r),
                    Err(_) => future::pending().await,
                }
            };
            let timer = async {
                match deadline {
                    Some(t) => {
                        rt.sleep_until(t).await;
                        Wake::Timer
                    }
                    None => future::pending().await,
                }
            };
            let stop = async {
                if shutting_down {
                    match grace_deadline {
                        Some(t) => {
                            rt.sleep_until(t).await;
                            Wake::ShutdownDeadline
                        }
                        None => future::pending().await,
                    }
                } else {
                    let _ = shutdown.signal.recv().await;
                    Wake::Shutdown
                }
            };
            let wake = future::or(future::or(report, read), future::or(timer, stop)).await;

            let now = Instant::now();
            match wake {
                Wake::Read(Ok(0)) => self.session.handle_eof(now),
                Wake::Read(Ok(n)) => {
                    self.session.handle_input(&buf[..n], now);
                    // Past an urgent mark (Telnet Synch before ABOR) a read comes back short
                    // with more queued: take what is there now.
                    while self.session.wants_input() {
                        match control.read_now(&mut buf) {
                            Ok(0) => {
                                self.session.handle_eof(now);
                                break;
                            }
                            Ok(n) => self.session.handle_input(&buf[..n], now),
                            Err(_) => break,
                        }
                    }
                }
                Wake::Read(Err(e)) => {
                    debug!("control read failed: {e}");
                    self.session.handle_eof(now);
                }
                Wake::Transfer(r) => {
                    if matches!(
                        r.event,
                        TransferEvent::Finished { .. } | TransferEvent::Failed(_)
                    ) {
                        self.transfers.retain(|(t, _)| *t != r.id);
                    }
                    self.session.handle_transfer_event(r.id, r.event, now)
                }
                Wake::Timer => self.session.handle_timeout(now),
                Wake::Shutdown => {
                    shutting_down = true;
                    grace_deadline = Some(now + shutdown.grace);
                    self.session.handle_shutdown(now);
                }
                Wake::ShutdownDeadline => {
                    grace_deadline = None;
                    self.session.handle_shutdown_deadline(now);
                }
            }
        }
    }

    /// Writes the session's replies and performs its requests until it has nothing to say.
    async fn drain(&mut self, control: &mut MaybeTls<R::Stream>) -> io::Result<()> {
        // Commands as received; `Display` hides the PASS argument.
        while let Some(command) = self.session.poll_command() {
            debug!("-> {command}");
        }
        loop {
            while let Some(bytes) = self.session.poll_transmit() {
                if tracing::enabled!(tracing::Level::DEBUG) {
                    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                        debug!("<- {}", line.trim_ascii_end().escape_ascii());
                    }
                }
                self.write(control, &bytes).await?;
            }
            match self.session.poll_request() {
                Some(Request::StartTls) => self.start_tls(control).await?,
                Some(request) => self.perform(request).await,
                None => return Ok(()),
            }
        }
    }

    /// `AUTH TLS` was answered `234` (already written): the handshake, before any further
    /// read. A failed handshake ends the connection.
    async fn start_tls(&mut self, control: &mut MaybeTls<R::Stream>) -> io::Result<()> {
        #[cfg(feature = "rustls")]
        if let Some(tls) = &self.tls {
            handshake(&self.shared.rt, control, &tls.control, &self.shared.config).await?;
            debug!("control connection runs TLS");
            self.session.handle_tls_established(Instant::now());
            return Ok(());
        }
        let _ = control;
        Err(io::Error::other("TLS requested but not configured"))
    }

    /// Writes to the control connection; a client that stops reading is given up on after the
    /// idle timeout rather than holding the session forever.
    async fn write(&mut self, control: &mut MaybeTls<R::Stream>, bytes: &[u8]) -> io::Result<()> {
        let deadline = Instant::now() + self.shared.config.idle_timeout;
        let rt = self.shared.rt.clone();
        let timeout = async {
            rt.sleep_until(deadline).await;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client does not read its replies",
            ))
        };
        future::or(control.write_all(bytes), timeout).await
    }

    async fn perform(&mut self, request: Request) {
        debug!(?request, "request");
        match request {
            Request::Authenticate {
                id, user, password, ..
            } => {
                let outcome = match self
                    .shared
                    .auth
                    .authenticate(&user, password.expose())
                    .await
                {
                    Ok(account) => {
                        self.span
                            .record("user", tracing::field::display(user.escape_ascii()));
                        info!("logged in");
                        Outcome::LoggedIn(UserInfo::new(account.home, account.writable))
                    }
                    Err(AuthError::Rejected) => {
                        info!(user = %user.escape_ascii(), "login refused");
                        Outcome::Refused
                    }
                    Err(e) => {
                        warn!("authentication backend failed: {e}");
                        Outcome::Refused
                    }
                };
                self.session.handle_completion(id, outcome, Instant::now());
            }
            Request::Storage { id, op } => {
                let outcome = self.storage_op(op).await;
                self.session.handle_completion(id, outcome, Instant::now());
            }
            Request::OpenPassive { id, .. } => {
                self.passive = None;
                let outcome = match self.bind_passive().await {
                    Ok((listener, addr)) => {
                        self.passive = Some(listener);
                        Outcome::PassiveOpened(addr)
                    }
                    Err(e) => {
                        warn!("cannot open a passive listener: {e}");
                        Outcome::Failed(storage_error(&e))
                    }
                };
                self.session.handle_completion(id, outcome, Instant::now());
            }
            Request::ClosePassive => self.passive = None,
            Request::Transfer {
                id,
                op,
                data,
                ascii,
                protected,
            } => self.start_transfer(id, op, data, ascii, protected),
            Request::AbortTransfer { id } => {
                for (_, stop) in self.transfers.iter().filter(|(t, _)| *t == id) {
                    stop.close();
                }
                self.transfers.retain(|(t, _)| *t != id);
            }
            Request::Site { id, command } => {
                let outcome = match &self.shared.site {
                    Some(handler) => {
                        let user = self.session.user().unwrap_or_default();
                        let (code, text) = handler(user, &command);
                        Outcome::SiteReply { code, text }
                    }
                    None => Outcome::Failed(ftp_proto::server::StorageError::Unsupported),
                };
                self.session.handle_completion(id, outcome, Instant::now());
            }
            Request::Close => {
                self.passive = None;
                self.transfers.clear();
            }
            other => debug!(?other, "request not handled by this server"),
        }
    }

    async fn storage_op(&self, op: StorageOp) -> Outcome {
        let storage = &self.shared.storage;
        let result =
            match op {
                StorageOp::Metadata(path) => storage
                    .metadata(path.as_bytes())
                    .await
                    .map(|m| Outcome::Metadata(entry(file_name(path.as_bytes()), &m))),
                StorageOp::List(path) => transfer::list_entries(storage, path.as_bytes())
                    .await
                    .map(|entries| Outcome::Listing {
                        entries,
                        now_unix: now_unix(),
                    }),
                StorageOp::MakeDir(path) => storage.make_dir(path.as_bytes()).await.map(done),
                StorageOp::RemoveDir(path) => storage.remove_dir(path.as_bytes()).await.map(done),
                StorageOp::Delete(path) => storage.delete(path.as_bytes()).await.map(done),
                StorageOp::Rename { from, to } => storage
                    .rename(from.as_bytes(), to.as_bytes())
                    .await
                    .map(done),
                StorageOp::SetModified { path, time } => storage
                    .set_modified(
                        path.as_bytes(),
                        crate::storage::Timestamp::new(time.to_unix(), time.nanos),
                    )
                    .await
                    .map(done),
                other => {
                    debug!(?other, "storage operation not supported");
                    Err(io::Error::from(io::ErrorKind::Unsupported))
                }
            };
        result.unwrap_or_else(|e| {
            debug!("storage: {e}");
            Outcome::Failed(storage_error(&e))
        })
    }

    /// Binds a passive listener on the control connection's local address, in the configured
    /// port range (a random start, then every port of the range) or on a port the OS picks.
    async fn bind_passive(&self) -> io::Result<(R::Listener, SocketAddr)> {
        let ip = self.local.ip();
        let Some(range) = self.shared.options.passive_ports.clone() else {
            let listener = self.shared.rt.bind(SocketAddr::new(ip, 0)).await?;
            let addr = listener.local_addr()?;
            return Ok((listener, addr));
        };
        let (first, last) = (*range.start(), *range.end());
        let span = u32::from(last - first) + 1;
        let mut seed = [0u8; 4];
        let _ = getrandom::fill(&mut seed);
        let start = u32::from_le_bytes(seed) % span;
        let mut last_err = io::Error::new(io::ErrorKind::AddrInUse, "passive port range exhausted");
        for i in 0..span {
            let port = first + ((start + i) % span) as u16;
            match self.shared.rt.bind(SocketAddr::new(ip, port)).await {
                Ok(listener) => return Ok((listener, SocketAddr::new(ip, port))),
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }

    fn start_transfer(
        &mut self,
        id: RequestId,
        op: ftp_proto::server::TransferOp,
        data: DataChannel,
        ascii: bool,
        protected: bool,
    ) {
        let (abort_tx, abort_rx) = async_channel::bounded::<()>(1);
        self.transfers.push((id, abort_tx));
        let passive = match data {
            DataChannel::Passive => self.passive.take(),
            _ => None,
        };
        let job = TransferJob {
            id,
            op,
            data,
            ascii,
            passive,
            control_peer: self.peer.ip(),
            control_local: self.local.ip(),
            reports: self.reports.0.clone(),
            abort: abort_rx,
            #[cfg(feature = "rustls")]
            tls: self.tls.clone().filter(|_| protected),
        };
        #[cfg(not(feature = "rustls"))]
        let _ = protected;
        let shared = Arc::clone(&self.shared);
        let span = self.span.clone();
        self.shared
            .rt
            .spawn(transfer::run(shared, job).instrument(span));
    }
}

fn done(_: ()) -> Outcome {
    Outcome::Done
}

/// IPv4-mapped IPv6 addresses as plain IPv4, so `::ffff:10.0.0.1` and `10.0.0.1` compare equal
/// (RFC 2428 §2 usage, and the FTP-bounce check).
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// Whether a data connection from `ip` may be accepted for a session whose client is `peer`.
pub(crate) fn same_host(ip: IpAddr, peer: IpAddr) -> bool {
    ip.to_canonical() == peer.to_canonical()
}
