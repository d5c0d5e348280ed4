//! `ftp://` and `ftps://` URLs (RFC 1738 §3.2, with RFC 3986 host syntax).
//!
//! ```text
//! ftp://[user[:password]@]host[:port][/path][;type=a|i|d]
//! ```
//!
//! - **Scheme**: `ftp` (port 21) or `ftps` (implicit TLS, port 990), case-insensitive.
//! - **Host**: a name, an IPv4 address, or an IPv6 literal in brackets (`[::1]`).
//! - **User and password**: percent-decoded. With no user the login is anonymous (user
//!   `anonymous`, password `anonymous@`).
//! - **Path**: percent-decoded to **bytes** (FTP paths need not be UTF-8). As in RFC 1738 the
//!   path is relative to the login directory: `ftp://h/dir/f` names `dir/f`, and an absolute
//!   path is written with an encoded slash, `ftp://h/%2Fetc/motd` (or `ftp://h//etc/motd`).
//! - **`;type=`**: `a` (ASCII), `i` (image, binary) or `d` (directory listing), at the end of
//!   the path.
//! - FTP URLs have no query and no fragment, so `?` and `#` are path characters; together with
//!   `*` and `[`, written unencoded in the last segment they make it a [`Pattern`]
//!   (see [`FtpUrl::glob`]). Percent-encoded (`%2A`), they are literal bytes of the name.
//!
//! Decoded bytes CR, LF and NUL are refused anywhere: they would end or corrupt a command line.
//! Control characters are refused unencoded; other non-ASCII characters are taken as their
//! UTF-8 bytes.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use crate::glob::Pattern;

/// The URL scheme, which decides the default port and whether TLS starts at connect time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `ftp://`: plain FTP, default port 21 (RFC 959).
    Ftp,
    /// `ftps://`: implicit TLS (the TLS handshake comes first), default port 990.
    Ftps,
}

impl Scheme {
    /// The port used when the URL gives none: 21 for `ftp`, 990 for `ftps`.
    pub const fn default_port(self) -> u16 {
        match self {
            Scheme::Ftp => 21,
            Scheme::Ftps => 990,
        }
    }

    /// The scheme as written in a URL, lower case.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Ftp => "ftp",
            Scheme::Ftps => "ftps",
        }
    }
}

/// The RFC 1738 `;type=` code of an FTP URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TypeCode {
    /// `;type=a`: transfer the file as ASCII text (`TYPE A`).
    Ascii,
    /// `;type=i`: transfer the file as binary image (`TYPE I`).
    Image,
    /// `;type=d`: the path is a directory; list it (`NLST`).
    Directory,
}

impl TypeCode {
    /// The letter written after `;type=`.
    pub const fn letter(self) -> char {
        match self {
            TypeCode::Ascii => 'a',
            TypeCode::Image => 'i',
            TypeCode::Directory => 'd',
        }
    }
}

/// Why a string is not an FTP URL. Offsets count bytes from the start of the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The URL does not start with `ftp://` or `ftps://`.
    #[error("the URL must start with ftp:// or ftps://")]
    Scheme,
    /// There is no host between `//` and the path.
    #[error("the URL has no host")]
    MissingHost,
    /// The host holds a character that no host name, IPv4 address or bracketed IPv6 literal
    /// can hold (an IPv6 address needs brackets: `[::1]`).
    #[error("invalid host at offset {offset}")]
    Host {
        /// Where the host starts.
        offset: usize,
    },
    /// The text in brackets is not an IPv6 address, or the closing bracket is missing.
    #[error("invalid IPv6 literal at offset {offset}")]
    Ipv6 {
        /// Where the `[` is.
        offset: usize,
    },
    /// The port is not a number from 1 to 65535.
    #[error("invalid port at offset {offset}")]
    Port {
        /// Where the port starts.
        offset: usize,
    },
    /// A `%` is not followed by two hexadecimal digits.
    #[error("invalid percent-encoding at offset {offset}")]
    Percent {
        /// Where the `%` is.
        offset: usize,
    },
    /// A control character, or an encoded CR, LF or NUL, which cannot travel in an FTP command.
    #[error("byte 0x{byte:02x} at offset {offset} is not allowed in an FTP URL")]
    ForbiddenByte {
        /// The byte (decoded, if it was percent-encoded).
        byte: u8,
        /// Where it is (the `%` if it was encoded).
        offset: usize,
    },
    /// `;type=` is followed by something other than `a`, `i` or `d`.
    #[error("invalid ;type= code at offset {offset} (a, i or d expected)")]
    TypeCode {
        /// Where the `;` is.
        offset: usize,
    },
    /// The user info has a password but an empty user name (`ftp://:pw@host`).
    #[error("the URL has a password but no user name")]
    EmptyUser,
}

