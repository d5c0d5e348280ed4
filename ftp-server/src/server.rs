//! The server: a builder, the listeners and the accept loop.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ftp_proto::server::ServerConfig;
use futures_lite::{future, AsyncWriteExt};
use tracing::{debug, info, warn};

use crate::auth::Authenticator;
use crate::connection::{self, Shutdown};
use crate::limits::{ConnectionLimiter, LimitExceeded};
use crate::runtime::{Listener, Runtime};
use crate::storage::Storage;

/// Adapter settings that the protocol session does not need to know.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub listen: Vec<SocketAddr>,
    /// Listeners whose connections start with a TLS handshake (implicit FTPS).
    pub implicit_listen: Vec<SocketAddr>,
    pub passive_ports: Option<RangeInclusive<u16>>,
    pub active_source_port: u16,
    pub max_connections: usize,
    pub max_per_ip: usize,
    pub shutdown_grace: Duration,
}

/// An embedder's `SITE` commands: given the logged-in user and the text after `SITE `,
/// returns the reply code and text.
pub type SiteHandler = Arc<dyn Fn(&[u8], &[u8]) -> (u16, Bytes) + Send + Sync>;

/// What every session of one server shares.
pub(crate) struct Shared<R, S, A> {
    pub rt: R,
    pub storage: S,
    pub auth: A,
    pub config: Arc<ServerConfig>,
    pub options: Options,
    pub site: Option<SiteHandler>,
    #[cfg(feature = "rustls")]
    pub tls: Option<crate::tls::TlsConfig>,
}

/// Configures a [`Server`].
///
/// ```
/// use ftp_server::auth::UserTable;
/// use ftp_server::storage::MemoryStorage;
/// use ftp_server::Server;
///
/// let mut users = UserTable::new();
/// users.add_user("anna", b"secret").set_writable(true);
/// let server = Server::builder(MemoryStorage::new(), users)
///     .listen("127.0.0.1:0".parse().unwrap())
///     .passive_ports(50000..=50100)
///     .max_connections(200)
///     .build();
/// ```
pub struct ServerBuilder<S, A> {
    storage: S,
    auth: A,
    config: ServerConfig,
    options: Options,
    site: Option<SiteHandler>,
    #[cfg(feature = "rustls")]
    tls: Option<crate::tls::TlsConfig>,
}

