//! The error type of every client operation.

use std::io;

use ftp_proto::client::Timeout;
use ftp_proto::reply::Reply;

use crate::url::UrlError;

/// A `Result` whose error is the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a client operation failed.
///
/// The variants separate who is at fault: the network or the local file system ([`Io`]), the
/// server's bytes ([`Protocol`]), the server's answer ([`Reply`]: a well-formed refusal), the
/// clock ([`Timeout`]) and the caller ([`Usage`], [`Url`], [`NotConnected`]).
///
/// [`Io`]: Error::Io
/// [`Protocol`]: Error::Protocol
/// [`Reply`]: Error::Reply
/// [`Timeout`]: Error::Timeout
/// [`Usage`]: Error::Usage
/// [`Url`]: Error::Url
/// [`NotConnected`]: Error::NotConnected
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A socket or local file operation failed (connection refused or reset, disk full, ...).
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),

    /// The server sent bytes that are not valid FTP, or a reply that does not fit the exchange.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),

    /// The server refused the operation with a 4yz or 5yz reply (or answered with a reply the
    /// operation cannot continue from). Displayed as the server wrote it: `550 No such file`.
    #[error("{code} {text}")]
    Reply {
        /// The reply code, 100–699, kept as sent.
        code: u16,
        /// The reply text (lines joined with `\n`, decoded as UTF-8 with invalid bytes
        /// replaced: this text is for people, never for paths).
        text: String,
    },

    /// TLS was asked for ([`TlsMode::Explicit`](crate::TlsMode::Explicit)) and the server
    /// refused `AUTH TLS` (or answered it with something other than `234`). The session is
    /// closed and no credentials were sent.
    #[error("the server refused TLS: {code} {text}")]
    TlsRefused {
        /// The reply code, kept as sent.
        code: u16,
        /// The reply text (lines joined with `\n`, lossy UTF-8).
        text: String,
    },

    /// The server sent nothing (no reply, no data) within the configured timeout, or the data
    /// connection was not established within it; the field tells which wait it was.
    #[error("{}", timeout_text(.0))]
    Timeout(Timeout),

    /// The operation needs an open control connection, and there is none: it was never
    /// opened, it was closed by `QUIT`, or the server closed it.
    #[error("not connected")]
    NotConnected,

    /// The URL is not a valid `ftp://` or `ftps://` URL.
    #[error("invalid URL: {0}")]
    Url(#[from] UrlError),

    /// The caller asked for something that cannot be done as asked (for example a download
    /// from a URL that names no file).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// The error for a server's refusal `reply`.
    ///
    /// ```
    /// use ftp_client::Error;
    /// use ftp_proto::reply::{Reply, ReplyCode};
    /// let e = Error::from_reply(&Reply::new(ReplyCode::FILE_UNAVAILABLE, &b"No such file"[..]));
    /// assert_eq!(e.to_string(), "550 No such file");
    /// assert_eq!(e.reply_code(), Some(550));
    /// ```
    pub fn from_reply(reply: &Reply) -> Self {
        Error::Reply {
            code: reply.code.get(),
            text: reply_text(reply),
        }
    }

    /// The error for a refused `AUTH TLS`.
    pub(crate) fn tls_refused(reply: &Reply) -> Self {
        Error::TlsRefused {
            code: reply.code.get(),
            text: reply_text(reply),
        }
    }

    /// The rustls error behind a failed TLS handshake or a broken TLS stream (an untrusted
    /// certificate, a name mismatch, a bad record), if this is one.
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn tls_error(&self) -> Option<&rustls::Error> {
        match self {
            Error::Io(e) => crate::tls::rustls_error(e),
            _ => None,
        }
    }

    /// A [`Usage`](Error::Usage) error with this message.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    /// The server's reply code, if this error is a server refusal.
    pub fn reply_code(&self) -> Option<u16> {
        match self {
            Error::Reply { code, .. } | Error::TlsRefused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether repeating the same operation later may succeed: a 4yz reply, a timeout, or a
    /// connection-level I/O error (reset, refused, aborted).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Reply { code, .. } | Error::TlsRefused { code, .. } => (400..500).contains(code),
            Error::Timeout(_) => true,
            Error::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::Interrupted
            ),
            _ => false,
        }
    }
}

/// A reply's text: its lines joined with `\n`, decoded as UTF-8 with invalid bytes replaced.
fn reply_text(reply: &Reply) -> String {
    let mut text = String::new();
    for (i, line) in reply.iter_lines().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&String::from_utf8_lossy(line));
    }
    text
}

/// The message of [`Error::Timeout`]: which wait ran out.
fn timeout_text(timeout: &Timeout) -> &'static str {
    match timeout {
        Timeout::DataConnect => "timed out waiting for the data connection",
        Timeout::DataStalled => "the data connection stalled: no data within the timeout",
        _ => "timed out waiting for the server",
    }
}

