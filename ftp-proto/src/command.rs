//! Every FTP command, typed: [`Command::parse`] for servers, [`Command::encode`] for clients.
//!
//! A command line is a verb, then (for most verbs) exactly one space and an argument
//! (RFC 959 §5.3, RFC 2640 §3.1: further spaces belong to the argument, so `RETR  a` names
//! the file ` a`). Verbs are case-insensitive. Paths and other free text stay bytes.
//!
//! [`Command::parse`] expects a line as [`crate::line::LineDecoder`] gives it: without CRLF,
//! Telnet-processed. Errors carry the reply a server should send ([`CommandError::reply_code`]).
//! [`Command::encode`] writes the line with CRLF, doubles 0xFF (IAC) and refuses CR, LF and NUL
//! inside arguments, so a file name cannot inject a second command.
//!
//! `Display` writes a line for logs: the PASS and ACCT arguments are shown as `****` and
//! bytes outside printable ASCII are escaped as `\xNN`.

use std::borrow::Cow;
use std::fmt;
use std::net::{SocketAddr, SocketAddrV4};

use bytes::Bytes;

use crate::address::{self, AddressError};
use crate::line::{self, ArgError};
use crate::time::{FtpTime, TimeError};

/// Format control of TYPE A and TYPE E (RFC 959 §3.1.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FormatControl {
    /// `N`: non-print, the default.
    #[default]
    NonPrint,
    /// `T`: Telnet format effectors.
    Telnet,
    /// `C`: ASA (Fortran) carriage control.
    Asa,
}

/// The argument of TYPE (RFC 959 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransferType {
    /// `A [N|T|C]`: ASCII.
    Ascii(FormatControl),
    /// `E [N|T|C]`: EBCDIC.
    Ebcdic(FormatControl),
    /// `I`: image (binary).
    Image,
    /// `L byte-size`: local byte size. `L 8` means the same as `I` (RFC 1123 §4.1.2.2).
    Local(u8),
}

/// The argument of MODE (RFC 959 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransferMode {
    /// `S`: stream.
    Stream,
    /// `B`: block.
    Block,
    /// `C`: compressed.
    Compressed,
}

/// The argument of STRU (RFC 959 §3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Structure {
    /// `F`: file (no record structure).
    File,
    /// `R`: record.
    Record,
    /// `P`: page.
    Page,
}

/// The argument of PROT (RFC 2228 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtectionLevel {
    /// `C`: clear.
    Clear,
    /// `S`: safe (integrity).
    Safe,
    /// `E`: confidential.
    Confidential,
    /// `P`: private (integrity and confidentiality).
    Private,
}

/// The optional argument of EPSV (RFC 2428 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EpsvArg {
    /// `EPSV ALL`: from now on only EPSV; PORT, PASV, EPRT and LPRT are refused.
    All,
    /// `EPSV <net-prt>`: a passive connection for this network protocol (1 IPv4, 2 IPv6).
    Protocol(u16),
}

/// One FTP command with its typed argument.
///
/// Free text (paths, user names, mechanism names, base64 data) is kept as bytes, exactly as
/// it travelled (after Telnet processing).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `USER name` (RFC 959).
    User(Bytes),
    /// `PASS password` (RFC 959). A missing password parses as an empty one, as servers accept.
    Pass(Bytes),
    /// `ACCT account` (RFC 959).
    Acct(Bytes),
    /// `CWD path` (RFC 959).
    Cwd(Bytes),
    /// `CDUP` (RFC 959).
    Cdup,
    /// `SMNT path` (RFC 959).
    Smnt(Bytes),
    /// `REIN` (RFC 959).
    Rein,
    /// `QUIT` (RFC 959).
    Quit,
    /// `PORT h1,h2,h3,h4,p1,p2` (RFC 959).
    Port(SocketAddrV4),
    /// `PASV` (RFC 959).
    Pasv,
    /// `TYPE type` (RFC 959).
    Type(TransferType),
    /// `STRU structure` (RFC 959).
    Stru(Structure),
    /// `MODE mode` (RFC 959).
    Mode(TransferMode),
    /// `RETR path` (RFC 959).
    Retr(Bytes),
    /// `STOR path` (RFC 959).
    Stor(Bytes),
    /// `STOU [name]` (RFC 959; a name is a common extension).
    Stou(Option<Bytes>),
    /// `APPE path` (RFC 959).
    Appe(Bytes),
    /// `ALLO size [R record-size]` (RFC 959).
    Allo {
        /// Bytes to reserve.
        size: u64,
        /// Maximum record or page size, after `R`.
        record: Option<u64>,
    },
    /// `REST offset`: the byte offset of the next transfer (RFC 3659 §5, stream mode).
    Rest(u64),
    /// `RNFR path` (RFC 959).
    Rnfr(Bytes),
    /// `RNTO path` (RFC 959).
    Rnto(Bytes),
    /// `ABOR` (RFC 959).
    Abor,
    /// `DELE path` (RFC 959).
    Dele(Bytes),
    /// `RMD path` (RFC 959).
    Rmd(Bytes),
    /// `MKD path` (RFC 959).
    Mkd(Bytes),
    /// `PWD` (RFC 959).
    Pwd,
    /// `LIST [path]` (RFC 959).
    List(Option<Bytes>),
    /// `NLST [path]` (RFC 959).
    Nlst(Option<Bytes>),
    /// `SITE text` (RFC 959).
    Site(Bytes),
    /// `SYST` (RFC 959).
    Syst,
    /// `STAT [path]` (RFC 959).
    Stat(Option<Bytes>),
    /// `HELP [topic]` (RFC 959).
    Help(Option<Bytes>),
    /// `NOOP` (RFC 959).
    Noop,
    /// `XMKD path` (RFC 775), same as MKD.
    Xmkd(Bytes),
    /// `XRMD path` (RFC 775), same as RMD.
    Xrmd(Bytes),
    /// `XPWD` (RFC 775), same as PWD.
    Xpwd,
    /// `XCUP` (RFC 775), same as CDUP.
    Xcup,
    /// `XCWD path` (RFC 775), same as CWD.
    Xcwd(Bytes),
    /// `LPRT af,hal,h...,pal,p...` (RFC 1639).
    Lprt(SocketAddr),
    /// `LPSV` (RFC 1639).
    Lpsv,
    /// `AUTH mechanism`, e.g. `TLS` (RFC 2228, RFC 4217).
    Auth(Bytes),
    /// `ADAT base64-data` (RFC 2228).
    Adat(Bytes),
    /// `PROT level` (RFC 2228).
    Prot(ProtectionLevel),
    /// `PBSZ size` (RFC 2228): a 32-bit decimal buffer size.
    Pbsz(u32),
    /// `CCC` (RFC 2228).
    Ccc,
    /// `MIC base64-data` (RFC 2228).
    Mic(Bytes),
    /// `CONF base64-data` (RFC 2228).
    Conf(Bytes),
    /// `ENC base64-data` (RFC 2228).
    Enc(Bytes),
    /// `FEAT` (RFC 2389).
    Feat,
    /// `OPTS name [value]` (RFC 2389), e.g. `OPTS UTF8 ON`.
    Opts {
        /// The command or feature the options apply to.
        name: Bytes,
        /// Everything after the space that follows the name.
        value: Option<Bytes>,
    },
    /// `EPRT |af|addr|port|` (RFC 2428).
    Eprt(SocketAddr),
    /// `EPSV [ALL | net-prt]` (RFC 2428).
    Epsv(Option<EpsvArg>),
    /// `LANG [tag]` (RFC 2640).
    Lang(Option<Bytes>),
    /// `SIZE path` (RFC 3659).
    Size(Bytes),
    /// `MDTM path` (RFC 3659).
    Mdtm(Bytes),
    /// `MLST [path]` (RFC 3659).
    Mlst(Option<Bytes>),
    /// `MLSD [path]` (RFC 3659).
    Mlsd(Option<Bytes>),
    /// `HOST name` (RFC 7151).
    Host(Bytes),
    /// `MFMT YYYYMMDDHHMMSS path`: set the modification time (MFMT draft).
    Mfmt {
        /// The new modification time, UTC.
        time: FtpTime,
        /// The file.
        path: Bytes,
    },
    /// `MFCT YYYYMMDDHHMMSS path`: set the creation time (MFMT draft).
    Mfct {
        /// The new creation time, UTC.
        time: FtpTime,
        /// The file.
        path: Bytes,
    },
    /// `MFF facts path`: set facts such as `Modify=...;UNIX.mode=...;` (MFMT draft).
    Mff {
        /// The facts, `name=value;` repeated, without spaces.
        facts: Bytes,
        /// The file.
        path: Bytes,
    },
    /// Any other verb (ASCII letters), kept as received, with its argument if any.
    Other {
        /// The verb, letter case as received.
        verb: Bytes,
        /// Everything after the space that follows the verb.
        arg: Option<Bytes>,
    },
}