impl<S, A> std::fmt::Debug for ServerBuilder<S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("config", &self.config)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S: Storage, A: Authenticator> ServerBuilder<S, A> {
    /// Listens on `addr` (IPv4 or IPv6; repeat for several). Default: `127.0.0.1:2121`.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.options.listen.push(addr);
        self
    }

    /// Passive data connections use ports from this range only (open exactly this range in a
    /// firewall). Default: any port the operating system picks.
    pub fn passive_ports(mut self, ports: RangeInclusive<u16>) -> Self {
        self.options.passive_ports = Some(ports);
        self
    }

    /// The IPv4 address announced in `227` replies, for a server behind NAT. Default: the
    /// address the client connected to.
    pub fn passive_address(mut self, addr: Ipv4Addr) -> Self {
        self.config.passive_public_addr = Some(addr);
        self
    }

    /// Whether active mode (`PORT`, `EPRT`, `LPRT`) is allowed. Default `true`; active data
    /// connections only ever go to the control connection's peer, to a port ≥ 1024.
    pub fn allow_active(mut self, allow: bool) -> Self {
        self.config.allow_active = allow;
        self
    }

    /// The source port of active-mode data connections (classically 20, which needs
    /// privileges). Default 0: any port.
    pub fn active_source_port(mut self, port: u16) -> Self {
        self.options.active_source_port = port;
        self
    }

    /// The most control connections served at once; further ones get `421`. Default 512.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.options.max_connections = n;
        self
    }

    /// The most control connections from one IP address; further ones get `421`. Default 32.
    pub fn max_per_ip(mut self, n: usize) -> Self {
        self.options.max_per_ip = n;
        self
    }

    /// Closes a control connection idle this long (`421`). Default 5 minutes.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Gives up on a data connection not established, or not moving, for this long. Default 60 s.
    pub fn data_timeout(mut self, timeout: Duration) -> Self {
        self.config.data_timeout = timeout;
        self
    }

    /// How long a failed login's `530` is held back. Default 3 s.
    pub fn login_failure_delay(mut self, delay: Duration) -> Self {
        self.config.login_failure_delay = delay;
        self
    }

    /// Failed logins before the session is closed with `421`. Default 3.
    pub fn max_login_failures(mut self, n: u32) -> Self {
        self.config.max_login_failures = n;
        self
    }

    /// The text of the `220` greeting.
    pub fn greeting(mut self, text: impl Into<Bytes>) -> Self {
        self.config.greeting = text.into();
        self
    }

    /// How long running transfers may continue after shutdown begins. Default 30 s.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.options.shutdown_grace = grace;
        self
    }

    /// Answers `SITE` commands of logged-in users with `handler(user, command)`, which returns
    /// the reply code (200–599) and text. Without a handler `SITE` answers `502`. The handler
    /// decides what each user may do; nothing here runs programs.
    ///
    /// ```
    /// # use ftp_server::{Server, storage::MemoryStorage, auth::UserTable};
    /// let server = Server::builder(MemoryStorage::new(), UserTable::new())
    ///     .site_commands(|_user, command| match command {
    ///         b"HELLO" => (200, "Hello.".into()),
    ///         _ => (500, "Unknown SITE command.".into()),
    ///     })
    ///     .build();
    /// ```
    pub fn site_commands(
        mut self,
        handler: impl Fn(&[u8], &[u8]) -> (u16, Bytes) + Send + Sync + 'static,
    ) -> Self {
        self.site = Some(Arc::new(handler));
        self.config.site_enabled = true;
        self
    }

    /// Offers FTPS with this certificate: `AUTH TLS` (RFC 4217) on every listener, and
    /// implicit TLS on the [`listen_implicit_tls`](Self::listen_implicit_tls) ones. The
    /// policy becomes [`TlsPolicy::Optional`](crate::TlsPolicy::Optional) unless
    /// [`tls_policy`](Self::tls_policy) says otherwise.
    ///
    /// ```no_run
    /// # fn main() -> std::io::Result<()> {
    /// use ftp_server::{auth::UserTable, storage::MemoryStorage, tls::TlsConfig, Server, TlsPolicy};
    /// let server = Server::builder(MemoryStorage::new(), UserTable::new())
    ///     .tls(TlsConfig::from_pem_files("cert.pem", "key.pem")?)
    ///     .tls_policy(TlsPolicy::Required)
    ///     .listen_implicit_tls("0.0.0.0:990".parse().unwrap())
    ///     .build();
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn tls(mut self, tls: crate::tls::TlsConfig) -> Self {
        self.tls = Some(tls);
        if !self.config.tls.enabled() {
            self.config.tls = ftp_proto::server::TlsPolicy::Optional;
        }
        self
    }

    /// How strictly TLS is required (see [`TlsPolicy`](crate::TlsPolicy)); needs
    /// [`tls`](Self::tls). With a policy that requires TLS, data connections must also resume
    /// the control connection's TLS session unless
    /// [`TlsConfig::require_session_reuse`](crate::tls::TlsConfig::require_session_reuse)
    /// says otherwise.
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn tls_policy(mut self, policy: ftp_proto::server::TlsPolicy) -> Self {
        self.config.tls = policy;
        self
    }

    /// Also listens on `addr` for implicit FTPS: every connection starts with a TLS
    /// handshake (the `ftps://` scheme, port 990 by convention); needs [`tls`](Self::tls).
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn listen_implicit_tls(mut self, addr: SocketAddr) -> Self {
        self.options.implicit_listen.push(addr);
        self
    }

    /// Every protocol setting, for those without a builder method.
    pub fn protocol_config(mut self, edit: impl FnOnce(&mut ServerConfig)) -> Self {
        edit(&mut self.config);
        self
    }

    /// Finishes the configuration.
    pub fn build(mut self) -> Server<S, A> {
        if self.options.listen.is_empty() && self.options.implicit_listen.is_empty() {
            self.options
                .listen
                .push(SocketAddr::from(([127, 0, 0, 1], 2121)));
        }
        Server {
            storage: self.storage,
            auth: self.auth,
            config: Arc::new(self.config),
            options: self.options,
            site: self.site,
            #[cfg(feature = "rustls")]
            tls: self.tls,
        }
    }
}

