//! Host-port encodings of the data connection: PORT/227, EPRT/229, LPRT/228.
//!
//! Parsing of command arguments (PORT, EPRT, LPRT) is strict: the whole argument must be
//! the address, and every number must be in range. Parsing of passive replies (227, 228,
//! 229) is tolerant, as RFC 1123 §4.1.2.6 asks: the reply text is scanned for the numbers,
//! with or without parentheses and whatever text surrounds them.
//!
//! Writers append to a `Vec<u8>`; the replies' writers produce the reply text without the
//! code (the reply module adds it).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use nom::bytes::complete::take_while_m_n;
use nom::character::complete::{char as chr, space0};
use nom::sequence::delimited;
use nom::{IResult, Parser};

/// What was wrong with an address.
///
/// Field numbers count from 0 in the order the fields appear (for PORT: h1 is 0, p2 is 5;
/// for EPRT: the protocol is 0, the address 1, the port 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Field `field` is missing or is not a decimal number.
    #[error("field {field}: decimal number expected")]
    ExpectedNumber {
        /// Which field.
        field: usize,
    },
    /// Field `field` holds a number above `max`.
    #[error("field {field}: number above {max}")]
    OutOfRange {
        /// Which field.
        field: usize,
        /// The largest value the field allows.
        max: u32,
    },
    /// A separator (`,` or the EPRT delimiter) was expected after field `field`.
    #[error("separator expected after field {field}")]
    ExpectedSeparator {
        /// The field just read.
        field: usize,
    },
    /// Bytes follow the last field, at this offset of the argument.
    #[error("unexpected bytes at offset {offset} after the address")]
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: usize,
    },
    /// The port is 0, which no data connection can use.
    #[error("port 0 is not a usable port")]
    PortZero,
    /// The EPRT delimiter is not printable ASCII (33–126), as RFC 2428 §2 requires.
    #[error("delimiter byte 0x{byte:02x} is not printable ASCII")]
    BadDelimiter {
        /// The byte found where the delimiter belongs.
        byte: u8,
    },
    /// The EPRT network address is not a valid address of its family.
    #[error("network address is not a valid IPv{version} address")]
    BadHost {
        /// 4 or 6.
        version: u8,
    },
    /// EPRT names a network protocol other than 1 (IPv4) or 2 (IPv6); a server answers
    /// 522 (RFC 2428 §2).
    #[error("network protocol {af} is not supported (use 1 or 2)")]
    UnknownNetworkProtocol {
        /// The protocol number given.
        af: u16,
    },
    /// LPRT or 228 names an address family other than 4 (IPv4) or 6 (IPv6); a server
    /// answers 521 (RFC 1639).
    #[error("address family {af} is not supported (use 4 or 6)")]
    UnsupportedFamily {
        /// The family number given.
        af: u8,
    },
    /// An LPRT length field does not match its family (host length 4 for family 4, 16 for
    /// family 6; port length 2).
    #[error("field {field}: length {found} where {expected} is required")]
    BadLength {
        /// Which field.
        field: usize,
        /// The length required.
        expected: u8,
        /// The length given.
        found: u8,
    },
    /// A reply text holds no address of the expected form.
    #[error("no address found in the reply text")]
    NotFound,
}

type Res<'a, T> = IResult<&'a [u8], T>;

/// 1 to 5 decimal digits (enough for every field here; more digits is out of range anyway).
fn digits(input: &[u8]) -> Res<'_, &[u8]> {
    take_while_m_n(1, 5, |b: u8| b.is_ascii_digit()).parse(input)
}

fn value(d: &[u8]) -> u32 {
    d.iter()
        .fold(0u32, |acc, &c| acc * 10 + u32::from(c.wrapping_sub(b'0')))
}

/// Reads one decimal field no larger than `max`.
fn number(input: &[u8], field: usize, max: u32) -> Result<(&[u8], u32), AddressError> {
    let (rest, d) = digits(input).map_err(|_| AddressError::ExpectedNumber { field })?;
    if rest.first().is_some_and(u8::is_ascii_digit) {
        return Err(AddressError::OutOfRange { field, max });
    }
    let v = value(d);
    if v > max {
        return Err(AddressError::OutOfRange { field, max });
    }
    Ok((rest, v))
}

