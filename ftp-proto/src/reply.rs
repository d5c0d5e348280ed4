//! FTP replies: reply codes, an incremental reply decoder and a reply encoder
//! (RFC 959 §4.2, RFC 2228).
//!
//! A reply is a three-digit code and one or more lines of text. A single-line reply is
//! `ddd text<CRLF>`; a multi-line reply starts `ddd-text<CRLF>` and ends at the first
//! line that starts with the same code followed by a space, `ddd text<CRLF>`. The lines
//! in between are free text: they may start with a space, with digits, even with another
//! reply code.
//!
//! - [`ReplyCode`] keeps any code from 100 to 699, named or not; [`ReplyClass`] and
//!   [`ReplyCategory`] classify it by its first and second digit.
//! - [`Reply`] is a code and its lines, as bytes (reply text is never decoded lossily).
//! - [`ReplyDecoder`] turns a stream of bytes, in any chunking, into [`Reply`] values,
//!   with a cap on line length, reply size and line count.
//! - [`Reply::encode`] writes a reply so that no text can end it early or inject a line.
//! - [`quote_path`] and [`parse_quoted_path`] handle the quoted path of a `257` reply.

use std::fmt;
use std::str::FromStr;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use memchr::memchr;

// ---------------------------------------------------------------------------------------
// Reply codes
// ---------------------------------------------------------------------------------------

/// The given value is not a reply code: not three ASCII digits, or outside 100–699.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a reply code: expected three digits from 100 to 699")]
pub struct InvalidReplyCode;

/// A reply code: three digits from 100 to 699 (RFC 959 §4.2, RFC 2228 for 6yz).
///
/// Any value in that range is kept as it is, named or not, so that a server's own codes
/// are never collapsed into an "unknown" bucket. Values outside it, such as the Windows
/// socket errors 10054, 10060 or 10061 that some clients show as if they were replies,
/// are not reply codes and are rejected.
///
/// ```
/// use ftp_proto::reply::{ReplyClass, ReplyCode};
/// // RFC 959 §4.2: "A reply is defined to contain the 3-digit code"
/// let code = ReplyCode::parse(b"227").unwrap();
/// assert_eq!(code, ReplyCode::ENTERING_PASSIVE_MODE);
/// assert_eq!(code.class(), ReplyClass::PositiveCompletion);
/// assert_eq!(code.to_string(), "227");
/// assert_eq!(ReplyCode::new(10054), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(u16);

/// What a reply says about the outcome of the command, from its first digit
/// (RFC 959 §4.2.1; 6yz from RFC 2228 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplyClass {
    /// 1yz: the action is being started; expect another reply before the next command.
    PositivePreliminary,
    /// 2yz: the action has completed successfully.
    PositiveCompletion,
    /// 3yz: the command was accepted but more information is needed (e.g. PASS after USER).
    PositiveIntermediate,
    /// 4yz: the command failed, but the same command may succeed later.
    TransientNegative,
    /// 5yz: the command failed and should not simply be repeated.
    PermanentNegative,
    /// 6yz: a protected reply whose payload is a base64 security-mechanism message (RFC 2228).
    Protected,
}

/// What a reply is about, from its second digit (RFC 959 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplyCategory {
    /// x0z: syntax errors, superfluous or unimplemented commands.
    Syntax,
    /// x1z: replies to requests for information, such as status or help.
    Information,
    /// x2z: the control and data connections.
    Connections,
    /// x3z: login and accounting (and security, RFC 2228).
    Authentication,
    /// x4z: unspecified by RFC 959.
    Unspecified,
    /// x5z: the server file system.
    FileSystem,
    /// A second digit from 6 to 9, which RFC 959 leaves unassigned; the digit is kept.
    Other(u8),
}

impl ReplyCode {
    // --- RFC 959 §4.2.2 ---
    /// 110: restart marker reply (RFC 959): `MARK yyyy = mmmm`.
    pub const RESTART_MARKER: Self = Self(110);
    /// 120: service ready in nnn minutes (RFC 959).
    pub const SERVICE_READY_SOON: Self = Self(120);
    /// 125: data connection already open; transfer starting (RFC 959).
    pub const DATA_CONNECTION_ALREADY_OPEN: Self = Self(125);
    /// 150: file status okay; about to open data connection (RFC 959).
    pub const FILE_STATUS_OKAY: Self = Self(150);
    /// 200: command okay (RFC 959).
    pub const COMMAND_OKAY: Self = Self(200);
    /// 202: command not implemented, superfluous at this site (RFC 959).
    pub const COMMAND_SUPERFLUOUS: Self = Self(202);
    /// 211: system status, or system help reply (RFC 959); also the FEAT reply (RFC 2389).
    pub const SYSTEM_STATUS: Self = Self(211);
    /// 212: directory status (RFC 959).
    pub const DIRECTORY_STATUS: Self = Self(212);
    /// 213: file status (RFC 959); also the SIZE and MDTM replies (RFC 3659).
    pub const FILE_STATUS: Self = Self(213);
    /// 214: help message (RFC 959).
    pub const HELP_MESSAGE: Self = Self(214);
    /// 215: NAME system type, the SYST reply (RFC 959).
    pub const SYSTEM_TYPE: Self = Self(215);
    /// 220: service ready for new user (RFC 959).
    pub const SERVICE_READY: Self = Self(220);
    /// 221: service closing control connection (RFC 959).
    pub const CLOSING_CONTROL_CONNECTION: Self = Self(221);
    /// 225: data connection open; no transfer in progress (RFC 959).
    pub const DATA_CONNECTION_OPEN: Self = Self(225);
    /// 226: closing data connection; requested file action successful (RFC 959).
    pub const CLOSING_DATA_CONNECTION: Self = Self(226);
    /// 227: entering passive mode `(h1,h2,h3,h4,p1,p2)` (RFC 959).
    pub const ENTERING_PASSIVE_MODE: Self = Self(227);
    /// 228: entering long passive mode (RFC 1639).
    pub const ENTERING_LONG_PASSIVE_MODE: Self = Self(228);
    /// 229: entering extended passive mode `(|||port|)` (RFC 2428).
    pub const ENTERING_EXTENDED_PASSIVE_MODE: Self = Self(229);
    /// 230: user logged in, proceed (RFC 959).
    pub const USER_LOGGED_IN: Self = Self(230);
    /// 232: user logged in, authorized by security data exchange (RFC 2228).
    pub const USER_LOGGED_IN_AUTHORIZED: Self = Self(232);
    /// 234: security data exchange complete (RFC 2228); the reply to `AUTH TLS` (RFC 4217).
    pub const SECURITY_DATA_EXCHANGE_COMPLETE: Self = Self(234);
    /// 235: security data exchange completed successfully, `[ADAT=base64data]` (RFC 2228).
    pub const SECURITY_DATA_EXCHANGE_SUCCEEDED: Self = Self(235);
    /// 250: requested file action okay, completed (RFC 959); also the MLST reply (RFC 3659).
    pub const FILE_ACTION_OKAY: Self = Self(250);
    /// 257: "PATHNAME" created (RFC 959); also the PWD reply. See [`parse_quoted_path`].
    pub const PATHNAME_CREATED: Self = Self(257);
    /// 331: user name okay, need password (RFC 959).
    pub const USER_NAME_OKAY_NEED_PASSWORD: Self = Self(331);
    /// 332: need account for login (RFC 959).
    pub const NEED_ACCOUNT_FOR_LOGIN: Self = Self(332);
    /// 334: the security mechanism is accepted, `[ADAT=base64data]` (RFC 2228).
    pub const SECURITY_MECHANISM_ACCEPTED: Self = Self(334);
    /// 335: security data is acceptable and more is required, `[ADAT=base64data]` (RFC 2228).
    pub const SECURITY_DATA_ACCEPTABLE: Self = Self(335);
    /// 336: user name okay, need password; challenge is "..." (RFC 2228).
    pub const USER_NAME_OKAY_NEED_PASSWORD_CHALLENGE: Self = Self(336);
    /// 350: requested file action pending further information, e.g. after RNFR or REST (RFC 959).
    pub const PENDING_FURTHER_INFORMATION: Self = Self(350);
    /// 421: service not available, closing control connection (RFC 959).
    pub const SERVICE_NOT_AVAILABLE: Self = Self(421);
    /// 425: can't open data connection (RFC 959).
    pub const CANT_OPEN_DATA_CONNECTION: Self = Self(425);
    /// 426: connection closed; transfer aborted (RFC 959).
    pub const TRANSFER_ABORTED: Self = Self(426);
    /// 430: invalid user name or password (common practice, not in an RFC).
    pub const INVALID_USER_OR_PASSWORD: Self = Self(430);
    /// 431: need some unavailable resource to process security (RFC 2228).
    pub const NEED_UNAVAILABLE_RESOURCE: Self = Self(431);
    /// 434: requested host unavailable (common practice with HOST, RFC 7151).
    pub const HOST_UNAVAILABLE: Self = Self(434);
    /// 450: requested file action not taken; file unavailable, e.g. busy (RFC 959).
    pub const FILE_ACTION_NOT_TAKEN: Self = Self(450);
    /// 451: requested action aborted; local error in processing (RFC 959).
    pub const LOCAL_ERROR: Self = Self(451);
    /// 452: requested action not taken; insufficient storage space in system (RFC 959).
    pub const INSUFFICIENT_STORAGE: Self = Self(452);
    /// 500: syntax error, command unrecognized, or command line too long (RFC 959).
    pub const SYNTAX_ERROR: Self = Self(500);
    /// 501: syntax error in parameters or arguments (RFC 959).
    pub const SYNTAX_ERROR_IN_PARAMETERS: Self = Self(501);
    /// 502: command not implemented (RFC 959).
    pub const COMMAND_NOT_IMPLEMENTED: Self = Self(502);
    /// 503: bad sequence of commands (RFC 959).
    pub const BAD_SEQUENCE_OF_COMMANDS: Self = Self(503);
    /// 504: command not implemented for that parameter (RFC 959); also a refused PORT
    /// (RFC 2577) and an unknown HOST (RFC 7151).
    pub const PARAMETER_NOT_IMPLEMENTED: Self = Self(504);
    /// 521: supported address families are `(af1,..,afn)` (RFC 1639).
    pub const ADDRESS_FAMILY_NOT_SUPPORTED: Self = Self(521);
    /// 522: network protocol not supported, use `(1,2)` (RFC 2428); servers also use it
    /// for a failed or refused TLS data connection (RFC 4217 practice).
    pub const NETWORK_PROTOCOL_NOT_SUPPORTED: Self = Self(522);
    /// 530: not logged in (RFC 959).
    pub const NOT_LOGGED_IN: Self = Self(530);
    /// 532: need account for storing files (RFC 959).
    pub const NEED_ACCOUNT_FOR_STORING: Self = Self(532);
    /// 533: command protection level denied for policy reasons (RFC 2228).
    pub const PROTECTION_LEVEL_DENIED: Self = Self(533);
    /// 534: request denied for policy reasons (RFC 2228).
    pub const REQUEST_DENIED_FOR_POLICY: Self = Self(534);
    /// 535: failed security check (hash, sequence, etc.) (RFC 2228).
    pub const FAILED_SECURITY_CHECK: Self = Self(535);
    /// 536: requested PROT level not supported by mechanism (RFC 2228).
    pub const PROT_LEVEL_NOT_SUPPORTED: Self = Self(536);
    /// 537: command protection level not supported by security mechanism (RFC 2228).
    pub const COMMAND_PROTECTION_NOT_SUPPORTED: Self = Self(537);
    /// 550: requested action not taken; file unavailable, e.g. not found or no access (RFC 959).
    pub const FILE_UNAVAILABLE: Self = Self(550);
    /// 551: requested action aborted; page type unknown (RFC 959).
    pub const PAGE_TYPE_UNKNOWN: Self = Self(551);
    /// 552: requested file action aborted; exceeded storage allocation (RFC 959).
    pub const EXCEEDED_STORAGE_ALLOCATION: Self = Self(552);
    /// 553: requested action not taken; file name not allowed (RFC 959).
    pub const FILE_NAME_NOT_ALLOWED: Self = Self(553);
    /// 554: requested action not taken; invalid REST parameter (RFC 3659 §5.4).
    pub const INVALID_REST_PARAMETER: Self = Self(554);
    /// 555: requested action not taken; type or stru mismatch (RFC 3659 §5.4).
    pub const TYPE_OR_STRU_MISMATCH: Self = Self(555);
    /// 631: integrity protected reply, payload from MIC (RFC 2228).
    pub const INTEGRITY_PROTECTED: Self = Self(631);
    /// 632: confidentiality and integrity protected reply, payload from ENC (RFC 2228).
    pub const CONFIDENTIALITY_AND_INTEGRITY_PROTECTED: Self = Self(632);
    /// 633: confidentiality protected reply, payload from CONF (RFC 2228).
    pub const CONFIDENTIALITY_PROTECTED: Self = Self(633);