/// An FTP server: storage, authentication and settings, ready to bind.
///
/// Bind it on a runtime with [`Server::bind`], then run it with [`Bound::serve`]; with the
/// `tokio` feature, [`Server::run`] does both until Ctrl-C.
pub struct Server<S, A> {
    storage: S,
    auth: A,
    config: Arc<ServerConfig>,
    options: Options,
    site: Option<SiteHandler>,
    #[cfg(feature = "rustls")]
    tls: Option<crate::tls::TlsConfig>,
}

impl<S, A> std::fmt::Debug for Server<S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S: Storage, A: Authenticator> Server<S, A> {
    /// Starts configuring a server that serves `storage` to the users `auth` accepts.
    pub fn builder(storage: S, auth: A) -> ServerBuilder<S, A> {
        ServerBuilder {
            storage,
            auth,
            config: ServerConfig::default(),
            options: Options {
                listen: Vec::new(),
                implicit_listen: Vec::new(),
                passive_ports: None,
                active_source_port: 0,
                max_connections: 512,
                max_per_ip: 32,
                shutdown_grace: Duration::from_secs(30),
            },
            site: None,
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }

    /// Binds every listen address on `rt`.
    pub async fn bind<R: Runtime>(self, rt: R) -> io::Result<Bound<R, S, A>> {
        #[cfg(feature = "rustls")]
        let has_tls = self.tls.is_some();
        #[cfg(not(feature = "rustls"))]
        let has_tls = false;
        if (self.config.tls.enabled() || !self.options.implicit_listen.is_empty()) && !has_tls {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "TLS is configured but no certificate was given (ServerBuilder::tls)",
            ));
        }
        let mut listeners = Vec::new();
        let all = self.options.listen.iter().map(|a| (a, false));
        let implicit = self.options.implicit_listen.iter().map(|a| (a, true));
        for (addr, implicit) in all.chain(implicit) {
            let listener = rt
                .bind(*addr)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            listeners.push((listener, implicit));
        }
        Ok(Bound {
            listeners,
            shared: Arc::new(Shared {
                rt,
                storage: self.storage,
                auth: self.auth,
                config: self.config,
                options: self.options,
                site: self.site,
                #[cfg(feature = "rustls")]
                tls: self.tls,
            }),
        })
    }

    /// Binds on tokio and serves until Ctrl-C, then shuts down gracefully.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn run(self) -> io::Result<()> {
        let bound = self.bind(crate::runtime::TokioRuntime).await?;
        bound
            .serve(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    }
}

/// A server whose listeners are bound.
pub struct Bound<R: Runtime, S, A> {
    /// Each listener, and whether its connections start with TLS (implicit FTPS).
    listeners: Vec<(R::Listener, bool)>,
    shared: Arc<Shared<R, S, A>>,
}

impl<R: Runtime, S, A> std::fmt::Debug for Bound<R, S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("local_addrs", &self.local_addrs())
            .finish()
    }
}

impl<R: Runtime, S, A> Bound<R, S, A> {
    /// The addresses the server listens on for FTP (cleartext, or explicit TLS with
    /// `AUTH TLS`); useful after binding port 0.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|(_, implicit)| !implicit)
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// The addresses the server listens on for implicit FTPS.
    pub fn implicit_tls_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|(_, implicit)| *implicit)
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }
}