/// A comma, optionally with spaces around it when `loose` (reply texts).
fn comma(input: &[u8], loose: bool) -> Option<&[u8]> {
    let r: Res<'_, char> = if loose {
        delimited(space0, chr(','), space0).parse(input)
    } else {
        chr(',').parse(input)
    };
    r.ok().map(|(rest, _)| rest)
}

/// Reads `N` comma-separated numbers of at most `max` each, starting at field `first`.
fn numbers<const N: usize>(
    mut input: &[u8],
    first: usize,
    max: u32,
    loose: bool,
) -> Result<(&[u8], [u8; N]), AddressError> {
    let mut out = [0u8; N];
    for (i, slot) in out.iter_mut().enumerate() {
        let field = first + i;
        if i > 0 || first > 0 {
            input = comma(input, loose).ok_or(AddressError::ExpectedSeparator {
                field: field.saturating_sub(1),
            })?;
        }
        let (rest, v) = number(input, field, max)?;
        *slot = u8::try_from(v).map_err(|_| AddressError::OutOfRange { field, max })?;
        input = rest;
    }
    Ok((input, out))
}

fn end(arg: &[u8], rest: &[u8]) -> Result<(), AddressError> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(AddressError::TrailingBytes {
            offset: arg.len() - rest.len(),
        })
    }
}

fn port_of(p1: u8, p2: u8) -> Result<u16, AddressError> {
    match u16::from_be_bytes([p1, p2]) {
        0 => Err(AddressError::PortZero),
        p => Ok(p),
    }
}

/// `h1,h2,h3,h4,p1,p2` at the start of `input`.
fn host_port(input: &[u8], loose: bool) -> Result<(&[u8], SocketAddrV4), AddressError> {
    let (rest, [h1, h2, h3, h4, p1, p2]) = numbers::<6>(input, 0, 255, loose)?;
    let port = port_of(p1, p2)?;
    Ok((rest, SocketAddrV4::new(Ipv4Addr::new(h1, h2, h3, h4), port)))
}

/// Parses a PORT argument `h1,h2,h3,h4,p1,p2`; the port is `p1 * 256 + p2`.
///
/// ```
/// use std::net::SocketAddrV4;
/// use ftp_proto::address::{parse_port, AddressError};
/// // RFC 959 §4.1.2: PORT h1,h2,h3,h4,p1,p2 (each field a decimal 0-255).
/// assert_eq!(parse_port(b"192,168,150,80,14,178"), Ok("192.168.150.80:3762".parse().unwrap()));
/// assert_eq!(parse_port(b"192,168,150,80,256,1"), Err(AddressError::OutOfRange { field: 4, max: 255 }));
/// assert_eq!(parse_port(b"192,168,150,80,14"), Err(AddressError::ExpectedSeparator { field: 4 }));
/// ```
pub fn parse_port(arg: &[u8]) -> Result<SocketAddrV4, AddressError> {
    let (rest, addr) = host_port(arg, false)?;
    end(arg, rest)?;
    Ok(addr)
}

fn push_num(out: &mut Vec<u8>, n: impl std::fmt::Display) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{n}");
}

fn push_list(out: &mut Vec<u8>, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_num(out, b);
    }
}

/// Writes a PORT argument `h1,h2,h3,h4,p1,p2`.
///
/// ```
/// use ftp_proto::address::write_port;
/// // RFC 959 §4.1.2: "PORT h1,h2,h3,h4,p1,p2"
/// let mut out = Vec::new();
/// write_port("192.168.150.80:3762".parse().unwrap(), &mut out);
/// assert_eq!(out, b"192,168,150,80,14,178");
/// ```
pub fn write_port(addr: SocketAddrV4, out: &mut Vec<u8>) {
    push_list(out, &addr.ip().octets());
    out.push(b',');
    push_list(out, &addr.port().to_be_bytes());
}

