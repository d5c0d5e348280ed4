//! Directory listings: LIST (Unix `ls -l` and Windows/IIS DOS style) and MLSD/MLST facts.
//!
//! RFC 959 leaves the LIST format to the server ("the information on a file may vary widely
//! from system to system"), so [`parse_list_line`] recognises the formats real servers send:
//! Unix `ls -l` in its many variants and the DOS style of IIS and other Windows servers.
//! RFC 3659 §7 defines the machine-readable MLSD/MLST format, parsed by [`parse_mlsx_line`].
//! Servers produce lines with [`format_unix_line`] and [`format_mlsx_line`].
//!
//! Every parser takes one line (a trailing CRLF or LF is ignored) and returns a typed error
//! for a line it cannot read; a caller listing a directory skips such lines. Nothing here
//! panics on any input, reads a clock or decodes a name: names, owners and link targets stay
//! bytes.
//!
//! Times in LIST output are in the server's local time zone, which FTP does not announce; they
//! are returned as written. MLSx `modify` times are UTC (RFC 3659 §2.3). The Unix format for
//! recent files has no year ([`Modified::NoYear`]); [`Modified::resolve`] supplies it from a
//! reference time the caller passes in.

use bytes::Bytes;
use memchr::{memchr, memchr2, memmem};

use crate::time::FtpTime;

/// Why a listing line could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListingError {
    /// The line is neither a Unix `ls -l` line, a DOS/IIS line nor a `total N` line.
    #[error("listing line format not recognised")]
    UnknownFormat,
    /// A Unix line with a valid mode string but no `Mon DD HH:MM`, `Mon DD YYYY` or
    /// `YYYY-MM-DD HH:MM` date after a size.
    #[error("no date after the size in a Unix listing line")]
    NoDate,
    /// A date or time field out of range (month 13, 25:00, 31 April...).
    #[error("date or time field out of range")]
    BadDate,
    /// A size or device number that does not fit its type.
    #[error("size or device number too large")]
    BadSize,
    /// Nothing is left for the file name.
    #[error("entry has no name")]
    NoName,
    /// An MLSx fact without `=`, or with an empty fact name.
    #[error("malformed MLSx fact (want factname=value;)")]
    BadFact,
    /// MLSx facts that are not followed by a space and a name.
    #[error("MLSx facts not followed by a space and a name")]
    NoSeparator,
}

/// What kind of file system object an entry is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file (Unix `-`, DOS size column, MLSx `type=file`).
    File,
    /// A directory (Unix `d`, DOS `<DIR>`, MLSx `type=dir`).
    Dir,
    /// A symbolic link (Unix `l`, DOS `<SYMLINK>`/`<SYMLINKD>`/`<JUNCTION>`, MLSx
    /// `type=OS.unix=slink:target` or `type=OS.unix=symlink`).
    Symlink,
    /// The listed directory itself (MLSx `type=cdir`, or a Unix directory named `.`).
    CurrentDir,
    /// The parent of the listed directory (MLSx `type=pdir`, or a Unix directory named `..`).
    ParentDir,
    /// Anything else, as sent: the Unix type letter (`c`, `b`, `p`, `s`, ...) or the MLSx
    /// `type` value (for example `OS.unix=chr-1/3`). Empty when an MLSx line has no `type`
    /// fact.
    Other(Bytes),
}

/// A modification time as a listing gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Modified {
    /// A complete date and time: MLSx `modify`, DOS lines, Unix lines with a year (midnight)
    /// or an ISO date.
    Exact(FtpTime),
    /// A Unix "recent file" time such as `Nov 25 15:27`: `ls` omits the year for times less
    /// than six months old. See [`Modified::resolve`].
    NoYear {
        /// Month, 1–12.
        month: u8,
        /// Day of the month, 1–31.
        day: u8,
        /// Hour, 0–23.
        hour: u8,
        /// Minute, 0–59.
        minute: u8,
    },
}

/// How far in the future a year-less time may lie before it is taken to be from last year:
/// one day covers the time zone difference between server and caller.
const FUTURE_SLACK_SECS: i64 = 86_400;

/// Half of an average Gregorian year, the window in which `ls` leaves out the year.
const SIX_MONTHS_SECS: i64 = 15_778_476;

impl Modified {
    /// The time in a given year: `Exact` times are returned unchanged, `NoYear` times get
    /// `year` (seconds 0). `None` if the date does not exist in that year (29 February).
    pub fn with_year(self, year: u16) -> Option<FtpTime> {
        match self {
            Modified::Exact(t) => Some(t),
            Modified::NoYear {
                month,
                day,
                hour,
                minute,
            } => FtpTime::new(year, month, day, hour, minute, 0, 0).ok(),
        }
    }

    /// Completes a year-less time the way `ls` wrote it: `ls` omits the year only for times
    /// within the six months before the listing, so the result is the latest such date, in
    /// the year after, the year of or the year before `now`, that is not more than one day
    /// after `now` (the slack covers time zones). `None` if none exists (29 February with no
    /// leap year among them).
    ///
    /// `now` is passed in by the caller (the crate never reads a clock); use the time the
    /// listing was received. `Exact` times are returned unchanged.
    ///
    /// ```
    /// use ftp_proto::listing::Modified;
    /// use ftp_proto::time::FtpTime;
    /// let t = Modified::NoYear { month: 11, day: 25, hour: 15, minute: 27 };
    /// let now = FtpTime::new(2026, 1, 10, 0, 0, 0, 0).unwrap();
    /// assert_eq!(t.resolve(now).unwrap().year, 2025); // November is last year's
    /// let now = FtpTime::new(2026, 12, 1, 0, 0, 0, 0).unwrap();
    /// assert_eq!(t.resolve(now).unwrap().year, 2026);
    /// ```
    pub fn resolve(self, now: FtpTime) -> Option<FtpTime> {
        if let Modified::Exact(t) = self {
            return Some(t);
        }
        let limit = now.to_unix().saturating_add(FUTURE_SLACK_SECS);
        [
            now.year.checked_add(1),
            Some(now.year),
            now.year.checked_sub(1),
        ]
        .into_iter()
        .flatten()
        .filter_map(|y| self.with_year(y))
        .find(|t| t.to_unix() <= limit)
    }
}

/// One MLSx fact that has no typed field in [`Entry`] (RFC 3659 §7.5), such as `perm`,
/// `unique`, `create`, `media-type` or `unix.uid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fact {
    /// The fact name, lower-cased (fact names are case-insensitive).
    pub name: Bytes,
    /// The value, as sent.
    pub value: Bytes,
}

impl Fact {
    /// A fact; the name is lower-cased.
    pub fn new(name: &[u8], value: impl Into<Bytes>) -> Self {
        Fact {
            name: Bytes::from(name.to_ascii_lowercase()),
            value: value.into(),
        }
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name, as bytes (not necessarily UTF-8).
    pub name: Bytes,
    /// File, directory, link...
    pub kind: EntryKind,
    /// Size in bytes, where the listing gives it.
    pub size: Option<u64>,
    /// Modification time, where the listing gives it.
    pub modified: Option<Modified>,
    /// Unix permission bits (`0o7777` at most), from an `rwxr-xr-x` string or the MLSx
    /// `unix.mode` fact.
    pub permissions: Option<u16>,
    /// Owner name or number (Unix lines, MLSx `unix.owner`).
    pub owner: Option<Bytes>,
    /// Group name or number (Unix lines, MLSx `unix.group`).
    pub group: Option<Bytes>,
    /// Where a symbolic link points (Unix `name -> target`, MLSx `OS.unix=slink:target`).
    pub link_target: Option<Bytes>,
    /// Major and minor numbers of a Unix device file, listed instead of a size.
    pub device: Option<(u32, u32)>,
    /// The MLSx facts that have no typed field above, in the order sent. The facts `type`,
    /// `size`, `modify`, `unix.mode`, `unix.owner` and `unix.group` appear here only when
    /// their value could not be read into the typed field.
    pub facts: Vec<Fact>,
}

impl Entry {
    /// An entry with a name and kind and nothing else known.
    pub fn new(name: impl Into<Bytes>, kind: EntryKind) -> Self {
        Entry {
            name: name.into(),
            kind,
            size: None,
            modified: None,
            permissions: None,
            owner: None,
            group: None,
            link_target: None,
            device: None,
            facts: Vec::new(),
        }
    }
}

/// One line of LIST output.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // returned by value and consumed at once
pub enum ListLine {
    /// A file, directory or other entry.
    Entry(Entry),
    /// The `total N` line `ls -l` prints first (N is in blocks, not bytes).
    Total(u64),
    /// A line that carries no entry: empty or blank, or a `total` line with a
    /// human-readable size such as `total 12K`.
    Skip,
}

// ---------------------------------------------------------------------------------------
// Small byte helpers.

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_start_blanks(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| is_blank(c)).count();
    b.get(n..).unwrap_or_default()
}

fn all_digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

