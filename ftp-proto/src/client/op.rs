//! What the application asks of a client session ([`Operation`]) and what it gets back
//! ([`Output`], [`ClientError`], [`Event`]); what the adapter reports about data connections
//! ([`DataEvent`]).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;

use crate::command::{Command, EncodeError, TransferType};
use crate::listing::Entry;
use crate::reply::{Reply, ReplyCode, ReplyError};
use crate::time::FtpTime;

use super::features::Features;

/// Identifies one operation, so its events and result can be matched with it.
///
/// Ids are unique within one session and increase monotonically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub(crate) u64);

impl OpId {
    /// The id as a number (unique within its session).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// The listing a [`Operation::List`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListFormat {
    /// `LIST`: human-readable lines (parse with [`crate::listing::parse_list_line`]).
    List,
    /// `NLST`: names only, one per line.
    Nlst,
    /// `MLSD`: RFC 3659 fact lines (parse with [`crate::listing::parse_mlsx_line`]).
    Mlsd,
}

/// One thing for the session to do. Paths and other arguments are bytes, sent as given; one
/// holding CR, LF or NUL is refused by [`ClientSession::start`](super::ClientSession::start)
/// before anything is sent.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// `USER`, then `PASS` after `331`, then `ACCT` after `332` (RFC 959 §4.1.1, §5.4).
    Login {
        /// The user name.
        user: Bytes,
        /// The password; never shown by `Debug`.
        password: Bytes,
        /// The account, sent only if the server asks (`332`); never shown by `Debug`.
        account: Option<Bytes>,
    },
    /// `QUIT`; the session closes after the reply.
    Quit,
    /// `NOOP`.
    Noop,
    /// `PWD`: the current directory, from the `257` reply.
    Pwd,
    /// `CWD path`.
    Cwd(Bytes),
    /// `CDUP`.
    Cdup,
    /// `MKD path`: the created directory, from the `257` reply.
    Mkd(Bytes),
    /// `RMD path`.
    Rmd(Bytes),
    /// `DELE path`.
    Dele(Bytes),
    /// `RNFR from`, then `RNTO to` after `350`.
    Rename {
        /// The existing name.
        from: Bytes,
        /// The new name.
        to: Bytes,
    },
    /// `SIZE path` (RFC 3659 §4; the answer depends on the current TYPE).
    Size(Bytes),
    /// `MDTM path` (RFC 3659 §3).
    Mdtm(Bytes),
    /// `MFMT time path` (draft-somers-ftp-mfxx).
    SetMtime {
        /// The file.
        path: Bytes,
        /// The new modification time, UTC.
        time: FtpTime,
    },
    /// `FEAT` (RFC 2389); the result is also kept by the session
    /// ([`features`](super::ClientSession::features)).
    Feat,
    /// `OPTS name [value]` (RFC 2389), e.g. `OPTS UTF8 ON`.
    Opts {
        /// The command or feature.
        name: Bytes,
        /// Its options.
        value: Option<Bytes>,
    },
    /// `SITE text`.
    Site(Bytes),
    /// `STAT [path]` over the control connection.
    Stat(Option<Bytes>),
    /// `SYST`.
    Syst,
    /// `HELP [topic]`.
    Help(Option<Bytes>),
    /// `TYPE` (`TransferType::Image` for binary, `TransferType::Ascii(_)` for text).
    Type(TransferType),
    /// Any command that needs no data connection, sent as is; its final reply is the result.
    /// Transfer commands (RETR, STOR, STOU, APPE, LIST, NLST, MLSD) are refused: use the
    /// operations that set up their data connection.
    Quote(Command),
    /// `RETR path`, after `REST offset` when `offset > 0` (RFC 3659 §5).
    Retrieve {
        /// The file.
        path: Bytes,
        /// Where to start reading.
        offset: u64,
    },
    /// `STOR path`, after `REST offset` when `offset > 0`.
    Store {
        /// The file.
        path: Bytes,
        /// Where to start writing.
        offset: u64,
    },
    /// `APPE path`.
    Append {
        /// The file.
        path: Bytes,
    },
    /// `LIST`, `NLST` or `MLSD`, with an optional path.
    List {
        /// The directory (or file); `None` for the current directory.
        path: Option<Bytes>,
        /// Which listing.
        format: ListFormat,
    },
    /// `MLST [path]` over the control connection (RFC 3659 §7).
    Mlst(Option<Bytes>),
}