/// Calls `f` at every position of `text` where a number starts, returning the first
/// success, else the most informative error (`NotFound` if no candidate got far).
fn scan<T>(text: &[u8], f: impl Fn(&[u8]) -> Result<T, AddressError>) -> Result<T, AddressError> {
    let mut err = AddressError::NotFound;
    let mut prev_digit = false;
    for (i, &b) in text.iter().enumerate() {
        let is_digit = b.is_ascii_digit();
        if is_digit && !prev_digit {
            match f(text.get(i..).unwrap_or_default()) {
                Ok(v) => return Ok(v),
                Err(
                    e @ (AddressError::OutOfRange { .. }
                    | AddressError::PortZero
                    | AddressError::UnsupportedFamily { .. }
                    | AddressError::BadLength { .. }),
                ) if err == AddressError::NotFound => err = e,
                Err(_) => {}
            }
        }
        prev_digit = is_digit;
    }
    Err(err)
}

/// Parses the text of a 227 reply, scanning for the six numbers as RFC 1123 §4.1.2.6 asks:
/// parentheses are optional and any text may surround them. The reply code may be included.
///
/// ```
/// use ftp_proto::address::parse_pasv_reply;
/// // RFC 1123 §4.1.2.6: "The User-FTP program must scan the reply for the first digit of
/// // the host and port numbers", since servers differ in how they format the 227 reply.
/// let want = "192.168.150.90:50069".parse().unwrap();
/// assert_eq!(parse_pasv_reply(b"227 Entering Passive Mode (192,168,150,90,195,149)"), Ok(want));
/// assert_eq!(parse_pasv_reply(b"227 =192,168,150,90,195,149"), Ok(want));
/// assert_eq!(parse_pasv_reply(b"Entering Passive Mode 192,168,150,90,195,149."), Ok(want));
/// ```
pub fn parse_pasv_reply(text: &[u8]) -> Result<SocketAddrV4, AddressError> {
    scan(text, |s| host_port(s, true).map(|(_, a)| a))
}

/// Writes the text of a 227 reply: `Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
///
/// ```
/// use ftp_proto::address::write_pasv_reply;
/// // RFC 959 §4.2: "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)."
/// let mut out = Vec::new();
/// write_pasv_reply("192.168.150.90:50069".parse().unwrap(), &mut out);
/// assert_eq!(out, b"Entering Passive Mode (192,168,150,90,195,149).");
/// ```
pub fn write_pasv_reply(addr: SocketAddrV4, out: &mut Vec<u8>) {
    out.extend_from_slice(b"Entering Passive Mode (");
    write_port(addr, out);
    out.extend_from_slice(b").");
}

/// Reads one EPRT field: the bytes up to the next `d`, and what follows that `d`.
fn field(input: &[u8], d: u8, field: usize) -> Result<(&[u8], &[u8]), AddressError> {
    let (value, rest) = memchr::memchr(d, input)
        .and_then(|i| input.split_at_checked(i))
        .ok_or(AddressError::ExpectedSeparator { field })?;
    Ok((value, rest.get(1..).unwrap_or_default()))
}

/// The only number of a field, which must be all digits.
fn whole_number(b: &[u8], field: usize, max: u32) -> Result<u32, AddressError> {
    let (rest, v) = number(b, field, max)?;
    if rest.is_empty() {
        Ok(v)
    } else {
        Err(AddressError::ExpectedNumber { field })
    }
}

