//! FTPS (RFC 4217) with rustls: certificates, and the TLS settings of each control connection
//! and its data connections.
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
//! Entries may be resumed more than once (TLS 1.2 clients reuse the control connection's
//! session ID for every transfer, and so do GnuTLS clients such as lftp with TLS 1.3
//! tickets); they never leave the control connection they belong to. Stateless tickets are
//! turned off for the same reason.
//!
//! TLS 1.3 tickets: clients resume each data connection with a ticket the server sent before,
//! and both rustls and curl (OpenSSL) use a ticket only once, so every data connection must
//! bring a new one: the control handshake hands out 8 and each data connection one more. An
//! upload's ticket is the delicate one: a client that closes its upload without reading (curl
//! does) would leave it unread, and its kernel would then reset the connection and drop the
//! upload's unsent tail. Binary uploads into files (the copy loop on its own thread) therefore
//! hold the ticket back until the client's close_notify has arrived. Other uploads (TYPE A, or
//! storage without a file) run through `futures-rustls`, which sends tickets at once: they
//! hand out one only when the tickets this connection issued and never saw used are down to
//! two (a client that reads its connections to the end, as rustls does).

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

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
        let sessions = Arc::new(ConnectionSessions::default());
        let storage: Arc<dyn StoresServerSessions> = sessions.clone();
        let mut control = (*self.base).clone();
        control.session_storage = storage;
        control.ticketer = Arc::new(NoTickets);
        control.max_early_data_size = 0;
        control.send_tls13_tickets = CONTROL_TICKETS;
        // See the module documentation for when each data connection hands out a ticket.
        let mut download = control.clone();
        download.send_tls13_tickets = 1;
        let mut upload = control.clone();
        upload.send_tls13_tickets = 0;
        ConnectionTls {
            control: futures_rustls::TlsAcceptor::from(Arc::new(control)),
            download: Arc::new(download),
            upload: Arc::new(upload),
            sessions,
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

/// When no more than this many tickets of a connection were never used, uploads hand out one.
const LOW_TICKETS: usize = 2;

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
    /// For data connections the server reads from (STOR, APPE, STOU) while the client has
    /// tickets to spare.
    upload: Arc<rustls::ServerConfig>,
    sessions: Arc<ConnectionSessions>,
    require_reuse: bool,
}

impl ConnectionTls {
    /// The TLS of one data connection, for a transfer that reads from the client (`upload`)
    /// or writes to it.
    pub(crate) fn data(&self, upload: bool) -> DataTls {
        let short = self.sessions.unused() <= LOW_TICKETS;
        let config = if upload && !short {
            &self.upload
        } else {
            &self.download
        };
        DataTls {
            config: Arc::clone(config),
            with_ticket: Arc::clone(&self.download),
            upload,
            require_reuse: self.require_reuse,
        }
    }
}

/// The TLS a data connection is to run: the handshake is still to come.
pub(crate) struct DataTls {
    /// For the async paths (an upload hands out a ticket only when the client runs short).
    config: Arc<rustls::ServerConfig>,
    /// For the blocking paths, which hand out a ticket with every connection (an upload's
    /// only after the client's close_notify).
    with_ticket: Arc<rustls::ServerConfig>,
    upload: bool,
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
    ///
    /// Every connection hands the client a TLS 1.3 ticket, so clients that spend one per
    /// connection (rustls, curl) keep resuming. On an upload the ticket stays queued until the
    /// copy loop has read the client's close_notify and writes its own: a client that closes
    /// an upload without reading (curl) never has unread data when it closes, which would
    /// make its kernel reset the connection and drop the upload's last bytes.
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
            rustls::ServerConnection::new(Arc::clone(&self.with_ticket)).map_err(|e| fail(&e))?;
        loop {
            // TLS 1.2 ends with the server's Finished; TLS 1.3 with the client's, after which
            // only the tickets are left to send.
            let deferred = self.upload
                && !conn.is_handshaking()
                && conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
            while conn.wants_write() && !deferred {
                conn.write_tls(&mut socket).map_err(|e| fail(&e))?;
            }
            if !conn.is_handshaking() {
                break;
            }
            match conn.read_tls(&mut socket) {
                Ok(0) => return Err(fail(&"end of file during the handshake")),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(fail(&e)),
            }
            if let Err(e) = conn.process_new_packets() {
                // Tell the client why (the alert is queued), then give up.
                let _ = conn.write_tls(&mut socket);
                return Err(fail(&e));
            }
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
/// session may be resumed by several data connections (see the module documentation); each
/// entry remembers whether it was ever resumed.
#[derive(Debug, Default)]
struct ConnectionSessions {
    entries: Mutex<VecDeque<Session>>,
}

#[derive(Debug)]
struct Session {
    key: Vec<u8>,
    value: Vec<u8>,
    used: bool,
}

impl ConnectionSessions {
    /// How many sessions (TLS 1.3: tickets) were handed out and never resumed.
    fn unused(&self) -> usize {
        self.entries
            .lock()
            .map_or(0, |e| e.iter().filter(|s| !s.used).count())
    }
}

impl StoresServerSessions for ConnectionSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let Ok(mut entries) = self.entries.lock() else {
            return false;
        };
        entries.retain(|s| s.key != key);
        if entries.len() >= SESSIONS_PER_CONNECTION {
            entries.pop_front();
        }
        entries.push_back(Session {
            key,
            value,
            used: false,
        });
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut entries = self.entries.lock().ok()?;
        let session = entries.iter_mut().find(|s| s.key == key)?;
        session.used = true;
        Some(session.value.clone())
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