/// A parsed `ftp://` or `ftps://` URL.
///
/// ```
/// use ftp_client::url::{FtpUrl, Scheme};
/// let url: FtpUrl = "ftp://slacker:s%40cret@[::1]:2121/pub/r%C3%A9sum%C3%A9.pdf".parse()?;
/// assert_eq!(url.scheme(), Scheme::Ftp);
/// assert_eq!(url.host(), "::1");
/// assert_eq!(url.port(), 2121);
/// assert_eq!(url.user(), b"slacker");
/// assert_eq!(url.password(), b"s@cret");
/// assert_eq!(url.path(), "pub/résumé.pdf".as_bytes());
/// assert_eq!(url.file_name(), Some("résumé.pdf".as_bytes()));
/// // The password never shows:
/// assert_eq!(url.to_string(), "ftp://slacker@[::1]:2121/pub/r%C3%A9sum%C3%A9.pdf");
/// assert!(!format!("{url:?}").contains("cret"));
/// # Ok::<(), ftp_client::url::UrlError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct FtpUrl {
    scheme: Scheme,
    host: String,
    port: u16,
    user: Vec<u8>,
    password: Vec<u8>,
    anonymous: bool,
    path: Vec<u8>,
    type_code: Option<TypeCode>,
    /// The pattern of the last segment, and that segment as written (still encoded), so
    /// that `Display` shows the pattern rather than an encoded literal name.
    glob: Option<(Pattern, String)>,
}

/// The user name of an anonymous login (RFC 1738 §3.2.1).
pub const ANONYMOUS_USER: &[u8] = b"anonymous";
/// The password of an anonymous login when the URL gives none (RFC 1738 §3.2.1 suggests the
/// user's e-mail address; `anonymous@` is what curl and wget send).
pub const ANONYMOUS_PASSWORD: &[u8] = b"anonymous@";

impl FtpUrl {
    /// Parses a URL; see the [module documentation](self) for the syntax.
    ///
    /// ```
    /// use ftp_client::url::{FtpUrl, Scheme, TypeCode};
    /// let url = FtpUrl::parse("ftps://files.example.com/%2Fetc/motd;type=a")?;
    /// assert_eq!(url.scheme(), Scheme::Ftps);
    /// assert_eq!(url.port(), 990);
    /// assert_eq!(url.user(), b"anonymous");
    /// assert_eq!(url.password(), b"anonymous@");
    /// assert_eq!(url.path(), b"/etc/motd");
    /// assert_eq!(url.type_code(), Some(TypeCode::Ascii));
    /// # Ok::<(), ftp_client::url::UrlError>(())
    /// ```
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        let bytes = input.as_bytes();
        if let Some(offset) = bytes.iter().position(|&b| b < 0x20 || b == 0x7f) {
            return Err(UrlError::ForbiddenByte {
                byte: bytes[offset],
                offset,
            });
        }
        let sep = input.find("://").ok_or(UrlError::Scheme)?;
        let scheme = match &input[..sep] {
            s if s.eq_ignore_ascii_case("ftp") => Scheme::Ftp,
            s if s.eq_ignore_ascii_case("ftps") => Scheme::Ftps,
            _ => return Err(UrlError::Scheme),
        };
        let auth_start = sep + 3;
        let rest = &input[auth_start..];
        let (authority, path_raw) = match rest.find('/') {
            Some(i) => (&rest[..i], Some((&rest[i + 1..], auth_start + i + 1))),
            None => (rest, None),
        };

        // user[:password]@ — the last '@' ends the user info, so an unencoded '@' in a
        // password is tolerated.
        let (userinfo, hostport, host_offset) = match authority.rfind('@') {
            Some(i) => (
                Some(&authority[..i]),
                &authority[i + 1..],
                auth_start + i + 1,
            ),
            None => (None, authority, auth_start),
        };
        let (user, password, anonymous) = match userinfo {
            None => (ANONYMOUS_USER.to_vec(), ANONYMOUS_PASSWORD.to_vec(), true),
            Some(info) => {
                let (u, p) = match info.find(':') {
                    Some(i) => (&info[..i], Some((&info[i + 1..], auth_start + i + 1))),
                    None => (info, None),
                };
                let user = decode(u, auth_start)?;
                if user.is_empty() {
                    if p.is_some() {
                        return Err(UrlError::EmptyUser);
                    }
                    (ANONYMOUS_USER.to_vec(), ANONYMOUS_PASSWORD.to_vec(), true)
                } else {
                    let anonymous = user.eq_ignore_ascii_case(b"anonymous")
                        || user.eq_ignore_ascii_case(b"ftp");
                    let password = match p {
                        Some((p, off)) => decode(p, off)?,
                        None if anonymous => ANONYMOUS_PASSWORD.to_vec(),
                        None => Vec::new(),
                    };
                    (user, password, anonymous)
                }
            }
        };