/// Parses an EPRT argument `<d><net-prt><d><net-addr><d><tcp-port><d>`, where `<d>` is any
/// printable ASCII character. Protocol 1 takes an IPv4 address, 2 an IPv6 address.
///
/// ```
/// use ftp_proto::address::{parse_eprt, AddressError};
/// // RFC 2428 §2: EPRT |1|132.235.1.2|6275| and EPRT |2|1080::8:800:200C:417A|5282|;
/// // "The delimiter character MUST be one of the ASCII characters in range 33-126".
/// assert_eq!(parse_eprt(b"|1|132.235.1.2|6275|"), Ok("132.235.1.2:6275".parse().unwrap()));
/// assert_eq!(parse_eprt(b"!2!1080::8:800:200C:417A!5282!"),
///            Ok("[1080::8:800:200C:417A]:5282".parse().unwrap()));
/// assert_eq!(parse_eprt(b"|3|x|1|"), Err(AddressError::UnknownNetworkProtocol { af: 3 }));
/// ```
pub fn parse_eprt(arg: &[u8]) -> Result<SocketAddr, AddressError> {
    let (&d, rest) = arg
        .split_first()
        .ok_or(AddressError::ExpectedSeparator { field: 0 })?;
    if !(33..=126).contains(&d) {
        return Err(AddressError::BadDelimiter { byte: d });
    }
    let (af, rest) = field(rest, d, 0)?;
    let (host, rest) = field(rest, d, 1)?;
    let (port, rest) = field(rest, d, 2)?;
    end(arg, rest)?;
    let af = whole_number(af, 0, u32::from(u16::MAX))?;
    let port = whole_number(port, 2, u32::from(u16::MAX))?;
    let port = u16::try_from(port).map_err(|_| AddressError::OutOfRange {
        field: 2,
        max: 65535,
    })?;
    if port == 0 {
        return Err(AddressError::PortZero);
    }
    let host_str = std::str::from_utf8(host).ok();
    let ip: IpAddr = match af {
        1 => host_str
            .and_then(|s| s.parse::<Ipv4Addr>().ok())
            .ok_or(AddressError::BadHost { version: 4 })?
            .into(),
        2 => host_str
            .and_then(|s| s.parse::<Ipv6Addr>().ok())
            .ok_or(AddressError::BadHost { version: 6 })?
            .into(),
        other => {
            return Err(AddressError::UnknownNetworkProtocol {
                af: u16::try_from(other).unwrap_or(u16::MAX),
            })
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// Writes an EPRT argument with the recommended delimiter `|`.
///
/// ```
/// use ftp_proto::address::write_eprt;
/// // RFC 2428 §2: "EPRT |2|1080::8:800:200C:417A|5282|"
/// let mut out = Vec::new();
/// write_eprt("[1080::8:800:200C:417A]:5282".parse().unwrap(), &mut out);
/// assert_eq!(out, b"|2|1080::8:800:200c:417a|5282|");
/// ```
pub fn write_eprt(addr: SocketAddr, out: &mut Vec<u8>) {
    let af = if addr.is_ipv4() { b'1' } else { b'2' };
    out.extend_from_slice(&[b'|', af, b'|']);
    push_num(out, addr.ip());
    out.push(b'|');
    push_num(out, addr.port());
    out.push(b'|');
}

/// `<d><d><d><port><d>` at the start of `s`, with `d` printable and not a digit.
fn epsv_port(s: &[u8]) -> Result<u16, AddressError> {
    let Some((&[d, d2, d3], rest)) = s.split_first_chunk::<3>() else {
        return Err(AddressError::NotFound);
    };
    if d != d2 || d != d3 || !(33..=126).contains(&d) || d.is_ascii_digit() {
        return Err(AddressError::NotFound);
    }
    let (rest, port) = number(rest, 0, u32::from(u16::MAX))?;
    if rest.first() != Some(&d) {
        return Err(AddressError::NotFound);
    }
    match u16::try_from(port) {
        Ok(0) => Err(AddressError::PortZero),
        Ok(p) => Ok(p),
        Err(_) => Err(AddressError::OutOfRange {
            field: 0,
            max: 65535,
        }),
    }
}

/// Parses the text of a 229 reply for its port: `(<d><d><d><tcp-port><d>)` with any
/// printable delimiter, found wherever it appears in the text.
///
/// ```
/// use ftp_proto::address::parse_epsv_reply;
/// // RFC 2428 §3: "229 Entering Extended Passive Mode (|||6446|)"
/// assert_eq!(parse_epsv_reply(b"229 Entering Extended Passive Mode (|||6446|)"), Ok(6446));
/// assert_eq!(parse_epsv_reply(b"Entering Extended Passive Mode (!!!6446!)"), Ok(6446));
/// ```
pub fn parse_epsv_reply(text: &[u8]) -> Result<u16, AddressError> {
    let mut err = AddressError::NotFound;
    for i in 0..text.len() {
        match epsv_port(text.get(i..).unwrap_or_default()) {
            Ok(p) => return Ok(p),
            Err(e) if err == AddressError::NotFound => err = e,
            Err(_) => {}
        }
    }
    Err(err)
}

/// Writes the text of a 229 reply: `Entering Extended Passive Mode (|||port|)`.
///
/// ```
/// use ftp_proto::address::write_epsv_reply;
/// // RFC 2428 §3: "229 Entering Extended Passive Mode (|||6446|)"
/// let mut out = Vec::new();
/// write_epsv_reply(6446, &mut out);
/// assert_eq!(out, b"Entering Extended Passive Mode (|||6446|)");
/// ```
pub fn write_epsv_reply(port: u16, out: &mut Vec<u8>) {
    out.extend_from_slice(b"Entering Extended Passive Mode (|||");
    push_num(out, port);
    out.extend_from_slice(b"|)");
}

/// `af,hal,h...,pal,p1,p2` at the start of `input` (RFC 1639 long address).
fn long_address(input: &[u8], loose: bool) -> Result<(&[u8], SocketAddr), AddressError> {
    let (rest, [af, hal]) = numbers::<2>(input, 0, 255, loose)?;
    let (rest, ip): (&[u8], IpAddr) = match af {
        4 => {
            if hal != 4 {
                return Err(AddressError::BadLength {
                    field: 1,
                    expected: 4,
                    found: hal,
                });
            }
            let (rest, h) = numbers::<4>(rest, 2, 255, loose)?;
            (rest, Ipv4Addr::from(h).into())
        }
        6 => {
            if hal != 16 {
                return Err(AddressError::BadLength {
                    field: 1,
                    expected: 16,
                    found: hal,
                });
            }
            let (rest, h) = numbers::<16>(rest, 2, 255, loose)?;
            (rest, Ipv6Addr::from(h).into())
        }
        af => return Err(AddressError::UnsupportedFamily { af }),
    };
    let pal_field = 2 + usize::from(hal);
    let (rest, [pal, p1, p2]) = numbers::<3>(rest, pal_field, 255, loose)?;
    if pal != 2 {
        return Err(AddressError::BadLength {
            field: pal_field,
            expected: 2,
            found: pal,
        });
    }
    let port = port_of(p1, p2)?;
    Ok((rest, SocketAddr::new(ip, port)))
}

/// Parses an LPRT argument: `4,4,h1,h2,h3,h4,2,p1,p2` for IPv4 or `6,16,h1,...,h16,2,p1,p2`
/// for IPv6.
///
/// ```
/// use ftp_proto::address::{parse_lprt, AddressError};
/// // RFC 1639 §2: LPRT af,hal,h1,...,pal,p1,p2 (address family 4 = IPv4, 6 = IPv6).
/// assert_eq!(parse_lprt(b"4,4,132,235,1,2,2,24,131"), Ok("132.235.1.2:6275".parse().unwrap()));
/// assert_eq!(parse_lprt(b"6,16,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,2,0,21"),
///            Ok("[::1]:21".parse().unwrap()));
/// assert_eq!(parse_lprt(b"5,4,1,2,3,4,2,0,21"), Err(AddressError::UnsupportedFamily { af: 5 }));
/// ```
pub fn parse_lprt(arg: &[u8]) -> Result<SocketAddr, AddressError> {
    let (rest, addr) = long_address(arg, false)?;
    end(arg, rest)?;
    Ok(addr)
}

/// Writes an LPRT argument (family 4 for IPv4, 6 for IPv6; port length 2).
///
/// ```
/// use ftp_proto::address::write_lprt;
/// // RFC 1639 §2: "LPRT af,hal,h1,h2,h3,h4...,pal,p1,p2..."
/// let mut out = Vec::new();
/// write_lprt("132.235.1.2:6275".parse().unwrap(), &mut out);
/// assert_eq!(out, b"4,4,132,235,1,2,2,24,131");
/// ```
pub fn write_lprt(addr: SocketAddr, out: &mut Vec<u8>) {
    match addr {
        SocketAddr::V4(a) => {
            out.extend_from_slice(b"4,4,");
            push_list(out, &a.ip().octets());
        }
        SocketAddr::V6(a) => {
            out.extend_from_slice(b"6,16,");
            push_list(out, &a.ip().octets());
        }
    }
    out.extend_from_slice(b",2,");
    push_list(out, &addr.port().to_be_bytes());
}

/// Parses the text of a 228 reply, scanning for the long address wherever it appears
/// (tolerant in the way RFC 1123 §4.1.2.6 asks for 227).
///
/// ```
/// use ftp_proto::address::parse_lpsv_reply;
/// // RFC 1639 §2: "228 Entering Long Passive Mode (long address)"
/// assert_eq!(parse_lpsv_reply(b"228 Entering Long Passive Mode (4,4,132,235,1,2,2,24,131)"),
///            Ok("132.235.1.2:6275".parse().unwrap()));
/// ```
pub fn parse_lpsv_reply(text: &[u8]) -> Result<SocketAddr, AddressError> {
    scan(text, |s| long_address(s, true).map(|(_, a)| a))
}

/// Writes the text of a 228 reply: `Entering Long Passive Mode (af,hal,...,pal,p1,p2)`.
///
/// ```
/// use ftp_proto::address::write_lpsv_reply;
/// // RFC 1639 §2: "228 Entering Long Passive Mode (long address)"
/// let mut out = Vec::new();
/// write_lpsv_reply("132.235.1.2:6275".parse().unwrap(), &mut out);
/// assert_eq!(out, b"Entering Long Passive Mode (4,4,132,235,1,2,2,24,131)");
/// ```
pub fn write_lpsv_reply(addr: SocketAddr, out: &mut Vec<u8>) {
    out.extend_from_slice(b"Entering Long Passive Mode (");
    write_lprt(addr, out);
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use AddressError as E;

    fn v4(s: &str) -> SocketAddrV4 {
        s.parse().unwrap()
    }
    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn port_table() {
        let cases: &[(&[u8], Result<SocketAddrV4, E>)] = &[
            (b"192,168,150,80,14,178", Ok(v4("192.168.150.80:3762"))),
            (b"0,0,0,0,0,1", Ok(v4("0.0.0.0:1"))),
            (b"255,255,255,255,255,255", Ok(v4("255.255.255.255:65535"))),
            (b"192,168,150,80,0,0", Err(E::PortZero)),
            (
                b"256,168,150,80,14,178",
                Err(E::OutOfRange { field: 0, max: 255 }),
            ),
            (
                b"1,2,3,4,5,1000000",
                Err(E::OutOfRange { field: 5, max: 255 }),
            ),
            (b"1,2,3,4,5", Err(E::ExpectedSeparator { field: 4 })),
            (b"1,2,3,4,5,", Err(E::ExpectedNumber { field: 5 })),
            (b"1,2,3,4,5,6,7", Err(E::TrailingBytes { offset: 11 })),
            (b"1,2,3,4,5,6 ", Err(E::TrailingBytes { offset: 11 })),
            (b"1, 2,3,4,5,6", Err(E::ExpectedNumber { field: 1 })),
            (b"", Err(E::ExpectedNumber { field: 0 })),
            (b"a,2,3,4,5,6", Err(E::ExpectedNumber { field: 0 })),
            (b"-1,2,3,4,5,6", Err(E::ExpectedNumber { field: 0 })),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_port(input),
                *want,
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn pasv_table() {
        let want = Ok(v4("192.168.0.1:1025"));
        let cases: &[(&[u8], Result<SocketAddrV4, E>)] = &[
            (b"227 Entering Passive Mode (192,168,0,1,4,1)", want),
            (b"227 Entering Passive Mode (192,168,0,1,4,1).", want),
            (b"227 =192,168,0,1,4,1", want),
            (b"Entering Passive Mode 192,168,0,1,4,1", want),
            (b"227 Passive (192, 168, 0, 1, 4, 1) ok", want),
            (
                b"227 Entering Passive Mode (1,2,3) then 192,168,0,1,4,1",
                want,
            ),
            (b"227 Entering Passive Mode", Err(E::NotFound)),
            (b"", Err(E::NotFound)),
            (
                b"227 (192,168,0,1,256,1)",
                Err(E::OutOfRange { field: 4, max: 255 }),
            ),
            (b"227 (192,168,0,1,0,0)", Err(E::PortZero)),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_pasv_reply(input),
                *want,
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn eprt_table() {
        let cases: &[(&[u8], Result<SocketAddr, E>)] = &[
            (b"|1|132.235.1.2|6275|", Ok(sa("132.235.1.2:6275"))),
            (
                b"|2|1080::8:800:200C:417A|5282|",
                Ok(sa("[1080::8:800:200C:417A]:5282")),
            ),
            (b"#1#132.235.1.2#6275#", Ok(sa("132.235.1.2:6275"))),
            (b"~2~::1~21~", Ok(sa("[::1]:21"))),
            (b"|2|::ffff:1.2.3.4|21|", Ok(sa("[::ffff:1.2.3.4]:21"))),
            (
                b"|3|132.235.1.2|6275|",
                Err(E::UnknownNetworkProtocol { af: 3 }),
            ),
            (b"|1|1080::8|6275|", Err(E::BadHost { version: 4 })),
            (b"|2|132.235.1.2|6275|", Err(E::BadHost { version: 6 })),
            (b"|1|132.235.1.2|0|", Err(E::PortZero)),
            (
                b"|1|132.235.1.2|65536|",
                Err(E::OutOfRange {
                    field: 2,
                    max: 65535,
                }),
            ),
            (b"|1|132.235.1.2|62a|", Err(E::ExpectedNumber { field: 2 })),
            (
                b"|1|132.235.1.2|6275",
                Err(E::ExpectedSeparator { field: 2 }),
            ),
            (
                b"|1|132.235.1.2|6275|x",
                Err(E::TrailingBytes { offset: 20 }),
            ),
            (b"|x|132.235.1.2|6275|", Err(E::ExpectedNumber { field: 0 })),
            (b" 1 132.235.1.2 6275 ", Err(E::BadDelimiter { byte: b' ' })),
            (b"", Err(E::ExpectedSeparator { field: 0 })),
            (b"|1|256.1.1.1|21|", Err(E::BadHost { version: 4 })),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_eprt(input),
                *want,
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn epsv_table() {
        let cases: &[(&[u8], Result<u16, E>)] = &[
            (b"229 Entering Extended Passive Mode (|||6446|)", Ok(6446)),
            (b"229 Entering Extended Passive Mode (!!!6446!)", Ok(6446)),
            (b"229 (|||6446|) ok", Ok(6446)),
            (b"229 |||6446|", Ok(6446)),
            (
                b"229 Entering Extended Passive Mode (|||0|)",
                Err(E::PortZero),
            ),
            (
                b"229 (|||70000|)",
                Err(E::OutOfRange {
                    field: 0,
                    max: 65535,
                }),
            ),
            (b"229 (|||6446)", Err(E::NotFound)),
            (b"229 (||6446|)", Err(E::NotFound)),
            (b"229 (111111)", Err(E::NotFound)),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_epsv_reply(input),
                *want,
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn lprt_table() {
        let cases: &[(&[u8], Result<SocketAddr, E>)] = &[
            (b"4,4,132,235,1,2,2,24,131", Ok(sa("132.235.1.2:6275"))),
            (
                b"6,16,16,128,0,0,0,0,0,0,0,8,8,0,32,12,65,122,2,20,162",
                Ok(sa("[1080::8:800:200C:417A]:5282")),
            ),
            (
                b"4,16,1,2,3,4,2,0,21",
                Err(E::BadLength {
                    field: 1,
                    expected: 4,
                    found: 16,
                }),
            ),
            (
                b"6,4,1,2,3,4,2,0,21",
                Err(E::BadLength {
                    field: 1,
                    expected: 16,
                    found: 4,
                }),
            ),
            (
                b"4,4,1,2,3,4,3,0,21",
                Err(E::BadLength {
                    field: 6,
                    expected: 2,
                    found: 3,
                }),
            ),
            (b"4,4,1,2,3,4,2,0,0", Err(E::PortZero)),
            (b"4,4,1,2,3,4,2,0", Err(E::ExpectedSeparator { field: 7 })),
            (
                b"4,4,1,2,3,400,2,0,21",
                Err(E::OutOfRange { field: 5, max: 255 }),
            ),
            (b"4,4,1,2,3,4,2,0,21,", Err(E::TrailingBytes { offset: 18 })),
            (b"2,4,1,2,3,4,2,0,21", Err(E::UnsupportedFamily { af: 2 })),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_lprt(input),
                *want,
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
        assert_eq!(
            parse_lpsv_reply(b"228 Entering Long Passive Mode (4, 4, 132, 235, 1, 2, 2, 24, 131)"),
            Ok(sa("132.235.1.2:6275"))
        );
        assert_eq!(parse_lpsv_reply(b"228 nothing"), Err(E::NotFound));
    }

    fn any_v4() -> impl Strategy<Value = SocketAddrV4> {
        (any::<[u8; 4]>(), 1u16..).prop_map(|(ip, p)| SocketAddrV4::new(ip.into(), p))
    }

    fn any_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            any_v4().prop_map(SocketAddr::V4),
            (any::<[u8; 16]>(), 1u16..)
                .prop_map(|(ip, p)| SocketAddr::new(Ipv6Addr::from(ip).into(), p)),
        ]
    }

    proptest! {
        #[test]
        fn port_round_trip(a in any_v4()) {
            let mut out = Vec::new();
            write_port(a, &mut out);
            prop_assert_eq!(parse_port(&out), Ok(a));
            out.clear();
            write_pasv_reply(a, &mut out);
            prop_assert_eq!(parse_pasv_reply(&out), Ok(a));
            let mut reply = b"227 ".to_vec();
            reply.extend_from_slice(&out);
            prop_assert_eq!(parse_pasv_reply(&reply), Ok(a));
        }

        #[test]
        fn long_and_extended_round_trip(a in any_addr(), d in 33u8..=126) {
            let mut out = Vec::new();
            write_eprt(a, &mut out);
            prop_assert_eq!(parse_eprt(&out), Ok(a));
            // Any delimiter that cannot occur in the fields works too.
            if !d.is_ascii_hexdigit() && d != b':' && d != b'.' {
                let other: Vec<u8> = out.iter().map(|&b| if b == b'|' { d } else { b }).collect();
                prop_assert_eq!(parse_eprt(&other), Ok(a));
            }
            out.clear();
            write_lprt(a, &mut out);
            prop_assert_eq!(parse_lprt(&out), Ok(a));
            out.clear();
            write_lpsv_reply(a, &mut out);
            prop_assert_eq!(parse_lpsv_reply(&out), Ok(a));
            out.clear();
            write_epsv_reply(a.port(), &mut out);
            prop_assert_eq!(parse_epsv_reply(&out), Ok(a.port()));
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse_port(&b);
            let _ = parse_pasv_reply(&b);
            let _ = parse_eprt(&b);
            let _ = parse_epsv_reply(&b);
            let _ = parse_lprt(&b);
            let _ = parse_lpsv_reply(&b);
        }

        #[test]
        fn never_panics_numeric(b in proptest::collection::vec(
            prop_oneof![Just(b','), Just(b'|'), Just(b'('), b'0'..=b'9'], 0..80)) {
            let _ = parse_port(&b);
            let _ = parse_pasv_reply(&b);
            let _ = parse_eprt(&b);
            let _ = parse_epsv_reply(&b);
            let _ = parse_lprt(&b);
            let _ = parse_lpsv_reply(&b);
        }
    }
}