/// Writes bytes for `Debug`: printable ASCII as is, the rest as `\xNN`.
struct Shown<'a>(&'a [u8]);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for &c in self.0 {
            match c {
                b'"' | b'\\' => write!(f, "\\{}", char::from(c))?,
                0x20..=0x7e => fmt::Write::write_char(f, char::from(c))?,
                _ => write!(f, "\\x{c:02x}")?,
            }
        }
        f.write_str("\"")
    }
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Operation::*;
        let one = |f: &mut fmt::Formatter<'_>, name: &str, p: &[u8]| {
            f.debug_tuple(name).field(&Shown(p)).finish()
        };
        let opt = |f: &mut fmt::Formatter<'_>, name: &str, p: &Option<Bytes>| {
            f.debug_tuple(name).field(&p.as_deref().map(Shown)).finish()
        };
        match self {
            Login { user, account, .. } => f
                .debug_struct("Login")
                .field("user", &Shown(user))
                .field("password", &"<redacted>")
                .field("account", &account.as_ref().map(|_| "<redacted>"))
                .finish(),
            Quit => f.write_str("Quit"),
            Noop => f.write_str("Noop"),
            Pwd => f.write_str("Pwd"),
            Cdup => f.write_str("Cdup"),
            Feat => f.write_str("Feat"),
            Syst => f.write_str("Syst"),
            Cwd(p) => one(f, "Cwd", p),
            Mkd(p) => one(f, "Mkd", p),
            Rmd(p) => one(f, "Rmd", p),
            Dele(p) => one(f, "Dele", p),
            Size(p) => one(f, "Size", p),
            Mdtm(p) => one(f, "Mdtm", p),
            Site(p) => one(f, "Site", p),
            Stat(p) => opt(f, "Stat", p),
            Help(p) => opt(f, "Help", p),
            Mlst(p) => opt(f, "Mlst", p),
            Rename { from, to } => f
                .debug_struct("Rename")
                .field("from", &Shown(from))
                .field("to", &Shown(to))
                .finish(),
            SetMtime { path, time } => f
                .debug_struct("SetMtime")
                .field("path", &Shown(path))
                .field("time", time)
                .finish(),
            Opts { name, value } => f
                .debug_struct("Opts")
                .field("name", &Shown(name))
                .field("value", &value.as_deref().map(Shown))
                .finish(),
            Type(t) => f.debug_tuple("Type").field(t).finish(),
            // `Display` of a command masks PASS and ACCT arguments.
            Quote(c) => write!(f, "Quote({c})"),
            Retrieve { path, offset } => f
                .debug_struct("Retrieve")
                .field("path", &Shown(path))
                .field("offset", offset)
                .finish(),
            Store { path, offset } => f
                .debug_struct("Store")
                .field("path", &Shown(path))
                .field("offset", offset)
                .finish(),
            Append { path } => f
                .debug_struct("Append")
                .field("path", &Shown(path))
                .finish(),
            List { path, format } => f
                .debug_struct("List")
                .field("path", &path.as_deref().map(Shown))
                .field("format", format)
                .finish(),
        }
    }
}

