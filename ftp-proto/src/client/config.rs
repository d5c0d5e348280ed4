//! [`ClientConfig`]: per-connection settings of a client session.

use std::time::Duration;

use crate::reply::ReplyDecoder;

/// How the client obtains the data connection of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DataMode {
    /// Passive, `EPSV` first; on a refusal (`500`, `501`, `502`, `504`, `522`, or a negative
    /// reply naming EPSV), an unreadable `229` or a failed connection, `PASV`, and
    /// `PASV` for every later transfer of the session. On an IPv6 control connection only
    /// `EPSV` (RFC 2428 §1: `PASV` cannot name an IPv6 address).
    #[default]
    Auto,
    /// `EPSV` only (RFC 2428 §3).
    ExtendedPassive,
    /// `PASV` (RFC 959 §4.1.2); `EPSV` on an IPv6 control connection.
    Passive,
    /// Active: the adapter listens ([`Event::ListenData`](super::Event::ListenData)) and the
    /// client sends `PORT` (IPv4) or `EPRT` (IPv6, or IPv4 with
    /// [`ClientConfig::active_eprt`]).
    Active,
}

/// TLS on the control connection (RFC 4217).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsMode {
    /// Cleartext FTP.
    #[default]
    Off,
    /// Explicit FTPS: after the greeting the session sends `AUTH TLS` and waits for the
    /// handshake ([`Event::StartTls`](super::Event::StartTls)) before any other command; a
    /// refusal closes the session, so no password is ever sent in cleartext.
    Explicit,
    /// Implicit FTPS: the adapter runs the TLS handshake as soon as the TCP connection is
    /// established (port 990 style, `ftps://` URLs); the greeting already comes through TLS.
    Implicit,
}

/// Settings for [`ClientSession`](super::ClientSession). Start from
/// [`ClientConfig::default`] and change fields:
///
/// ```
/// use std::time::Duration;
/// use ftp_proto::client::{ClientConfig, DataMode};
/// let mut config = ClientConfig::default();
/// config.data_mode = DataMode::Passive;
/// config.reply_timeout = Duration::from_secs(10);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// How data connections are set up. Default [`DataMode::Auto`].
    pub data_mode: DataMode,
    /// Connect to the control connection's peer IP with the port of a `227` reply, whatever
    /// address the reply names (as curl does by default). This survives servers behind NAT
    /// that announce `0.0.0.0` or a private address, and refuses a hostile server's attempt to
    /// point the client at a third host. When `false` the announced address is used, except
    /// `0.0.0.0`, which is never connectable. Default `true`.
    pub nat_workaround: bool,
    /// In active mode on IPv4, send `EPRT |1|...|` instead of `PORT`. Default `false`.
    pub active_eprt: bool,
    /// The longest wait for a reply to a command (or for the greeting); when it passes the
    /// running operation fails with [`Timeout::Reply`](super::Timeout::Reply) and the session
    /// closes (the reply stream can no longer be trusted). Default 60 s.
    pub reply_timeout: Duration,
    /// The longest wait for a data connection to be established, and the longest a transfer
    /// may go without [`DataEvent::Progress`](super::DataEvent::Progress). Default 60 s.
    pub data_timeout: Duration,
    /// The cap on one reply line, line ending included (denial of service: a server that never
    /// sends a line ending cannot grow memory). Default 8 KiB.
    pub max_reply_line_len: usize,
    /// The cap on one whole reply (a `STAT` listing or `HELP` can be long). Default 1 MiB.
    pub max_reply_len: usize,
    /// The cap on the number of lines of one reply. Default 65,536.
    pub max_reply_lines: usize,
    /// How many operations may wait behind the running one. Default 16.
    pub max_queued: usize,
    /// TLS on the control connection. Default [`TlsMode::Off`].
    pub tls: TlsMode,
    /// With TLS, protect data connections too: after a successful login the session sends
    /// `PBSZ 0` and `PROT P` (RFC 4217 §8–9), and a refusal fails the login. Default `true`.
    pub protect_data: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            data_mode: DataMode::Auto,
            nat_workaround: true,
            active_eprt: false,
            reply_timeout: Duration::from_secs(60),
            data_timeout: Duration::from_secs(60),
            max_reply_line_len: ReplyDecoder::DEFAULT_MAX_LINE_LEN,
            max_reply_len: ReplyDecoder::DEFAULT_MAX_REPLY_LEN,
            max_reply_lines: ReplyDecoder::DEFAULT_MAX_LINES,
            max_queued: 16,
            tls: TlsMode::Off,
            protect_data: true,
        }
    }
}
