//! What the session asks of its embedder ([`Request`]) and what the embedder reports back
//! ([`Outcome`], [`TransferEvent`]).
//!
//! A request tells the adapter *what* to do, never *why*: it never carries a reply code. The
//! session decides every reply from the typed result it gets back.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::listing::Entry;
use crate::path::VirtualPath;
use crate::time::FtpTime;

/// Identifies one request, so its result can be matched with it.
///
/// Ids are unique within one session and increase monotonically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

impl RequestId {
    /// The id as a number (unique within its session).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A password or other secret. Its `Debug` form never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Bytes);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: Bytes) -> Self {
        Secret(bytes)
    }

    /// The secret bytes, for checking against a credential store.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Work the session needs done, taken with
/// [`ServerSession::poll_request`](super::ServerSession::poll_request).
///
/// Requests carrying an `id` expect exactly one answer: [`handle_completion`] for
/// `Authenticate`, `Storage`, `OpenPassive` and `Site`; a sequence of [`handle_transfer_event`]
/// calls ending in `Finished` or `Failed` for `Transfer`. `ClosePassive`, `AbortTransfer` and
/// `Close` expect no answer (an aborted transfer still ends with its `Finished` or `Failed`
/// event).
///
/// [`handle_completion`]: super::ServerSession::handle_completion
/// [`handle_transfer_event`]: super::ServerSession::handle_transfer_event
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// Check credentials. Answer with [`Outcome::LoggedIn`], [`Outcome::NeedAccount`] or
    /// [`Outcome::Refused`]. Unknown users must be refused exactly like wrong passwords; the
    /// session adds the delay (RFC 2577 §5).
    Authenticate {
        /// Matches the answer.
        id: RequestId,
        /// The `USER` argument.
        user: Bytes,
        /// The `PASS` argument.
        password: Secret,
        /// The `ACCT` argument, when the client sent one after a `332` reply.
        account: Option<Bytes>,
        /// The virtual host named by `HOST` (RFC 7151), if any.
        host: Option<Bytes>,
    },
    /// A file-system operation. Answer with [`Outcome::Done`], [`Outcome::Metadata`],
    /// [`Outcome::Listing`] (as the operation says) or [`Outcome::Failed`].
    Storage {
        /// Matches the answer.
        id: RequestId,
        /// What to do.
        op: StorageOp,
    },
    /// Bind a passive data listener (in the configured port range, on the control
    /// connection's local address) and answer [`Outcome::PassiveOpened`] with the bound
    /// address, or [`Outcome::Failed`] (the session replies `425`). Only connections from the
    /// control connection's peer IP may be accepted on it (RFC 2577 §3, port stealing).
    /// Any previous listener has already been closed by a [`Request::ClosePassive`].
    OpenPassive {
        /// Matches the answer.
        id: RequestId,
        /// Bind an IPv6 listener (`EPSV` on an IPv6 control connection) instead of IPv4.
        ipv6: bool,
    },
    /// Close the passive listener, if any. No answer.
    ClosePassive,
    /// Run one data transfer; report its progress with `handle_transfer_event`:
    /// open the storage side, report [`TransferEvent::Opened`], obtain the data connection
    /// (accept on the passive listener, or connect to the active address), report
    /// [`TransferEvent::Connected`], stream (converting line endings with the `ascii` module
    /// when `ascii` is set), report [`TransferEvent::Progress`] regularly, then
    /// [`TransferEvent::Finished`] or [`TransferEvent::Failed`]. The passive listener is used
    /// for this one transfer only (RFC 1123 §4.1.2.6) and is closed afterwards.
    Transfer {
        /// Matches the events.
        id: RequestId,
        /// What to transfer.
        op: TransferOp,
        /// How to get the data connection.
        data: DataChannel,
        /// `TYPE A`: convert line endings (RFC 959 §3.1.1.1).
        ascii: bool,
        /// `PROT P`: run a TLS handshake on the data connection after it is established, the
        /// server as the TLS server also in active mode (RFC 4217 §9); report a failed
        /// handshake as [`TransferError::TlsHandshake`].
        protected: bool,
    },
    /// Stop the transfer `id` now and close its data connection. The transfer still ends with
    /// a `Finished` or `Failed` event.
    AbortTransfer {
        /// The transfer to stop.
        id: RequestId,
    },
    /// A `SITE` command for the embedder (only sent when
    /// [`ServerConfig::site_enabled`](super::ServerConfig::site_enabled) is set). Answer with
    /// [`Outcome::SiteReply`] or [`Outcome::Failed`]. Apply the same permission checks as for
    /// any other command, and never run programs.
    Site {
        /// Matches the answer.
        id: RequestId,
        /// The text after `SITE `.
        command: Bytes,
    },
    /// `AUTH TLS` was accepted: write the `234` reply already taken from
    /// [`poll_transmit`](super::ServerSession::poll_transmit), then run the TLS handshake on
    /// the control connection as the TLS server, and report it with
    /// [`handle_tls_established`](super::ServerSession::handle_tls_established). Until then the
    /// session takes no input ([`wants_input`](super::ServerSession::wants_input) is `false`;
    /// bytes fed anyway are discarded). Every later control byte goes through TLS. When the
    /// handshake fails, close the connection.
    StartTls,
    /// The session is over: close any listener and data connection. The control connection
    /// closes once [`poll_transmit`](super::ServerSession::poll_transmit) is drained.
    Close,
}