        let (host, port) = parse_host_port(hostport, host_offset, scheme)?;

        let (path, type_code, glob) = match path_raw {
            None => (Vec::new(), None, None),
            Some((raw, offset)) => {
                let (raw, type_code) = split_type(raw, offset)?;
                let path = decode(raw, offset)?;
                let last_start = raw.rfind('/').map_or(0, |i| i + 1);
                let segment = &raw[last_start..];
                let glob = glob_of_segment(segment).map(|p| (p, segment.to_owned()));
                (path, type_code, glob)
            }
        };

        Ok(FtpUrl {
            scheme,
            host,
            port,
            user,
            password,
            anonymous,
            path,
            type_code,
            glob,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host: a name, an IPv4 address, or an IPv6 address **without** brackets (ready for
    /// `(host, port)` name resolution, e.g. [`std::net::ToSocketAddrs`]).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (the scheme's default if the URL gives none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port`, with brackets around an IPv6 address: `[::1]:21`.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The user name (percent-decoded); `anonymous` when the URL gives none.
    pub fn user(&self) -> &[u8] {
        &self.user
    }

    /// The password (percent-decoded): `anonymous@` for an anonymous login without one, empty
    /// for a named user without one.
    pub fn password(&self) -> &[u8] {
        &self.password
    }

    /// Whether the login is anonymous (no user, or the user `anonymous` or `ftp`).
    pub fn is_anonymous(&self) -> bool {
        self.anonymous
    }

    /// Replaces the user and password (for credentials given outside the URL).
    pub fn set_credentials(&mut self, user: &[u8], password: &[u8]) {
        self.user = user.to_vec();
        self.password = password.to_vec();
        self.anonymous =
            user.eq_ignore_ascii_case(b"anonymous") || user.eq_ignore_ascii_case(b"ftp");
    }

    /// The path, percent-decoded, relative to the login directory unless it starts with `/`
    /// (see the [module documentation](self)). Empty for the login directory itself.
    pub fn path(&self) -> &[u8] {
        &self.path
    }

    /// The `;type=` code, if the URL has one.
    pub fn type_code(&self) -> Option<TypeCode> {
        self.type_code
    }

    /// Whether the URL names a directory: an empty path, a path ending in `/`, or `;type=d`.
    pub fn is_dir(&self) -> bool {
        self.path.is_empty()
            || self.path.ends_with(b"/")
            || self.type_code == Some(TypeCode::Directory)
    }

    /// The last segment of the path; `None` when the path is empty or ends in `/`.
    pub fn file_name(&self) -> Option<&[u8]> {
        let name = match self.path.iter().rposition(|&b| b == b'/') {
            Some(i) => &self.path[i + 1..],
            None => &self.path[..],
        };
        (!name.is_empty()).then_some(name)
    }

    /// The directory part of the path: everything before the last `/` (`/` itself for a path
    /// such as `/file`), empty when the path has no `/`.
    ///
    /// ```
    /// # use ftp_client::url::FtpUrl;
    /// let dir = |s: &str| FtpUrl::parse(s).unwrap().parent().to_vec();
    /// assert_eq!(dir("ftp://h/a/b/c.txt"), b"a/b");
    /// assert_eq!(dir("ftp://h/a/b/"), b"a/b");
    /// assert_eq!(dir("ftp://h/c.txt"), b"");
    /// assert_eq!(dir("ftp://h//c.txt"), b"/");
    /// ```
    pub fn parent(&self) -> &[u8] {
        match self.path.iter().rposition(|&b| b == b'/') {
            Some(0) => &self.path[..1],
            Some(i) => &self.path[..i],
            None => &[],
        }
    }

    /// The same URL with the last segment replaced by `name` (appended when the path is empty
    /// or ends in `/`). The result has no glob pattern: `name` is taken literally.
    ///
    /// ```
    /// # use ftp_client::url::FtpUrl;
    /// let url = FtpUrl::parse("ftp://h/in/*.txt").unwrap();
    /// assert_eq!(url.with_file_name(b"a.txt").path(), b"in/a.txt");
    /// let url = FtpUrl::parse("ftp://h/in/").unwrap();
    /// assert_eq!(url.with_file_name(b"b.bin").path(), b"in/b.bin");
    /// ```
    pub fn with_file_name(&self, name: &[u8]) -> FtpUrl {
        let keep = self
            .path
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(0, |i| i + 1);
        let mut url = self.clone();
        url.path.truncate(keep);
        url.path.extend_from_slice(name);
        url.glob = None;
        if url.type_code == Some(TypeCode::Directory) {
            url.type_code = None;
        }
        url
    }

    /// The glob pattern of the last segment, if it holds unencoded `*`, `?` or `[` (then the
    /// URL names the files of [`parent`](Self::parent) that match it). Percent-encoded
    /// characters are literal.
    ///
    /// ```
    /// # use ftp_client::url::FtpUrl;
    /// let url = FtpUrl::parse("ftp://h/logs/app-*.log").unwrap();
    /// let pattern = url.glob().unwrap();
    /// assert!(pattern.matches(b"app-1.log"));
    /// assert_eq!(url.parent(), b"logs");
    /// // Encoded, the star is part of the name:
    /// assert!(FtpUrl::parse("ftp://h/logs/app-%2A.log").unwrap().glob().is_none());
    /// ```
    pub fn glob(&self) -> Option<&Pattern> {
        self.glob.as_ref().map(|(p, _)| p)
    }
}

impl FromStr for FtpUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FtpUrl::parse(s)
    }
}

/// `scheme://user@host:port/path[;type=x]`: never the password. The user and path are
/// percent-encoded so that the output parses back to the same URL (apart from the password).
impl fmt::Display for FtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        f.write_str(&percent_encode(&self.user, USERINFO_SAFE))?;
        write!(f, "@{}/", self.authority())?;
        let path = match self.path.strip_prefix(b"/") {
            Some(rest) => {
                f.write_str("%2F")?;
                rest
            }
            None => &self.path[..],
        };
        let mut segments: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
        let glob = match &self.glob {
            Some((_, raw)) => {
                segments.pop();
                Some(raw)
            }
            None => None,
        };
        for (i, segment) in segments.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(&percent_encode(segment, PATH_SAFE))?;
        }
        if let Some(raw) = glob {
            if !segments.is_empty() {
                f.write_str("/")?;
            }
            f.write_str(raw)?;
        }
        if let Some(t) = self.type_code {
            write!(f, ";type={}", t.letter())?;
        }
        Ok(())
    }
}