/// Decimal digits only, without overflow.
fn parse_u64(b: &[u8]) -> Option<u64> {
    if !all_digits(b) {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

/// 1 to `max` decimal digits.
fn small_num(b: &[u8], max: usize) -> Option<u32> {
    if b.len() > max {
        return None;
    }
    parse_u64(b).and_then(|v| u32::try_from(v).ok())
}

fn split_once(b: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = memchr(sep, b)?;
    let (head, tail) = b.split_at_checked(i)?;
    Some((head, tail.get(1..)?))
}

/// Copies `b`, replacing each byte for which `bad` holds with `?`.
fn put_sanitized(out: &mut Vec<u8>, b: &[u8], bad: impl Fn(u8) -> bool) {
    out.extend(b.iter().map(|&c| if bad(c) { b'?' } else { c }));
}

/// CR, LF and NUL can never appear in a listing line.
fn is_line_breaking(c: u8) -> bool {
    matches!(c, b'\r' | b'\n' | 0)
}

/// Whitespace-separated fields of a line, kept as positions so the name can be taken
/// verbatim (with its inner and leading spaces) from the rest of the line.
struct Tokens<'a> {
    line: &'a [u8],
    spans: [(usize, usize); MAX_TOKENS],
    len: usize,
}

/// Enough fields for the longest Unix prefix before the name: mode, links, owner, a group of
/// several words, size or device, and a four-field date, with room to spare.
const MAX_TOKENS: usize = 16;

impl<'a> Tokens<'a> {
    fn new(line: &'a [u8]) -> Self {
        let mut spans = [(0, 0); MAX_TOKENS];
        let mut len = 0;
        let mut pos = 0;
        while let Some(slot) = spans.get_mut(len) {
            let rest = line.get(pos..).unwrap_or_default();
            let skip = rest.iter().take_while(|&&c| is_blank(c)).count();
            let start = pos + skip;
            let rest = line.get(start..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            let end = start + memchr2(b' ', b'\t', rest).unwrap_or(rest.len());
            *slot = (start, end);
            len += 1;
            pos = end;
        }
        Tokens { line, spans, len }
    }

    fn span(&self, i: usize) -> Option<(usize, usize)> {
        self.spans.get(..self.len)?.get(i).copied()
    }

    fn get(&self, i: usize) -> Option<&'a [u8]> {
        let (s, e) = self.span(i)?;
        self.line.get(s..e)
    }

    /// The bytes from the start of field `first` to the end of field `last`, blanks included.
    fn range(&self, first: usize, last: usize) -> Option<&'a [u8]> {
        let (s, _) = self.span(first)?;
        let (_, e) = self.span(last)?;
        self.line.get(s..e)
    }

    /// The rest of the line after field `i` and exactly one blank.
    fn after_one_blank(&self, i: usize) -> Option<&'a [u8]> {
        let (_, e) = self.span(i)?;
        self.line.get(e + 1..)
    }

    /// The rest of the line after field `i` and all the blanks that follow it.
    fn after_blanks(&self, i: usize) -> Option<&'a [u8]> {
        let (_, e) = self.span(i)?;
        Some(trim_start_blanks(self.line.get(e..)?))
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn month_of(b: &[u8]) -> Option<u8> {
    let pos = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(b))?;
    u8::try_from(pos + 1).ok()
}

fn month_name(month: u8) -> &'static [u8] {
    usize::from(month)
        .checked_sub(1)
        .and_then(|i| MONTHS.get(i))
        .map_or(b"???", |m| &m[..])
}

/// `H:MM`, `HH:MM`, optionally `:SS` and a fraction: (hour, minute, seconds and nanos).
type Clock = (u8, u8, Option<(u8, u32)>);

fn clock(b: &[u8]) -> Option<Clock> {
    let (h, rest) = split_once(b, b':')?;
    let (m, secs) = match split_once(rest, b':') {
        Some((m, s)) => (m, Some(s)),
        None => (rest, None),
    };
    let hour = u8::try_from(small_num(h, 2)?).ok()?;
    if m.len() != 2 {
        return None;
    }
    let minute = u8::try_from(small_num(m, 2)?).ok()?;
    let secs = match secs {
        None => None,
        Some(s) => {
            let (sec, frac) = match split_once(s, b'.') {
                Some((sec, frac)) => (sec, Some(frac)),
                None => (s, None),
            };
            if sec.len() != 2 {
                return None;
            }
            let sec = u8::try_from(small_num(sec, 2)?).ok()?;
            let nanos = match frac {
                None => 0,
                Some(f) => {
                    let v = small_num(f, 9)?;
                    let scale = 10u32.checked_pow(9 - u32::try_from(f.len()).ok()?)?;
                    v.checked_mul(scale)?
                }
            };
            Some((sec, nanos))
        }
    };
    Some((hour, minute, secs))
}

/// A numeric time zone offset `+HHMM` / `-HHMM`, in seconds east of UTC.
fn tz_offset(b: &[u8]) -> Option<i64> {
    let (&sign, digits) = b.split_first()?;
    if digits.len() != 4 {
        return None;
    }
    let (h, m) = digits.split_at_checked(2)?;
    let secs = i64::from(small_num(h, 2)?) * 3600 + i64::from(small_num(m, 2)?) * 60;
    match sign {
        b'+' => Some(secs),
        b'-' => Some(-secs),
        _ => None,
    }
}

/// `YYYY-MM-DD`.
fn iso_date(b: &[u8]) -> Option<(u16, u8, u8)> {
    let (y, rest) = split_once(b, b'-')?;
    let (m, d) = split_once(rest, b'-')?;
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    Some((
        u16::try_from(small_num(y, 4)?).ok()?,
        u8::try_from(small_num(m, 2)?).ok()?,
        u8::try_from(small_num(d, 2)?).ok()?,
    ))
}

fn exact(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, ns: u32) -> Result<Modified, ListingError> {
    FtpTime::new(y, mo, d, h, mi, s, ns)
        .map(Modified::Exact)
        .map_err(|_| ListingError::BadDate)
}

// ---------------------------------------------------------------------------------------
// LIST

/// Parses one line of LIST output, detecting its format.
///
/// Recognised: `total N`; Unix `ls -l` lines (type and mode, optionally followed by an ACL,
/// extended-attribute or security-context marker `+`, `@` or `.`; link count, owner and
/// group, each of which some servers leave out; a size, or `major, minor` for device files;
/// dates `Nov 25 15:27`, `Nov 25  2024`, BSD `Nov 25 15:27:33 2024` and ISO
/// `2024-11-25 15:27[:SS[.fff]] [+ZZZZ]`; symbolic links `name -> target`); and DOS lines as
/// IIS sends them (`MM-DD-YY` or `MM-DD-YYYY`, 12- or 24-hour time, `<DIR>` or a size; two-digit
/// years below 70 are 20xx).
///
/// In a Unix line the name is everything after the single blank that follows the date, so
/// names keep inner and leading spaces and may start with digits. In a DOS line the name
/// starts at the first non-blank after the size column. Bytes are returned as they are;
/// nothing is decoded.
///
/// ```
/// use ftp_proto::listing::{parse_list_line, EntryKind, ListLine, Modified};
/// // RFC 959 §4.1.3 (LIST): "the information on a file may vary widely from system to
/// // system"; this is the `ls -l` form most servers use.
/// let line = parse_list_line(b"-rw-r--r--    1 ftp      ftp          1234 Nov 25 15:27 12 Monkeys.avi").unwrap();
/// let ListLine::Entry(e) = line else { panic!() };
/// assert_eq!(&e.name[..], b"12 Monkeys.avi");
/// assert_eq!(e.kind, EntryKind::File);
/// assert_eq!(e.size, Some(1234));
/// assert_eq!(e.permissions, Some(0o644));
/// assert_eq!(e.modified, Some(Modified::NoYear { month: 11, day: 25, hour: 15, minute: 27 }));
///
/// let ListLine::Entry(e) = parse_list_line(b"11-25-24  03:27PM       <DIR>          dir name").unwrap()
/// else { panic!() };
/// assert_eq!((&e.name[..], e.kind), (&b"dir name"[..], EntryKind::Dir));
///
/// assert_eq!(parse_list_line(b"total 48").unwrap(), ListLine::Total(48));
/// ```
pub fn parse_list_line(line: &[u8]) -> Result<ListLine, ListingError> {
    let line = trim_start_blanks(strip_eol(line));
    let Some(&first) = line.first() else {
        return Ok(ListLine::Skip);
    };
    let t = Tokens::new(line);
    if t.get(0).is_some_and(|w| w.eq_ignore_ascii_case(b"total")) {
        return match (t.get(1), t.len) {
            (Some(n), 2) => Ok(parse_u64(n).map_or(ListLine::Skip, ListLine::Total)),
            _ => Ok(ListLine::Skip),
        };
    }
    if first.is_ascii_digit() {
        parse_dos(&t).map(ListLine::Entry)
    } else {
        parse_unix(&t).map(ListLine::Entry)
    }
}

/// Reads `drwxr-xr-x` plus an optional marker: the type letter and the permission bits.
fn parse_mode(tok: &[u8]) -> Option<(u8, u16)> {
    let head = match tok.len() {
        10 => tok,
        11 => {
            let (head, marker) = tok.split_at_checked(10)?;
            if !matches!(marker, [b'+' | b'@' | b'.']) {
                return None;
            }
            head
        }
        _ => return None,
    };
    let &[t, ur, uw, ux, gr, gw, gx, or, ow, ox] = head else {
        return None;
    };
    if !matches!(
        t,
        b'-' | b'd' | b'l' | b'c' | b'b' | b'p' | b's' | b'D' | b'n' | b'?'
    ) {
        return None;
    }
    let mut mode = 0u16;
    for (c, want, bit) in [
        (ur, b'r', 0o400),
        (uw, b'w', 0o200),
        (gr, b'r', 0o040),
        (gw, b'w', 0o020),
        (or, b'r', 0o004),
        (ow, b'w', 0o002),
    ] {
        match c {
            b'-' => {}
            c if c == want => mode |= bit,
            _ => return None,
        }
    }
    // Execute positions also carry setuid, setgid and sticky: lower case means "and x".
    for (c, special, exec_bit, special_bit) in [
        (ux, b's', 0o100, 0o4000),
        (gx, b's', 0o010, 0o2000),
        (ox, b't', 0o001, 0o1000),
    ] {
        match c {
            b'-' => {}
            b'x' => mode |= exec_bit,
            c if c == special => mode |= exec_bit | special_bit,
            c if c == special.to_ascii_uppercase() => mode |= special_bit,
            // Some systems mark mandatory locking with `l`/`L` in the group position.
            b'l' | b'L' if special_bit == 0o2000 => {}
            _ => return None,
        }
    }
    Some((t, mode))
}

