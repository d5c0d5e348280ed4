//! FTPS (RFC 4217) with rustls: certificates, the per-connection TLS settings, and the stream
//! type that is either plain TCP or TLS over it.
//!
//! The protocol side (when to answer `234`, what `PBSZ`/`PROT` mean, which transfers must be
//! protected) lives in `ftp-proto`; this module only performs the handshakes the session asks
//! for.
//!
//! **Session reuse.** Every control connection gets its own rustls session cache, shared by
//! nothing else; its data connections use the same cache. A data connection whose handshake
//! *resumed* a session can therefore only come from the client that owns the control
//! connection (or another data connection of it): that is the check vsftpd calls
//! `require_ssl_reuse`, and it stops a third party from racing the client to a passive port.
//! Entries may be resumed more than once (OpenSSL-based clients such as curl reuse the control
//! connection's session for every transfer); they never leave the control connection they
//! belong to. Stateless tickets are turned off for the same reason.
//!
//! TLS 1.3 tickets: the control handshake hands out 8, each download (RETR, listings) one
//! more, uploads none (see `for_connection`). A client that spends one ticket per connection
//! and never reuses one (rustls) can therefore run 8 protected uploads in a row before a
//! download; OpenSSL- and GnuTLS-based clients (curl, lftp, Python) reuse their session and
//! are not limited. Where that matters, turn
//! [`require_session_reuse`](TlsConfig::require_session_reuse) off.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures_io::{AsyncRead, AsyncWrite};
use rustls::server::{ProducesTickets, StoresServerSessions};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The server's TLS settings: its certificate chain and key, and whether data connections
/// must resume the control connection's TLS session.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// use ftp_server::tls::TlsConfig;
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    base: Arc<rustls::ServerConfig>,
    require_session_reuse: Option<bool>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("require_session_reuse", &self.require_session_reuse)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS #8, PKCS #1 or
    /// SEC1), and offers TLS 1.2 and 1.3 with rustls's safe defaults (ring provider).
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| invalid(format!("{}: {e}", cert.display())))?;
        if chain.is_empty() {
            return Err(invalid(format!("{}: no certificate", cert.display())));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| invalid(format!("{}: {e}", key.display())))?;
        Self::from_der(chain, key)
    }

    /// Like [`from_pem_files`](Self::from_pem_files), from PEM text in memory.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> io::Result<Self> {
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("certificate: {e}")))?;
        if chain.is_empty() {
            return Err(invalid("no certificate in the PEM text".to_owned()));
        }
        let key =
            PrivateKeyDer::from_pem_slice(key).map_err(|e| invalid(format!("private key: {e}")))?;
        Self::from_der(chain, key)
    }

    /// From a DER certificate chain (leaf first) and private key.
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> io::Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(Self::from_rustls(config))
    }

    /// From a rustls configuration the embedder built (client certificates, other
    /// providers...). Its session cache, ticketer and early-data settings are replaced per
    /// connection (see the [module documentation](self)).
    pub fn from_rustls(config: rustls::ServerConfig) -> Self {
        TlsConfig {
            base: Arc::new(config),
            require_session_reuse: None,
        }
    }

    /// Whether a protected data connection must resume the control connection's TLS session
    /// (else `522`). Default: required whenever the policy requires TLS, as vsftpd's
    /// `require_ssl_reuse`. curl, lftp, FileZilla and this workspace's client resume;
    /// Python's stock `ftplib.FTP_TLS` does not.
    pub fn require_session_reuse(mut self, require: bool) -> Self {
        self.require_session_reuse = Some(require);
        self
    }

    /// The setting of [`require_session_reuse`](Self::require_session_reuse), with its default
    /// resolved for `policy`.
    pub(crate) fn reuse_required(&self, policy: ftp_proto::server::TlsPolicy) -> bool {
        self.require_session_reuse
            .unwrap_or(policy.login_required())
    }

    /// The TLS settings of one control connection and its data connections.
    pub(crate) fn for_connection(&self, require_reuse: bool) -> ConnectionTls {
        let sessions: Arc<dyn StoresServerSessions> = Arc::new(ConnectionSessions::default());
        let mut control = (*self.base).clone();
        control.session_storage = Arc::clone(&sessions);
        control.ticketer = Arc::new(NoTickets);
        control.max_early_data_size = 0;
        control.send_tls13_tickets = CONTROL_TICKETS;
        // A download hands the client a fresh ticket, so a TLS 1.3 client that uses each
        // ticket once (rustls) keeps resuming. An upload hands out none: a client that
        // closes its upload without reading (curl) would leave the ticket unread, and its
        // kernel would answer the server's close with a reset that destroys the upload's
        // last bytes.
        let mut download = control.clone();
        download.send_tls13_tickets = 1;
        let mut upload = control.clone();
        upload.send_tls13_tickets = 0;
        ConnectionTls {
            control: futures_rustls::TlsAcceptor::from(Arc::new(control)),
            download: Arc::new(download),
            upload: Arc::new(upload),
            require_reuse,
        }
    }
}