/// Why a command line could not be parsed. [`reply_code`](Self::reply_code) gives the reply
/// a server sends for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The line is empty or holds only spaces (500).
    #[error("empty command line")]
    Empty,
    /// The verb holds a byte that is not an ASCII letter (500).
    #[error("command verb must be ASCII letters")]
    BadVerb,
    /// The command needs an argument and has none (501).
    #[error("{verb} needs an argument")]
    MissingArgument {
        /// The command.
        verb: &'static str,
    },
    /// The command takes no argument but got one (501).
    #[error("{verb} takes no argument")]
    UnexpectedArgument {
        /// The command.
        verb: &'static str,
    },
    /// The argument does not follow the command's syntax (501).
    #[error("{verb}: invalid argument: {reason}")]
    InvalidArgument {
        /// The command.
        verb: &'static str,
        /// What was expected.
        reason: &'static str,
    },
    /// The argument is well formed but names a parameter this protocol does not know, such as
    /// `TYPE X`, `MODE Z` or `PROT Q` (504).
    #[error("{verb}: parameter not implemented")]
    UnsupportedParameter {
        /// The command.
        verb: &'static str,
    },
    /// The host-port argument of PORT, EPRT or LPRT is invalid (501; 522 for an EPRT network
    /// protocol other than 1 or 2, RFC 2428; 521 for an LPRT family other than 4 or 6,
    /// RFC 1639).
    #[error("{verb}: {source}")]
    Address {
        /// The command.
        verb: &'static str,
        /// What was wrong with the address.
        source: AddressError,
    },
    /// The timestamp of MFMT or MFCT is invalid (501).
    #[error("{verb}: {source}")]
    Time {
        /// The command.
        verb: &'static str,
        /// What was wrong with the timestamp.
        source: TimeError,
    },
}

impl CommandError {
    /// The reply code a server answers this error with.
    ///
    /// ```
    /// use ftp_proto::command::Command;
    /// // RFC 959 §4.2: 500 syntax error, command unrecognized; 501 syntax error in
    /// // parameters; 504 command not implemented for that parameter.
    /// assert_eq!(Command::parse(b"").unwrap_err().reply_code(), 500);
    /// assert_eq!(Command::parse(b"RETR").unwrap_err().reply_code(), 501);
    /// assert_eq!(Command::parse(b"TYPE X").unwrap_err().reply_code(), 504);
    /// // RFC 2428 §2: 522 for an unknown network protocol in EPRT.
    /// assert_eq!(Command::parse(b"EPRT |3|x|1|").unwrap_err().reply_code(), 522);
    /// ```
    pub fn reply_code(&self) -> u16 {
        match self {
            Self::Empty | Self::BadVerb => 500,
            Self::UnsupportedParameter { .. } => 504,
            Self::Address {
                source: AddressError::UnknownNetworkProtocol { .. },
                ..
            } => 522,
            Self::Address {
                source: AddressError::UnsupportedFamily { .. },
                ..
            } => 521,
            _ => 501,
        }
    }

    /// The verb of the command, when it was recognised.
    pub fn verb(&self) -> Option<&'static str> {
        match self {
            Self::Empty | Self::BadVerb => None,
            Self::MissingArgument { verb }
            | Self::UnexpectedArgument { verb }
            | Self::InvalidArgument { verb, .. }
            | Self::UnsupportedParameter { verb }
            | Self::Address { verb, .. }
            | Self::Time { verb, .. } => Some(verb),
        }
    }
}

/// Why a command could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// An argument holds CR, LF or NUL, which would end the line early (command injection).
    #[error("byte 0x{byte:02x} at offset {offset} of the argument is not allowed")]
    ForbiddenByte {
        /// The byte.
        byte: u8,
        /// Its offset in the argument as it would be written (before IAC doubling).
        offset: usize,
    },
    /// A required argument is empty.
    #[error("{verb} needs a non-empty argument")]
    EmptyArgument {
        /// The command.
        verb: &'static str,
    },
    /// An argument would not parse back as the same command (an OPTS name or MFF facts with a
    /// space, a zero TYPE L byte size).
    #[error("{verb}: {reason}")]
    InvalidArgument {
        /// The command.
        verb: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The verb of [`Command::Other`] is empty or holds a byte that is not an ASCII letter.
    #[error("verb must be one or more ASCII letters")]
    InvalidVerb,
}

impl From<ArgError> for EncodeError {
    fn from(e: ArgError) -> Self {
        match e {
            ArgError::ForbiddenByte { byte, offset } => Self::ForbiddenByte { byte, offset },
        }
    }
}

/// The argument after the verb's single space: `None` if absent or empty.
fn present(arg: Option<&[u8]>) -> Option<&[u8]> {
    arg.filter(|a| !a.is_empty())
}

fn required<'a>(verb: &'static str, arg: Option<&'a [u8]>) -> Result<&'a [u8], CommandError> {
    present(arg).ok_or(CommandError::MissingArgument { verb })
}

fn text(verb: &'static str, arg: Option<&[u8]>) -> Result<Bytes, CommandError> {
    required(verb, arg).map(Bytes::copy_from_slice)
}

fn optional(arg: Option<&[u8]>) -> Option<Bytes> {
    present(arg).map(Bytes::copy_from_slice)
}

fn nothing(verb: &'static str, arg: Option<&[u8]>, cmd: Command) -> Result<Command, CommandError> {
    match present(arg) {
        None => Ok(cmd),
        Some(_) => Err(CommandError::UnexpectedArgument { verb }),
    }
}

/// A typed (non-path) argument: required, surrounding whitespace ignored.
fn typed<'a>(verb: &'static str, arg: Option<&'a [u8]>) -> Result<&'a [u8], CommandError> {
    let a = required(verb, arg)?.trim_ascii();
    if a.is_empty() {
        Err(CommandError::MissingArgument { verb })
    } else {
        Ok(a)
    }
}

fn decimal(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        if c.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        } else {
            None
        }
    })
}

fn number<T: TryFrom<u64>>(verb: &'static str, b: &[u8]) -> Result<T, CommandError> {
    decimal(b)
        .and_then(|n| T::try_from(n).ok())
        .ok_or(CommandError::InvalidArgument {
            verb,
            reason: "decimal number expected",
        })
}

fn words(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|&c| c == b' ').filter(|w| !w.is_empty())
}

fn split_space(b: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr::memchr(b' ', b).and_then(|i| b.split_at_checked(i)) {
        Some((head, tail)) => (head, tail.get(1..)),
        None => (b, None),
    }
}

/// One letter (case-insensitive) chosen from a table; another single letter is an
/// unsupported parameter (504), anything longer a syntax error (501).
fn letter<T: Copy>(
    verb: &'static str,
    arg: Option<&[u8]>,
    table: &[(u8, T)],
) -> Result<T, CommandError> {
    match typed(verb, arg)? {
        [c] if c.is_ascii_alphabetic() => table
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(c))
            .map(|&(_, v)| v)
            .ok_or(CommandError::UnsupportedParameter { verb }),
        _ => Err(CommandError::InvalidArgument {
            verb,
            reason: "one letter expected",
        }),
    }
}