/// A Unix date starting at field `j`: the time and the index of its last field, or `None` if
/// no date starts there.
fn unix_date_at(t: &Tokens<'_>, j: usize) -> Option<(Result<Modified, ListingError>, usize)> {
    let a = t.get(j)?;
    if let Some(month) = month_of(a) {
        let day = u8::try_from(small_num(t.get(j + 1)?, 2)?).ok()?;
        let third = t.get(j + 2)?;
        if let Some((hour, minute, secs)) = clock(third) {
            return match secs {
                // BSD `ls -lT`: `Nov 25 15:27:33 2024`.
                Some((sec, nanos)) => {
                    let year = t.get(j + 3).filter(|y| y.len() == 4)?;
                    let year = u16::try_from(small_num(year, 4)?).ok()?;
                    Some((exact(year, month, day, hour, minute, sec, nanos), j + 3))
                }
                None => {
                    let ok = hour < 24
                        && minute < 60
                        && FtpTime::new(2000, month, day, 0, 0, 0, 0).is_ok();
                    let m = Modified::NoYear {
                        month,
                        day,
                        hour,
                        minute,
                    };
                    Some((
                        if ok {
                            Ok(m)
                        } else {
                            Err(ListingError::BadDate)
                        },
                        j + 2,
                    ))
                }
            };
        }
        if third.len() == 4 {
            let year = u16::try_from(small_num(third, 4)?).ok()?;
            return Some((exact(year, month, day, 0, 0, 0, 0), j + 2));
        }
        return None;
    }
    let (y, mo, d) = iso_date(a)?;
    let (h, mi, secs) = clock(t.get(j + 1)?)?;
    let (s, ns) = secs.unwrap_or((0, 0));
    let local = exact(y, mo, d, h, mi, s, ns);
    // `ls --time-style=full-iso` adds the zone offset: convert to UTC.
    match t.get(j + 2).and_then(tz_offset) {
        Some(offset) => {
            let utc = local.and_then(|m| match m {
                Modified::Exact(t) => FtpTime::from_unix(t.to_unix() - offset, t.nanos)
                    .map(Modified::Exact)
                    .ok_or(ListingError::BadDate),
                other => Ok(other),
            });
            Some((utc, j + 2))
        }
        None => Some((local, j + 1)),
    }
}

/// `major,minor` in one field.
fn device_pair(b: &[u8]) -> Option<Result<(u32, u32), ListingError>> {
    let (maj, min) = split_once(b, b',')?;
    if !all_digits(maj) || !all_digits(min) {
        return None;
    }
    Some(device_numbers(maj, min))
}

fn device_numbers(maj: &[u8], min: &[u8]) -> Result<(u32, u32), ListingError> {
    let n = |b| {
        parse_u64(b)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(ListingError::BadSize)
    };
    Ok((n(maj)?, n(min)?))
}

/// Where the size column is and what it holds.
struct SizeColumn {
    /// Index of the first field of the size column (fields before it are links/owner/group).
    first: usize,
    size: Option<u64>,
    device: Option<(u32, u32)>,
}

/// The size column ending at field `i`, if field `i` can be one.
fn size_column(t: &Tokens<'_>, i: usize) -> Option<Result<SizeColumn, ListingError>> {
    let tok = t.get(i)?;
    if let Some(dev) = device_pair(tok) {
        return Some(dev.map(|device| SizeColumn {
            first: i,
            size: None,
            device: Some(device),
        }));
    }
    if !all_digits(tok) {
        return None;
    }
    // `1,   3`: the major number with its comma is the field before.
    if let Some(maj) = i
        .checked_sub(1)
        .filter(|&p| p >= 1)
        .and_then(|p| t.get(p))
        .and_then(|p| p.strip_suffix(b","))
        .filter(|m| all_digits(m))
    {
        return Some(device_numbers(maj, tok).map(|device| SizeColumn {
            first: i - 1,
            size: None,
            device: Some(device),
        }));
    }
    Some(
        parse_u64(tok)
            .ok_or(ListingError::BadSize)
            .map(|size| SizeColumn {
                first: i,
                size: Some(size),
                device: None,
            }),
    )
}

fn parse_unix(t: &Tokens<'_>) -> Result<Entry, ListingError> {
    let (type_letter, permissions) = t
        .get(0)
        .and_then(parse_mode)
        .ok_or(ListingError::UnknownFormat)?;
    let mut found = None;
    for j in 2..t.len {
        let Some(column) = size_column(t, j - 1) else {
            continue;
        };
        if let Some((date, last)) = unix_date_at(t, j) {
            found = Some((column?, date?, last));
            break;
        }
    }
    let (column, modified, last) = found.ok_or(ListingError::NoDate)?;
    let name = t.after_one_blank(last).unwrap_or_default();

    // Fields between the mode and the size: [links] [owner] [group...].
    let between = column.first.saturating_sub(1);
    let first_numeric = t.get(1).is_some_and(all_digits);
    let (owner, group) = match between {
        0 => (None, None),
        1 if first_numeric => (None, None),
        1 => (t.get(1), None),
        2 if first_numeric => (t.get(2), None),
        2 => (t.get(1), t.get(2)),
        _ => {
            let o = if first_numeric { 2 } else { 1 };
            (t.get(o), t.range(o + 1, column.first - 1))
        }
    };

    let (name, link_target) = match (type_letter, memmem::find(name, b" -> ")) {
        (b'l', Some(i)) => {
            let (n, rest) = name.split_at_checked(i).unwrap_or((name, &[]));
            (n, rest.get(4..))
        }
        _ => (name, None),
    };
    if name.is_empty() {
        return Err(ListingError::NoName);
    }
    let kind = match (type_letter, name) {
        (b'-', _) => EntryKind::File,
        (b'd', b".") => EntryKind::CurrentDir,
        (b'd', b"..") => EntryKind::ParentDir,
        (b'd', _) => EntryKind::Dir,
        (b'l', _) => EntryKind::Symlink,
        (other, _) => EntryKind::Other(Bytes::copy_from_slice(&[other])),
    };
    Ok(Entry {
        name: Bytes::copy_from_slice(name),
        kind,
        size: column.size,
        modified: Some(modified),
        permissions: Some(permissions),
        owner: owner.map(Bytes::copy_from_slice),
        group: group.map(Bytes::copy_from_slice),
        link_target: link_target.map(Bytes::copy_from_slice),
        device: column.device,
        facts: Vec::new(),
    })
}

/// `MM-DD-YY`, `MM-DD-YYYY` (also with `/`) or `YYYY-MM-DD`: (year, month, day).
fn dos_date(b: &[u8]) -> Option<(u16, u8, u8)> {
    let sep = if memchr(b'/', b).is_some() {
        b'/'
    } else {
        b'-'
    };
    let (p1, rest) = split_once(b, sep)?;
    let (p2, p3) = split_once(rest, sep)?;
    let num = |p: &[u8], max| small_num(p, max);
    let (y, m, d) = if p1.len() == 4 {
        (num(p1, 4)?, num(p2, 2)?, num(p3, 2)?)
    } else {
        let y = match p3.len() {
            2 => {
                let yy = num(p3, 2)?;
                if yy < 70 {
                    2000 + yy
                } else {
                    1900 + yy
                }
            }
            4 => num(p3, 4)?,
            _ => return None,
        };
        (y, num(p1, 2)?, num(p2, 2)?)
    };
    Some((
        u16::try_from(y).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(d).ok()?,
    ))
}

/// `AM` or `PM`, any case: `Some(false)` for AM, `Some(true)` for PM.
fn am_pm(b: &[u8]) -> Option<bool> {
    if b.eq_ignore_ascii_case(b"AM") {
        Some(false)
    } else if b.eq_ignore_ascii_case(b"PM") {
        Some(true)
    } else {
        None
    }
}

/// A DOS size column: digits, possibly with `,` or `.` thousands separators.
fn dos_size(b: &[u8]) -> Option<Result<u64, ListingError>> {
    if !b.first().is_some_and(u8::is_ascii_digit)
        || !b
            .iter()
            .all(|&c| c.is_ascii_digit() || c == b',' || c == b'.')
    {
        return None;
    }
    let v = b
        .iter()
        .filter(|c| c.is_ascii_digit())
        .try_fold(0u64, |acc, &c| {
            acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        });
    Some(v.ok_or(ListingError::BadSize))
}