    /// The code with this value, if it is from 100 to 699.
    pub const fn new(value: u16) -> Option<Self> {
        if value >= 100 && value <= 699 {
            Some(Self(value))
        } else {
            None
        }
    }

    /// Parses a code from exactly three ASCII digits, from `100` to `699`.
    ///
    /// ```
    /// use ftp_proto::reply::ReplyCode;
    /// // RFC 959 §4.2: "three digits"; the first digit is 1 to 5 (6 in RFC 2228)
    /// assert_eq!(ReplyCode::parse(b"550"), Some(ReplyCode::FILE_UNAVAILABLE));
    /// assert_eq!(ReplyCode::parse(b"631"), Some(ReplyCode::INTEGRITY_PROTECTED));
    /// assert_eq!(ReplyCode::parse(b"099"), None);
    /// assert_eq!(ReplyCode::parse(b"10054"), None);
    /// assert_eq!(ReplyCode::parse(b"2x0"), None);
    /// ```
    pub fn parse(digits: &[u8]) -> Option<Self> {
        match *digits {
            [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
                let value =
                    u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
                Self::new(value)
            }
            _ => None,
        }
    }

    /// The numeric value, from 100 to 699.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The three ASCII digits of the code, as written on the wire.
    pub const fn to_ascii(self) -> [u8; 3] {
        // Both divisions keep each digit below 10, so the casts cannot truncate.
        [
            b'0' + (self.0 / 100 % 10) as u8,
            b'0' + (self.0 / 10 % 10) as u8,
            b'0' + (self.0 % 10) as u8,
        ]
    }

    /// The class of the reply, from its first digit.
    pub const fn class(self) -> ReplyClass {
        match self.0 / 100 {
            1 => ReplyClass::PositivePreliminary,
            2 => ReplyClass::PositiveCompletion,
            3 => ReplyClass::PositiveIntermediate,
            4 => ReplyClass::TransientNegative,
            5 => ReplyClass::PermanentNegative,
            _ => ReplyClass::Protected,
        }
    }

    /// The category of the reply, from its second digit.
    pub const fn category(self) -> ReplyCategory {
        match (self.0 / 10 % 10) as u8 {
            0 => ReplyCategory::Syntax,
            1 => ReplyCategory::Information,
            2 => ReplyCategory::Connections,
            3 => ReplyCategory::Authentication,
            4 => ReplyCategory::Unspecified,
            5 => ReplyCategory::FileSystem,
            d => ReplyCategory::Other(d),
        }
    }

    /// 1yz: positive preliminary; another reply follows.
    pub const fn is_preliminary(self) -> bool {
        matches!(self.class(), ReplyClass::PositivePreliminary)
    }

    /// 2yz: positive completion.
    pub const fn is_completion(self) -> bool {
        matches!(self.class(), ReplyClass::PositiveCompletion)
    }

    /// 3yz: positive intermediate; the server waits for another command.
    pub const fn is_intermediate(self) -> bool {
        matches!(self.class(), ReplyClass::PositiveIntermediate)
    }

    /// 4yz or 5yz: the command failed.
    pub const fn is_negative(self) -> bool {
        matches!(
            self.class(),
            ReplyClass::TransientNegative | ReplyClass::PermanentNegative
        )
    }

    /// 4yz: transient negative completion.
    pub const fn is_transient_negative(self) -> bool {
        matches!(self.class(), ReplyClass::TransientNegative)
    }

    /// 5yz: permanent negative completion.
    pub const fn is_permanent_negative(self) -> bool {
        matches!(self.class(), ReplyClass::PermanentNegative)
    }

    /// 6yz: a protected reply (RFC 2228).
    pub const fn is_protected(self) -> bool {
        matches!(self.class(), ReplyClass::Protected)
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

impl From<ReplyCode> for u16 {
    fn from(code: ReplyCode) -> u16 {
        code.0
    }
}

impl TryFrom<u16> for ReplyCode {
    type Error = InvalidReplyCode;

    fn try_from(value: u16) -> Result<Self, Self::Error> {
        Self::new(value).ok_or(InvalidReplyCode)
    }
}

impl TryFrom<&[u8]> for ReplyCode {
    type Error = InvalidReplyCode;

    fn try_from(digits: &[u8]) -> Result<Self, Self::Error> {
        Self::parse(digits).ok_or(InvalidReplyCode)
    }
}

impl FromStr for ReplyCode {
    type Err = InvalidReplyCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.as_bytes()).ok_or(InvalidReplyCode)
    }
}

// ---------------------------------------------------------------------------------------
// Replies and the encoder
// ---------------------------------------------------------------------------------------

/// A reply: a code and its lines of text.
///
/// What `lines` holds:
///
/// - a single-line reply `ddd text` has one element, the text after `ddd ` (empty for a
///   bare `ddd`);
/// - a multi-line reply has at least two: the text after `ddd-` on the first line, then
///   each interior line exactly as received (it may start with a space, with digits, even
///   with another code), then the text after `ddd ` on the last line.
///
/// Line endings are never part of a line. The text is kept as received, byte for byte: the
/// escapes written by [`Reply::encode`] (CR NUL for CR, NUL for LF) are not undone.
/// A reply built by hand with no lines is written as one empty line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code.
    pub code: ReplyCode,
    /// The text of each line, without the code prefix of the first and last line and
    /// without line endings (see the type documentation).
    pub lines: Vec<Bytes>,
}

impl Reply {
    /// A single-line reply.
    pub fn new(code: ReplyCode, text: impl Into<Bytes>) -> Self {
        Self {
            code,
            lines: vec![text.into()],
        }
    }