/// The typed result of a successful operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// The final reply, for operations whose success carries nothing else (Login, Quit, Noop,
    /// Cwd, Cdup, Rmd, Dele, Rename, SetMtime, Opts, Type) and for those whose text is the
    /// answer (Site, Stat, Syst, Help, Quote).
    Reply(Reply),
    /// A path from a `257` reply (Pwd, Mkd), embedded quotes undone. For a `257` to MKD that
    /// names no path, the argument of MKD.
    Path(Bytes),
    /// A `213` size (Size).
    Size(u64),
    /// A `213` time (Mdtm).
    Modified(FtpTime),
    /// The announced features (Feat). A server that answers `500` or `502` supports none
    /// (RFC 2389 §3).
    Features(Features),
    /// The facts of an MLST reply (Mlst), boxed: an entry is large.
    Facts(Box<Entry>),
    /// A transfer finished: the final reply was positive and the data connection reached its
    /// end. `bytes` is what the adapter reported in [`DataEvent::Closed`].
    Transferred {
        /// Bytes moved over the data connection.
        bytes: u64,
    },
}

/// What timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timeout {
    /// No reply to a command (or no greeting) within `reply_timeout`.
    Reply,
    /// The data connection was not established within `data_timeout`.
    DataConnect,
    /// No [`DataEvent::Progress`] for `data_timeout`.
    DataStalled,
}

/// How a data connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataFailure {
    /// The adapter could not connect ([`DataEvent::ConnectFailed`]).
    ConnectFailed,
    /// The connection broke before its end ([`DataEvent::Failed`]).
    Lost,
}

/// Shows a reply in an error message: its code and first line, escaped.
struct ShowReply<'a>(&'a Reply);

impl fmt::Display for ShowReply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.code)?;
        let text = self.0.text();
        if !text.is_empty() {
            f.write_str(" ")?;
        }
        for &c in text.iter().take(200) {
            match c {
                0x20..=0x7e => fmt::Write::write_char(f, char::from(c))?,
                _ => write!(f, "\\x{c:02x}")?,
            }
        }
        Ok(())
    }
}

fn show(r: &Reply) -> ShowReply<'_> {
    ShowReply(r)
}

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused: a `4yz` or `5yz` reply, kept whole (its code keeps its value).
    #[error("refused by the server: {}", show(.0))]
    Refused(Reply),
    /// The server refused `AUTH TLS` (or answered it with something other than `234`); the
    /// session closed without sending any credentials.
    #[error("the server refused TLS: {}", show(.0))]
    TlsRefused(Reply),
    /// The server answered `421`: it is closing the control connection (RFC 959 §4.2).
    #[error("service not available: {}", show(.0))]
    Unavailable(Reply),
    /// The server wants an account (`332`) and the login gave none.
    #[error("account required: {}", show(.0))]
    AccountRequired(Reply),
    /// A reply that does not fit the command (a `227` without an address, a `257` without a
    /// path, an intermediate reply where a final one belongs...).
    #[error("unexpected reply ({reason}): {}", show(.reply))]
    BadReply {
        /// The reply.
        reply: Reply,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The reply stream broke the syntax of RFC 959 §4.2 or a limit; the session is closed.
    #[error("malformed reply stream: {0}")]
    Syntax(ReplyError),
    /// A timeout ran out.
    #[error("timed out: {0:?}")]
    Timeout(Timeout),
    /// The data connection failed.
    #[error("data connection failed: {0:?}")]
    Data(DataFailure),
    /// [`ClientSession::abort`](super::ClientSession::abort) ended the operation.
    #[error("aborted")]
    Aborted,
    /// The control connection ended (EOF) before the operation completed.
    #[error("control connection closed")]
    ConnectionClosed,
    /// The session closed before the operation could run.
    #[error("session closed before the operation ran")]
    SessionClosed,
}

impl ClientError {
    /// The code of the server's reply, when the error carries one.
    pub fn code(&self) -> Option<ReplyCode> {
        match self {
            Self::Refused(r)
            | Self::Unavailable(r)
            | Self::AccountRequired(r)
            | Self::TlsRefused(r) => Some(r.code),
            Self::BadReply { reply, .. } => Some(reply.code),
            _ => None,
        }
    }
}