/// TLS 1.3 tickets sent on the control connection's handshake: a client that uses each ticket
/// once resumes this many uploads in a row with them (downloads bring a new one each). rustls
/// clients keep at most 8 per server.
const CONTROL_TICKETS: usize = 8;

/// Sessions remembered per control connection (control and data handshakes add entries).
const SESSIONS_PER_CONNECTION: usize = 32;

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// One control connection's TLS: the acceptor for it and the settings of its data
/// connections.
#[derive(Clone)]
pub(crate) struct ConnectionTls {
    pub control: futures_rustls::TlsAcceptor,
    /// For data connections the server writes to (RETR, listings).
    download: Arc<rustls::ServerConfig>,
    /// For data connections the server reads from (STOR, APPE, STOU).
    upload: Arc<rustls::ServerConfig>,
    require_reuse: bool,
}

impl ConnectionTls {
    /// The TLS of one data connection, for a transfer that reads from the client (`upload`)
    /// or writes to it.
    pub(crate) fn data(&self, upload: bool) -> DataTls {
        DataTls {
            config: Arc::clone(if upload { &self.upload } else { &self.download }),
            require_reuse: self.require_reuse,
        }
    }
}

/// The TLS a data connection is to run: the handshake is still to come.
pub(crate) struct DataTls {
    config: Arc<rustls::ServerConfig>,
    require_reuse: bool,
}

impl DataTls {
    /// The handshake on an async stream.
    pub(crate) async fn accept<S: crate::runtime::Stream>(
        self,
        data: &mut crate::stream::MaybeTls<S>,
    ) -> Result<(), ftp_proto::server::TransferError> {
        use ftp_proto::server::TransferError;
        let acceptor = futures_rustls::TlsAcceptor::from(Arc::clone(&self.config));
        data.upgrade(&acceptor).await.map_err(|e| {
            tracing::debug!("data connection TLS handshake failed: {e}");
            TransferError::TlsHandshake
        })?;
        if let crate::stream::MaybeTls::Tls(stream) = data {
            self.check(stream.get_ref().1)?;
        }
        Ok(())
    }

    /// The handshake on a blocking socket, for a copy loop on a thread of its own.
    pub(crate) fn accept_blocking(
        self,
        mut socket: &std::net::TcpStream,
    ) -> Result<rustls::ServerConnection, ftp_proto::server::TransferError> {
        use ftp_proto::server::TransferError;
        let fail = |e: &dyn fmt::Display| {
            tracing::debug!("data connection TLS handshake failed: {e}");
            TransferError::TlsHandshake
        };
        let mut conn =
            rustls::ServerConnection::new(Arc::clone(&self.config)).map_err(|e| fail(&e))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut socket).map_err(|e| fail(&e))?;
        }
        self.check(&conn)?;
        // Whole 256 KiB chunks are encrypted and written in one go.
        conn.set_buffer_limit(Some(BLOCKING_BUFFER_LIMIT));
        Ok(conn)
    }

    fn check(
        &self,
        conn: &rustls::ServerConnection,
    ) -> Result<(), ftp_proto::server::TransferError> {
        if self.require_reuse && conn.handshake_kind() != Some(rustls::HandshakeKind::Resumed) {
            tracing::warn!("data connection did not resume the control connection's TLS session");
            return Err(ftp_proto::server::TransferError::TlsNotResumed);
        }
        Ok(())
    }
}

/// How much rustls buffers in a blocking copy loop (the default, 64 KiB, would split every
/// chunk into several writes).
const BLOCKING_BUFFER_LIMIT: usize = 1024 * 1024;

/// A session cache private to one control connection. `take` leaves the entry in place, so a
/// session may be resumed by several data connections (see the module documentation).
#[derive(Debug, Default)]
struct ConnectionSessions {
    entries: Mutex<VecDeque<(Vec<u8>, Vec<u8>)>>,
}

impl StoresServerSessions for ConnectionSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let Ok(mut entries) = self.entries.lock() else {
            return false;
        };
        entries.retain(|(k, _)| *k != key);
        if entries.len() >= SESSIONS_PER_CONNECTION {
            entries.pop_front();
        }
        entries.push_back((key, value));
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|(k, _)| k.as_slice() == key)
            .map(|(_, v)| v.clone())
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get(key)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// No stateless tickets: a ticket would resume on any connection that shares the key.
#[derive(Debug)]
struct NoTickets;

impl ProducesTickets for NoTickets {
    fn enabled(&self) -> bool {
        false
    }

    fn lifetime(&self) -> u32 {
        0
    }

    fn encrypt(&self, _plain: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn decrypt(&self, _cipher: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

/// A server-side TLS stream.
pub(crate) type TlsStream<S> = futures_rustls::server::TlsStream<S>;

/// Runs the server side of a TLS handshake on `stream`.
pub(crate) async fn accept<S>(
    acceptor: &futures_rustls::TlsAcceptor,
    stream: S,
) -> io::Result<TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    acceptor.accept(stream).await
}