/// What was wrong with the server's bytes.
///
/// Each variant wraps the `ftp-proto` decoder error that found the fault, so the position and
/// reason survive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A reply could not be decoded (bad code, over-long line, too many lines).
    #[error("bad reply: {0}")]
    Reply(#[from] ftp_proto::reply::ReplyError),
    /// A control line could not be framed.
    #[error("bad line: {0}")]
    Line(#[from] ftp_proto::line::LineError),
    /// A `227`, `228` or `229` reply does not hold a usable data address.
    #[error("bad data address: {0}")]
    Address(#[from] ftp_proto::address::AddressError),
    /// A listing line could not be parsed.
    #[error("bad listing line: {0}")]
    Listing(#[from] ftp_proto::listing::ListingError),
    /// A timestamp (`MDTM`, MLSD `modify`) could not be parsed.
    #[error("bad timestamp: {0}")]
    Time(#[from] ftp_proto::time::TimeError),
    /// A command could not be encoded (an argument holds CR, LF or NUL).
    #[error("cannot encode command: {0}")]
    Encode(#[from] ftp_proto::command::EncodeError),
    /// The control connection closed in the middle of a reply, or before the reply an
    /// operation waits for.
    #[error("the server closed the control connection unexpectedly")]
    UnexpectedEof,
    /// A well-formed reply that makes no sense at this point of the exchange.
    #[error("unexpected reply {code}: {what}")]
    Unexpected {
        /// The reply code received.
        code: u16,
        /// What the client expected instead.
        what: &'static str,
    },
}

macro_rules! from_proto {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Protocol(ProtocolError::from(e))
            }
        }
    )*};
}

from_proto!(
    ftp_proto::reply::ReplyError,
    ftp_proto::line::LineError,
    ftp_proto::address::AddressError,
    ftp_proto::listing::ListingError,
    ftp_proto::time::TimeError,
    ftp_proto::command::EncodeError
);

impl Error {
    /// The process exit status a command-line tool should end with: the class digit of the
    /// server's reply (`4` for 4yz, `5` for 5yz), `3` for a timeout (ours, or a connect that
    /// timed out), `2` for a usage or URL error (as argument parsers do), and `1` for anything
    /// else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Reply { code, .. } | Error::TlsRefused { code, .. } => match code / 100 {
                4 => 4,
                5 => 5,
                _ => 1,
            },
            Error::Timeout(_) => 3,
            Error::Io(e) if e.kind() == io::ErrorKind::TimedOut => 3,
            Error::Usage(_) | Error::Url(_) => 2,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftp_proto::reply::ReplyCode;

    #[test]
    fn reply_display_is_code_and_text() {
        let r = Reply::new(ReplyCode::FILE_UNAVAILABLE, &b"No such file"[..]);
        let e = Error::from_reply(&r);
        assert_eq!(e.to_string(), "550 No such file");
        assert_eq!(e.exit_code(), 5);
        assert!(!e.is_transient());
    }

    #[test]
    fn multiline_reply_text_joins_lines_and_survives_bad_utf8() {
        let r = Reply::multiline(
            ReplyCode::SERVICE_NOT_AVAILABLE,
            [&b"first"[..], &b"bad \xff byte"[..], &b"last"[..]],
        );
        let e = Error::from_reply(&r);
        assert_eq!(e.to_string(), "421 first\nbad \u{fffd} byte\nlast");
        assert!(e.is_transient());
        assert_eq!(e.exit_code(), 4);
    }

    #[test]
    fn conversions() {
        let e: Error = io::Error::from(io::ErrorKind::ConnectionReset).into();
        assert!(e.is_transient());
        assert_eq!(e.exit_code(), 1);
        let e: Error = ftp_proto::time::TimeError::Syntax.into();
        assert!(matches!(e, Error::Protocol(ProtocolError::Time(_))));
        assert!(e.to_string().starts_with("protocol error: bad timestamp"));
        assert_eq!(Error::Timeout(Timeout::Reply).exit_code(), 3);
        assert_eq!(
            Error::Timeout(Timeout::Reply).to_string(),
            "timed out waiting for the server"
        );
        assert_eq!(
            Error::Timeout(Timeout::DataConnect).to_string(),
            "timed out waiting for the data connection"
        );
        assert!(Error::Timeout(Timeout::DataStalled).is_transient());
        let connect = io::Error::new(io::ErrorKind::TimedOut, "data connection to 10.0.0.1:1");
        assert_eq!(Error::Io(connect).exit_code(), 3);
        assert_eq!(Error::usage("no file").to_string(), "no file");
        assert_eq!(Error::NotConnected.reply_code(), None);
    }
}