/// A misuse of the API, refused before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// An argument cannot be encoded (CR, LF or NUL in a path would inject a command).
    #[error("cannot encode the command: {0}")]
    Encode(#[from] EncodeError),
    /// [`Operation::Quote`] of a command that needs a data connection.
    #[error("this command needs a data connection; use the transfer operations")]
    NeedsDataConnection,
    /// The queue of operations is full.
    #[error("too many operations queued")]
    QueueFull,
    /// The session is closed.
    #[error("session closed")]
    Closed,
    /// [`abort`](super::ClientSession::abort) without a running transfer.
    #[error("no transfer to abort")]
    NothingToAbort,
}

/// What the adapter reports about the data connection of a transfer, through
/// [`ClientSession::handle_data`](super::ClientSession::handle_data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataEvent {
    /// Passive: the connection to the address of [`Event::ConnectData`] is established.
    /// Active: the server's connection was accepted.
    Connected,
    /// Active: the adapter listens on this address (answer to [`Event::ListenData`]). An
    /// unspecified IP is replaced by the control connection's local IP.
    Listening(SocketAddr),
    /// Passive: the connection could not be established.
    ConnectFailed,
    /// This many more bytes moved (resets the stall timer).
    Progress(u64),
    /// The data connection reached its end: EOF read (download, listing) or all data written
    /// and the connection shut down (upload). `bytes` is the total moved.
    Closed {
        /// Total bytes moved over the connection.
        bytes: u64,
    },
    /// The data connection broke (reset, TLS failure, write error).
    Failed,
}

/// Something for the application or the adapter to act on, taken with
/// [`ClientSession::poll_event`](super::ClientSession::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Open a data connection to `addr`; answer with [`DataEvent::Connected`] or
    /// [`DataEvent::ConnectFailed`].
    ConnectData {
        /// The operation.
        op: OpId,
        /// Where to connect.
        addr: SocketAddr,
    },
    /// Listen for the server's data connection on `ip` (any port); answer with
    /// [`DataEvent::Listening`], then [`DataEvent::Connected`] once a connection is accepted
    /// (only connections from the control peer's IP should be accepted).
    ListenData {
        /// The operation.
        op: OpId,
        /// The local IP of the control connection.
        ip: IpAddr,
    },
    /// The server has sent its preliminary reply (`150`/`125`) and the data connection is
    /// established: start reading (downloads, listings) or writing (uploads). Report bytes with
    /// [`DataEvent::Progress`] and the end with [`DataEvent::Closed`].
    ///
    /// When [`data_protected`](super::ClientSession::data_protected), run the TLS handshake
    /// on the data connection first, as the TLS client (also in active mode), resuming the
    /// control connection's TLS session; servers send `150` before their side of it. Close
    /// a protected upload with TLS `close_notify` so the server can tell it is complete.
    DataReady {
        /// The operation.
        op: OpId,
    },
    /// The server accepted `AUTH TLS`: run the TLS handshake on the control connection (as
    /// the TLS client) before writing or reading anything else on it, then call
    /// [`handle_tls_established`](super::ClientSession::handle_tls_established). When the
    /// handshake fails, close the connection.
    StartTls,
    /// Close the data connection (or stop listening) without waiting for its end: the
    /// transfer failed or was aborted. Later data events of this operation are ignored.
    CloseData {
        /// The operation.
        op: OpId,
    },
    /// The operation ended.
    Done {
        /// The operation.
        op: OpId,
        /// Its result.
        result: Result<Output, ClientError>,
    },
    /// The session is over: close the control connection once
    /// [`poll_transmit`](super::ClientSession::poll_transmit) is drained. `error` is `None`
    /// after `QUIT`.
    Closed {
        /// Why the session ended, if not by `QUIT`.
        error: Option<ClientError>,
    },
}