fn parse_type(arg: Option<&[u8]>) -> Result<TransferType, CommandError> {
    const V: &str = "TYPE";
    let bad = CommandError::InvalidArgument {
        verb: V,
        reason: "type code expected: A [N|T|C], E [N|T|C], I or L byte-size",
    };
    let mut w = words(typed(V, arg)?);
    let code = w.next().ok_or(CommandError::MissingArgument { verb: V })?;
    let second = w.next();
    if w.next().is_some() {
        return Err(bad);
    }
    let form = |second: Option<&[u8]>| match second {
        None => Ok(FormatControl::NonPrint),
        Some([c]) => match c.to_ascii_uppercase() {
            b'N' => Ok(FormatControl::NonPrint),
            b'T' => Ok(FormatControl::Telnet),
            b'C' => Ok(FormatControl::Asa),
            c if c.is_ascii_alphabetic() => Err(CommandError::UnsupportedParameter { verb: V }),
            _ => Err(bad),
        },
        Some(_) => Err(bad),
    };
    let size = |b: &[u8]| match decimal(b).and_then(|n| u8::try_from(n).ok()) {
        Some(n @ 1..) => Ok(TransferType::Local(n)),
        _ => Err(CommandError::InvalidArgument {
            verb: V,
            reason: "byte size 1-255 expected",
        }),
    };
    match code {
        [c] => match c.to_ascii_uppercase() {
            b'A' => form(second).map(TransferType::Ascii),
            b'E' => form(second).map(TransferType::Ebcdic),
            b'I' if second.is_none() => Ok(TransferType::Image),
            b'L' => size(second.ok_or(CommandError::InvalidArgument {
                verb: V,
                reason: "TYPE L needs a byte size",
            })?),
            c if c.is_ascii_alphabetic() && second.is_none() => {
                Err(CommandError::UnsupportedParameter { verb: V })
            }
            _ => Err(bad),
        },
        // `L8`: some clients leave out the space.
        [l, n @ ..] if l.eq_ignore_ascii_case(&b'L') && second.is_none() => size(n),
        _ => Err(bad),
    }
}

fn parse_allo(arg: Option<&[u8]>) -> Result<Command, CommandError> {
    const V: &str = "ALLO";
    let mut w = words(typed(V, arg)?);
    let size = number(V, w.next().unwrap_or_default())?;
    let record = match (w.next(), w.next(), w.next()) {
        (None, _, _) => None,
        (Some(r), Some(n), None) if r.eq_ignore_ascii_case(b"R") => Some(number(V, n)?),
        _ => {
            return Err(CommandError::InvalidArgument {
                verb: V,
                reason: "size [R record-size] expected",
            })
        }
    };
    Ok(Command::Allo { size, record })
}

fn parse_epsv(arg: Option<&[u8]>) -> Result<Command, CommandError> {
    const V: &str = "EPSV";
    let Some(a) = present(arg)
        .map(<[u8]>::trim_ascii)
        .filter(|a| !a.is_empty())
    else {
        return Ok(Command::Epsv(None));
    };
    if a.eq_ignore_ascii_case(b"ALL") {
        return Ok(Command::Epsv(Some(EpsvArg::All)));
    }
    match decimal(a).and_then(|n| u16::try_from(n).ok()) {
        Some(n) => Ok(Command::Epsv(Some(EpsvArg::Protocol(n)))),
        None => Err(CommandError::InvalidArgument {
            verb: V,
            reason: "ALL or a network protocol number expected",
        }),
    }
}

/// `word SP rest`, both required: OPTS, MFMT, MFCT, MFF.
fn pair<'a>(
    verb: &'static str,
    arg: Option<&'a [u8]>,
) -> Result<(&'a [u8], Option<&'a [u8]>), CommandError> {
    let (first, rest) = split_space(required(verb, arg)?);
    if first.is_empty() {
        return Err(CommandError::InvalidArgument {
            verb,
            reason: "argument starts with a space",
        });
    }
    Ok((first, present(rest)))
}

fn parse_time(verb: &'static str, arg: Option<&[u8]>) -> Result<(FtpTime, Bytes), CommandError> {
    let (t, path) = pair(verb, arg)?;
    let time = FtpTime::parse(t).map_err(|source| CommandError::Time { verb, source })?;
    let path = path.ok_or(CommandError::MissingArgument { verb })?;
    Ok((time, Bytes::copy_from_slice(path)))
}

fn addr<T>(
    verb: &'static str,
    arg: Option<&[u8]>,
    f: fn(&[u8]) -> Result<T, AddressError>,
) -> Result<T, CommandError> {
    f(typed(verb, arg)?).map_err(|source| CommandError::Address { verb, source })
}

