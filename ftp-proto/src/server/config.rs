//! [`ServerConfig`]: per-server settings shared by every session.

use std::net::Ipv4Addr;
use std::time::Duration;

use bytes::Bytes;

/// Settings for [`ServerSession`](super::ServerSession), shared between sessions through an
/// `Arc`. Start from [`ServerConfig::default`] (safe values) and change fields:
///
/// ```
/// use ftp_proto::server::ServerConfig;
/// let mut config = ServerConfig::default();
/// config.allow_active = false;
/// config.passive_public_addr = Some("203.0.113.7".parse().unwrap());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The text of the `220` greeting. Name no software or version here unless you mean to.
    pub greeting: Bytes,
    /// The longest command line accepted, without its CRLF. Longer lines are answered `500`
    /// and skipped (vsftpd uses 4096, pyftpdlib 2048). Default 4096.
    pub max_line_len: usize,
    /// How many commands may wait while a transfer runs (pipelining). Default 16.
    pub max_pipelined: usize,
    /// Raw control bytes buffered while the session is busy; a client that overflows it,
    /// ignoring [`wants_input`](super::ServerSession::wants_input), gets `421`. At least twice
    /// `max_line_len`. Default 16 KiB.
    pub max_buffered_input: usize,
    /// Close an idle control connection after this long without a command (`421`,
    /// RFC 1123 §4.1.3.2). Default 5 minutes.
    pub idle_timeout: Duration,
    /// A data connection that is not established, or makes no progress, within this long is
    /// given up (`425` if it never connected; `426` then `421` if it stalled). Default 60 s.
    pub data_timeout: Duration,
    /// How long the `530` of a failed login is held back (RFC 2577 §5). The session keeps
    /// working on other input meanwhile; nothing blocks. Default 3 s.
    pub login_failure_delay: Duration,
    /// After this many failed logins the session answers `421` and closes. Default 3.
    pub max_login_failures: u32,
    /// Accept `PORT`, `EPRT` and `LPRT` (always checked against FTP bounce). Default `true`.
    pub allow_active: bool,
    /// The IPv4 address announced in `227`/`228` replies, for a server behind NAT. `None`
    /// announces the control connection's local address.
    pub passive_public_addr: Option<Ipv4Addr>,
    /// Forward `SITE` commands to the embedder as [`Request::Site`](super::Request::Site).
    /// Default `false`: `SITE` answers `502`.
    pub site_enabled: bool,
    /// Host names accepted by `HOST` (RFC 7151), compared without case. Empty accepts any name.
    pub virtual_hosts: Vec<Bytes>,
    /// The most entries `STAT path` sends over the control connection. Default 1000.
    pub max_stat_entries: usize,
    /// Whether TLS (RFC 4217 `AUTH TLS`) is offered and how strictly it is required. The
    /// embedder sets it only when it can run the handshakes. Default [`TlsPolicy::Disabled`].
    pub tls: TlsPolicy,
}

/// How a server treats TLS on the control and data connections (RFC 4217).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsPolicy {
    /// No TLS: `AUTH` answers `502`, `PBSZ`/`PROT` `503`.
    #[default]
    Disabled,
    /// `AUTH TLS` is accepted; logins and data connections may stay in cleartext.
    Optional,
    /// `USER` before `AUTH TLS` is refused with `530`, so no password travels in
    /// cleartext; data connections may stay in cleartext (`PROT C`).
    RequiredForLogin,
    /// As `RequiredForLogin`, and data connections must be protected: `PROT C` answers
    /// `534`, a transfer without `PROT P` answers `521`.
    Required,
}

impl TlsPolicy {
    /// Whether `AUTH TLS` is accepted.
    pub fn enabled(self) -> bool {
        self != TlsPolicy::Disabled
    }

    /// Whether logging in requires a TLS-protected control connection.
    pub fn login_required(self) -> bool {
        matches!(self, TlsPolicy::RequiredForLogin | TlsPolicy::Required)
    }

    /// Whether data connections must be protected (`PROT P`).
    pub fn data_required(self) -> bool {
        self == TlsPolicy::Required
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            greeting: Bytes::from_static(b"FTP server ready."),
            max_line_len: 4096,
            max_pipelined: 16,
            max_buffered_input: 16 * 1024,
            idle_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(60),
            login_failure_delay: Duration::from_secs(3),
            max_login_failures: 3,
            allow_active: true,
            passive_public_addr: None,
            site_enabled: false,
            virtual_hosts: Vec::new(),
            max_stat_entries: 1000,
            tls: TlsPolicy::Disabled,
        }
    }
}