/// Like `Display`, with a redacted password: the password itself is never shown.
impl fmt::Debug for FtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FtpUrl")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &String::from_utf8_lossy(&self.user))
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("path", &String::from_utf8_lossy(&self.path))
            .field("type_code", &self.type_code)
            .field("glob", &self.glob())
            .finish()
    }
}

/// Bytes written unencoded in the user part (RFC 3986 unreserved, plus a few sub-delims that
/// cannot be mistaken for a delimiter there).
const USERINFO_SAFE: &[u8] = b"-._~!$&'()+,=";
/// Bytes written unencoded in a path segment: unreserved and sub-delims except `;` (the
/// `;type=` suffix), plus `:` and `@`. `*`, `?`, `[`, `]`, `#` and `%` are always encoded.
const PATH_SAFE: &[u8] = b"-._~!$&'()+,=:@";

/// Percent-encodes every byte but ASCII letters, digits and the bytes in `safe`
/// (RFC 3986 §2.1, upper-case hexadecimal digits).
///
/// ```
/// use ftp_client::url::percent_encode;
/// assert_eq!(percent_encode(b"a b/\xff", b"/"), "a%20b/%FF");
/// ```
pub fn percent_encode(bytes: &[u8], safe: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || safe.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Reads `%XY` at the start of `rest`.
fn percent_byte(rest: &[u8]) -> Option<u8> {
    match rest {
        [b'%', h, l, ..] => Some(hex_value(*h)? << 4 | hex_value(*l)?),
        _ => None,
    }
}

/// Percent-decodes `s` (found at `offset` in the URL); refuses encoded CR, LF and NUL.
fn decode(s: &str, offset: usize) -> Result<Vec<u8>, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let at = offset + i;
            let v = percent_byte(&bytes[i..]).ok_or(UrlError::Percent { offset: at })?;
            if matches!(v, b'\r' | b'\n' | 0) {
                return Err(UrlError::ForbiddenByte {
                    byte: v,
                    offset: at,
                });
            }
            out.push(v);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

/// Splits a trailing `;type=X` off the raw path.
fn split_type(raw: &str, offset: usize) -> Result<(&str, Option<TypeCode>), UrlError> {
    let Some(semi) = raw.rfind(';') else {
        return Ok((raw, None));
    };
    let param = &raw[semi + 1..];
    let Some(value) = param
        .get(..5)
        .filter(|k| k.eq_ignore_ascii_case("type="))
        .map(|_| &param[5..])
    else {
        // Not a type parameter: the ';' is part of the name.
        return Ok((raw, None));
    };
    let code = match value {
        "a" | "A" => TypeCode::Ascii,
        "i" | "I" => TypeCode::Image,
        "d" | "D" => TypeCode::Directory,
        _ => {
            return Err(UrlError::TypeCode {
                offset: offset + semi,
            })
        }
    };
    Ok((&raw[..semi], Some(code)))
}

fn parse_host_port(s: &str, offset: usize, scheme: Scheme) -> Result<(String, u16), UrlError> {
    let (host, port_part) = if let Some(inner) = s.strip_prefix('[') {
        let end = inner.find(']').ok_or(UrlError::Ipv6 { offset })?;
        let literal = &inner[..end];
        let addr: Ipv6Addr = literal.parse().map_err(|_| UrlError::Ipv6 { offset })?;
        let after = &inner[end + 1..];
        let port_part = match after.strip_prefix(':') {
            Some(p) => Some((p, offset + end + 3)),
            None if after.is_empty() => None,
            None => {
                return Err(UrlError::Host {
                    offset: offset + end + 2,
                })
            }
        };
        (addr.to_string(), port_part)
    } else {
        let (host, port_part) = match s.find(':') {
            Some(i) => (&s[..i], Some((&s[i + 1..], offset + i + 1))),
            None => (s, None),
        };
        if host.is_empty() {
            return Err(UrlError::MissingHost);
        }
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            return Err(UrlError::Host { offset });
        }
        (host.to_owned(), port_part)
    };
    let port = match port_part {
        None | Some(("", _)) => scheme.default_port(),
        Some((p, at)) => {
            if p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(UrlError::Port { offset: at });
            }
            match p.parse::<u16>() {
                Ok(n) if n != 0 => n,
                _ => return Err(UrlError::Port { offset: at }),
            }
        }
    };
    Ok((host, port))
}