fn parse_dos(t: &Tokens<'_>) -> Result<Entry, ListingError> {
    let (year, month, day) = t
        .get(0)
        .and_then(dos_date)
        .ok_or(ListingError::UnknownFormat)?;
    let time = t.get(1).ok_or(ListingError::UnknownFormat)?;
    let (time, mut pm) = match time
        .len()
        .checked_sub(2)
        .and_then(|i| time.split_at_checked(i))
        .and_then(|(head, tail)| Some((head, am_pm(tail)?)))
    {
        Some((head, pm)) => (head, Some(pm)),
        None => (time, None),
    };
    let (hour, minute, secs) = clock(time).ok_or(ListingError::UnknownFormat)?;
    let mut next = 2;
    if pm.is_none() {
        if let Some(p) = t.get(2).and_then(am_pm) {
            pm = Some(p);
            next = 3;
        }
    }
    let hour = match pm {
        None => hour,
        Some(_) if !(1..=12).contains(&hour) => return Err(ListingError::BadDate),
        Some(false) => hour % 12,
        Some(true) => hour % 12 + 12,
    };
    if hour > 23 || minute > 59 {
        return Err(ListingError::BadDate);
    }
    let (sec, nanos) = secs.unwrap_or((0, 0));
    let modified = exact(year, month, day, hour, minute, sec, nanos)?;

    let column = t.get(next).ok_or(ListingError::NoName)?;
    let (kind, size) = if column.eq_ignore_ascii_case(b"<DIR>") {
        (EntryKind::Dir, None)
    } else if column.eq_ignore_ascii_case(b"<SYMLINK>")
        || column.eq_ignore_ascii_case(b"<SYMLINKD>")
        || column.eq_ignore_ascii_case(b"<JUNCTION>")
    {
        (EntryKind::Symlink, None)
    } else {
        match dos_size(column) {
            Some(size) => (EntryKind::File, Some(size?)),
            None => return Err(ListingError::UnknownFormat),
        }
    };
    let rest = t.after_blanks(next).unwrap_or_default();
    // `dir` prints link targets as `name [target]`.
    let (name, link_target) = match (&kind, rest.strip_suffix(b"]")) {
        (EntryKind::Symlink, Some(inner)) => match memmem::rfind(inner, b" [") {
            Some(i) => {
                let (n, target) = inner.split_at_checked(i).unwrap_or((inner, &[]));
                (n, target.get(2..))
            }
            None => (rest, None),
        },
        _ => (rest, None),
    };
    if name.is_empty() {
        return Err(ListingError::NoName);
    }
    let kind = match (kind, name) {
        (EntryKind::Dir, b".") => EntryKind::CurrentDir,
        (EntryKind::Dir, b"..") => EntryKind::ParentDir,
        (kind, _) => kind,
    };
    let mut e = Entry::new(Bytes::copy_from_slice(name), kind);
    e.size = size;
    e.modified = Some(modified);
    e.link_target = link_target.map(Bytes::copy_from_slice);
    Ok(e)
}

// ---------------------------------------------------------------------------------------
// MLSD / MLST

/// Parses one MLSD line or the fact line of an MLST reply (RFC 3659 §7).
///
/// The grammar is `entry = [ facts ] SP pathname`, `facts = 1*( fact ";" )`,
/// `fact = factname "=" value`. The name is everything after the single space that ends the
/// facts, so it may contain `;` and spaces. Fact names are case-insensitive. MLST sends its
/// fact line after one leading space; that space is accepted and removed. (A line that starts
/// with a space and whose remainder holds no `=` is read as an entry without facts, ` name`.)
///
/// Typed fields are filled from `type` (`file`, `dir`, `cdir`, `pdir`, `OS.unix=slink:target`,
/// `OS.unix=symlink`; any other value is [`EntryKind::Other`]), `size`, `modify`
/// (`YYYYMMDDHHMMSS[.sss]`, UTC), `unix.mode` (octal), `unix.owner` and `unix.group`. Every
/// other fact, and a typed one whose value cannot be read, is kept in [`Entry::facts`] with its
/// name lower-cased.
///
/// ```
/// use ftp_proto::listing::{parse_mlsx_line, EntryKind};
/// // RFC 3659 §7.2: entry = [ facts ] SP pathname; facts = 1*( fact ";" )
/// let e = parse_mlsx_line(b"Type=file;Size=12;Modify=20261125152700.123;perm=r; a;b c").unwrap();
/// assert_eq!(&e.name[..], b"a;b c");
/// assert_eq!((e.kind, e.size), (EntryKind::File, Some(12)));
/// assert_eq!(&e.facts[0].name[..], b"perm");
///
/// let e = parse_mlsx_line(b" type=OS.unix=slink:/usr/bin;unix.mode=0777; bin").unwrap();
/// assert_eq!(e.kind, EntryKind::Symlink);
/// assert_eq!(e.link_target.as_deref(), Some(&b"/usr/bin"[..]));
/// assert_eq!(e.permissions, Some(0o777));
/// ```
pub fn parse_mlsx_line(line: &[u8]) -> Result<Entry, ListingError> {
    let line = strip_eol(line);
    match line.strip_prefix(b" ") {
        // MLST: one leading space before the facts. If the rest does not parse as
        // `facts; name`, the line is an MLSD entry with no facts at all (` name`, RFC 3659
        // §7.2: `entry = [ facts ] SP pathname`), whatever the name holds (even `=`).
        Some(rest) => match parse_mlsx_entry(rest) {
            Err(_) => parse_mlsx_entry(line),
            ok => ok,
        },
        None => parse_mlsx_entry(line),
    }
}

fn parse_mlsx_entry(mut rest: &[u8]) -> Result<Entry, ListingError> {
    let mut e = Entry::new(Bytes::new(), EntryKind::Other(Bytes::new()));
    loop {
        match rest.split_first() {
            Some((b' ', name)) => {
                if name.is_empty() {
                    return Err(ListingError::NoName);
                }
                e.name = Bytes::copy_from_slice(name);
                // A raw fact stands only for a typed field that stayed empty (a repeated
                // fact, valid once, leaves no raw copy behind).
                let typed: Vec<bool> = e
                    .facts
                    .iter()
                    .map(|f| typed_field_set(&e, &f.name))
                    .collect();
                let mut flags = typed.into_iter();
                e.facts.retain(|_| !flags.next().unwrap_or(false));
                return Ok(e);
            }
            None => return Err(ListingError::NoSeparator),
            Some(_) => {}
        }
        let (fact, after) = split_once(rest, b';').ok_or(ListingError::NoSeparator)?;
        let (name, value) = split_once(fact, b'=').ok_or(ListingError::BadFact)?;
        if name.is_empty() {
            return Err(ListingError::BadFact);
        }
        apply_fact(&mut e, name, value);
        rest = after;
    }
}

/// Whether `name` is a fact held in a typed field of `e`, and that field is set.
fn typed_field_set(e: &Entry, name: &[u8]) -> bool {
    match &name.to_ascii_lowercase()[..] {
        b"type" => !matches!(&e.kind, EntryKind::Other(v) if v.is_empty()),
        b"size" => e.size.is_some(),
        b"modify" => matches!(e.modified, Some(Modified::Exact(_))),
        b"unix.mode" => e.permissions.is_some(),
        b"unix.owner" => e.owner.is_some(),
        b"unix.group" => e.group.is_some(),
        _ => false,
    }
}

/// Strips `prefix` from `b`, ignoring ASCII case.
fn strip_prefix_ci<'a>(b: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let (head, tail) = b.split_at_checked(prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then_some(tail)
}

/// The kind named by an MLSx `type` value; sets `target` for `OS.unix=slink:target`.
fn mlsx_kind(v: &[u8], target: &mut Option<Bytes>) -> EntryKind {
    let link =
        strip_prefix_ci(v, b"os.unix=slink").or_else(|| strip_prefix_ci(v, b"os.unix=symlink"));
    match link {
        Some([]) | Some([b':']) => EntryKind::Symlink,
        Some([b':', t @ ..]) => {
            *target = Some(Bytes::copy_from_slice(t));
            EntryKind::Symlink
        }
        Some(_) => EntryKind::Other(Bytes::copy_from_slice(v)),
        None if v.eq_ignore_ascii_case(b"file") => EntryKind::File,
        None if v.eq_ignore_ascii_case(b"dir") => EntryKind::Dir,
        None if v.eq_ignore_ascii_case(b"cdir") => EntryKind::CurrentDir,
        None if v.eq_ignore_ascii_case(b"pdir") => EntryKind::ParentDir,
        None => EntryKind::Other(Bytes::copy_from_slice(v)),
    }
}

fn apply_fact(e: &mut Entry, name: &[u8], value: &[u8]) {
    let lower = name.to_ascii_lowercase();
    let typed = match lower.as_slice() {
        b"type" => {
            e.kind = mlsx_kind(value, &mut e.link_target);
            true
        }
        b"size" => parse_u64(value).map(|s| e.size = Some(s)).is_some(),
        b"modify" => FtpTime::parse(value)
            .map(|t| e.modified = Some(Modified::Exact(t)))
            .is_ok(),
        b"unix.mode" => {
            let mode = (value.len() <= 7 && !value.is_empty())
                .then(|| {
                    value.iter().try_fold(0u32, |acc, &c| {
                        matches!(c, b'0'..=b'7').then(|| acc * 8 + u32::from(c - b'0'))
                    })
                })
                .flatten()
                .and_then(|m| u16::try_from(m & 0o7777).ok());
            mode.map(|m| e.permissions = Some(m)).is_some()
        }
        b"unix.owner" => {
            e.owner = Some(Bytes::copy_from_slice(value));
            true
        }
        b"unix.group" => {
            e.group = Some(Bytes::copy_from_slice(value));
            true
        }
        _ => false,
    };
    if !typed {
        e.facts.push(Fact {
            name: Bytes::from(lower),
            value: Bytes::copy_from_slice(value),
        });
    }
}

/// A fact value cannot hold `;` (it ends the fact), nor CR, LF or NUL.
fn bad_in_value(c: u8) -> bool {
    c == b';' || is_line_breaking(c)
}

/// A fact name additionally cannot hold `=`, or a space (a space ends the facts).
fn bad_in_fact_name(c: u8) -> bool {
    bad_in_value(c) || c == b'=' || c == b' '
}

fn put_fact(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    put_sanitized(out, name, bad_in_fact_name);
    out.push(b'=');
    put_sanitized(out, value, bad_in_value);
    out.push(b';');
}