/// A file-system operation over normalised virtual paths.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageOp {
    /// Describe one file or directory: answer [`Outcome::Metadata`] (used by `CWD`, `SIZE`,
    /// `MDTM`, `MLST`, `RNFR`).
    Metadata(VirtualPath),
    /// List a directory (or a single file as one entry): answer [`Outcome::Listing`]
    /// (used by `STAT path`, sent over the control connection).
    List(VirtualPath),
    /// Create a directory (`MKD`).
    MakeDir(VirtualPath),
    /// Remove an empty directory (`RMD`).
    RemoveDir(VirtualPath),
    /// Delete a file (`DELE`).
    Delete(VirtualPath),
    /// Rename (`RNFR` + `RNTO`).
    Rename {
        /// The existing name.
        from: VirtualPath,
        /// The new name.
        to: VirtualPath,
    },
    /// Set the modification time (`MFMT`).
    SetModified {
        /// The file.
        path: VirtualPath,
        /// The new time, UTC.
        time: FtpTime,
    },
}

/// What a [`Request::Transfer`] moves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferOp {
    /// Send a file, starting at byte `offset` (from `REST`; 0 without).
    Retr {
        /// The file.
        path: VirtualPath,
        /// Where to start.
        offset: u64,
    },
    /// Receive a file; `offset` 0 truncates/creates, more overwrites from that position.
    /// The previous content should survive a failed upload (write aside, then rename).
    Stor {
        /// The file.
        path: VirtualPath,
        /// Where to start writing.
        offset: u64,
    },
    /// Receive and append to a file (created if missing).
    Appe {
        /// The file.
        path: VirtualPath,
    },
    /// Receive into a new file with a name the storage chooses in `dir`; report the name in
    /// [`TransferEvent::Opened`].
    Stou {
        /// The directory to create the file in.
        dir: VirtualPath,
    },
    /// Send a directory listing.
    List {
        /// The directory (or file) to list.
        path: VirtualPath,
        /// The line format.
        format: ListFormat,
        /// Include hidden (dot) entries (`LIST -a`).
        all: bool,
    },
}

/// The line format of a listing transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListFormat {
    /// `LIST`: Unix `ls -l` lines.
    Unix,
    /// `NLST`: names only, one per line.
    Nlst,
    /// `MLSD`: RFC 3659 fact lines with these facts (apply them with
    /// [`MlstFacts::apply`](super::MlstFacts::apply) before
    /// [`format_mlsx_line`](crate::listing::format_mlsx_line)).
    Mlsd(super::MlstFacts),
}