/// The pattern of a raw (still encoded) last path segment, if it has unencoded wildcards.
fn glob_of_segment(raw: &str) -> Option<Pattern> {
    let bytes = raw.as_bytes();
    if !bytes.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
        return None;
    }
    // Rewrite as a glob: encoded bytes become escaped literals, unencoded ones stay.
    let mut pattern = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match percent_byte(&bytes[i..]) {
            Some(v) => {
                if matches!(v, b'*' | b'?' | b'[' | b']' | b'\\') {
                    pattern.push(b'\\');
                }
                pattern.push(v);
                i += 3;
            }
            None => {
                pattern.push(b);
                i += 1;
            }
        }
    }
    Some(Pattern::new(&pattern))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Case {
        input: &'static str,
        scheme: Scheme,
        host: &'static str,
        port: u16,
        user: &'static [u8],
        password: &'static [u8],
        path: &'static [u8],
        type_code: Option<TypeCode>,
        display: &'static str,
    }

    const fn case(
        input: &'static str,
        host: &'static str,
        port: u16,
        user: &'static [u8],
        password: &'static [u8],
        path: &'static [u8],
        display: &'static str,
    ) -> Case {
        Case {
            input,
            scheme: Scheme::Ftp,
            host,
            port,
            user,
            password,
            path,
            type_code: None,
            display,
        }
    }

    #[test]
    fn table() {
        let a = ANONYMOUS_USER;
        let ap = ANONYMOUS_PASSWORD;
        let mut cases = vec![
            case("ftp://h", "h", 21, a, ap, b"", "ftp://anonymous@h:21/"),
            case("ftp://h/", "h", 21, a, ap, b"", "ftp://anonymous@h:21/"),
            case(
                "FTP://Host.Example:2121/x",
                "Host.Example",
                2121,
                a,
                ap,
                b"x",
                "ftp://anonymous@Host.Example:2121/x",
            ),
            case("ftp://h:/x", "h", 21, a, ap, b"x", "ftp://anonymous@h:21/x"),
            case(
                "ftp://u@h/a/b",
                "h",
                21,
                b"u",
                b"",
                b"a/b",
                "ftp://u@h:21/a/b",
            ),
            case(
                "ftp://u:p@h/a/b/",
                "h",
                21,
                b"u",
                b"p",
                b"a/b/",
                "ftp://u@h:21/a/b/",
            ),
            case("ftp://u:@h", "h", 21, b"u", b"", b"", "ftp://u@h:21/"),
            case(
                "ftp://u%40x:p%3Aq%40@h",
                "h",
                21,
                b"u@x",
                b"p:q@",
                b"",
                "ftp://u%40x@h:21/",
            ),
            case(
                "ftp://u:p@ss@h",
                "h",
                21,
                b"u",
                b"p@ss",
                b"",
                "ftp://u@h:21/",
            ),
            case(
                "ftp://anonymous@h",
                "h",
                21,
                b"anonymous",
                ap,
                b"",
                "ftp://anonymous@h:21/",
            ),
            case(
                "ftp://ftp:me@h",
                "h",
                21,
                b"ftp",
                b"me",
                b"",
                "ftp://ftp@h:21/",
            ),
            case("ftp://@h", "h", 21, a, ap, b"", "ftp://anonymous@h:21/"),
            case(
                "ftp://127.0.0.1:65535/f",
                "127.0.0.1",
                65535,
                a,
                ap,
                b"f",
                "ftp://anonymous@127.0.0.1:65535/f",
            ),
            case(
                "ftp://[::1]/f",
                "::1",
                21,
                a,
                ap,
                b"f",
                "ftp://anonymous@[::1]:21/f",
            ),
            case(
                "ftp://u:p@[2001:DB8::1]:2121/f",
                "2001:db8::1",
                2121,
                b"u",
                b"p",
                b"f",
                "ftp://u@[2001:db8::1]:2121/f",
            ),
            case(
                "ftp://[::ffff:127.0.0.1]",
                "::ffff:127.0.0.1",
                21,
                a,
                ap,
                b"",
                "ftp://anonymous@[::ffff:127.0.0.1]:21/",
            ),
            case(
                "ftp://h/%2Fetc/motd",
                "h",
                21,
                a,
                ap,
                b"/etc/motd",
                "ftp://anonymous@h:21/%2Fetc/motd",
            ),
            case(
                "ftp://h//etc/motd",
                "h",
                21,
                a,
                ap,
                b"/etc/motd",
                "ftp://anonymous@h:21/%2Fetc/motd",
            ),
            case(
                "ftp://h/a%20b/%FF%fe",
                "h",
                21,
                a,
                ap,
                b"a b/\xff\xfe",
                "ftp://anonymous@h:21/a%20b/%FF%FE",
            ),
            case(
                "ftp://h/a b",
                "h",
                21,
                a,
                ap,
                b"a b",
                "ftp://anonymous@h:21/a%20b",
            ),
            case(
                "ftp://h/r\u{e9}sum\u{e9}",
                "h",
                21,
                a,
                ap,
                "résumé".as_bytes(),
                "ftp://anonymous@h:21/r%C3%A9sum%C3%A9",
            ),
            case(
                "ftp://h/a;b",
                "h",
                21,
                a,
                ap,
                b"a;b",
                "ftp://anonymous@h:21/a%3Bb",
            ),
            case(
                "ftp://h/a;typo=x",
                "h",
                21,
                a,
                ap,
                b"a;typo=x",
                "ftp://anonymous@h:21/a%3Btypo=x",
            ),
            case(
                "ftp://h/q?#x",
                "h",
                21,
                a,
                ap,
                b"q?#x",
                "ftp://anonymous@h:21/q?#x",
            ),
            case(
                "ftp://h/100%25",
                "h",
                21,
                a,
                ap,
                b"100%",
                "ftp://anonymous@h:21/100%25",
            ),
        ];
        cases.push(Case {
            scheme: Scheme::Ftps,
            ..case(
                "ftps://h/x",
                "h",
                990,
                a,
                ap,
                b"x",
                "ftps://anonymous@h:990/x",
            )
        });
        cases.push(Case {
            scheme: Scheme::Ftps,
            ..case(
                "FtPs://h:21/x",
                "h",
                21,
                a,
                ap,
                b"x",
                "ftps://anonymous@h:21/x",
            )
        });
        cases.push(Case {
            type_code: Some(TypeCode::Ascii),
            ..case(
                "ftp://h/f.txt;type=a",
                "h",
                21,
                a,
                ap,
                b"f.txt",
                "ftp://anonymous@h:21/f.txt;type=a",
            )
        });
        cases.push(Case {
            type_code: Some(TypeCode::Image),
            ..case(
                "ftp://h/f;TYPE=I",
                "h",
                21,
                a,
                ap,
                b"f",
                "ftp://anonymous@h:21/f;type=i",
            )
        });
        cases.push(Case {
            type_code: Some(TypeCode::Directory),
            ..case(
                "ftp://h/d;type=d",
                "h",
                21,
                a,
                ap,
                b"d",
                "ftp://anonymous@h:21/d;type=d",
            )
        });
        cases.push(Case {
            type_code: Some(TypeCode::Directory),
            ..case(
                "ftp://h/;type=d",
                "h",
                21,
                a,
                ap,
                b"",
                "ftp://anonymous@h:21/;type=d",
            )
        });
        cases.push(Case {
            type_code: Some(TypeCode::Ascii),
            ..case(
                "ftp://h/a%3Btype=i;type=a",
                "h",
                21,
                a,
                ap,
                b"a;type=i",
                "ftp://anonymous@h:21/a%3Btype=i;type=a",
            )
        });
        for c in &cases {
            let url = FtpUrl::parse(c.input).unwrap_or_else(|e| panic!("{}: {e}", c.input));
            assert_eq!(url.scheme(), c.scheme, "{}", c.input);
            assert_eq!(url.host(), c.host, "{}", c.input);
            assert_eq!(url.port(), c.port, "{}", c.input);
            assert_eq!(url.user(), c.user, "{}", c.input);
            assert_eq!(url.password(), c.password, "{}", c.input);
            assert_eq!(url.path(), c.path, "{}", c.input);
            assert_eq!(url.type_code(), c.type_code, "{}", c.input);
            assert_eq!(url.to_string(), c.display, "{}", c.input);
            // Display parses back to the same URL, except for the password.
            let back = FtpUrl::parse(&url.to_string()).unwrap();
            assert_eq!(back.path(), url.path(), "{}", c.input);
            assert_eq!(back.user(), url.user(), "{}", c.input);
            assert_eq!(back.authority(), url.authority(), "{}", c.input);
            assert_eq!(back.type_code(), url.type_code(), "{}", c.input);
        }
    }

    #[test]
    fn errors() {
        use UrlError as E;
        let cases: &[(&str, UrlError)] = &[
            ("http://h/", E::Scheme),
            ("ftp:/h", E::Scheme),
            ("h/x", E::Scheme),
            ("sftp://h", E::Scheme),
            ("ftp://", E::MissingHost),
            ("ftp:///x", E::MissingHost),
            ("ftp://u@", E::MissingHost),
            ("ftp://u@:21/", E::MissingHost),
            ("ftp://::1/", E::MissingHost),
            ("ftp://h:x/", E::Port { offset: 8 }),
            ("ftp://h:0/", E::Port { offset: 8 }),
            ("ftp://h:65536/", E::Port { offset: 8 }),
            ("ftp://h:000021/", E::Port { offset: 8 }),
            ("ftp://h:-1/", E::Port { offset: 8 }),
            ("ftp://h:1:2/", E::Port { offset: 8 }),
            ("ftp://a b/", E::Host { offset: 6 }),
            ("ftp://h%41/", E::Host { offset: 6 }),
            ("ftp://u:p@h!/", E::Host { offset: 10 }),
            ("ftp://[::1/", E::Ipv6 { offset: 6 }),
            ("ftp://[1.2.3.4]/", E::Ipv6 { offset: 6 }),
            ("ftp://[fe80::1%25eth0]/", E::Ipv6 { offset: 6 }),
            ("ftp://[::1]x/", E::Host { offset: 11 }),
            ("ftp://[::1]:0/", E::Port { offset: 12 }),
            ("ftp://h/%", E::Percent { offset: 8 }),
            ("ftp://h/a%4", E::Percent { offset: 9 }),
            ("ftp://h/a%zz", E::Percent { offset: 9 }),
            ("ftp://u%:p@h", E::Percent { offset: 7 }),
            ("ftp://u:%g0@h", E::Percent { offset: 8 }),
            (
                "ftp://h/a%0D%0ADELE x",
                E::ForbiddenByte {
                    byte: b'\r',
                    offset: 9,
                },
            ),
            (
                "ftp://h/a%0a",
                E::ForbiddenByte {
                    byte: b'\n',
                    offset: 9,
                },
            ),
            ("ftp://h/a%00", E::ForbiddenByte { byte: 0, offset: 9 }),
            (
                "ftp://u:%0d@h",
                E::ForbiddenByte {
                    byte: b'\r',
                    offset: 8,
                },
            ),
            (
                "ftp://h/a\tb",
                E::ForbiddenByte {
                    byte: b'\t',
                    offset: 9,
                },
            ),
            (
                "ftp://h/a\r\nb",
                E::ForbiddenByte {
                    byte: b'\r',
                    offset: 9,
                },
            ),
            (
                "ftp://h/a\x7f",
                E::ForbiddenByte {
                    byte: 0x7f,
                    offset: 9,
                },
            ),
            ("ftp://h/f;type=x", E::TypeCode { offset: 9 }),
            ("ftp://h/f;type=", E::TypeCode { offset: 9 }),
            ("ftp://h/f;type=ai", E::TypeCode { offset: 9 }),
            ("ftp://:p@h", E::EmptyUser),
        ];
        for (input, want) in cases {
            assert_eq!(FtpUrl::parse(input).err(), Some(*want), "{input}");
        }
    }

    #[test]
    fn paths() {
        let u = |s: &str| FtpUrl::parse(s).unwrap();
        assert_eq!(u("ftp://h/a/b.txt").file_name(), Some(&b"b.txt"[..]));
        assert_eq!(u("ftp://h/a/").file_name(), None);
        assert_eq!(u("ftp://h").file_name(), None);
        assert_eq!(u("ftp://h/b").parent(), b"");
        assert!(u("ftp://h").is_dir());
        assert!(u("ftp://h/a/").is_dir());
        assert!(u("ftp://h/a;type=d").is_dir());
        assert!(!u("ftp://h/a").is_dir());
        let v = u("ftp://h/a;type=d").with_file_name(b"x");
        assert_eq!(v.path(), b"x");
        assert_eq!(v.type_code(), None);
        let v = u("ftp://h/%2F").with_file_name(b"x y");
        assert_eq!(v.path(), b"/x y");
        assert_eq!(v.to_string(), "ftp://anonymous@h:21/%2Fx%20y");
        assert_eq!(u("ftp://[::1]:9/").authority(), "[::1]:9");
        assert_eq!(u("ftp://h/").authority(), "h:21");
    }

    #[test]
    fn credentials() {
        let mut url = FtpUrl::parse("ftp://h/").unwrap();
        assert!(url.is_anonymous());
        url.set_credentials(b"slacker", b"pw");
        assert!(!url.is_anonymous());
        assert_eq!(url.user(), b"slacker");
        assert_eq!(url.password(), b"pw");
        assert_eq!(url.to_string(), "ftp://slacker@h:21/");
        assert!(FtpUrl::parse("ftp://FTP@h/").unwrap().is_anonymous());
        assert!(!FtpUrl::parse("ftp://bob@h/").unwrap().is_anonymous());
    }

    #[test]
    fn debug_and_display_hide_the_password() {
        let url = FtpUrl::parse("ftp://slacker:hunter2@h/f").unwrap();
        let debug = format!("{url:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(debug.contains("slacker"), "{debug}");
        assert!(!url.to_string().contains("hunter2"));
        let alternate = format!("{url:#?}");
        assert!(!alternate.contains("hunter2"));
    }

    #[test]
    fn globs() {
        let g = |s: &str| FtpUrl::parse(s).unwrap().glob().cloned();
        assert!(g("ftp://h/dir/file.txt").is_none());
        assert!(g("ftp://h/d*r/file.txt").is_none(), "only the last segment");
        let p = g("ftp://h/dir/*.txt").unwrap();
        assert!(p.matches(b"a.txt"));
        assert!(!p.matches(b"a.txt.bak"));
        let p = g("ftp://h/dir/f?.%2A").unwrap();
        assert!(p.matches(b"f1.*"));
        assert!(!p.matches(b"f1.x"));
        let p = g("ftp://h/[ab]%5B%5D.%5C").unwrap();
        assert!(p.matches(b"a[].\\"));
        assert!(!p.matches(b"c[].\\"));
        let p = g("ftp://h/%20*;type=a").unwrap();
        assert!(p.matches(b" x"));
        // Display keeps the pattern as written, so it parses back to the same pattern.
        for s in [
            "ftp://h/dir/*.txt",
            "ftp://h/%2Fa/b%20c/f?.%2A;type=i",
            "ftp://h/[ab]*",
        ] {
            let url = FtpUrl::parse(s).unwrap();
            let back = FtpUrl::parse(&url.to_string()).unwrap();
            assert_eq!(back.glob(), url.glob(), "{s} -> {url}");
            assert_eq!(back.path(), url.path(), "{s} -> {url}");
            assert_eq!(back.type_code(), url.type_code(), "{s} -> {url}");
        }
        assert_eq!(
            FtpUrl::parse("ftp://h/a%20b/f?.%2A").unwrap().to_string(),
            "ftp://anonymous@h:21/a%20b/f?.%2A"
        );
        assert!(FtpUrl::parse("ftp://h/dir/*.txt")
            .unwrap()
            .with_file_name(b"a.txt")
            .glob()
            .is_none());
    }

    fn bytes_no_controls() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            any::<u8>().prop_filter("CR LF NUL", |b| !matches!(b, 0 | b'\r' | b'\n')),
            0..24,
        )
    }

    proptest! {
        #[test]
        fn percent_encoded_components_round_trip(
            user in bytes_no_controls().prop_filter("non-empty", |u| !u.is_empty()),
            password in bytes_no_controls(),
            segments in proptest::collection::vec(bytes_no_controls(), 0..4),
            port in 1u16..,
            v6 in any::<bool>(),
        ) {
            let host = if v6 { "[fe80::1:2]" } else { "files.example" };
            let path_raw: Vec<String> = segments.iter().map(|s| percent_encode(s, b"")).collect();
            let input = format!(
                "ftp://{}:{}@{host}:{port}/{}",
                percent_encode(&user, b""),
                percent_encode(&password, b""),
                path_raw.join("/"),
            );
            let url = FtpUrl::parse(&input).unwrap();
            prop_assert_eq!(url.user(), &user[..]);
            prop_assert_eq!(url.password(), &password[..]);
            prop_assert_eq!(url.port(), port);
            prop_assert_eq!(url.path(), &segments.join(&b'/')[..]);
            prop_assert!(url.glob().is_none());
            prop_assert_eq!(url.type_code(), None);
            // Display parses back to the same URL, except for the password.
            let back = FtpUrl::parse(&url.to_string()).unwrap();
            prop_assert_eq!(back.user(), url.user());
            prop_assert_eq!(back.path(), url.path());
            prop_assert_eq!(back.host(), url.host());
            prop_assert_eq!(back.port(), url.port());
            prop_assert!(back.glob().is_none());
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,40}") {
            let _ = FtpUrl::parse(&s);
            let _ = FtpUrl::parse(&format!("ftp://{s}"));
        }
    }
}