/// Writes one MLSD line (or, after a leading space the caller adds, an MLST fact line) for
/// `entry`, without the line ending (RFC 3659 §7).
///
/// Facts are written in a fixed order: `type`, `size`, `modify`, `unix.mode`, `unix.owner`,
/// `unix.group`, then [`Entry::facts`] in their order, skipping facts named like one of the
/// typed ones and facts with an empty name. Then a space and the name.
///
/// The format cannot carry every byte. In the name, CR, LF and NUL are written as `?`. In fact
/// values `;` is also written as `?`, and in fact names `=` and space too. A
/// [`Modified::NoYear`] time has no MLSx form and is left out, as is the `type` fact when the
/// kind is an empty [`EntryKind::Other`]. Symbolic links are written as
/// `type=OS.unix=slink:target` (or `type=OS.unix=symlink` without a target).
///
/// ```
/// use ftp_proto::listing::{format_mlsx_line, parse_mlsx_line, Entry, EntryKind};
/// // RFC 3659 §7.2: entry = [ facts ] SP pathname
/// let mut e = Entry::new(&b"a;b c"[..], EntryKind::File);
/// e.size = Some(12);
/// let mut out = Vec::new();
/// format_mlsx_line(&e, &mut out);
/// assert_eq!(out, b"type=file;size=12; a;b c");
/// assert_eq!(parse_mlsx_line(&out).unwrap(), e);
/// ```
pub fn format_mlsx_line(entry: &Entry, out: &mut Vec<u8>) {
    match &entry.kind {
        EntryKind::File => put_fact(out, b"type", b"file"),
        EntryKind::Dir => put_fact(out, b"type", b"dir"),
        EntryKind::CurrentDir => put_fact(out, b"type", b"cdir"),
        EntryKind::ParentDir => put_fact(out, b"type", b"pdir"),
        EntryKind::Symlink => match &entry.link_target {
            Some(target) if !target.is_empty() => {
                out.extend_from_slice(b"type=OS.unix=slink:");
                put_sanitized(out, target, bad_in_value);
                out.push(b';');
            }
            _ => put_fact(out, b"type", b"OS.unix=symlink"),
        },
        EntryKind::Other(v) if v.is_empty() => {}
        EntryKind::Other(v) => put_fact(out, b"type", v),
    }
    if let Some(size) = entry.size {
        put_fact(out, b"size", size.to_string().as_bytes());
    }
    if let Some(Modified::Exact(t)) = entry.modified {
        put_fact(out, b"modify", t.to_string().as_bytes());
    }
    if let Some(mode) = entry.permissions {
        put_fact(
            out,
            b"unix.mode",
            format!("{:04o}", mode & 0o7777).as_bytes(),
        );
    }
    if let Some(owner) = &entry.owner {
        put_fact(out, b"unix.owner", owner);
    }
    if let Some(group) = &entry.group {
        put_fact(out, b"unix.group", group);
    }
    for fact in &entry.facts {
        // A fact with a typed field is written from that field; kept raw only when its value
        // could not be read (then the field is empty and the raw value must survive).
        if !typed_field_set(entry, &fact.name) && !fact.name.is_empty() {
            put_fact(out, &fact.name, &fact.value);
        }
    }
    out.push(b' ');
    put_sanitized(out, &entry.name, is_line_breaking);
}

// ---------------------------------------------------------------------------------------
// Unix LIST output

fn mode_string(type_letter: u8, mode: u16) -> [u8; 10] {
    let bit = |b: u16, c: u8| if mode & b != 0 { c } else { b'-' };
    let exec = |x: u16, special: u16, lower: u8| match (mode & x != 0, mode & special != 0) {
        (true, true) => lower,
        (false, true) => lower.to_ascii_uppercase(),
        (true, false) => b'x',
        (false, false) => b'-',
    };
    [
        type_letter,
        bit(0o400, b'r'),
        bit(0o200, b'w'),
        exec(0o100, 0o4000, b's'),
        bit(0o040, b'r'),
        bit(0o020, b'w'),
        exec(0o010, 0o2000, b's'),
        bit(0o004, b'r'),
        bit(0o002, b'w'),
        exec(0o001, 0o1000, b't'),
    ]
}

/// Owner and group columns cannot hold blanks either.
fn bad_in_column(c: u8) -> bool {
    is_line_breaking(c) || is_blank(c)
}

/// Writes `b` sanitised, padded with spaces to `width`; an empty value becomes `?`.
fn put_column(out: &mut Vec<u8>, b: &[u8], width: usize) {
    if b.is_empty() {
        out.push(b'?');
    } else {
        put_sanitized(out, b, bad_in_column);
    }
    out.extend(std::iter::repeat_n(
        b' ',
        width.saturating_sub(b.len().max(1)),
    ));
}