impl<R, S, A> Bound<R, S, A>
where
    R: Runtime,
    S: Storage,
    A: Authenticator,
{
    /// Serves until `shutdown` completes, then shuts down gracefully: no new connections,
    /// idle sessions get `421` at once, running transfers may finish within the grace period
    /// (then they are aborted, `426`, and their sessions get `421`).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> io::Result<()> {
        let shared = self.shared;
        // Closed when shutdown begins: every session watches it.
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        // Every session holds a clone; `recv` fails once all are gone.
        let (alive_tx, alive_rx) = async_channel::bounded::<()>(1);
        let limiter =
            ConnectionLimiter::new(shared.options.max_connections, shared.options.max_per_ip);
        for (listener, implicit) in &self.listeners {
            if let Ok(addr) = listener.local_addr() {
                info!(%addr, implicit_tls = implicit, "ready to accept connections");
            }
        }
        let mut loops: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>> = self
            .listeners
            .into_iter()
            .map(|(listener, implicit)| {
                let shared = Arc::clone(&shared);
                let stop_rx = stop_rx.clone();
                let alive_tx = alive_tx.clone();
                let limiter = limiter.clone();
                let accept = accept_loop(shared, listener, implicit, limiter, stop_rx, alive_tx);
                Box::pin(accept) as _
            })
            .collect();
        drop(alive_tx);
        // Accept on every listener until one fails for good (never, in practice).
        let accept_all = future::poll_fn(|cx| {
            for l in loops.iter_mut() {
                if l.as_mut().poll(cx).is_ready() {
                    return std::task::Poll::Ready(());
                }
            }
            std::task::Poll::Pending
        });
        future::or(accept_all, shutdown).await;
        // Closes the listeners (no new clients) and drops the accept loops' `alive` senders.
        drop(loops);

        info!("shutting down");
        drop(stop_tx);
        drop(stop_rx);
        // Sessions end within the grace period plus the time to write their last reply.
        let limit = Instant::now() + shared.options.shutdown_grace + Duration::from_secs(5);
        let rt = shared.rt.clone();
        future::or(
            async {
                let _ = alive_rx.recv().await;
            },
            rt.sleep_until(limit),
        )
        .await;
        Ok(())
    }
}

async fn accept_loop<R, S, A>(
    shared: Arc<Shared<R, S, A>>,
    listener: R::Listener,
    implicit_tls: bool,
    limiter: ConnectionLimiter,
    stop: async_channel::Receiver<()>,
    alive: async_channel::Sender<()>,
) where
    R: Runtime,
    S: Storage,
    A: Authenticator,
{
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of descriptors or a reset before accept: back off briefly, keep serving.
                warn!("accept failed: {e}");
                shared
                    .rt
                    .sleep_until(Instant::now() + Duration::from_millis(50))
                    .await;
                continue;
            }
        };
        match limiter.try_acquire(peer.ip()) {
            Ok(guard) => {
                let shared2 = Arc::clone(&shared);
                let shutdown = Shutdown {
                    signal: stop.clone(),
                    grace: shared.options.shutdown_grace,
                };
                let alive = alive.clone();
                shared.rt.spawn(async move {
                    connection::serve(shared2, stream, peer, implicit_tls, shutdown).await;
                    drop(guard);
                    drop(alive);
                });
            }
            Err(limit) if implicit_tls => {
                // A cleartext 421 would be noise to a TLS client: just close.
                debug!(%peer, "refused: {limit}");
                drop(stream);
            }
            Err(limit) => {
                let text: &[u8] = match limit {
                    LimitExceeded::PerIp { .. } => {
                        b"421 Too many connections from your address.\r\n"
                    }
                    _ => b"421 Too many connections; try again later.\r\n",
                };
                debug!(%peer, "refused: {limit}");
                let rt = shared.rt.clone();
                shared.rt.spawn(async move {
                    let deadline = Instant::now() + Duration::from_secs(5);
                    let write = async {
                        let _ = stream.write_all(text).await;
                        let _ = stream.close().await;
                    };
                    future::or(write, rt.sleep_until(deadline)).await;
                });
            }
        }
    }
}