    /// A reply with these lines (first, interior..., last); one line makes a single-line
    /// reply, and no line at all makes a single-line reply with empty text.
    pub fn multiline<I>(code: ReplyCode, lines: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Bytes>,
    {
        let mut lines: Vec<Bytes> = lines.into_iter().map(Into::into).collect();
        if lines.is_empty() {
            lines.push(Bytes::new());
        }
        Self { code, lines }
    }

    /// The text of the first line (empty if the reply has no line).
    pub fn text(&self) -> &[u8] {
        self.lines.first().map_or(&[][..], |l| &l[..])
    }

    /// Whether the reply has more than one line.
    pub fn is_multiline(&self) -> bool {
        self.lines.len() > 1
    }

    /// The lines of the reply, first to last.
    pub fn iter_lines(&self) -> impl ExactSizeIterator<Item = &[u8]> + DoubleEndedIterator {
        self.lines.iter().map(|l| &l[..])
    }

    /// Writes the reply to `out`, each line ending in CRLF.
    ///
    /// A single line is written `ddd text`; several as `ddd-first`, the interior lines,
    /// then `ddd last`. An interior line that starts with the reply's own code followed by
    /// a space or by nothing gets a leading space, so that it cannot be taken for the last
    /// line (RFC 959 §4.2 suggests padding interior lines that way).
    ///
    /// No byte of the text can end a line or inject another one: a CR in the text is
    /// written as CR NUL (the Telnet convention RFC 2640 §3.1 uses for pathnames) and an LF
    /// as NUL (as vsftpd does for file names). A NUL in the text stays a NUL. The decoder
    /// does not undo these escapes; [`parse_quoted_path`] turns CR NUL back into CR.
    ///
    /// ```
    /// use ftp_proto::reply::{Reply, ReplyCode};
    /// // RFC 959 §4.2: "123-First line ... 123 The last line"; interior lines starting
    /// // with the code and a space are padded with a space.
    /// let reply = Reply::multiline(ReplyCode::SYSTEM_STATUS, ["Status", "211 busy", "End"]);
    /// let mut out = Vec::new();
    /// reply.encode(&mut out);
    /// assert_eq!(out, b"211-Status\r\n 211 busy\r\n211 End\r\n");
    ///
    /// let mut out = Vec::new();
    /// Reply::new(ReplyCode::FILE_UNAVAILABLE, &b"a\r\nb: no such file"[..]).encode(&mut out);
    /// assert_eq!(out, b"550 a\r\0\0b: no such file\r\n");
    /// ```
    pub fn encode(&self, out: &mut Vec<u8>) {
        let code = self.code.to_ascii();
        match self.lines.as_slice() {
            [] => {
                out.extend_from_slice(&code);
                out.extend_from_slice(b" \r\n");
            }
            [only] => write_line(out, &code, b' ', only),
            [first, interior @ .., last] => {
                write_line(out, &code, b'-', first);
                for line in interior {
                    let guarded = matches!(line.get(..3), Some(d) if d == code)
                        && matches!(line.get(3), None | Some(b' '));
                    if guarded {
                        out.push(b' ');
                    }
                    write_text(out, line);
                    out.extend_from_slice(b"\r\n");
                }
                write_line(out, &code, b' ', last);
            }
        }
    }

    /// The encoded reply as a new vector (see [`Reply::encode`]).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

fn write_line(out: &mut Vec<u8>, code: &[u8; 3], sep: u8, text: &[u8]) {
    out.extend_from_slice(code);
    out.push(sep);
    write_text(out, text);
    out.extend_from_slice(b"\r\n");
}

/// Writes reply text with CR as CR NUL and LF as NUL.
fn write_text(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len());
    let mut rest = text;
    while let Some(i) = memchr::memchr2(b'\r', b'\n', rest) {
        let (head, tail) = rest.split_at(i);
        out.extend_from_slice(head);
        match tail.first() {
            Some(b'\r') => out.extend_from_slice(b"\r\0"),
            _ => out.push(0),
        }
        rest = tail.get(1..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
}

// ---------------------------------------------------------------------------------------
// Quoted paths (257)
// ---------------------------------------------------------------------------------------

/// Writes `path` as a `257` reply quotes it: between double quotes, each embedded `"`
/// doubled (RFC 959 Appendix II).
///
/// Only quotes are escaped here; CR and LF are escaped by [`Reply::encode`] when the reply
/// is written.
///
/// ```
/// use ftp_proto::reply::{quote_path, Reply, ReplyCode};
/// // RFC 959 Appendix II: MKD foo"bar -> 257 "/usr/dm/foo""bar" directory created
/// let mut text = Vec::new();
/// quote_path(b"/usr/dm/foo\"bar", &mut text);
/// text.extend_from_slice(b" directory created");
/// assert_eq!(text, b"\"/usr/dm/foo\"\"bar\" directory created");
/// let reply = Reply::new(ReplyCode::PATHNAME_CREATED, text);
/// assert_eq!(reply.to_vec(), b"257 \"/usr/dm/foo\"\"bar\" directory created\r\n");
/// ```
pub fn quote_path(path: &[u8], out: &mut Vec<u8>) {
    out.reserve(path.len() + 2);
    out.push(b'"');
    for &b in path {
        out.push(b);
        if b == b'"' {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

/// Extracts the path from the text of a `257` reply (RFC 959 Appendix II), undoing the
/// doubling of embedded quotes.
///
/// The rule:
///
/// 1. The path starts after the first `"` in the text (text before it is skipped, for
///    servers that write `257 Current directory is "/x"`). No `"` at all: `None`.
/// 2. From there, `""` stands for one `"` and a lone `"` closes the path. If that closing
///    quote exists and no other `"` follows it, the path is what was read.
/// 3. Otherwise the server did not double its quotes (some IIS versions): the path is
///    every byte between the first and the last `"` of the text, taken literally. With
///    only one `"` in the text: `None`.
///
/// Finally CR NUL in the path becomes CR (the escape [`Reply::encode`] writes). A NUL on its
/// own is kept: it may stand for an LF that cannot be recovered.
///
/// ```
/// use ftp_proto::reply::parse_quoted_path;
/// // RFC 959 Appendix II: 257 "/usr/dm" created.
/// assert_eq!(parse_quoted_path(b"\"/usr/dm\" created.").unwrap(), &b"/usr/dm"[..]);
/// // Embedded quotes are doubled: 257 "/usr/dm/foo""bar" directory created
/// assert_eq!(
///     parse_quoted_path(b"\"/usr/dm/foo\"\"bar\" directory created").unwrap(),
///     &b"/usr/dm/foo\"bar"[..]
/// );
/// // A server that does not double them: up to the last quote.
/// assert_eq!(parse_quoted_path(b"\"/a\"b\" is cwd").unwrap(), &b"/a\"b"[..]);
/// assert_eq!(parse_quoted_path(b"no path"), None);
/// ```
pub fn parse_quoted_path(text: &[u8]) -> Option<Bytes> {
    let open = memchr(b'"', text)?;
    let body = text.get(open + 1..)?;
    let mut path = Vec::with_capacity(body.len());
    let mut rest = body;
    let consistent = loop {
        let Some(q) = memchr(b'"', rest) else {
            break false;
        };
        path.extend_from_slice(rest.get(..q).unwrap_or_default());
        let after = rest.get(q + 1..).unwrap_or_default();
        if after.first() == Some(&b'"') {
            path.push(b'"');
            rest = after.get(1..).unwrap_or_default();
        } else {
            break memchr(b'"', after).is_none();
        }
    };
    if !consistent {
        let close = memchr::memrchr(b'"', body)?;
        path.clear();
        path.extend_from_slice(body.get(..close).unwrap_or_default());
    }
    Some(Bytes::from(undo_cr_nul(path)))
}

/// Turns each CR NUL into CR.
fn undo_cr_nul(path: Vec<u8>) -> Vec<u8> {
    if memchr::memmem::find(&path, b"\r\0").is_none() {
        return path;
    }
    let mut out = Vec::with_capacity(path.len());
    let mut rest = path.as_slice();
    while let Some(i) = memchr::memmem::find(rest, b"\r\0") {
        out.extend_from_slice(rest.get(..=i).unwrap_or_default());
        rest = rest.get(i + 2..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    out
}

// ---------------------------------------------------------------------------------------
// The decoder
// ---------------------------------------------------------------------------------------

/// Why the reply stream could not be decoded. Each error names the line, counted from 1
/// since the decoder was created (lines of every reply, and lines skipped after
/// [`ReplyDecoder::reset`], included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// The first line of a reply does not start with a code from 100 to 699 followed by a
    /// space, a `-` or the end of the line.
    #[error("line {line}: reply does not start with a code 100-699 followed by space or '-'")]
    BadCode {
        /// The line number.
        line: usize,
    },
    /// A line, with its line ending, is longer than the line limit.
    #[error("line {line}: reply line longer than {limit} bytes")]
    LineTooLong {
        /// The line number.
        line: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The reply, all its lines and line endings counted, is larger than the reply limit.
    #[error("line {line}: reply larger than {limit} bytes")]
    ReplyTooLarge {
        /// The line number where the limit was crossed.
        line: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The reply has more lines than the line-count limit.
    #[error("line {line}: reply has more than {limit} lines")]
    TooManyLines {
        /// The number of the first line past the limit.
        line: usize,
        /// The limit in lines.
        limit: usize,
    },
    /// The input ended in the middle of a multi-line reply.
    #[error("line {line}: input ended inside a multi-line reply")]
    Truncated {
        /// The number of the missing line.
        line: usize,
    },
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Waiting for the first line of a reply.
    Start,
    /// Inside a multi-line reply.
    Multi {
        code: ReplyCode,
        /// Bytes of the reply on the wire so far, line endings included.
        size: usize,
        /// Lines of the reply so far.
        lines: usize,
    },
    /// Discarding input up to and including the next LF, then back to `Start`.
    Skip,
    /// Stopped by an error, returned again until `reset`.
    Failed(ReplyError),
}

/// What the start of a reply's first line says.
enum Prefix {
    NeedMore,
    Bad,
    Single(ReplyCode),
    Multi(ReplyCode),
}

/// Classifies the first line of a reply from its first bytes. `buf` is the line without
/// its ending when `complete`, otherwise the bytes received so far. The answer never
/// changes as more bytes arrive, so it does not depend on how the input was split.
fn first_line_prefix(buf: &[u8], complete: bool) -> Prefix {
    for i in 0..3 {
        match buf.get(i) {
            Some(&b) if i == 0 && (b'1'..=b'6').contains(&b) => {}
            Some(&b) if i > 0 && b.is_ascii_digit() => {}
            Some(_) => return Prefix::Bad,
            None if complete => return Prefix::Bad,
            None => return Prefix::NeedMore,
        }
    }
    let Some(code) = buf.get(..3).and_then(ReplyCode::parse) else {
        return Prefix::Bad;
    };
    match buf.get(3) {
        None if complete => Prefix::Single(code),
        None => Prefix::NeedMore,
        Some(b' ') => Prefix::Single(code),
        Some(b'-') => Prefix::Multi(code),
        // Possibly the CR of the line ending; the next byte decides.
        Some(b'\r') if !complete && buf.len() == 4 => Prefix::NeedMore,
        Some(_) => Prefix::Bad,
    }
}

/// Whether a complete line (without its ending) is the last line of a multi-line reply
/// with this code: the code followed by a space or by nothing.
fn is_last_line(line: &[u8], code: &[u8; 3]) -> bool {
    line.get(..3) == Some(&code[..]) && matches!(line.get(3), None | Some(b' '))
}

/// The line without its LF and without one CR before the LF.
fn strip_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// An incremental reply decoder (RFC 959 §4.2).
///
/// Feed it the bytes of the control connection in any chunking: one byte at a time gives
/// the same replies and errors as everything at once. Lines end in CRLF or a bare LF; a
/// line that is just `ddd` counts as `ddd ` with empty text.
///
/// # Limits
///
/// Every limit counts bytes on the wire, line endings included, and is checked as bytes
/// arrive, so neither the decoder nor the unconsumed part of the caller's buffer grows
/// past them whatever the peer sends:
///
/// - line length ([`DEFAULT_MAX_LINE_LEN`](Self::DEFAULT_MAX_LINE_LEN), 8 KiB);
/// - reply size ([`DEFAULT_MAX_REPLY_LEN`](Self::DEFAULT_MAX_REPLY_LEN), 1 MiB, since a STAT
///   reply can carry a whole directory listing);
/// - lines per reply ([`DEFAULT_MAX_LINES`](Self::DEFAULT_MAX_LINES)), which bounds the
///   per-line bookkeeping of a reply made of many short lines.
///
/// # Errors and reset
///
/// When [`decode`](Self::decode) returns an error, the decoder has consumed the input up
/// to the start of the offending line (the lines before it that belonged to the failed
/// reply are dropped) and leaves the rest in the buffer. It then returns the same error,
/// consuming nothing, until [`reset`](Self::reset). RFC 959 offers no way to resynchronise
/// with a server that broke the reply syntax, so a client normally closes the connection.
#[derive(Debug, Clone)]
pub struct ReplyDecoder {
    max_line: usize,
    max_reply: usize,
    max_lines: usize,
    state: State,
    /// How many bytes at the start of the caller's buffer are known to contain no LF.
    scanned: usize,
    /// Lines consumed so far.
    line_no: usize,
    /// The text of the multi-line reply in progress, its lines separated by LF (a line
    /// never contains an LF, so the separator is unambiguous).
    acc: BytesMut,
}

impl Default for ReplyDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplyDecoder {
    /// The default cap on one line, line ending included: 8 KiB.
    pub const DEFAULT_MAX_LINE_LEN: usize = 8 * 1024;
    /// The default cap on one reply, all lines and line endings included: 1 MiB.
    pub const DEFAULT_MAX_REPLY_LEN: usize = 1024 * 1024;
    /// The default cap on the number of lines of one reply: 65,536.
    pub const DEFAULT_MAX_LINES: usize = 65_536;

    /// A decoder with the default limits, waiting for the first line of a reply.
    pub fn new() -> Self {
        Self {
            max_line: Self::DEFAULT_MAX_LINE_LEN,
            max_reply: Self::DEFAULT_MAX_REPLY_LEN,
            max_lines: Self::DEFAULT_MAX_LINES,
            state: State::Start,
            scanned: 0,
            line_no: 0,
            acc: BytesMut::new(),
        }
    }

    /// Sets the cap on one line, in bytes with its line ending.
    pub fn with_max_line_len(mut self, bytes: usize) -> Self {
        self.max_line = bytes;
        self
    }

    /// Sets the cap on one reply, in bytes with all its line endings.
    pub fn with_max_reply_len(mut self, bytes: usize) -> Self {
        self.max_reply = bytes;
        self
    }

    /// Sets the cap on the number of lines of one reply.
    pub fn with_max_lines(mut self, lines: usize) -> Self {
        self.max_lines = lines;
        self
    }

    /// The cap on one line, in bytes.
    pub fn max_line_len(&self) -> usize {
        self.max_line
    }

    /// The cap on one reply, in bytes.
    pub fn max_reply_len(&self) -> usize {
        self.max_reply
    }

    /// The cap on the number of lines of one reply.
    pub fn max_lines(&self) -> usize {
        self.max_lines
    }

    /// Whether a multi-line reply has started and not yet ended.
    pub fn in_reply(&self) -> bool {
        matches!(self.state, State::Multi { .. })
    }

    /// The error the decoder stopped on, if it did (see [`reset`](Self::reset)).
    pub fn error(&self) -> Option<ReplyError> {
        match self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Bytes of the multi-line reply in progress held by the decoder itself (never more
    /// than the reply limit).
    pub fn buffered_len(&self) -> usize {
        self.acc.len()
    }

    /// Leaves the error state, or abandons the reply in progress.
    ///
    /// The decoder drops any partial reply and then skips input up to and including the
    /// end of the current line (the offending line after an error, or a line it had
    /// started to receive), and reads the line after that as the first line of a new
    /// reply. Line numbers keep counting. This is a best-effort resynchronisation: if the
    /// failed reply was a multi-line one, its remaining lines will be read as new replies.
    /// For a new connection, use a new decoder instead.
    pub fn reset(&mut self) {
        self.acc = BytesMut::new();
        self.state = match self.state {
            State::Failed(_) | State::Skip => State::Skip,
            _ if self.scanned > 0 => State::Skip,
            _ => State::Start,
        };
        self.scanned = 0;
    }

    fn fail(&mut self, e: ReplyError) -> Result<Option<Reply>, ReplyError> {
        self.acc = BytesMut::new();
        self.scanned = 0;
        self.state = State::Failed(e);
        Err(e)
    }

    /// Consumes the bytes of the next complete reply from `src` and returns it;
    /// `Ok(None)` means more input is needed (a partial line stays in `src`).
    ///
    /// Keep appending to the same buffer between calls, and call again after each reply:
    /// `src` may already hold the next one. See the type documentation for limits and
    /// for what happens after an error.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ftp_proto::reply::{ReplyCode, ReplyDecoder};
    /// // RFC 959 §4.2: a multi-line reply ends at the first line that starts with the
    /// // same code followed by a space; interior lines may start with digits.
    /// let mut dec = ReplyDecoder::new();
    /// let mut buf = BytesMut::from(&b"123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n"[..]);
    /// assert_eq!(dec.decode(&mut buf).unwrap(), None);
    /// buf.extend_from_slice(b"123 The last line\r\n220 ready\n");
    /// let reply = dec.decode(&mut buf).unwrap().unwrap();
    /// assert_eq!(reply.code.get(), 123);
    /// assert_eq!(reply.lines.len(), 4);
    /// assert_eq!(&reply.lines[2][..], b"  234 A line beginning with numbers");
    /// assert_eq!(&reply.lines[3][..], b"The last line");
    /// let reply = dec.decode(&mut buf).unwrap().unwrap();
    /// assert_eq!((reply.code, reply.text()), (ReplyCode::SERVICE_READY, &b"ready"[..]));
    /// assert!(buf.is_empty());
    /// ```
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Reply>, ReplyError> {
        loop {
            let (size, lines) = match self.state {
                State::Failed(e) => return Err(e),
                State::Skip => {
                    match memchr(b'\n', src) {
                        Some(i) => {
                            src.advance(i + 1);
                            self.line_no += 1;
                            self.state = State::Start;
                        }
                        None => {
                            src.clear();
                            return Ok(None);
                        }
                    }
                    continue;
                }
                State::Start => (0, 0),
                State::Multi { size, lines, .. } => (size, lines),
            };
            let line_number = self.line_no + 1;

            // Everything below looks only at the first `room` bytes, so the outcome does
            // not depend on how many bytes past them have arrived.
            let reply_room = self.max_reply.saturating_sub(size);
            let room = self.max_line.min(reply_room);
            let window_len = src.len().min(room);
            let window = src.get(..window_len).unwrap_or_default();
            let from = self.scanned.min(window_len);
            let lf = window
                .get(from..)
                .and_then(|w| memchr(b'\n', w))
                .map(|i| i + from);
            let line = match lf {
                Some(i) => strip_ending(window.get(..=i).unwrap_or_default()),
                None => window,
            };

            let prefix = match self.state {
                State::Start => first_line_prefix(line, lf.is_some()),
                _ => Prefix::NeedMore,
            };
            if let Prefix::Bad = prefix {
                return self.fail(ReplyError::BadCode { line: line_number });
            }

            let Some(lf) = lf else {
                if src.len() >= room {
                    let e = if self.max_line <= reply_room {
                        ReplyError::LineTooLong {
                            line: line_number,
                            limit: self.max_line,
                        }
                    } else {
                        ReplyError::ReplyTooLarge {
                            line: line_number,
                            limit: self.max_reply,
                        }
                    };
                    return self.fail(e);
                }
                self.scanned = window_len;
                return Ok(None);
            };
            if lines >= self.max_lines {
                return self.fail(ReplyError::TooManyLines {
                    line: line_number,
                    limit: self.max_lines,
                });
            }

            let wire_len = lf + 1;
            match (self.state, prefix) {
                (State::Start, Prefix::Single(code)) => {
                    let text = Bytes::copy_from_slice(line.get(4..).unwrap_or_default());
                    self.consume_line(src, wire_len);
                    return Ok(Some(Reply {
                        code,
                        lines: vec![text],
                    }));
                }
                (State::Start, Prefix::Multi(code)) => {
                    self.acc.clear();
                    self.acc
                        .extend_from_slice(line.get(4..).unwrap_or_default());
                    self.state = State::Multi {
                        code,
                        size: wire_len,
                        lines: 1,
                    };
                    self.consume_line(src, wire_len);
                }
                (State::Multi { code, .. }, _) => {
                    self.acc.put_u8(b'\n');
                    if is_last_line(line, &code.to_ascii()) {
                        self.acc
                            .extend_from_slice(line.get(4..).unwrap_or_default());
                        self.consume_line(src, wire_len);
                        self.state = State::Start;
                        return Ok(Some(Reply {
                            code,
                            lines: split_lines(self.acc.split().freeze(), lines + 1),
                        }));
                    }
                    self.acc.extend_from_slice(line);
                    self.state = State::Multi {
                        code,
                        size: size + wire_len,
                        lines: lines + 1,
                    };
                    self.consume_line(src, wire_len);
                }
                // `Start` always gives a Single or Multi prefix for a complete line that
                // is not Bad, and `Skip`/`Failed` were handled above.
                _ => return Ok(None),
            }
        }
    }

    fn consume_line(&mut self, src: &mut BytesMut, len: usize) {
        src.advance(len.min(src.len()));
        self.scanned = 0;
        self.line_no += 1;
    }

    /// Like [`decode`](Self::decode), for when the input has ended: call it until it
    /// returns `Ok(None)`.
    ///
    /// An unterminated last line is taken as if it ended with the input (some servers close
    /// the connection right after `221` without a line ending). A multi-line reply still
    /// unfinished is [`ReplyError::Truncated`].
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ftp_proto::reply::{ReplyCode, ReplyDecoder, ReplyError};
    /// // RFC 959 §4.2: "221 Service closing control connection", here without CRLF
    /// let mut dec = ReplyDecoder::new();
    /// let mut buf = BytesMut::from(&b"221 Goodbye"[..]);
    /// let reply = dec.decode_eof(&mut buf).unwrap().unwrap();
    /// assert_eq!(reply.code, ReplyCode::CLOSING_CONTROL_CONNECTION);
    /// assert_eq!(dec.decode_eof(&mut buf), Ok(None));
    ///
    /// let mut dec = ReplyDecoder::new();
    /// let mut buf = BytesMut::from(&b"211-Features:\r\n SIZE\r\n"[..]);
    /// assert_eq!(dec.decode_eof(&mut buf), Err(ReplyError::Truncated { line: 3 }));
    /// ```
    pub fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Reply>, ReplyError> {
        if let Some(reply) = self.decode(src)? {
            return Ok(Some(reply));
        }
        if !src.is_empty() {
            src.put_u8(b'\n');
            if let Some(reply) = self.decode(src)? {
                return Ok(Some(reply));
            }
        }
        if self.in_reply() {
            return self.fail(ReplyError::Truncated {
                line: self.line_no + 1,
            });
        }
        Ok(None)
    }
}

/// Splits the accumulated text of a multi-line reply at its LF separators.
fn split_lines(mut text: Bytes, count: usize) -> Vec<Bytes> {
    let mut lines = Vec::with_capacity(count);
    while let Some(i) = memchr(b'\n', &text) {
        lines.push(text.split_to(i));
        text.advance(1);
    }
    lines.push(text);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Event = (Result<Reply, ReplyError>, isize);

    fn r(code: u16, lines: &[&[u8]]) -> Reply {
        Reply {
            code: ReplyCode::new(code).expect("test code in range"),
            lines: lines.iter().map(|l| Bytes::copy_from_slice(l)).collect(),
        }
    }

    /// Feeds the chunks in order, resetting after each error, then drains at EOF.
    /// Records each reply or error with the number of bytes consumed at that point, and
    /// checks the memory bounds after every `Ok(None)`.
    fn run<'a>(mut dec: ReplyDecoder, chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Event> {
        let mut src = BytesMut::new();
        let mut fed = 0isize;
        let mut out = Vec::new();
        for chunk in chunks {
            src.extend_from_slice(chunk);
            fed += chunk.len() as isize;
            loop {
                match dec.decode(&mut src) {
                    Ok(Some(reply)) => out.push((Ok(reply), fed - src.len() as isize)),
                    Ok(None) => {
                        assert!(src.len() <= dec.max_line_len(), "partial line past limit");
                        assert!(dec.buffered_len() <= dec.max_reply_len());
                        break;
                    }
                    Err(e) => {
                        out.push((Err(e), fed - src.len() as isize));
                        dec.reset();
                    }
                }
            }
        }
        for _ in 0..1000 {
            match dec.decode_eof(&mut src) {
                Ok(Some(reply)) => out.push((Ok(reply), fed - src.len() as isize)),
                Ok(None) => return out,
                Err(e) => {
                    out.push((Err(e), fed - src.len() as isize));
                    dec.reset();
                }
            }
        }
        panic!("decode_eof did not finish");
    }

    fn decode_whole(input: &[u8]) -> Vec<Result<Reply, ReplyError>> {
        run(ReplyDecoder::new(), [input])
            .into_iter()
            .map(|(r, _)| r)
            .collect()
    }

    // ---- reply codes ----

    #[test]
    fn code_range() {
        for (v, ok) in [
            (0, false),
            (99, false),
            (100, true),
            (199, true),
            (555, true),
            (699, true),
            (700, false),
            (999, false),
            (10054, false),
            (10060, false),
            (10061, false),
            (10066, false),
            (10068, false),
            (u16::MAX, false),
        ] {
            assert_eq!(ReplyCode::new(v).is_some(), ok, "{v}");
            assert_eq!(ReplyCode::try_from(v).is_ok(), ok, "{v}");
            if let Some(c) = ReplyCode::new(v) {
                assert_eq!(c.get(), v);
                assert_eq!(u16::from(c), v);
                assert_eq!(c.to_string(), v.to_string());
                assert_eq!(ReplyCode::parse(&c.to_ascii()), Some(c));
            }
        }
    }

    #[test]
    fn code_parse() {
        let cases: &[(&[u8], Option<u16>)] = &[
            (b"220", Some(220)),
            (b"100", Some(100)),
            (b"699", Some(699)),
            (b"099", None),
            (b"700", None),
            (b"22", None),
            (b"2200", None),
            (b"10054", None),
            (b"", None),
            (b" 22", None),
            (b"2a0", None),
            (b"+20", None),
            (b"\xd9\xa2\xd9", None),
        ];
        for &(input, want) in cases {
            let got = ReplyCode::parse(input).map(ReplyCode::get);
            assert_eq!(got, want, "{input:?}");
            assert_eq!(ReplyCode::try_from(input).ok().map(ReplyCode::get), want);
            if let Ok(s) = std::str::from_utf8(input) {
                assert_eq!(s.parse::<ReplyCode>().ok().map(ReplyCode::get), want);
            }
        }
        assert_eq!("abc".parse::<ReplyCode>(), Err(InvalidReplyCode));
    }

    #[test]
    fn code_class_and_category() {
        use ReplyCategory as Cat;
        use ReplyClass as C;
        let cases = [
            (110, C::PositivePreliminary, Cat::Information),
            (150, C::PositivePreliminary, Cat::FileSystem),
            (200, C::PositiveCompletion, Cat::Syntax),
            (227, C::PositiveCompletion, Cat::Connections),
            (331, C::PositiveIntermediate, Cat::Authentication),
            (421, C::TransientNegative, Cat::Connections),
            (450, C::TransientNegative, Cat::FileSystem),
            (540, C::PermanentNegative, Cat::Unspecified),
            (631, C::Protected, Cat::Authentication),
            (260, C::PositiveCompletion, Cat::Other(6)),
            (599, C::PermanentNegative, Cat::Other(9)),
        ];
        for (v, class, cat) in cases {
            let c = ReplyCode::new(v).expect("in range");
            assert_eq!(c.class(), class, "{v}");
            assert_eq!(c.category(), cat, "{v}");
            let flags = [
                c.is_preliminary(),
                c.is_completion(),
                c.is_intermediate(),
                c.is_transient_negative(),
                c.is_permanent_negative(),
                c.is_protected(),
            ];
            assert_eq!(flags.iter().filter(|&&f| f).count(), 1, "{v}");
            assert_eq!(
                c.is_negative(),
                c.is_transient_negative() || c.is_permanent_negative()
            );
        }
    }

    #[test]
    fn named_codes() {
        use ReplyCode as R;
        let named = [
            (R::RESTART_MARKER, 110),
            (R::SERVICE_READY_SOON, 120),
            (R::DATA_CONNECTION_ALREADY_OPEN, 125),
            (R::FILE_STATUS_OKAY, 150),
            (R::COMMAND_OKAY, 200),
            (R::COMMAND_SUPERFLUOUS, 202),
            (R::SYSTEM_STATUS, 211),
            (R::DIRECTORY_STATUS, 212),
            (R::FILE_STATUS, 213),
            (R::HELP_MESSAGE, 214),
            (R::SYSTEM_TYPE, 215),
            (R::SERVICE_READY, 220),
            (R::CLOSING_CONTROL_CONNECTION, 221),
            (R::DATA_CONNECTION_OPEN, 225),
            (R::CLOSING_DATA_CONNECTION, 226),
            (R::ENTERING_PASSIVE_MODE, 227),
            (R::ENTERING_LONG_PASSIVE_MODE, 228),
            (R::ENTERING_EXTENDED_PASSIVE_MODE, 229),
            (R::USER_LOGGED_IN, 230),
            (R::USER_LOGGED_IN_AUTHORIZED, 232),
            (R::SECURITY_DATA_EXCHANGE_COMPLETE, 234),
            (R::SECURITY_DATA_EXCHANGE_SUCCEEDED, 235),
            (R::FILE_ACTION_OKAY, 250),
            (R::PATHNAME_CREATED, 257),
            (R::USER_NAME_OKAY_NEED_PASSWORD, 331),
            (R::NEED_ACCOUNT_FOR_LOGIN, 332),
            (R::SECURITY_MECHANISM_ACCEPTED, 334),
            (R::SECURITY_DATA_ACCEPTABLE, 335),
            (R::USER_NAME_OKAY_NEED_PASSWORD_CHALLENGE, 336),
            (R::PENDING_FURTHER_INFORMATION, 350),
            (R::SERVICE_NOT_AVAILABLE, 421),
            (R::CANT_OPEN_DATA_CONNECTION, 425),
            (R::TRANSFER_ABORTED, 426),
            (R::INVALID_USER_OR_PASSWORD, 430),
            (R::NEED_UNAVAILABLE_RESOURCE, 431),
            (R::HOST_UNAVAILABLE, 434),
            (R::FILE_ACTION_NOT_TAKEN, 450),
            (R::LOCAL_ERROR, 451),
            (R::INSUFFICIENT_STORAGE, 452),
            (R::SYNTAX_ERROR, 500),
            (R::SYNTAX_ERROR_IN_PARAMETERS, 501),
            (R::COMMAND_NOT_IMPLEMENTED, 502),
            (R::BAD_SEQUENCE_OF_COMMANDS, 503),
            (R::PARAMETER_NOT_IMPLEMENTED, 504),
            (R::ADDRESS_FAMILY_NOT_SUPPORTED, 521),
            (R::NETWORK_PROTOCOL_NOT_SUPPORTED, 522),
            (R::NOT_LOGGED_IN, 530),
            (R::NEED_ACCOUNT_FOR_STORING, 532),
            (R::PROTECTION_LEVEL_DENIED, 533),
            (R::REQUEST_DENIED_FOR_POLICY, 534),
            (R::FAILED_SECURITY_CHECK, 535),
            (R::PROT_LEVEL_NOT_SUPPORTED, 536),
            (R::COMMAND_PROTECTION_NOT_SUPPORTED, 537),
            (R::FILE_UNAVAILABLE, 550),
            (R::PAGE_TYPE_UNKNOWN, 551),
            (R::EXCEEDED_STORAGE_ALLOCATION, 552),
            (R::FILE_NAME_NOT_ALLOWED, 553),
            (R::INVALID_REST_PARAMETER, 554),
            (R::TYPE_OR_STRU_MISMATCH, 555),
            (R::INTEGRITY_PROTECTED, 631),
            (R::CONFIDENTIALITY_AND_INTEGRITY_PROTECTED, 632),
            (R::CONFIDENTIALITY_PROTECTED, 633),
        ];
        let mut seen = std::collections::HashSet::new();
        for (code, value) in named {
            assert_eq!(code.get(), value);
            assert_eq!(ReplyCode::new(value), Some(code));
            assert!(seen.insert(value), "{value} named twice");
        }
        assert!(R::PATHNAME_CREATED < R::NOT_LOGGED_IN);
    }

    // ---- decoding: the RFCs' own examples ----

    #[test]
    fn decode_rfc_examples() {
        let cases: &[(&[u8], Reply)] = &[
            // RFC 959 §4.2
            (
                b"123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n123 The last line\r\n",
                r(123, &[b"First line", b"Second line", b"  234 A line beginning with numbers", b"The last line"]),
            ),
            // RFC 959 Appendix II
            (b"257 \"/usr/dm\" created.\r\n", r(257, &[b"\"/usr/dm\" created."])),
            (
                b"227 Entering Passive Mode (192,168,1,2,19,136)\r\n",
                r(227, &[b"Entering Passive Mode (192,168,1,2,19,136)"]),
            ),
            // RFC 2389 §3.2 (FEAT)
            (
                b"211-Extensions supported:\r\n MLST size*;create;modify*;perm;media-type\r\n SIZE\r\n COMPRESSION\r\n MDTM\r\n211 END\r\n",
                r(211, &[b"Extensions supported:", b" MLST size*;create;modify*;perm;media-type", b" SIZE", b" COMPRESSION", b" MDTM", b"END"]),
            ),
            // RFC 3659 §7.7 (MLST)
            (
                b"250-Listing tmp\r\n Type=dir;Modify=19981107085215;Perm=el; /tmp\r\n250 End\r\n",
                r(250, &[b"Listing tmp", b" Type=dir;Modify=19981107085215;Perm=el; /tmp", b"End"]),
            ),
            // RFC 2428
            (
                b"229 Entering Extended Passive Mode (|||6446|)\r\n",
                r(229, &[b"Entering Extended Passive Mode (|||6446|)"]),
            ),
            (
                b"522 Network protocol not supported, use (1,2)\r\n",
                r(522, &[b"Network protocol not supported, use (1,2)"]),
            ),
            // RFC 1639
            (
                b"228 Entering Long Passive Mode (4,4,132,235,1,2,2,24,131)\r\n",
                r(228, &[b"Entering Long Passive Mode (4,4,132,235,1,2,2,24,131)"]),
            ),
            // RFC 2228: protected reply
            (b"631 Z2FyYmFnZQ==\r\n", r(631, &[b"Z2FyYmFnZQ=="])),
            // RFC 4217
            (b"234 AUTH TLS successful\r\n", r(234, &[b"AUTH TLS successful"])),
        ];
        for (input, want) in cases {
            assert_eq!(decode_whole(input), vec![Ok(want.clone())], "{input:?}");
        }
    }

    #[test]
    fn decode_edge_cases() {
        let cases: &[(&[u8], Reply)] = &[
            // interior lines with other codes, with the same code and '-', and blank
            (
                b"211-a\r\n200 b\r\n211-c\r\n\r\n 211 d\r\n211 e\r\n",
                r(211, &[b"a", b"200 b", b"211-c", b"", b" 211 d", b"e"]),
            ),
            // bare LF, mixed endings
            (b"220 hi\n", r(220, &[b"hi"])),
            (b"211-a\nb\r\n211 c\n", r(211, &[b"a", b"b", b"c"])),
            // a bare code counts as `ddd `
            (b"220\r\n", r(220, &[b""])),
            (b"220 \r\n", r(220, &[b""])),
            (b"230-\r\n\r\n230\r\n", r(230, &[b"", b"", b""])),
            (b"230-x\r\n230\n", r(230, &[b"x", b""])),
            // a CR inside text is kept, one CR before LF is the line ending
            (b"220 a\rb\r\n", r(220, &[b"a\rb"])),
            (b"220 x\r\r\n", r(220, &[b"x\r"])),
            (b"550 a\r\0b\r\n", r(550, &[b"a\r\0b"])),
            // bytes are bytes
            (
                b"550 \xff\xfe: no such file\r\n",
                r(550, &[b"\xff\xfe: no such file"]),
            ),
            // unusual but valid codes are kept
            (b"699 x\r\n", r(699, &[b"x"])),
            (b"100-\r\n100 \r\n", r(100, &[b"", b""])),
        ];
        for (input, want) in cases {
            assert_eq!(decode_whole(input), vec![Ok(want.clone())], "{input:?}");
        }
    }

    #[test]
    fn decode_bad_code() {
        let cases: &[&[u8]] = &[
            b"abc\r\n",
            b"099 x\r\n",
            b"700 x\r\n",
            b"2000 ok\r\n",
            b"10054 connection reset\r\n",
            b" 220 x\r\n",
            b"\r\n",
            b"\n",
            b"22\r\n",
            b"220x\r\n",
            b"220\tx\r\n",
            b"220\r\r\n",
            b"220\rx\r\n",
            b"-220 x\r\n",
        ];
        for &input in cases {
            assert_eq!(
                decode_whole(input).first(),
                Some(&Err(ReplyError::BadCode { line: 1 })),
                "{input:?}"
            );
        }
        // The line number counts every line since the decoder was created.
        assert_eq!(
            decode_whole(b"211-a\r\nb\r\n211 c\r\nxyz\r\n220 ok\r\n"),
            vec![
                Ok(r(211, &[b"a", b"b", b"c"])),
                Err(ReplyError::BadCode { line: 4 }),
                Ok(r(220, &[b"ok"])),
            ]
        );
    }

    #[test]
    fn error_is_sticky_until_reset() {
        let mut dec = ReplyDecoder::new();
        let mut buf = BytesMut::from(&b"hello\r\n220 ok\r\n"[..]);
        let e = ReplyError::BadCode { line: 1 };
        assert_eq!(dec.decode(&mut buf), Err(e));
        assert_eq!(dec.error(), Some(e));
        assert_eq!(buf.len(), 15, "the offending line stays in the buffer");
        assert_eq!(dec.decode(&mut buf), Err(e));
        assert_eq!(buf.len(), 15);
        dec.reset();
        assert_eq!(dec.error(), None);
        assert_eq!(dec.decode(&mut buf), Ok(Some(r(220, &[b"ok"]))));
        assert!(buf.is_empty());
    }

    #[test]
    fn reset_mid_line_skips_the_rest_of_it() {
        let mut dec = ReplyDecoder::new().with_max_line_len(10);
        let mut buf = BytesMut::from(&b"220 0123456"[..]);
        let e = ReplyError::LineTooLong { line: 1, limit: 10 };
        assert_eq!(dec.decode(&mut buf), Err(e));
        dec.reset();
        assert_eq!(dec.decode(&mut buf), Ok(None));
        assert!(buf.is_empty(), "skipped bytes are not kept");
        buf.extend_from_slice(b"789\r\n221 bye\r\n");
        assert_eq!(dec.decode(&mut buf), Ok(Some(r(221, &[b"bye"]))));
    }

    #[test]
    fn reset_abandons_reply_in_progress() {
        let mut dec = ReplyDecoder::new();
        let mut buf = BytesMut::from(&b"211-a\r\nb\r\n"[..]);
        assert_eq!(dec.decode(&mut buf), Ok(None));
        assert!(dec.in_reply());
        assert_eq!(dec.buffered_len(), 3);
        dec.reset();
        assert!(!dec.in_reply());
        assert_eq!(dec.buffered_len(), 0);
        buf.extend_from_slice(b"220 x\r\n");
        assert_eq!(dec.decode(&mut buf), Ok(Some(r(220, &[b"x"]))));
    }

    #[test]
    fn limits() {
        // A line of exactly the limit is fine, one byte more is not.
        let dec = || ReplyDecoder::new().with_max_line_len(10);
        assert_eq!(run(dec(), [&b"220 abcd\r\n"[..]]).len(), 1);
        assert_eq!(
            run(dec(), [&b"220 abcde\r\n"[..]]),
            vec![(Err(ReplyError::LineTooLong { line: 1, limit: 10 }), 0)]
        );
        // The reply limit counts every line and line ending.
        let dec = || ReplyDecoder::new().with_max_reply_len(20);
        assert_eq!(run(dec(), [&b"211-aaaa\r\n bbb\r\n211 c\r\n"[..]]).len(), 1);
        assert_eq!(
            run(dec(), [&b"211-aaaa\r\n bbbb\r\n211 c\r\n"[..]]),
            vec![(Err(ReplyError::ReplyTooLarge { line: 3, limit: 20 }), 17)]
        );
        // The line-count limit.
        let dec = || ReplyDecoder::new().with_max_lines(2);
        assert_eq!(run(dec(), [&b"211-a\r\n211 b\r\n"[..]]).len(), 1);
        assert_eq!(
            run(dec(), [&b"211-a\r\nb\r\n211 c\r\n"[..]]),
            vec![(Err(ReplyError::TooManyLines { line: 3, limit: 2 }), 10)]
        );
    }

    #[test]
    fn endless_line_stays_bounded() {
        let mut dec = ReplyDecoder::new();
        let mut buf = BytesMut::new();
        let chunk = [b'7'; 1000];
        let mut err = None;
        for _ in 0..10_000 {
            buf.extend_from_slice(&chunk);
            match dec.decode(&mut buf) {
                Ok(None) => assert!(buf.len() < ReplyDecoder::DEFAULT_MAX_LINE_LEN),
                Ok(Some(_)) => panic!("no reply expected"),
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert_eq!(err, Some(ReplyError::BadCode { line: 1 }));

        let mut dec = ReplyDecoder::new();
        let mut buf = BytesMut::from(&b"220 "[..]);
        let mut err = None;
        for _ in 0..10_000 {
            buf.extend_from_slice(&chunk);
            if let Err(e) = dec.decode(&mut buf) {
                err = Some(e);
                break;
            }
            assert!(buf.len() < ReplyDecoder::DEFAULT_MAX_LINE_LEN);
        }
        assert_eq!(
            err,
            Some(ReplyError::LineTooLong {
                line: 1,
                limit: 8192
            })
        );
    }

    #[test]
    fn endless_reply_stays_bounded() {
        let mut dec = ReplyDecoder::new();
        let mut buf = BytesMut::from(&b"211-STAT\r\n"[..]);
        let line = b"-rw-r--r--   1 ftp ftp  1024 Jan 01 00:00 file.txt\r\n";
        let mut err = None;
        for _ in 0..100_000 {
            for _ in 0..10 {
                buf.extend_from_slice(line);
            }
            match dec.decode(&mut buf) {
                Ok(None) => assert!(dec.buffered_len() <= ReplyDecoder::DEFAULT_MAX_REPLY_LEN),
                Ok(Some(_)) => panic!("no reply expected"),
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert!(
            matches!(err, Some(ReplyError::ReplyTooLarge { limit, .. }) if limit == 1 << 20),
            "{err:?}"
        );
        assert_eq!(dec.buffered_len(), 0, "the failed reply is dropped");
    }

    #[test]
    fn many_empty_lines_stay_bounded() {
        let mut dec = ReplyDecoder::new().with_max_lines(1000);
        let mut buf = BytesMut::from(&b"211-x\n"[..]);
        buf.extend_from_slice(&[b'\n'; 5000]);
        assert_eq!(
            dec.decode(&mut buf),
            Err(ReplyError::TooManyLines {
                line: 1001,
                limit: 1000
            })
        );
    }

    #[test]
    fn eof() {
        assert_eq!(
            decode_whole(b"221 Goodbye"),
            vec![Ok(r(221, &[b"Goodbye"]))]
        );
        assert_eq!(
            decode_whole(b"221 Goodbye\r"),
            vec![Ok(r(221, &[b"Goodbye"]))]
        );
        assert_eq!(decode_whole(b"221"), vec![Ok(r(221, &[b""]))]);
        assert_eq!(
            decode_whole(b"211-a\r\n211 b"),
            vec![Ok(r(211, &[b"a", b"b"]))]
        );
        assert_eq!(
            decode_whole(b"211-a\r\nb"),
            vec![Err(ReplyError::Truncated { line: 3 })]
        );
        assert_eq!(
            decode_whole(b"21"),
            vec![Err(ReplyError::BadCode { line: 1 })]
        );
        assert_eq!(decode_whole(b""), vec![]);
        let mut dec = ReplyDecoder::new();
        let mut buf = BytesMut::new();
        assert_eq!(dec.decode_eof(&mut buf), Ok(None));
    }

    // ---- encoding ----

    #[test]
    fn encode_table() {
        let cases: &[(Reply, &[u8])] = &[
            (r(220, &[b"Service ready"]), b"220 Service ready\r\n"),
            (r(220, &[b""]), b"220 \r\n"),
            (Reply { code: ReplyCode::SERVICE_READY, lines: vec![] }, b"220 \r\n"),
            (
                r(123, &[b"First line", b"Second line", b"  234 A line beginning with numbers", b"The last line"]),
                b"123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n123 The last line\r\n",
            ),
            (r(211, &[b"a", b"b"]), b"211-a\r\n211 b\r\n"),
            // interior lines that would end the reply get a leading space
            (r(211, &[b"a", b"211 b", b"211", b"c"]), b"211-a\r\n 211 b\r\n 211\r\n211 c\r\n"),
            // ... and those that would not are left alone
            (
                r(211, &[b"a", b"211-b", b"211x", b"200 c", b" 211 d", b"e"]),
                b"211-a\r\n211-b\r\n211x\r\n200 c\r\n 211 d\r\n211 e\r\n",
            ),
            // CR as CR NUL, LF as NUL, NUL unchanged
            (r(550, &[b"a\rb\nc\0d\r\n"]), b"550 a\r\0b\0c\0d\r\0\0\r\n"),
            (r(211, &[b"\n", b"\r", b"211\r\n", b""]), b"211-\0\r\n\r\0\r\n211\r\0\0\r\n211 \r\n"),
        ];
        for (reply, want) in cases {
            assert_eq!(reply.to_vec(), *want, "{reply:?}");
            // and it always decodes to exactly one reply with the same shape
            let got = decode_whole(want);
            assert_eq!(got.len(), 1);
            let back = got
                .into_iter()
                .next()
                .and_then(Result::ok)
                .expect("decodes");
            assert_eq!(back.code, reply.code);
            assert_eq!(back.lines.len(), reply.lines.len().max(1));
        }
    }

    #[test]
    fn reply_helpers() {
        let single = Reply::new(ReplyCode::SERVICE_READY, "ready");
        assert_eq!(single.text(), b"ready");
        assert!(!single.is_multiline());
        let multi = Reply::multiline(ReplyCode::SYSTEM_STATUS, [&b"a"[..], b"b", b"c"]);
        assert!(multi.is_multiline());
        assert_eq!(multi.text(), b"a");
        let lines: Vec<&[u8]> = multi.iter_lines().collect();
        assert_eq!(lines, [&b"a"[..], b"b", b"c"]);
        assert_eq!(multi.iter_lines().next_back(), Some(&b"c"[..]));
        let empty = Reply::multiline(ReplyCode::SYSTEM_STATUS, Vec::<Bytes>::new());
        assert_eq!(empty.lines, vec![Bytes::new()]);
        let none = Reply {
            code: ReplyCode::COMMAND_OKAY,
            lines: vec![],
        };
        assert_eq!(none.text(), b"");
        assert!(!none.is_multiline());
    }

    // ---- 257 ----

    #[test]
    fn quoted_paths() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            // RFC 959 Appendix II
            (b"\"/usr/dm\" created.", Some(b"/usr/dm")),
            (
                b"\"/usr/dm/foo\"\"bar\" directory created.",
                Some(b"/usr/dm/foo\"bar"),
            ),
            (b"\"\"", Some(b"")),
            (b"\"\"\"\"", Some(b"\"")),
            (b"\"/\" is current directory.", Some(b"/")),
            // text before the quote
            (b"Current directory is \"/pub\"", Some(b"/pub")),
            // servers that do not double quotes: up to the last quote
            (b"\"/a\"b\" is cwd", Some(b"/a\"b")),
            (b"\"/a\"\" is cwd", Some(b"/a\"")),
            (b"\"/a\"b\"c\"", Some(b"/a\"b\"c")),
            // CR NUL is a CR, NUL alone is kept
            (b"\"/a\r\0b\" created", Some(b"/a\rb")),
            (b"\"/a\0b\"", Some(b"/a\0b")),
            // no path
            (b"MKD command successful", None),
            (b"\"/unterminated", None),
            (b"", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_quoted_path(text).as_deref(), want, "{text:?}");
        }
        let mut out = Vec::new();
        quote_path(b"a\"\"b", &mut out);
        assert_eq!(out, b"\"a\"\"\"\"b\"");
    }

    #[test]
    fn quoted_path_through_the_wire() {
        let path = b"/home/x/we\"ird\r name";
        let mut text = Vec::new();
        quote_path(path, &mut text);
        text.extend_from_slice(b" created");
        let wire = Reply::new(ReplyCode::PATHNAME_CREATED, text).to_vec();
        let got = decode_whole(&wire);
        let reply = got.first().and_then(|r| r.as_ref().ok()).expect("decodes");
        assert_eq!(parse_quoted_path(reply.text()).as_deref(), Some(&path[..]));
    }

    // ---- properties ----

    fn code() -> impl Strategy<Value = ReplyCode> {
        (100u16..700).prop_map(|v| ReplyCode::new(v).expect("in range"))
    }

    /// Lines biased towards what matters to framing: digits, spaces, dashes, codes.
    fn line_bytes(bytes: impl Strategy<Value = u8> + Clone) -> impl Strategy<Value = Vec<u8>> {
        let prefix = prop_oneof![
            Just(Vec::new()),
            Just(b"211".to_vec()),
            Just(b"211 ".to_vec()),
            Just(b"211-".to_vec()),
            Just(b" 211 ".to_vec()),
            Just(b"200 ".to_vec()),
        ];
        (prefix, prop::collection::vec(bytes, 0..12)).prop_map(|(mut p, b)| {
            p.extend(b);
            p
        })
    }

    fn canonical_byte() -> impl Strategy<Value = u8> + Clone {
        prop_oneof![
            Just(b' '),
            Just(b'-'),
            b'0'..=b'9',
            any::<u8>().prop_filter("canonical", |b| !matches!(b, b'\r' | b'\n' | 0)),
        ]
    }

    fn any_byte() -> impl Strategy<Value = u8> + Clone {
        prop_oneof![Just(b'\r'), Just(b'\n'), Just(0u8), canonical_byte()]
    }

    fn canonical_reply() -> impl Strategy<Value = Reply> {
        let code = prop_oneof![Just(ReplyCode::SYSTEM_STATUS), code()];
        (
            code,
            prop::collection::vec(line_bytes(canonical_byte()), 1..6),
        )
            .prop_map(|(code, lines)| {
                let n = lines.len();
                let digits = code.to_ascii();
                let lines = lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut l)| {
                        if i > 0 && i + 1 < n && is_last_line(&l, &digits) {
                            l.insert(0, b'x');
                        }
                        Bytes::from(l)
                    })
                    .collect();
                Reply { code, lines }
            })
    }

    fn any_reply() -> impl Strategy<Value = Reply> {
        let code = prop_oneof![Just(ReplyCode::SYSTEM_STATUS), code()];
        (code, prop::collection::vec(line_bytes(any_byte()), 1..6)).prop_map(|(code, lines)| {
            Reply {
                code,
                lines: lines.into_iter().map(Bytes::from).collect(),
            }
        })
    }

    /// Input made of pieces that matter to framing, plus arbitrary bytes.
    fn wire() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"211".to_vec()),
            Just(b"211-".to_vec()),
            Just(b"211 ".to_vec()),
            Just(b"220 ok".to_vec()),
            Just(b"220".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r".to_vec()),
            Just(b" ".to_vec()),
            Just(b"x".to_vec()),
            prop::collection::vec(any::<u8>(), 0..4),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    fn decoder() -> impl Strategy<Value = (usize, usize, usize)> {
        prop_oneof![
            Just((
                ReplyDecoder::DEFAULT_MAX_LINE_LEN,
                ReplyDecoder::DEFAULT_MAX_REPLY_LEN,
                ReplyDecoder::DEFAULT_MAX_LINES
            )),
            (0usize..16, 0usize..48, 0usize..6),
        ]
    }

    fn make((line, reply, lines): (usize, usize, usize)) -> ReplyDecoder {
        ReplyDecoder::new()
            .with_max_line_len(line)
            .with_max_reply_len(reply)
            .with_max_lines(lines)
    }

    proptest! {
        #[test]
        fn canonical_round_trip(reply in canonical_reply()) {
            let wire = reply.to_vec();
            prop_assert_eq!(decode_whole(&wire), vec![Ok(reply)]);
        }

        #[test]
        fn any_reply_frames_as_one(reply in any_reply()) {
            let wire = reply.to_vec();
            let events = run(ReplyDecoder::new(), [&wire[..]]);
            prop_assert_eq!(events.len(), 1);
            let (got, consumed) = events.into_iter().next().expect("one event");
            let got = got.expect("decodes");
            prop_assert_eq!(consumed, wire.len() as isize);
            prop_assert_eq!(got.code, reply.code);
            prop_assert_eq!(got.lines.len(), reply.lines.len());
            // every CR is followed by NUL or by the LF of a line ending, every LF follows a CR
            for (i, &b) in wire.iter().enumerate() {
                if b == b'\r' {
                    prop_assert!(matches!(wire.get(i + 1), Some(0 | b'\n')));
                }
                if b == b'\n' {
                    prop_assert_eq!(i.checked_sub(1).and_then(|j| wire.get(j)), Some(&b'\r'));
                }
            }
            prop_assert_eq!(
                wire.iter().filter(|&&b| b == b'\n').count(),
                reply.lines.len()
            );
        }

        #[test]
        fn every_split_gives_the_same_result(input in wire(), limits in decoder()) {
            let whole = run(make(limits), [&input[..]]);
            for at in 0..=input.len() {
                let (a, b) = input.split_at(at);
                prop_assert_eq!(&run(make(limits), [a, b]), &whole, "split at {}", at);
            }
            let bytewise = run(make(limits), input.chunks(1));
            prop_assert_eq!(&bytewise, &whole);
        }

        #[test]
        fn encoded_stream_splits(replies in prop::collection::vec(any_reply(), 1..4)) {
            let wire: Vec<u8> = replies.iter().flat_map(Reply::to_vec).collect();
            let whole = run(ReplyDecoder::new(), [&wire[..]]);
            prop_assert_eq!(whole.len(), replies.len());
            prop_assert_eq!(&run(ReplyDecoder::new(), wire.chunks(1)), &whole);
            prop_assert_eq!(&run(ReplyDecoder::new(), wire.chunks(7)), &whole);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..16),
            limits in decoder(),
        ) {
            // `run` checks the memory bounds after every call.
            let _ = run(make(limits), chunks.iter().map(Vec::as_slice));
        }

        #[test]
        fn quote_round_trip(
            path in prop::collection::vec(any_byte(), 0..24),
            tail in prop::collection::vec(any::<u8>().prop_filter("no quote", |&b| b != b'"'), 0..8),
        ) {
            prop_assume!(memchr::memmem::find(&path, b"\r\0").is_none());
            let mut text = Vec::new();
            quote_path(&path, &mut text);
            text.extend_from_slice(&tail);
            let parsed = parse_quoted_path(&text);
            prop_assert_eq!(parsed.as_deref(), Some(&path[..]));
        }

        #[test]
        fn parse_quoted_path_never_panics(text in prop::collection::vec(any_byte(), 0..32)) {
            if let Some(path) = parse_quoted_path(&text) {
                prop_assert!(path.len() <= text.len());
            }
        }
    }
}