impl ListFormat {
    /// Writes `entries` as the data of a listing transfer, each line ending in CRLF (listings
    /// are TYPE A). `LIST` and `NLST` leave out dot files unless `all` (`LIST -a`), as `ls`
    /// does; `MLSD` lists every entry with the facts chosen by `OPTS MLST`. `now_unix` lets
    /// `ls -l` lines choose between a time and a year. No CR, LF or NUL from a file name is
    /// written raw.
    ///
    /// ```
    /// use ftp_proto::listing::{Entry, EntryKind};
    /// use ftp_proto::server::ListFormat;
    ///
    /// let entries = vec![
    ///     Entry::new(&b"notes.txt"[..], EntryKind::File),
    ///     Entry::new(&b".hidden"[..], EntryKind::File),
    /// ];
    /// let mut out = Vec::new();
    /// ListFormat::Nlst.write_listing(entries, false, 0, &mut out);
    /// assert_eq!(out, b"notes.txt\r\n");
    /// ```
    pub fn write_listing(self, entries: Vec<Entry>, all: bool, now_unix: i64, out: &mut Vec<u8>) {
        let hidden = |e: &Entry| e.name.first() == Some(&b'.');
        for mut e in entries {
            match self {
                ListFormat::Unix | ListFormat::Nlst if !all && hidden(&e) => continue,
                ListFormat::Unix => crate::listing::format_unix_line(&e, now_unix, out),
                ListFormat::Nlst => out.extend(e.name.iter().map(|&b| match b {
                    b'\r' | b'\n' | 0 => b'?',
                    b => b,
                })),
                ListFormat::Mlsd(facts) => {
                    facts.apply(&mut e);
                    crate::listing::format_mlsx_line(&e, out);
                }
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// How the adapter obtains a transfer's data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataChannel {
    /// Accept one connection on the passive listener (only from the control peer's IP).
    Passive,
    /// Connect to this address (already checked against FTP bounce: it is the control peer's
    /// IP and a port ≥ 1024).
    Active(SocketAddr),
}

/// What a logged-in user may do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserInfo {
    /// The initial working directory, as a virtual path.
    pub home: Bytes,
    /// Whether uploads and changes (STOR, APPE, STOU, DELE, MKD, RMD, RNFR/RNTO, MFMT) are
    /// allowed. When `false` the session refuses them with `550` without asking the storage.
    pub writable: bool,
}

impl UserInfo {
    /// A user starting in `home`.
    pub fn new(home: impl Into<Bytes>, writable: bool) -> Self {
        UserInfo {
            home: home.into(),
            writable,
        }
    }
}

/// The answer to a [`Request`] carrying an id (except `Transfer`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The storage operation succeeded and has nothing to report.
    Done,
    /// The answer to [`StorageOp::Metadata`].
    Metadata(Entry),
    /// The answer to [`StorageOp::List`]. `now_unix` (the wall clock, in Unix seconds) lets
    /// the `ls -l` format choose between a time and a year, since the session reads no clock.
    Listing {
        /// The entries.
        entries: Vec<Entry>,
        /// The current time, Unix seconds.
        now_unix: i64,
    },
    /// Credentials accepted.
    LoggedIn(UserInfo),
    /// Credentials need an `ACCT` too (`332`).
    NeedAccount,
    /// Credentials refused (unknown user or wrong password alike).
    Refused,
    /// The passive listener is bound at this address.
    PassiveOpened(SocketAddr),
    /// The embedder's answer to `SITE`. A code outside 200–599 is replaced by `500`.
    SiteReply {
        /// The reply code.
        code: u16,
        /// The reply text (CR and LF are neutralised when sent).
        text: Bytes,
    },
    /// The operation failed.
    Failed(StorageError),
}

/// Why a storage operation failed. The session maps each to its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// No such file or directory (`550`).
    #[error("no such file or directory")]
    NotFound,
    /// Not allowed (`550`).
    #[error("permission denied")]
    PermissionDenied,
    /// The target exists (`550`).
    #[error("already exists")]
    AlreadyExists,
    /// A directory was expected (`550`).
    #[error("not a directory")]
    NotADirectory,
    /// A file was expected (`550`).
    #[error("is a directory")]
    IsADirectory,
    /// The directory to remove is not empty (`550`).
    #[error("directory not empty")]
    NotEmpty,
    /// The disk is full (`452`, RFC 959).
    #[error("no space left")]
    NoSpace,
    /// The user's quota is exceeded (`552`).
    #[error("quota exceeded")]
    QuotaExceeded,
    /// The name is not allowed here (`553`).
    #[error("file name not allowed")]
    InvalidName,
    /// The `REST` offset is beyond the file (`554`, RFC 1123 §4.1.3.4).
    #[error("invalid restart offset")]
    InvalidOffset,
    /// The storage cannot do this at all (`502`).
    #[error("not supported by the storage")]
    Unsupported,
    /// Anything else (`451`).
    #[error("local error")]
    Other,
}

/// What happened to a running [`Request::Transfer`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferEvent {
    /// The storage side is open; the session sends `150`.
    Opened {
        /// The file size, shown in the `150` text of `RETR` when known.
        size: Option<u64>,
        /// For `STOU`: the name chosen (`150 FILE: name`, RFC 1123 §4.1.2.9).
        name: Option<Bytes>,
    },
    /// The data connection is established.
    Connected,
    /// Bytes moved so far on the data connection (a running total, not a delta).
    Progress(u64),
    /// The transfer completed; `bytes` moved in total (`226`).
    Finished {
        /// Total bytes moved.
        bytes: u64,
    },
    /// The transfer failed.
    Failed(TransferError),
}

/// Why a transfer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The storage side failed (before `150`: its usual reply; afterwards `452`, `552` or
    /// `451`).
    #[error("storage: {0}")]
    Storage(StorageError),
    /// The data connection could not be established (`425`).
    #[error("cannot open data connection")]
    DataConnect,
    /// The data connection broke or was reset mid-transfer (`426`).
    #[error("data connection lost")]
    ConnectionLost,
    /// The transfer was stopped after a [`Request::AbortTransfer`] (`426`).
    #[error("aborted")]
    Aborted,
    /// The TLS handshake on a protected data connection failed (`522`).
    #[error("TLS handshake on the data connection failed")]
    TlsHandshake,
    /// The data connection's TLS session did not resume the control connection's, which
    /// the server requires (`522`, as vsftpd's `require_ssl_reuse`).
    #[error("data connection TLS session does not resume the control connection's")]
    TlsNotResumed,
}