impl Command {
    /// Parses one command line (without CRLF, as [`crate::line::LineDecoder`] returns it).
    ///
    /// The verb is case-insensitive and made of ASCII letters. Exactly one space separates
    /// it from the argument; further spaces belong to the argument (RFC 2640 §3.1). Typed
    /// arguments (numbers, TYPE, MODE, addresses...) may carry surrounding spaces; paths
    /// are kept byte for byte. An unknown verb gives [`Command::Other`].
    ///
    /// ```
    /// use ftp_proto::command::{Command, TransferType};
    /// // RFC 959 §5.3.1: RETR <SP> <pathname> <CRLF>; RFC 2640 §3.1: "a single space
    /// // character" separates command and argument, so a second space is part of the path.
    /// assert_eq!(Command::parse(b"retr  a").unwrap(), Command::Retr(" a".into()));
    /// // RFC 1123 §4.1.2.2: TYPE L 8 is the local byte size 8 (treated as TYPE I).
    /// assert_eq!(Command::parse(b"TYPE L 8").unwrap(), Command::Type(TransferType::Local(8)));
    /// assert_eq!(Command::parse(b"PORT 192,168,150,80,14,178").unwrap(),
    ///            Command::Port("192.168.150.80:3762".parse().unwrap()));
    /// assert_eq!(Command::parse(b"XYZZY plugh").unwrap(),
    ///            Command::Other { verb: "XYZZY".into(), arg: Some("plugh".into()) });
    /// ```
    pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
        use Command as C;
        if line.iter().all(|&b| b == b' ') {
            return Err(CommandError::Empty);
        }
        let (verb, arg) = split_space(line);
        if verb.is_empty() || !verb.iter().all(u8::is_ascii_alphabetic) {
            return Err(CommandError::BadVerb);
        }
        let mut upper = [0u8; 4];
        let key: &[u8] = match upper.get_mut(..verb.len()) {
            Some(slot) => {
                slot.copy_from_slice(verb);
                slot.make_ascii_uppercase();
                slot
            }
            None => b"",
        };
        Ok(match key {
            b"USER" => C::User(text("USER", arg)?),
            b"PASS" => C::Pass(arg.map(Bytes::copy_from_slice).unwrap_or_default()),
            b"ACCT" => C::Acct(text("ACCT", arg)?),
            b"CWD" => C::Cwd(text("CWD", arg)?),
            b"CDUP" => nothing("CDUP", arg, C::Cdup)?,
            b"SMNT" => C::Smnt(text("SMNT", arg)?),
            b"REIN" => nothing("REIN", arg, C::Rein)?,
            b"QUIT" => nothing("QUIT", arg, C::Quit)?,
            b"PORT" => C::Port(addr("PORT", arg, address::parse_port)?),
            b"PASV" => nothing("PASV", arg, C::Pasv)?,
            b"TYPE" => C::Type(parse_type(arg)?),
            b"STRU" => C::Stru(letter(
                "STRU",
                arg,
                &[
                    (b'F', Structure::File),
                    (b'R', Structure::Record),
                    (b'P', Structure::Page),
                ],
            )?),
            b"MODE" => C::Mode(letter(
                "MODE",
                arg,
                &[
                    (b'S', TransferMode::Stream),
                    (b'B', TransferMode::Block),
                    (b'C', TransferMode::Compressed),
                ],
            )?),
            b"RETR" => C::Retr(text("RETR", arg)?),
            b"STOR" => C::Stor(text("STOR", arg)?),
            b"STOU" => C::Stou(optional(arg)),
            b"APPE" => C::Appe(text("APPE", arg)?),
            b"ALLO" => parse_allo(arg)?,
            b"REST" => C::Rest(number("REST", typed("REST", arg)?)?),
            b"RNFR" => C::Rnfr(text("RNFR", arg)?),
            b"RNTO" => C::Rnto(text("RNTO", arg)?),
            b"ABOR" => nothing("ABOR", arg, C::Abor)?,
            b"DELE" => C::Dele(text("DELE", arg)?),
            b"RMD" => C::Rmd(text("RMD", arg)?),
            b"MKD" => C::Mkd(text("MKD", arg)?),
            b"PWD" => nothing("PWD", arg, C::Pwd)?,
            b"LIST" => C::List(optional(arg)),
            b"NLST" => C::Nlst(optional(arg)),
            b"SITE" => C::Site(text("SITE", arg)?),
            b"SYST" => nothing("SYST", arg, C::Syst)?,
            b"STAT" => C::Stat(optional(arg)),
            b"HELP" => C::Help(optional(arg)),
            b"NOOP" => nothing("NOOP", arg, C::Noop)?,
            b"XMKD" => C::Xmkd(text("XMKD", arg)?),
            b"XRMD" => C::Xrmd(text("XRMD", arg)?),
            b"XPWD" => nothing("XPWD", arg, C::Xpwd)?,
            b"XCUP" => nothing("XCUP", arg, C::Xcup)?,
            b"XCWD" => C::Xcwd(text("XCWD", arg)?),
            b"LPRT" => C::Lprt(addr("LPRT", arg, address::parse_lprt)?),
            b"LPSV" => nothing("LPSV", arg, C::Lpsv)?,
            b"AUTH" => C::Auth(text("AUTH", arg)?),
            b"ADAT" => C::Adat(text("ADAT", arg)?),
            b"PROT" => C::Prot(letter(
                "PROT",
                arg,
                &[
                    (b'C', ProtectionLevel::Clear),
                    (b'S', ProtectionLevel::Safe),
                    (b'E', ProtectionLevel::Confidential),
                    (b'P', ProtectionLevel::Private),
                ],
            )?),
            b"PBSZ" => C::Pbsz(number("PBSZ", typed("PBSZ", arg)?)?),
            b"CCC" => nothing("CCC", arg, C::Ccc)?,
            b"MIC" => C::Mic(text("MIC", arg)?),
            b"CONF" => C::Conf(text("CONF", arg)?),
            b"ENC" => C::Enc(text("ENC", arg)?),
            b"FEAT" => nothing("FEAT", arg, C::Feat)?,
            b"OPTS" => {
                let (name, value) = pair("OPTS", arg)?;
                C::Opts {
                    name: Bytes::copy_from_slice(name),
                    value: value.map(Bytes::copy_from_slice),
                }
            }
            b"EPRT" => C::Eprt(addr("EPRT", arg, address::parse_eprt)?),
            b"EPSV" => parse_epsv(arg)?,
            b"LANG" => C::Lang(optional(arg)),
            b"SIZE" => C::Size(text("SIZE", arg)?),
            b"MDTM" => C::Mdtm(text("MDTM", arg)?),
            b"MLST" => C::Mlst(optional(arg)),
            b"MLSD" => C::Mlsd(optional(arg)),
            b"HOST" => C::Host(text("HOST", arg)?),
            b"MFMT" => {
                let (time, path) = parse_time("MFMT", arg)?;
                C::Mfmt { time, path }
            }
            b"MFCT" => {
                let (time, path) = parse_time("MFCT", arg)?;
                C::Mfct { time, path }
            }
            b"MFF" => {
                let (facts, path) = pair("MFF", arg)?;
                let path = path.ok_or(CommandError::MissingArgument { verb: "MFF" })?;
                C::Mff {
                    facts: Bytes::copy_from_slice(facts),
                    path: Bytes::copy_from_slice(path),
                }
            }
            _ => C::Other {
                verb: Bytes::copy_from_slice(verb),
                arg: optional(arg),
            },
        })
    }

    /// The canonical (upper-case) verb, or `None` for [`Command::Other`], whose verb is in
    /// the variant (see also [`verb_bytes`](Self::verb_bytes)).
    pub fn verb(&self) -> Option<&'static str> {
        use Command as C;
        Some(match self {
            C::User(_) => "USER",
            C::Pass(_) => "PASS",
            C::Acct(_) => "ACCT",
            C::Cwd(_) => "CWD",
            C::Cdup => "CDUP",
            C::Smnt(_) => "SMNT",
            C::Rein => "REIN",
            C::Quit => "QUIT",
            C::Port(_) => "PORT",
            C::Pasv => "PASV",
            C::Type(_) => "TYPE",
            C::Stru(_) => "STRU",
            C::Mode(_) => "MODE",
            C::Retr(_) => "RETR",
            C::Stor(_) => "STOR",
            C::Stou(_) => "STOU",
            C::Appe(_) => "APPE",
            C::Allo { .. } => "ALLO",
            C::Rest(_) => "REST",
            C::Rnfr(_) => "RNFR",
            C::Rnto(_) => "RNTO",
            C::Abor => "ABOR",
            C::Dele(_) => "DELE",
            C::Rmd(_) => "RMD",
            C::Mkd(_) => "MKD",
            C::Pwd => "PWD",
            C::List(_) => "LIST",
            C::Nlst(_) => "NLST",
            C::Site(_) => "SITE",
            C::Syst => "SYST",
            C::Stat(_) => "STAT",
            C::Help(_) => "HELP",
            C::Noop => "NOOP",
            C::Xmkd(_) => "XMKD",
            C::Xrmd(_) => "XRMD",
            C::Xpwd => "XPWD",
            C::Xcup => "XCUP",
            C::Xcwd(_) => "XCWD",
            C::Lprt(_) => "LPRT",
            C::Lpsv => "LPSV",
            C::Auth(_) => "AUTH",
            C::Adat(_) => "ADAT",
            C::Prot(_) => "PROT",
            C::Pbsz(_) => "PBSZ",
            C::Ccc => "CCC",
            C::Mic(_) => "MIC",
            C::Conf(_) => "CONF",
            C::Enc(_) => "ENC",
            C::Feat => "FEAT",
            C::Opts { .. } => "OPTS",
            C::Eprt(_) => "EPRT",
            C::Epsv(_) => "EPSV",
            C::Lang(_) => "LANG",
            C::Size(_) => "SIZE",
            C::Mdtm(_) => "MDTM",
            C::Mlst(_) => "MLST",
            C::Mlsd(_) => "MLSD",
            C::Host(_) => "HOST",
            C::Mfmt { .. } => "MFMT",
            C::Mfct { .. } => "MFCT",
            C::Mff { .. } => "MFF",
            C::Other { .. } => return None,
        })
    }

    /// The verb as bytes: the canonical verb, or for [`Command::Other`] the verb as received.
    pub fn verb_bytes(&self) -> &[u8] {
        match (self.verb(), self) {
            (Some(v), _) => v.as_bytes(),
            (None, Command::Other { verb, .. }) => verb,
            (None, _) => b"",
        }
    }

    /// The argument as it appears on the line (before IAC doubling), if any.
    fn argument(&self) -> Option<Cow<'_, [u8]>> {
        use Command as C;
        fn owned(s: String) -> Option<Cow<'static, [u8]>> {
            Some(Cow::Owned(s.into_bytes()))
        }
        fn opt(b: &Option<Bytes>) -> Option<Cow<'_, [u8]>> {
            b.as_deref().filter(|b| !b.is_empty()).map(Cow::Borrowed)
        }
        fn form(f: FormatControl) -> &'static str {
            match f {
                FormatControl::NonPrint => "",
                FormatControl::Telnet => " T",
                FormatControl::Asa => " C",
            }
        }
        fn joined(a: &[u8], b: &[u8]) -> Option<Cow<'static, [u8]>> {
            let mut v = Vec::with_capacity(a.len() + 1 + b.len());
            v.extend_from_slice(a);
            v.push(b' ');
            v.extend_from_slice(b);
            Some(Cow::Owned(v))
        }
        let fixed = |s: &'static str| Some(Cow::Borrowed(s.as_bytes()));
        match self {
            C::User(b)
            | C::Pass(b)
            | C::Acct(b)
            | C::Cwd(b)
            | C::Smnt(b)
            | C::Retr(b)
            | C::Stor(b)
            | C::Appe(b)
            | C::Rnfr(b)
            | C::Rnto(b)
            | C::Dele(b)
            | C::Rmd(b)
            | C::Mkd(b)
            | C::Site(b)
            | C::Xmkd(b)
            | C::Xrmd(b)
            | C::Xcwd(b)
            | C::Auth(b)
            | C::Adat(b)
            | C::Mic(b)
            | C::Conf(b)
            | C::Enc(b)
            | C::Size(b)
            | C::Mdtm(b)
            | C::Host(b) => Some(Cow::Borrowed(&b[..])).filter(|b| !b.is_empty()),
            C::Stou(b)
            | C::List(b)
            | C::Nlst(b)
            | C::Stat(b)
            | C::Help(b)
            | C::Lang(b)
            | C::Mlst(b)
            | C::Mlsd(b)
            | C::Other { arg: b, .. } => opt(b),
            C::Cdup
            | C::Rein
            | C::Quit
            | C::Pasv
            | C::Abor
            | C::Pwd
            | C::Syst
            | C::Noop
            | C::Xpwd
            | C::Xcup
            | C::Lpsv
            | C::Ccc
            | C::Feat
            | C::Epsv(None) => None,
            C::Port(a) => {
                let mut v = Vec::new();
                address::write_port(*a, &mut v);
                Some(Cow::Owned(v))
            }
            C::Eprt(a) => {
                let mut v = Vec::new();
                address::write_eprt(*a, &mut v);
                Some(Cow::Owned(v))
            }
            C::Lprt(a) => {
                let mut v = Vec::new();
                address::write_lprt(*a, &mut v);
                Some(Cow::Owned(v))
            }
            C::Type(t) => match t {
                TransferType::Ascii(f) => owned(format!("A{}", form(*f))),
                TransferType::Ebcdic(f) => owned(format!("E{}", form(*f))),
                TransferType::Image => fixed("I"),
                TransferType::Local(n) => owned(format!("L {n}")),
            },
            C::Stru(s) => fixed(match s {
                Structure::File => "F",
                Structure::Record => "R",
                Structure::Page => "P",
            }),
            C::Mode(m) => fixed(match m {
                TransferMode::Stream => "S",
                TransferMode::Block => "B",
                TransferMode::Compressed => "C",
            }),
            C::Prot(p) => fixed(match p {
                ProtectionLevel::Clear => "C",
                ProtectionLevel::Safe => "S",
                ProtectionLevel::Confidential => "E",
                ProtectionLevel::Private => "P",
            }),
            C::Allo { size, record: None } => owned(size.to_string()),
            C::Allo {
                size,
                record: Some(r),
            } => owned(format!("{size} R {r}")),
            C::Rest(n) => owned(n.to_string()),
            C::Pbsz(n) => owned(n.to_string()),
            C::Epsv(Some(EpsvArg::All)) => fixed("ALL"),
            C::Epsv(Some(EpsvArg::Protocol(n))) => owned(n.to_string()),
            C::Opts { name, value } => match value.as_deref().filter(|v| !v.is_empty()) {
                Some(v) => joined(name, v),
                None => Some(Cow::Borrowed(name)),
            },
            C::Mfmt { time, path } | C::Mfct { time, path } => {
                joined(time.to_string().as_bytes(), path)
            }
            C::Mff { facts, path } => joined(facts, path),
        }
    }

    /// Checks what `encode` needs beyond CR/LF/NUL: arguments that would parse back
    /// differently.
    fn check(&self) -> Result<(), EncodeError> {
        use Command as C;
        let verb = self.verb().unwrap_or("");
        let empty = |b: &[u8]| {
            if b.is_empty() {
                Err(EncodeError::EmptyArgument { verb })
            } else {
                Ok(())
            }
        };
        let no_space = |b: &[u8], reason| {
            if b.is_empty() || memchr::memchr(b' ', b).is_some() {
                Err(EncodeError::InvalidArgument { verb, reason })
            } else {
                Ok(())
            }
        };
        match self {
            C::User(b)
            | C::Acct(b)
            | C::Cwd(b)
            | C::Smnt(b)
            | C::Retr(b)
            | C::Stor(b)
            | C::Appe(b)
            | C::Rnfr(b)
            | C::Rnto(b)
            | C::Dele(b)
            | C::Rmd(b)
            | C::Mkd(b)
            | C::Site(b)
            | C::Xmkd(b)
            | C::Xrmd(b)
            | C::Xcwd(b)
            | C::Auth(b)
            | C::Adat(b)
            | C::Mic(b)
            | C::Conf(b)
            | C::Enc(b)
            | C::Size(b)
            | C::Mdtm(b)
            | C::Host(b)
            | C::Mfmt { path: b, .. }
            | C::Mfct { path: b, .. } => empty(b),
            C::Opts { name, .. } => no_space(name, "name must be non-empty without spaces"),
            C::Mff { facts, path } => {
                no_space(facts, "facts must be non-empty without spaces")?;
                empty(path)
            }
            C::Type(TransferType::Local(0)) => Err(EncodeError::InvalidArgument {
                verb,
                reason: "byte size must be 1-255",
            }),
            C::Other { verb, .. } => {
                if verb.is_empty() || !verb.iter().all(u8::is_ascii_alphabetic) {
                    Err(EncodeError::InvalidVerb)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Appends the command line to `out`: the upper-case verb, one space and the argument if
    /// there is one, then CRLF. 0xFF in an argument is doubled (IAC IAC); CR, LF and NUL are
    /// refused. On error `out` is left as it was.
    ///
    /// Optional arguments that are `Some` but empty are written as absent.
    ///
    /// ```
    /// use ftp_proto::command::{Command, EncodeError};
    /// // RFC 959 §4.1.3: "commands ... terminated by the Telnet end-of-line code (CRLF)".
    /// let mut out = Vec::new();
    /// Command::Retr("a b".into()).encode(&mut out).unwrap();
    /// assert_eq!(out, b"RETR a b\r\n");
    /// // A file name must not smuggle a second command.
    /// let err = Command::Dele("x\r\nRMD /".into()).encode(&mut out).unwrap_err();
    /// assert_eq!(err, EncodeError::ForbiddenByte { byte: b'\r', offset: 1 });
    /// assert_eq!(out, b"RETR a b\r\n");
    /// ```
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.check()?;
        let start = out.len();
        out.extend_from_slice(self.verb_bytes());
        if let Some(arg) = self.argument() {
            out.push(b' ');
            if let Err(e) = line::encode_arg(out, &arg) {
                out.truncate(start);
                return Err(e.into());
            }
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// Writes bytes for a log: printable ASCII as is (`\` doubled), everything else as `\xNN`.
fn escaped(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    for &c in b {
        match c {
            b'\\' => f.write_str("\\\\")?,
            0x20..=0x7e => fmt::Write::write_char(f, char::from(c))?,
            _ => write!(f, "\\x{c:02x}")?,
        }
    }
    Ok(())
}

/// The command line without CRLF, for logs: PASS and ACCT arguments are shown as `****`,
/// other bytes outside printable ASCII as `\xNN`.
///
/// ```
/// use ftp_proto::command::Command;
/// assert_eq!(Command::parse(b"PASS hunter2").unwrap().to_string(), "PASS ****");
/// assert_eq!(Command::parse(b"RETR caf\xc3\xa9\r").unwrap().to_string(), "RETR caf\\xc3\\xa9\\x0d");
/// ```
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escaped(f, self.verb_bytes())?;
        match self {
            Command::Pass(_) | Command::Acct(_) => f.write_str(" ****"),
            _ => match self.argument() {
                Some(arg) => {
                    f.write_str(" ")?;
                    escaped(f, &arg)
                }
                None => Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::LineDecoder;
    use bytes::BytesMut;
    use proptest::prelude::*;
    use Command as C;
    use CommandError as E;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn parse_table() {
        let t = FtpTime::parse(b"20200102030405").unwrap();
        let cases: Vec<(&[u8], Result<Command, CommandError>)> = vec![
            (b"USER anonymous", Ok(C::User(b("anonymous")))),
            (b"user anonymous", Ok(C::User(b("anonymous")))),
            (b"PASS guest@", Ok(C::Pass(b("guest@")))),
            (b"PASS", Ok(C::Pass(b("")))),
            (b"ACCT acc", Ok(C::Acct(b("acc")))),
            (b"CWD /pub", Ok(C::Cwd(b("/pub")))),
            (b"CDUP", Ok(C::Cdup)),
            (b"SMNT /mnt", Ok(C::Smnt(b("/mnt")))),
            (b"REIN", Ok(C::Rein)),
            (b"QUIT", Ok(C::Quit)),
            (
                b"PORT 192,168,150,80,14,178",
                Ok(C::Port("192.168.150.80:3762".parse().unwrap())),
            ),
            (b"PASV", Ok(C::Pasv)),
            (
                b"TYPE A",
                Ok(C::Type(TransferType::Ascii(FormatControl::NonPrint))),
            ),
            (
                b"TYPE A N",
                Ok(C::Type(TransferType::Ascii(FormatControl::NonPrint))),
            ),
            (
                b"type a t",
                Ok(C::Type(TransferType::Ascii(FormatControl::Telnet))),
            ),
            (
                b"TYPE E C",
                Ok(C::Type(TransferType::Ebcdic(FormatControl::Asa))),
            ),
            (b"TYPE I", Ok(C::Type(TransferType::Image))),
            (b"TYPE L 8", Ok(C::Type(TransferType::Local(8)))),
            (b"TYPE L8", Ok(C::Type(TransferType::Local(8)))),
            (b"TYPE X", Err(E::UnsupportedParameter { verb: "TYPE" })),
            (b"TYPE A X", Err(E::UnsupportedParameter { verb: "TYPE" })),
            (
                b"TYPE L 0",
                Err(E::InvalidArgument {
                    verb: "TYPE",
                    reason: "byte size 1-255 expected",
                }),
            ),
            (b"TYPE", Err(E::MissingArgument { verb: "TYPE" })),
            (b"STRU F", Ok(C::Stru(Structure::File))),
            (b"STRU r", Ok(C::Stru(Structure::Record))),
            (b"MODE S", Ok(C::Mode(TransferMode::Stream))),
            (b"MODE B", Ok(C::Mode(TransferMode::Block))),
            (b"MODE Z", Err(E::UnsupportedParameter { verb: "MODE" })),
            (
                b"MODE SS",
                Err(E::InvalidArgument {
                    verb: "MODE",
                    reason: "one letter expected",
                }),
            ),
            (b"RETR a.txt", Ok(C::Retr(b("a.txt")))),
            (b"RETR  a", Ok(C::Retr(b(" a")))),
            (b"RETR a ", Ok(C::Retr(b("a ")))),
            (b"RETR", Err(E::MissingArgument { verb: "RETR" })),
            (b"RETR ", Err(E::MissingArgument { verb: "RETR" })),
            (b"STOR f", Ok(C::Stor(b("f")))),
            (b"STOU", Ok(C::Stou(None))),
            (b"STOU x", Ok(C::Stou(Some(b("x"))))),
            (b"APPE f", Ok(C::Appe(b("f")))),
            (
                b"ALLO 1024",
                Ok(C::Allo {
                    size: 1024,
                    record: None,
                }),
            ),
            (
                b"ALLO 1024 R 80",
                Ok(C::Allo {
                    size: 1024,
                    record: Some(80),
                }),
            ),
            (
                b"ALLO 1024 X 80",
                Err(E::InvalidArgument {
                    verb: "ALLO",
                    reason: "size [R record-size] expected",
                }),
            ),
            (b"REST 18446744073709551615", Ok(C::Rest(u64::MAX))),
            (
                b"REST 18446744073709551616",
                Err(E::InvalidArgument {
                    verb: "REST",
                    reason: "decimal number expected",
                }),
            ),
            (
                b"REST -1",
                Err(E::InvalidArgument {
                    verb: "REST",
                    reason: "decimal number expected",
                }),
            ),
            (b"RNFR a", Ok(C::Rnfr(b("a")))),
            (b"RNTO b", Ok(C::Rnto(b("b")))),
            (b"ABOR", Ok(C::Abor)),
            (b"DELE f", Ok(C::Dele(b("f")))),
            (b"RMD d", Ok(C::Rmd(b("d")))),
            (b"MKD d", Ok(C::Mkd(b("d")))),
            (b"PWD", Ok(C::Pwd)),
            (b"PWD x", Err(E::UnexpectedArgument { verb: "PWD" })),
            (b"NOOP ", Ok(C::Noop)),
            (b"LIST", Ok(C::List(None))),
            (b"LIST -la", Ok(C::List(Some(b("-la"))))),
            (b"NLST *.txt", Ok(C::Nlst(Some(b("*.txt"))))),
            (b"SITE CHMOD 755 f", Ok(C::Site(b("CHMOD 755 f")))),
            (b"SYST", Ok(C::Syst)),
            (b"STAT", Ok(C::Stat(None))),
            (b"HELP RETR", Ok(C::Help(Some(b("RETR"))))),
            (b"XMKD d", Ok(C::Xmkd(b("d")))),
            (b"XRMD d", Ok(C::Xrmd(b("d")))),
            (b"XPWD", Ok(C::Xpwd)),
            (b"XCUP", Ok(C::Xcup)),
            (b"XCWD d", Ok(C::Xcwd(b("d")))),
            (
                b"LPRT 4,4,132,235,1,2,2,24,131",
                Ok(C::Lprt("132.235.1.2:6275".parse().unwrap())),
            ),
            (
                b"LPRT 5,4,132,235,1,2,2,24,131",
                Err(E::Address {
                    verb: "LPRT",
                    source: AddressError::UnsupportedFamily { af: 5 },
                }),
            ),
            (b"LPSV", Ok(C::Lpsv)),
            (b"AUTH TLS", Ok(C::Auth(b("TLS")))),
            (b"ADAT Zm9v", Ok(C::Adat(b("Zm9v")))),
            (b"PROT P", Ok(C::Prot(ProtectionLevel::Private))),
            (b"PROT Q", Err(E::UnsupportedParameter { verb: "PROT" })),
            (b"PBSZ 0", Ok(C::Pbsz(0))),
            (
                b"PBSZ 4294967296",
                Err(E::InvalidArgument {
                    verb: "PBSZ",
                    reason: "decimal number expected",
                }),
            ),
            (b"CCC", Ok(C::Ccc)),
            (b"MIC x", Ok(C::Mic(b("x")))),
            (b"CONF x", Ok(C::Conf(b("x")))),
            (b"ENC x", Ok(C::Enc(b("x")))),
            (b"FEAT", Ok(C::Feat)),
            (
                b"OPTS UTF8 ON",
                Ok(C::Opts {
                    name: b("UTF8"),
                    value: Some(b("ON")),
                }),
            ),
            (
                b"OPTS MLST type;size;",
                Ok(C::Opts {
                    name: b("MLST"),
                    value: Some(b("type;size;")),
                }),
            ),
            (
                b"OPTS UTF8",
                Ok(C::Opts {
                    name: b("UTF8"),
                    value: None,
                }),
            ),
            (b"OPTS", Err(E::MissingArgument { verb: "OPTS" })),
            (
                b"EPRT |1|132.235.1.2|6275|",
                Ok(C::Eprt("132.235.1.2:6275".parse().unwrap())),
            ),
            (
                b"EPRT |2|1080::8:800:200C:417A|5282|",
                Ok(C::Eprt("[1080::8:800:200C:417A]:5282".parse().unwrap())),
            ),
            (
                b"EPRT |3|x|1|",
                Err(E::Address {
                    verb: "EPRT",
                    source: AddressError::UnknownNetworkProtocol { af: 3 },
                }),
            ),
            (
                b"EPRT |1|1.2.3.4|0|",
                Err(E::Address {
                    verb: "EPRT",
                    source: AddressError::PortZero,
                }),
            ),
            (b"EPSV", Ok(C::Epsv(None))),
            (b"EPSV ALL", Ok(C::Epsv(Some(EpsvArg::All)))),
            (b"epsv all", Ok(C::Epsv(Some(EpsvArg::All)))),
            (b"EPSV 2", Ok(C::Epsv(Some(EpsvArg::Protocol(2))))),
            (
                b"EPSV x",
                Err(E::InvalidArgument {
                    verb: "EPSV",
                    reason: "ALL or a network protocol number expected",
                }),
            ),
            (b"LANG", Ok(C::Lang(None))),
            (b"LANG fr-FR", Ok(C::Lang(Some(b("fr-FR"))))),
            (b"SIZE f", Ok(C::Size(b("f")))),
            (b"MDTM f", Ok(C::Mdtm(b("f")))),
            (b"MLST", Ok(C::Mlst(None))),
            (b"MLSD /", Ok(C::Mlsd(Some(b("/"))))),
            (b"HOST ftp.example.com", Ok(C::Host(b("ftp.example.com")))),
            (
                b"MFMT 20200102030405 a b",
                Ok(C::Mfmt {
                    time: t,
                    path: b("a b"),
                }),
            ),
            (
                b"MFCT 20200102030405 f",
                Ok(C::Mfct {
                    time: t,
                    path: b("f"),
                }),
            ),
            (
                b"MFMT 20201302030405 f",
                Err(E::Time {
                    verb: "MFMT",
                    source: TimeError::OutOfRange,
                }),
            ),
            (
                b"MFMT 20200102030405",
                Err(E::MissingArgument { verb: "MFMT" }),
            ),
            (
                b"MFF Modify=20200102030405;UNIX.mode=0644; f",
                Ok(C::Mff {
                    facts: b("Modify=20200102030405;UNIX.mode=0644;"),
                    path: b("f"),
                }),
            ),
            (
                b"XYZZY",
                Ok(C::Other {
                    verb: b("XYZZY"),
                    arg: None,
                }),
            ),
            (
                b"Clnt FileZilla",
                Ok(C::Other {
                    verb: b("Clnt"),
                    arg: Some(b("FileZilla")),
                }),
            ),
            (b"", Err(E::Empty)),
            (b"   ", Err(E::Empty)),
            (b" NOOP", Err(E::BadVerb)),
            (b"NO0P", Err(E::BadVerb)),
            (b"\xffNOOP", Err(E::BadVerb)),
        ];
        for (input, want) in cases {
            assert_eq!(
                Command::parse(input),
                want,
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn reply_codes() {
        let cases: &[(&[u8], u16, Option<&str>)] = &[
            (b"", 500, None),
            (b"1234", 500, None),
            (b"RETR", 501, Some("RETR")),
            (b"PORT 1,2,3,4,5", 501, Some("PORT")),
            (b"PORT 1,2,3,4,5,6,7", 501, Some("PORT")),
            (b"TYPE X", 504, Some("TYPE")),
            (b"MODE Z", 504, Some("MODE")),
            (b"PROT Q", 504, Some("PROT")),
            (b"EPRT |3|1.2.3.4|5|", 522, Some("EPRT")),
            (b"LPRT 5,4,1,2,3,4,2,0,21", 521, Some("LPRT")),
            (b"MFMT 2020 f", 501, Some("MFMT")),
        ];
        for &(input, code, verb) in cases {
            let e = Command::parse(input).unwrap_err();
            assert_eq!((e.reply_code(), e.verb()), (code, verb), "{e}");
        }
    }

    #[test]
    fn encode_table() {
        let t = FtpTime::parse(b"20200102030405.5").unwrap();
        let cases: Vec<(Command, &[u8])> = vec![
            (C::Noop, b"NOOP\r\n"),
            (C::User(b("ftp")), b"USER ftp\r\n"),
            (C::Pass(b("")), b"PASS\r\n"),
            (C::Type(TransferType::Image), b"TYPE I\r\n"),
            (
                C::Type(TransferType::Ascii(FormatControl::NonPrint)),
                b"TYPE A\r\n",
            ),
            (
                C::Type(TransferType::Ebcdic(FormatControl::Telnet)),
                b"TYPE E T\r\n",
            ),
            (C::Type(TransferType::Local(8)), b"TYPE L 8\r\n"),
            (
                C::Port("10.0.0.1:1025".parse().unwrap()),
                b"PORT 10,0,0,1,4,1\r\n",
            ),
            (C::Eprt("[::1]:21".parse().unwrap()), b"EPRT |2|::1|21|\r\n"),
            (
                C::Lprt("1.2.3.4:21".parse().unwrap()),
                b"LPRT 4,4,1,2,3,4,2,0,21\r\n",
            ),
            (C::Epsv(Some(EpsvArg::All)), b"EPSV ALL\r\n"),
            (
                C::Allo {
                    size: 10,
                    record: Some(2),
                },
                b"ALLO 10 R 2\r\n",
            ),
            (C::Rest(100), b"REST 100\r\n"),
            (C::Retr(b(" a")), b"RETR  a\r\n"),
            (C::Retr(Bytes::from_static(b"\xff")), b"RETR \xff\xff\r\n"),
            (C::List(Some(b(""))), b"LIST\r\n"),
            (
                C::Opts {
                    name: b("UTF8"),
                    value: Some(b("ON")),
                },
                b"OPTS UTF8 ON\r\n",
            ),
            (
                C::Mfmt {
                    time: t,
                    path: b("f"),
                },
                b"MFMT 20200102030405.5 f\r\n",
            ),
            (
                C::Other {
                    verb: b("Clnt"),
                    arg: Some(b("x")),
                },
                b"Clnt x\r\n",
            ),
        ];
        for (cmd, want) in cases {
            let mut out = Vec::new();
            cmd.encode(&mut out).unwrap();
            assert_eq!(out, want, "{cmd:?}");
        }
    }

    #[test]
    fn encode_refuses() {
        let cases: Vec<(Command, EncodeError)> = vec![
            (
                C::Cwd(b("a\nb")),
                EncodeError::ForbiddenByte {
                    byte: b'\n',
                    offset: 1,
                },
            ),
            (
                C::Stor(b("a\0")),
                EncodeError::ForbiddenByte { byte: 0, offset: 1 },
            ),
            (
                C::Pass(b("\r")),
                EncodeError::ForbiddenByte {
                    byte: b'\r',
                    offset: 0,
                },
            ),
            (
                C::Mff {
                    facts: b("a=b;"),
                    path: b("x\ny"),
                },
                EncodeError::ForbiddenByte {
                    byte: b'\n',
                    offset: 6,
                },
            ),
            (C::Retr(b("")), EncodeError::EmptyArgument { verb: "RETR" }),
            (
                C::Opts {
                    name: b("A B"),
                    value: None,
                },
                EncodeError::InvalidArgument {
                    verb: "OPTS",
                    reason: "name must be non-empty without spaces",
                },
            ),
            (
                C::Other {
                    verb: b("A1"),
                    arg: None,
                },
                EncodeError::InvalidVerb,
            ),
            (
                C::Other {
                    verb: b(""),
                    arg: None,
                },
                EncodeError::InvalidVerb,
            ),
            (
                C::Type(TransferType::Local(0)),
                EncodeError::InvalidArgument {
                    verb: "TYPE",
                    reason: "byte size must be 1-255",
                },
            ),
        ];
        for (cmd, want) in cases {
            let mut out = b"x".to_vec();
            assert_eq!(cmd.encode(&mut out), Err(want), "{cmd:?}");
            assert_eq!(out, b"x");
        }
    }

    #[test]
    fn display_hides_passwords() {
        let cases: Vec<(Command, &str)> = vec![
            (C::Pass(b("secret")), "PASS ****"),
            (C::Pass(b("")), "PASS ****"),
            (C::Acct(b("secret")), "ACCT ****"),
            (
                C::Retr(Bytes::from_static(b"a\r\n\xff\\")),
                "RETR a\\x0d\\x0a\\xff\\\\",
            ),
            (
                C::Other {
                    verb: b("Clnt"),
                    arg: None,
                },
                "Clnt",
            ),
            (C::Type(TransferType::Ascii(FormatControl::Asa)), "TYPE A C"),
        ];
        for (cmd, want) in cases {
            assert_eq!(cmd.to_string(), want);
        }
    }

    #[test]
    fn telnet_abor_reaches_parser() {
        // RFC 959 §4.1.3: IP, then Synch (IAC DM, the DM possibly lost or alone), then ABOR.
        for wire in [
            &b"\xff\xf4\xff\xf2ABOR\r\n"[..],
            b"\xff\xf4\xffABOR\r\n",
            b"\xf2ABOR\r\n",
            b"\xff\xf4\xf2abor\n",
        ] {
            let mut buf = BytesMut::from(wire);
            let line = LineDecoder::default().decode(&mut buf).unwrap().unwrap();
            assert_eq!(Command::parse(&line), Ok(C::Abor), "{wire:?}");
        }
    }

    /// Encodes, frames with LineDecoder (fed in two chunks), and parses back.
    fn through_the_wire(cmd: &Command, split: usize) -> Result<Command, String> {
        let mut wire = Vec::new();
        cmd.encode(&mut wire).map_err(|e| e.to_string())?;
        let split = split % (wire.len() + 1);
        let (a, rest) = wire.split_at(split);
        let mut dec = LineDecoder::default();
        let mut buf = BytesMut::from(a);
        let mut line = dec.decode(&mut buf).map_err(|e| e.to_string())?;
        if line.is_none() {
            buf.extend_from_slice(rest);
            line = dec.decode(&mut buf).map_err(|e| e.to_string())?;
        }
        let line = line.ok_or("no line")?;
        if !buf.is_empty() {
            return Err("left-over bytes".into());
        }
        Command::parse(&line).map_err(|e| e.to_string())
    }

    fn arg() -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(
            any::<u8>().prop_filter("no CR LF NUL", |b| !matches!(b, b'\r' | b'\n' | 0)),
            1..24,
        )
        .prop_map(Bytes::from)
    }

    fn word() -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(
            any::<u8>().prop_filter("word", |b| !matches!(b, b'\r' | b'\n' | 0 | b' ')),
            1..12,
        )
        .prop_map(Bytes::from)
    }

    fn time() -> impl Strategy<Value = FtpTime> {
        (-62_167_219_200i64..253_402_300_799, 0u32..1_000_000_000)
            .prop_map(|(s, n)| FtpTime::from_unix(s, n).unwrap())
    }

    fn sock() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), 1u16..).prop_map(|(ip, p)| SocketAddr::from((ip, p))),
            (any::<[u8; 16]>(), 1u16..).prop_map(|(ip, p)| SocketAddr::from((ip, p))),
        ]
    }

    fn form() -> impl Strategy<Value = FormatControl> {
        prop_oneof![
            Just(FormatControl::NonPrint),
            Just(FormatControl::Telnet),
            Just(FormatControl::Asa)
        ]
    }

    fn command() -> impl Strategy<Value = Command> {
        let with_path: Vec<fn(Bytes) -> Command> = vec![
            C::User,
            C::Pass,
            C::Acct,
            C::Cwd,
            C::Smnt,
            C::Retr,
            C::Stor,
            C::Appe,
            C::Rnfr,
            C::Rnto,
            C::Dele,
            C::Rmd,
            C::Mkd,
            C::Site,
            C::Xmkd,
            C::Xrmd,
            C::Xcwd,
            C::Auth,
            C::Adat,
            C::Mic,
            C::Conf,
            C::Enc,
            C::Size,
            C::Mdtm,
            C::Host,
        ];
        let with_opt: Vec<fn(Option<Bytes>) -> Command> = vec![
            C::Stou,
            C::List,
            C::Nlst,
            C::Stat,
            C::Help,
            C::Lang,
            C::Mlst,
            C::Mlsd,
        ];
        let bare = vec![
            C::Cdup,
            C::Rein,
            C::Quit,
            C::Pasv,
            C::Abor,
            C::Pwd,
            C::Syst,
            C::Noop,
            C::Xpwd,
            C::Xcup,
            C::Lpsv,
            C::Ccc,
            C::Feat,
            C::Epsv(None),
        ];
        prop_oneof![
            (proptest::sample::select(with_path), arg()).prop_map(|(f, a)| f(a)),
            (
                proptest::sample::select(with_opt),
                proptest::option::of(arg())
            )
                .prop_map(|(f, a)| f(a)),
            proptest::sample::select(bare),
            (any::<[u8; 4]>(), 1u16..).prop_map(|(ip, p)| C::Port(SocketAddrV4::new(ip.into(), p))),
            sock().prop_map(C::Eprt),
            sock().prop_map(C::Lprt),
            prop_oneof![
                form().prop_map(TransferType::Ascii),
                form().prop_map(TransferType::Ebcdic),
                Just(TransferType::Image),
                (1u8..).prop_map(TransferType::Local),
            ]
            .prop_map(C::Type),
            prop_oneof![
                Just(Structure::File),
                Just(Structure::Record),
                Just(Structure::Page)
            ]
            .prop_map(C::Stru),
            prop_oneof![
                Just(TransferMode::Stream),
                Just(TransferMode::Block),
                Just(TransferMode::Compressed)
            ]
            .prop_map(C::Mode),
            prop_oneof![
                Just(ProtectionLevel::Clear),
                Just(ProtectionLevel::Safe),
                Just(ProtectionLevel::Confidential),
                Just(ProtectionLevel::Private),
            ]
            .prop_map(C::Prot),
            (any::<u64>(), proptest::option::of(any::<u64>()))
                .prop_map(|(size, record)| C::Allo { size, record }),
            any::<u64>().prop_map(C::Rest),
            any::<u32>().prop_map(C::Pbsz),
            prop_oneof![Just(EpsvArg::All), any::<u16>().prop_map(EpsvArg::Protocol)]
                .prop_map(|a| C::Epsv(Some(a))),
            (word(), proptest::option::of(arg())).prop_map(|(name, value)| C::Opts { name, value }),
            (time(), arg()).prop_map(|(time, path)| C::Mfmt { time, path }),
            (time(), arg()).prop_map(|(time, path)| C::Mfct { time, path }),
            (word(), arg()).prop_map(|(facts, path)| C::Mff { facts, path }),
            ("[JKZjkz][A-Za-z]{0,7}", proptest::option::of(arg())).prop_map(|(v, arg)| C::Other {
                verb: Bytes::from(v),
                arg
            }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(cmd in command(), split in any::<usize>()) {
            prop_assert_eq!(through_the_wire(&cmd, split), Ok(cmd.clone()));
            // Display never shows a password.
            if let C::Pass(p) = &cmd {
                prop_assert_eq!(cmd.to_string(), "PASS ****");
                prop_assert!(p.len() < 4 || !cmd.to_string().as_bytes().windows(p.len()).any(|w| w == &p[..]));
            }
        }

        #[test]
        fn parse_never_panics(line in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(cmd) = Command::parse(&line) {
                let _ = cmd.to_string();
                let mut out = Vec::new();
                let _ = cmd.encode(&mut out);
            }
        }

        #[test]
        fn known_verbs_never_panic(
            verb in proptest::sample::select(vec![
                "TYPE", "MODE", "STRU", "PROT", "PORT", "EPRT", "LPRT", "ALLO", "REST", "PBSZ",
                "EPSV", "OPTS", "MFMT", "MFCT", "MFF", "PASS", "LIST",
            ]),
            arg in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut line = verb.as_bytes().to_vec();
            line.push(b' ');
            line.extend_from_slice(&arg);
            let _ = Command::parse(&line);
        }
    }
}