/// Writes one LIST line in the style of `ls -l`, without the line ending.
///
/// The columns are: type and mode (from [`Entry::permissions`], else 0755 for directories,
/// 0777 for links and 0644 otherwise), link count 1, owner and group (`ftp` when unknown),
/// the size right-aligned (or `major, minor` for a device), the date and the name, plus
/// ` -> target` for a symbolic link with a known target. The date is `Mon DD HH:MM` when it
/// lies within the six months before `now_unix` (seconds since the Unix epoch, passed in by
/// the caller) and `Mon DD  YYYY` otherwise, like `ls`; a [`Modified::NoYear`] time is
/// written as it is, and an unknown time as `Jan  1  1970`.
///
/// The type letter is `-` for files, `d` for directories (also `.` and `..`), `l` for links,
/// the letter itself for an [`EntryKind::Other`] holding one printable letter, and `?` for
/// any other kind. CR, LF and NUL in the name or link target are written as `?`; so are
/// blanks in the owner and group.
///
/// ```
/// use ftp_proto::listing::{format_unix_line, Entry, EntryKind, Modified};
/// use ftp_proto::time::FtpTime;
/// // RFC 959 §4.1.3 (LIST) leaves the format to the server; this mimics `ls -l`.
/// let mut e = Entry::new(&b"notes.txt"[..], EntryKind::File);
/// e.size = Some(1234);
/// let t = FtpTime::new(2026, 11, 25, 15, 27, 0, 0).unwrap();
/// e.modified = Some(Modified::Exact(t));
/// let mut out = Vec::new();
/// format_unix_line(&e, t.to_unix() + 3600, &mut out);
/// assert_eq!(out, &b"-rw-r--r--    1 ftp      ftp              1234 Nov 25 15:27 notes.txt"[..]);
/// ```
pub fn format_unix_line(entry: &Entry, now_unix: i64, out: &mut Vec<u8>) {
    let (type_letter, default_mode) = match &entry.kind {
        EntryKind::File => (b'-', 0o644),
        EntryKind::Dir | EntryKind::CurrentDir | EntryKind::ParentDir => (b'd', 0o755),
        EntryKind::Symlink => (b'l', 0o777),
        EntryKind::Other(v) => match v.as_ref() {
            &[c] if c.is_ascii_graphic() => (c, 0o644),
            _ => (b'?', 0o644),
        },
    };
    let mode = entry.permissions.unwrap_or(default_mode);
    out.extend_from_slice(&mode_string(type_letter, mode));
    out.extend_from_slice(b"    1 ");
    put_column(out, entry.owner.as_deref().unwrap_or(b"ftp"), 8);
    out.push(b' ');
    put_column(out, entry.group.as_deref().unwrap_or(b"ftp"), 8);
    out.push(b' ');
    let size = match entry.device {
        Some((maj, min)) => format!("{maj}, {min}"),
        None => entry.size.unwrap_or(0).to_string(),
    };
    out.extend_from_slice(format!("{size:>12} ").as_bytes());

    let (month, day, last) = match entry.modified {
        Some(Modified::NoYear {
            month,
            day,
            hour,
            minute,
        }) => (month, day, format!("{hour:02}:{minute:02}")),
        Some(Modified::Exact(t)) => {
            let secs = t.to_unix();
            let recent = secs > now_unix.saturating_sub(SIX_MONTHS_SECS)
                && secs <= now_unix.saturating_add(FUTURE_SLACK_SECS);
            if recent {
                (t.month, t.day, format!("{:02}:{:02}", t.hour, t.minute))
            } else {
                (t.month, t.day, format!(" {:04}", t.year))
            }
        }
        None => (1, 1, " 1970".to_owned()),
    };
    out.extend_from_slice(month_name(month));
    out.extend_from_slice(format!(" {day:>2} {last} ").as_bytes());
    put_sanitized(out, &entry.name, is_line_breaking);
    if let (EntryKind::Symlink, Some(target)) = (&entry.kind, &entry.link_target) {
        out.extend_from_slice(b" -> ");
        put_sanitized(out, target, is_line_breaking);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(line: &[u8]) -> Entry {
        match parse_list_line(line) {
            Ok(ListLine::Entry(e)) => e,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(line)),
        }
    }

    fn no_year(month: u8, day: u8, hour: u8, minute: u8) -> Option<Modified> {
        Some(Modified::NoYear {
            month,
            day,
            hour,
            minute,
        })
    }

    fn at(y: u16, mo: u8, d: u8, h: u8, mi: u8) -> Option<Modified> {
        Some(Modified::Exact(
            FtpTime::new(y, mo, d, h, mi, 0, 0).unwrap(),
        ))
    }

    type UnixCase = (
        &'static [u8],
        &'static [u8],
        EntryKind,
        Option<u64>,
        Option<Modified>,
        Option<u16>,
        Option<&'static [u8]>,
        Option<&'static [u8]>,
        Option<&'static [u8]>,
    );

    type DeviceCase = (&'static [u8], &'static [u8], u8, (u32, u32));
    type DosCase = (
        &'static [u8],
        &'static [u8],
        EntryKind,
        Option<u64>,
        Option<Modified>,
    );
    type MlsxCase = (
        &'static [u8],
        &'static [u8],
        EntryKind,
        Option<&'static [u8]>,
    );

    #[test]
    fn fact_less_entries_round_trip() {
        // Found by fuzzing: names that look like facts or start with spaces.
        for line in [&b"  ="[..], b" =", b"   \x86", b" a=b"] {
            let e = parse_mlsx_line(line).unwrap();
            let mut out = Vec::new();
            format_mlsx_line(&e, &mut out);
            assert!(
                parse_mlsx_line(&out).is_ok(),
                "{:?}",
                line.escape_ascii().to_string()
            );
        }
        assert_eq!(&parse_mlsx_line(b" a=b").unwrap().name[..], b"a=b");
    }

    #[test]
    fn unreadable_and_repeated_typed_facts_round_trip() {
        // Found by fuzzing: a typed fact whose value cannot be read is kept raw and written
        // back; once the typed field is set, a repeated fact leaves no raw copy.
        for line in [
            &b"SizE=`; a"[..],
            b"size=10;size=x; a",
            b"size=x;size=10; a",
            b"modify=bad;type=file; a",
        ] {
            let e = parse_mlsx_line(line).unwrap();
            let mut out = Vec::new();
            format_mlsx_line(&e, &mut out);
            assert_eq!(parse_mlsx_line(&out).unwrap(), e, "{}", line.escape_ascii());
        }
        let e = parse_mlsx_line(b"size=10;size=x; a").unwrap();
        assert_eq!((e.size, e.facts.len()), (Some(10), 0));
        let e = parse_mlsx_line(b"SizE=`; a").unwrap();
        assert_eq!((e.size, &e.facts[0].value[..]), (None, &b"`"[..]));
    }

    #[test]
    #[rustfmt::skip]
    fn unix_lines() {
        use EntryKind::*;
        let cases: Vec<UnixCase> = vec![
            // vsftpd
            (b"drwxr-xr-x    2 ftp      ftp          4096 Nov 25 15:27 pub", b"pub", Dir, Some(4096), no_year(11, 25, 15, 27), Some(0o755), Some(b"ftp"), Some(b"ftp"), None),
            // GNU ls, old file, name with spaces and leading digits
            (b"-rw-r--r--  1 alice staff 700 Nov 25  2024 12 Monkeys.avi", b"12 Monkeys.avi", File, Some(700), at(2024, 11, 25, 0, 0), Some(0o644), Some(b"alice"), Some(b"staff"), None),
            // ACL marker, numeric owner and group
            (b"drwxr-xr-x+ 3 1000 1000 512 Jan  5 09:03 shared", b"shared", Dir, Some(512), no_year(1, 5, 9, 3), Some(0o755), Some(b"1000"), Some(b"1000"), None),
            // macOS extended-attribute marker
            (b"-rw-r--r--@ 1 bob  staff  6148 Feb 29 12:00 .DS_Store", b".DS_Store", File, Some(6148), no_year(2, 29, 12, 0), Some(0o644), Some(b"bob"), Some(b"staff"), None),
            // SELinux context marker
            (b"-rwxr-x---. 1 root root 12 Mar  1  2020 run.sh", b"run.sh", File, Some(12), at(2020, 3, 1, 0, 0), Some(0o750), Some(b"root"), Some(b"root"), None),
            // symbolic link
            (b"lrwxrwxrwx    1 0        0               7 Jan 01  2020 bin -> usr/bin", b"bin", Symlink, Some(7), at(2020, 1, 1, 0, 0), Some(0o777), Some(b"0"), Some(b"0"), Some(b"usr/bin")),
            // missing group (some embedded servers)
            (b"-rw-r--r--   1 user  1234 Nov 25 15:27 file.txt", b"file.txt", File, Some(1234), no_year(11, 25, 15, 27), Some(0o644), Some(b"user"), None, None),
            // no link count, owner and group (some servers)
            (b"-rw-r--r-- owner group 1 Dec 31 23:59 x", b"x", File, Some(1), no_year(12, 31, 23, 59), Some(0o644), Some(b"owner"), Some(b"group"), None),
            // nothing between mode and size
            (b"-rw-r--r-- 5 Dec 31 23:59 y", b"y", File, Some(5), no_year(12, 31, 23, 59), Some(0o644), None, None, None),
            // group with a space (Cygwin / Windows domain)
            (b"-rw-r--r-- 1 jdoe Domain Users 42 Jul  4 10:00 report.doc", b"report.doc", File, Some(42), no_year(7, 4, 10, 0), Some(0o644), Some(b"jdoe"), Some(b"Domain Users"), None),
            // leading spaces in the name are kept
            (b"-rw-r--r-- 1 a b 3 Jul  4 10:00  spaced ", b" spaced ", File, Some(3), no_year(7, 4, 10, 0), Some(0o644), Some(b"a"), Some(b"b"), None),
            // setuid, setgid, sticky
            (b"-rwsr-sr-t 1 root root 1 Jul  4 10:00 su", b"su", File, Some(1), no_year(7, 4, 10, 0), Some(0o7755), Some(b"root"), Some(b"root"), None),
            (b"drwxrwxrwT 1 root root 1 Jul  4 10:00 tmp", b"tmp", Dir, Some(1), no_year(7, 4, 10, 0), Some(0o1776), Some(b"root"), Some(b"root"), None),
            // ISO time style
            (b"-rw-r--r-- 1 u g 10 2024-11-25 15:27 iso.txt", b"iso.txt", File, Some(10), at(2024, 11, 25, 15, 27), Some(0o644), Some(b"u"), Some(b"g"), None),
            // full-iso with offset, converted to UTC
            (b"-rw-r--r-- 1 u g 10 2024-11-25 15:27:00.000000000 +0100 full.txt", b"full.txt", File, Some(10), at(2024, 11, 25, 14, 27), Some(0o644), Some(b"u"), Some(b"g"), None),
            // BSD ls -lT
            (b"-rw-r--r--  1 u  g  10 Nov 25 15:27:33 2024 bsd.txt", b"bsd.txt", File, Some(10), Some(Modified::Exact(FtpTime::new(2024, 11, 25, 15, 27, 33, 0).unwrap())), Some(0o644), Some(b"u"), Some(b"g"), None),
            // . and ..
            (b"drwxr-xr-x 2 u g 4096 Nov 25 15:27 .", b".", CurrentDir, Some(4096), no_year(11, 25, 15, 27), Some(0o755), Some(b"u"), Some(b"g"), None),
            (b"drwxr-xr-x 2 u g 4096 Nov 25 15:27 ..", b"..", ParentDir, Some(4096), no_year(11, 25, 15, 27), Some(0o755), Some(b"u"), Some(b"g"), None),
            // non-UTF-8 name (Latin-1), CRLF line ending
            (b"-rw-r--r-- 1 u g 1 Nov 25 15:27 caf\xe9.txt\r\n", b"caf\xe9.txt", File, Some(1), no_year(11, 25, 15, 27), Some(0o644), Some(b"u"), Some(b"g"), None),
            // a name that looks like a date
            (b"-rw-r--r-- 1 u g 1 Nov 25 15:27 Nov 25 15:27", b"Nov 25 15:27", File, Some(1), no_year(11, 25, 15, 27), Some(0o644), Some(b"u"), Some(b"g"), None),
            // a group named like a month
            (b"-rw-r--r-- 1 ftp Nov 12 Nov 25 15:27 g", b"g", File, Some(12), no_year(11, 25, 15, 27), Some(0o644), Some(b"ftp"), Some(b"Nov"), None),
            // lower-case month, tab separators, leading blanks
            (b"  -rw-r--r--\t1\tu\tg\t9\tnov\t25\t15:27\ttabbed", b"tabbed", File, Some(9), no_year(11, 25, 15, 27), Some(0o644), Some(b"u"), Some(b"g"), None),
        ];
        for (line, name, kind, size, modified, perms, owner, group, target) in cases {
            let e = entry(line);
            let ctx = String::from_utf8_lossy(line);
            assert_eq!(&e.name[..], name, "{ctx}");
            assert_eq!(e.kind, kind, "{ctx}");
            assert_eq!(e.size, size, "{ctx}");
            assert_eq!(e.modified, modified, "{ctx}");
            assert_eq!(e.permissions, perms, "{ctx}");
            assert_eq!(e.owner.as_deref(), owner, "{ctx}");
            assert_eq!(e.group.as_deref(), group, "{ctx}");
            assert_eq!(e.link_target.as_deref(), target, "{ctx}");
            assert_eq!(e.device, None, "{ctx}");
            assert!(e.facts.is_empty());
        }
    }

    #[test]
    #[rustfmt::skip]
    fn unix_devices() {
        let cases: &[DeviceCase] = &[
            (b"crw-rw-rw-   1 root root   1,   3 Nov 25 15:27 null", b"null", b'c', (1, 3)),
            (b"brw-rw----   1 root disk   8,  0 Nov 25  2024 sda", b"sda", b'b', (8, 0)),
            (b"crw--w----   1 root tty  136,0 Nov 25 15:27 pts0", b"pts0", b'c', (136, 0)),
        ];
        for (line, name, letter, dev) in cases {
            let e = entry(line);
            assert_eq!(&e.name[..], *name);
            assert_eq!(e.kind, EntryKind::Other(Bytes::copy_from_slice(&[*letter])));
            assert_eq!(e.device, Some(*dev));
            assert_eq!(e.size, None);
        }
    }

    #[test]
    #[rustfmt::skip]
    fn dos_lines() {
        use EntryKind::*;
        let cases: Vec<DosCase> = vec![
            (b"11-25-24  03:27PM       <DIR>          dir name", b"dir name", Dir, None, at(2024, 11, 25, 15, 27)),
            (b"11-25-2024  15:27  1234 file.txt", b"file.txt", File, Some(1234), at(2024, 11, 25, 15, 27)),
            (b"01-02-98  12:05AM                 1024 old.bin", b"old.bin", File, Some(1024), at(1998, 1, 2, 0, 5)),
            (b"01-02-69  12:05PM                 1024 new.bin", b"new.bin", File, Some(1024), at(2069, 1, 2, 12, 5)),
            (b"07/04/2021  10:00 AM    <DIR>          .", b".", CurrentDir, None, at(2021, 7, 4, 10, 0)),
            (b"07/04/2021  10:00 PM    <DIR>          ..", b"..", ParentDir, None, at(2021, 7, 4, 22, 0)),
            (b"07/04/2021  10:00      1,234,567 big file.iso", b"big file.iso", File, Some(1_234_567), at(2021, 7, 4, 10, 0)),
            (b"2021-07-04  10:00    <DIR>          iso", b"iso", Dir, None, at(2021, 7, 4, 10, 0)),
            (b"07/04/2021  10:00    <SYMLINKD>     link [C:\\target dir]", b"link", Symlink, None, at(2021, 7, 4, 10, 0)),
            (b"11-25-24  03:27pm  7 caf\xe9\r\n", b"caf\xe9", File, Some(7), at(2024, 11, 25, 15, 27)),
        ];
        for (line, name, kind, size, modified) in cases {
            let e = entry(line);
            let ctx = String::from_utf8_lossy(line);
            assert_eq!(&e.name[..], name, "{ctx}");
            assert_eq!(e.kind, kind, "{ctx}");
            assert_eq!(e.size, size, "{ctx}");
            assert_eq!(e.modified, modified, "{ctx}");
            assert_eq!(e.permissions, None, "{ctx}");
        }
        let e = entry(b"07/04/2021  10:00    <SYMLINKD>     link [C:\\target dir]");
        assert_eq!(e.link_target.as_deref(), Some(&b"C:\\target dir"[..]));
    }

    #[test]
    #[rustfmt::skip]
    fn list_non_entries_and_errors() {
        let cases: &[(&[u8], Result<ListLine, ListingError>)] = &[
            (b"total 123", Ok(ListLine::Total(123))),
            (b"total 0\r\n", Ok(ListLine::Total(0))),
            (b"total 12K", Ok(ListLine::Skip)),
            (b"", Ok(ListLine::Skip)),
            (b"   \r\n", Ok(ListLine::Skip)),
            (b"/pub/incoming:", Err(ListingError::UnknownFormat)),
            (b"drwxr-xr-x 2 u g 4096 name", Err(ListingError::NoDate)),
            (b"drwxr-xr-x 2 u g 4096 Nov 25 15:27", Err(ListingError::NoName)),
            (b"drwxr-xr-x 2 u g 4096 Nov 25 15:27 ", Err(ListingError::NoName)),
            (b"drwxr-xr-x 2 u g 4096 Nov 31 15:27 x", Err(ListingError::BadDate)),
            (b"drwxr-xr-x 2 u g 4096 Nov 25 25:27 x", Err(ListingError::BadDate)),
            (b"drwxr-xr-x 2 u g 4096 Feb 29  2023 x", Err(ListingError::BadDate)),
            (b"-rw-r--r-- 1 u g 99999999999999999999 Nov 25 15:27 x", Err(ListingError::BadSize)),
            (b"xrw-r--r-- 1 u g 1 Nov 25 15:27 x", Err(ListingError::UnknownFormat)),
            (b"-rw-r--r--! 1 u g 1 Nov 25 15:27 x", Err(ListingError::UnknownFormat)),
            (b"11-25-24  13:27PM  <DIR> x", Err(ListingError::BadDate)),
            (b"13-25-24  03:27PM  <DIR> x", Err(ListingError::BadDate)),
            (b"11-25-24  03:27PM  <DIR>", Err(ListingError::NoName)),
            (b"11-25-24  03:27PM  <FOO> x", Err(ListingError::UnknownFormat)),
            (b"11-25-24", Err(ListingError::UnknownFormat)),
        ];
        for (line, want) in cases {
            let got = parse_list_line(line);
            assert_eq!(got, *want, "{}", String::from_utf8_lossy(line));
        }
        // Only a link splits at " -> ".
        let e = entry(b"-rw-r--r-- 1 u g 1 Nov 25 15:27 a -> b");
        assert_eq!((&e.name[..], e.link_target), (&b"a -> b"[..], None));
        let e = entry(b"lrwxrwxrwx 1 u g 1 Nov 25 15:27 a -> b -> c");
        assert_eq!(&e.name[..], b"a");
        assert_eq!(e.link_target.as_deref(), Some(&b"b -> c"[..]));
    }

    #[test]
    fn resolve_years() {
        let now = FtpTime::new(2026, 3, 1, 12, 0, 0, 0).unwrap();
        let y = |m: Option<Modified>| m.unwrap().resolve(now).unwrap().year;
        assert_eq!(y(no_year(2, 28, 0, 0)), 2026);
        assert_eq!(y(no_year(3, 2, 11, 0)), 2026); // within the one-day slack
        assert_eq!(y(no_year(3, 3, 0, 0)), 2025);
        assert_eq!(y(no_year(12, 31, 0, 0)), 2025);
        // 29 February: no leap year among 2025-2027.
        assert_eq!(no_year(2, 29, 0, 0).unwrap().resolve(now), None);
        let leap_now = FtpTime::new(2028, 3, 1, 0, 0, 0, 0).unwrap();
        assert_eq!(
            no_year(2, 29, 0, 0)
                .unwrap()
                .resolve(leap_now)
                .unwrap()
                .year,
            2028
        );
        // Just past midnight on New Year's Day, seen from a clock a little behind.
        let eve = FtpTime::new(2026, 12, 31, 23, 0, 0, 0).unwrap();
        assert_eq!(
            no_year(1, 1, 0, 30).unwrap().resolve(eve).unwrap().year,
            2027
        );
        let exact = at(1999, 1, 1, 0, 0).unwrap();
        assert_eq!(exact.resolve(now), exact.with_year(5));
    }

    #[test]
    #[rustfmt::skip]
    fn mlsx_lines() {
        use EntryKind::*;
        let e = parse_mlsx_line(b"Type=file;Size=12;Modify=20261125152700.123; a;b c").unwrap();
        assert_eq!(&e.name[..], b"a;b c");
        assert_eq!(e.kind, File);
        assert_eq!(e.size, Some(12));
        let t = FtpTime::new(2026, 11, 25, 15, 27, 0, 123_000_000).unwrap();
        assert_eq!(e.modified, Some(Modified::Exact(t)));

        // ProFTPD
        let e = parse_mlsx_line(
            b"modify=20240101000000;perm=flcdmpe;type=dir;unique=FD00U2;UNIX.group=1000;\
UNIX.groupname=user;UNIX.mode=0755;UNIX.owner=1000;UNIX.ownername=user; sub dir\r\n",
        )
        .unwrap();
        assert_eq!(&e.name[..], b"sub dir");
        assert_eq!(e.kind, Dir);
        assert_eq!(e.permissions, Some(0o755));
        assert_eq!(e.owner.as_deref(), Some(&b"1000"[..]));
        assert_eq!(e.group.as_deref(), Some(&b"1000"[..]));
        let names: Vec<&[u8]> = e.facts.iter().map(|f| &f.name[..]).collect();
        assert_eq!(
            names,
            [
                &b"perm"[..],
                b"unique",
                b"unix.groupname",
                b"unix.ownername"
            ]
        );

        let cases: &[MlsxCase] = &[
            (b"type=cdir;sizd=4096; .", b".", CurrentDir, None),
            (b"type=pdir;sizd=4096; ..", b"..", ParentDir, None),
            (b"Type=CDir; /pub", b"/pub", CurrentDir, None),
            (b"type=OS.unix=slink:/target; ln", b"ln", Symlink, Some(b"/target")),
            (b"type=os.unix=SYMLINK; ln", b"ln", Symlink, None),
            (b"type=OS.unix=symlink:t; ln", b"ln", Symlink, Some(b"t")),
            (b"type=OS.unix=chr-1/3; null", b"null", Other(Bytes::from_static(b"OS.unix=chr-1/3")), None),
            (b"size=1; untyped", b"untyped", Other(Bytes::new()), None),
            // MLST: one leading space before the facts
            (b" type=file;size=3; /pub/a b", b"/pub/a b", File, None),
            // no facts at all
            (b" bare name", b"bare name", Other(Bytes::new()), None),
            (b"  mlst bare", b"mlst bare", Other(Bytes::new()), None),
            (b"type=file;  lead", b" lead", File, None),
            (b"type=file; caf\xe9", b"caf\xe9", File, None),
        ];
        for (line, name, kind, target) in cases {
            let e = parse_mlsx_line(line).unwrap();
            let ctx = String::from_utf8_lossy(line);
            assert_eq!(&e.name[..], *name, "{ctx}");
            assert_eq!(&e.kind, kind, "{ctx}");
            assert_eq!(e.link_target.as_deref(), *target, "{ctx}");
        }

        // Unreadable typed values are kept as facts.
        let e = parse_mlsx_line(b"type=file;size=big;modify=yesterday;unix.mode=rwx; f").unwrap();
        assert_eq!((e.size, e.modified, e.permissions), (None, None, None));
        assert_eq!(e.facts.len(), 3);
        assert_eq!(&e.facts[0], &Fact::new(b"Size", &b"big"[..]));
    }

    #[test]
    #[rustfmt::skip]
    fn mlsx_errors() {
        let cases: &[(&[u8], ListingError)] = &[
            (b"", ListingError::NoSeparator),
            (b"type=file;", ListingError::NoSeparator),
            (b"type=file; ", ListingError::NoName),
            (b"type=file;size=1", ListingError::NoSeparator),
            (b"typefile; x", ListingError::BadFact),
            (b"=file; x", ListingError::BadFact),
            (b"type=file x", ListingError::NoSeparator),
            (b" ", ListingError::NoName),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse_mlsx_line(line),
                Err(*want),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn mlsx_format_and_sanitize() {
        let mut e = Entry::new(&b"bad\r\nname\0"[..], EntryKind::Symlink);
        e.link_target = Some(Bytes::from_static(b"a;b"));
        e.permissions = Some(0o4755);
        e.owner = Some(Bytes::from_static(b"o;wner"));
        e.facts.push(Fact::new(b"Perm", &b"r"[..]));
        // Typed facts come from their fields; one whose field is empty is kept as given.
        e.facts.push(Fact::new(b"unix.mode", &b"ignored"[..]));
        e.facts.push(Fact::new(b"size", &b"kept"[..]));
        e.facts.push(Fact::new(b"we ird=", &b"v"[..]));
        e.facts.push(Fact::new(b"", &b"dropped"[..]));
        let mut out = Vec::new();
        format_mlsx_line(&e, &mut out);
        assert_eq!(
            out,
            &b"type=OS.unix=slink:a?b;unix.mode=4755;unix.owner=o?wner;perm=r;size=kept;we?ird?=v; bad??name?"[..]
        );
        let back = parse_mlsx_line(&out).unwrap();
        assert_eq!(back.kind, EntryKind::Symlink);
        assert_eq!(back.permissions, Some(0o4755));
    }

    #[test]
    fn unix_format() {
        let now = FtpTime::new(2026, 11, 26, 0, 0, 0, 0).unwrap().to_unix();
        let mut e = Entry::new(&b"evil\r\nname"[..], EntryKind::Symlink);
        e.link_target = Some(Bytes::from_static(b"t\0"));
        e.modified = at(2020, 1, 5, 10, 0);
        e.owner = Some(Bytes::from_static(b"a b"));
        e.group = Some(Bytes::new());
        let mut out = Vec::new();
        format_unix_line(&e, now, &mut out);
        assert_eq!(
            out,
            &b"lrwxrwxrwx    1 a?b      ?                   0 Jan  5  2020 evil??name -> t?"[..]
        );
        let mut dev = Entry::new(&b"null"[..], EntryKind::Other(Bytes::from_static(b"c")));
        dev.device = Some((1, 3));
        dev.permissions = Some(0o666);
        dev.modified = no_year(11, 25, 15, 27);
        let mut out = Vec::new();
        format_unix_line(&dev, now, &mut out);
        let back = entry(&out);
        assert_eq!(back.device, Some((1, 3)));
        assert_eq!(back.kind, dev.kind);
        assert_eq!(back.modified, dev.modified);
        assert_eq!(back.permissions, Some(0o666));
    }

    // ---- properties ----

    fn safe_name() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            any::<u8>().prop_filter("line-breaking", |&c| !is_line_breaking(c)),
            1..24,
        )
        .prop_filter("dot names", |n| n != b"." && n != b"..")
    }

    fn token() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![b'a'..=b'z', b'0'..=b'9', Just(b'_'), Just(b'-')],
            1..9,
        )
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            any::<u8>().prop_filter("fact value", |&c| !bad_in_value(c)),
            0..12,
        )
    }

    fn ftp_time() -> impl Strategy<Value = FtpTime> {
        (0i64..253_402_300_799, 0u32..1_000_000_000)
            .prop_map(|(s, n)| FtpTime::from_unix(s, n).unwrap())
    }

    fn mlsx_entry() -> impl Strategy<Value = Entry> {
        let kind = prop_oneof![
            Just(EntryKind::File),
            Just(EntryKind::Dir),
            Just(EntryKind::CurrentDir),
            Just(EntryKind::ParentDir),
            Just(EntryKind::Symlink),
            Just(EntryKind::Other(Bytes::from_static(b"OS.unix=blk-8/0"))),
        ];
        (
            safe_name(),
            kind,
            proptest::option::of(any::<u64>()),
            proptest::option::of(ftp_time()),
            proptest::option::of(0u16..=0o7777),
            proptest::option::of(value()),
            proptest::option::of(value()),
            proptest::option::of(value().prop_filter("non-empty", |v| !v.is_empty())),
            proptest::collection::vec((token(), value()), 0..4),
        )
            .prop_map(
                |(name, kind, size, modified, permissions, owner, group, target, facts)| {
                    let link_target = match kind {
                        EntryKind::Symlink => target.map(Bytes::from),
                        _ => None,
                    };
                    let facts = facts
                        .into_iter()
                        .map(|(n, v)| {
                            let mut n = n;
                            n.insert(0, b'x');
                            Fact::new(&n, v)
                        })
                        .collect();
                    Entry {
                        name: name.into(),
                        kind,
                        size,
                        modified: modified.map(Modified::Exact),
                        permissions,
                        owner: owner.map(Bytes::from),
                        group: group.map(Bytes::from),
                        link_target,
                        device: None,
                        facts,
                    }
                },
            )
    }

    /// Lines that look like real listings with random pieces, to reach deep parser paths.
    fn listing_like() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(&b"drwxr-xr-x+"[..]),
            Just(&b"-rw-r--r--"[..]),
            Just(&b"lrwxrwxrwx"[..]),
            Just(&b"crw-rw-rw-"[..]),
            Just(&b"1"[..]),
            Just(&b"1,"[..]),
            Just(&b"4096"[..]),
            Just(&b"Nov"[..]),
            Just(&b"25"[..]),
            Just(&b"15:27"[..]),
            Just(&b"15:27:33.5"[..]),
            Just(&b"2024"[..]),
            Just(&b"2024-11-25"[..]),
            Just(&b"+0100"[..]),
            Just(&b"11-25-24"[..]),
            Just(&b"03:27PM"[..]),
            Just(&b"PM"[..]),
            Just(&b"<DIR>"[..]),
            Just(&b"->"[..]),
            Just(&b"["[..]),
            Just(&b"]"[..]),
            Just(&b"type=file;"[..]),
            Just(&b"OS.unix=slink:"[..]),
            Just(&b";"[..]),
            Just(&b"="[..]),
            Just(&b" "[..]),
            Just(&b"total"[..]),
            Just(&b"\r"[..]),
            Just(&b"\xff"[..]),
        ];
        proptest::collection::vec((piece, prop_oneof![Just(&b" "[..]), Just(&b""[..])]), 0..16)
            .prop_map(|v| {
                v.into_iter()
                    .flat_map(|(a, b)| [a, b])
                    .flatten()
                    .copied()
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_arbitrary_bytes(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_list_line(&b);
            let _ = parse_mlsx_line(&b);
        }

        #[test]
        fn parsers_never_panic_on_listing_like_lines(b in listing_like()) {
            let _ = parse_list_line(&b);
            let _ = parse_mlsx_line(&b);
        }

        #[test]
        fn formatters_never_emit_line_breaks(e in mlsx_entry(), raw in proptest::collection::vec(any::<u8>(), 0..16), now in any::<i64>()) {
            let mut e = e;
            e.name = raw.clone().into();
            e.link_target = Some(raw.into());
            let mut out = Vec::new();
            format_mlsx_line(&e, &mut out);
            prop_assert!(!out.iter().any(|&c| is_line_breaking(c)));
            let mut out = Vec::new();
            format_unix_line(&e, now, &mut out);
            prop_assert!(!out.iter().any(|&c| is_line_breaking(c)));
        }

        #[test]
        fn mlsx_round_trip(e in mlsx_entry()) {
            let mut out = Vec::new();
            format_mlsx_line(&e, &mut out);
            prop_assert_eq!(parse_mlsx_line(&out), Ok(e.clone()));
            // As an MLST fact line.
            let mut mlst = vec![b' '];
            mlst.extend_from_slice(&out);
            mlst.extend_from_slice(b"\r\n");
            prop_assert_eq!(parse_mlsx_line(&mlst), Ok(e));
        }

        #[test]
        fn unix_round_trip(
            name in safe_name(),
            kind in prop_oneof![Just(EntryKind::File), Just(EntryKind::Dir), Just(EntryKind::Symlink)],
            size in any::<u64>(),
            owner in token(),
            group in token(),
            perms in 0u16..=0o7777,
            target in proptest::option::of(safe_name()),
            modified in ftp_time(),
            now in 0i64..253_402_300_799,
        ) {
            let arrow = memmem::find(&name, b" -> ").is_some();
            prop_assume!(!(kind == EntryKind::Symlink && arrow));
            let mut e = Entry::new(name, kind.clone());
            e.size = Some(size);
            e.owner = Some(owner.into());
            e.group = Some(group.into());
            e.permissions = Some(perms);
            e.modified = Some(Modified::Exact(modified));
            if kind == EntryKind::Symlink {
                e.link_target = target.map(Bytes::from);
            }
            let mut out = Vec::new();
            format_unix_line(&e, now, &mut out);
            let back = entry(&out);
            prop_assert_eq!(&back.name, &e.name);
            prop_assert_eq!(&back.kind, &e.kind);
            prop_assert_eq!(back.size, e.size);
            prop_assert_eq!(&back.owner, &e.owner);
            prop_assert_eq!(&back.group, &e.group);
            prop_assert_eq!(back.permissions, e.permissions);
            prop_assert_eq!(&back.link_target, &e.link_target);
            // The date comes back to the minute (or the day, for old files) once the year
            // is resolved against the same `now`.
            let now_t = FtpTime::from_unix(now, 0).unwrap();
            let got = back.modified.unwrap().resolve(now_t);
            let want = match back.modified.unwrap() {
                Modified::NoYear { .. } => FtpTime::new(modified.year, modified.month, modified.day, modified.hour, modified.minute, 0, 0).ok(),
                Modified::Exact(_) => FtpTime::new(modified.year, modified.month, modified.day, 0, 0, 0, 0).ok(),
            };
            prop_assert_eq!(got, want);
        }
    }
}
