//! Control-connection line framing: CRLF (or bare LF), a length cap, Telnet IAC processing.
//!
//! RFC 959 §4.1.3 sends commands as Telnet lines ending in CRLF; clients in the wild also
//! end them with a bare LF, so [`LineDecoder`] accepts both. Each line goes through the
//! Telnet processing of RFC 854 as RFC 959 uses it (IAC IAC is a literal 0xFF, other Telnet
//! commands and option negotiations are removed) and the CR NUL rule of RFC 2640 §3.1
//! (a CR inside a path travels as CR NUL). The result is what [`crate::command`] parses.
//!
//! Lines longer than a cap are reported once with [`LineError::TooLong`] and skipped, without
//! ever holding more than the cap in memory: a peer that never sends LF cannot grow the
//! buffer (denial of service).
//!
//! The encoder side is [`encode_arg`], which writes a command argument with 0xFF doubled and
//! refuses the bytes (CR, LF, NUL) that would end the line early and let a file name inject
//! a second command.

use bytes::{Buf, Bytes, BytesMut};

/// Telnet "interpret as command" (RFC 854).
const IAC: u8 = 0xFF;
/// Telnet "data mark", the Synch signal's marker (RFC 854).
const DM: u8 = 0xF2;
/// Telnet "subnegotiation begin" (RFC 855).
const SB: u8 = 0xFA;
/// Telnet "subnegotiation end" (RFC 855).
const SE: u8 = 0xF0;
/// Telnet WILL; WILL, WONT, DO and DONT (251–254) take one option byte.
const WILL: u8 = 0xFB;
/// Telnet DONT, the last of the option negotiation commands.
const DONT: u8 = 0xFE;

/// Why a line could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The line (without its line ending) is longer than `limit` bytes. It has been (or is
    /// being) discarded up to and including its LF; decoding continues with the next line.
    /// A server answers 500.
    #[error("line longer than {limit} bytes")]
    TooLong {
        /// The cap the line exceeded.
        limit: usize,
    },
}

/// Incremental decoder for control-connection lines (the server reads commands with it).
///
/// Feed it the bytes received so far in a [`BytesMut`]; it takes complete lines out of
/// the front. Between calls the caller may only append to `src` (as with tokio's codecs),
/// because the decoder remembers how far it has already searched for LF.
///
/// The cap counts the raw bytes of a line before Telnet processing and without its CRLF or
/// LF. While an over-long line is being skipped the decoder consumes its bytes as they
/// arrive, so `src` never keeps more than `max_len + 1` bytes of an unterminated line.
///
/// ```
/// use bytes::BytesMut;
/// use ftp_proto::line::{LineDecoder, LineError};
/// // RFC 959 §4.1.3: commands are Telnet strings terminated by the Telnet end of line (CRLF).
/// let mut dec = LineDecoder::new(LineDecoder::DEFAULT_MAX_LINE);
/// let mut buf = BytesMut::from(&b"USER anonymous\r\nPASS gu"[..]);
/// assert_eq!(dec.decode(&mut buf).unwrap().as_deref(), Some(&b"USER anonymous"[..]));
/// assert_eq!(dec.decode(&mut buf).unwrap(), None); // need more bytes
/// buf.extend_from_slice(b"est\n");
/// assert_eq!(dec.decode(&mut buf).unwrap().as_deref(), Some(&b"PASS guest"[..]));
///
/// let mut small = LineDecoder::new(4);
/// let mut buf = BytesMut::from(&b"NOOPNOOP\r\nPWD\r\n"[..]);
/// assert_eq!(small.decode(&mut buf), Err(LineError::TooLong { limit: 4 }));
/// assert_eq!(small.decode(&mut buf).unwrap().as_deref(), Some(&b"PWD"[..]));
/// ```
#[derive(Debug, Clone)]
pub struct LineDecoder {
    max_len: usize,
    /// An over-long line has been reported and its remaining bytes are being dropped.
    discarding: bool,
    /// Bytes at the front of `src` already known to hold no LF.
    scanned: usize,
}

impl Default for LineDecoder {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_LINE)
    }
}

impl LineDecoder {
    /// The default cap on a line's length: 4096 bytes, as vsftpd uses.
    pub const DEFAULT_MAX_LINE: usize = 4096;

    /// A decoder that refuses lines longer than `max_len` bytes (line ending not counted).
    pub fn new(max_len: usize) -> Self {
        Self {
            max_len,
            discarding: false,
            scanned: 0,
        }
    }

    /// The cap this decoder enforces.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Takes the next complete line out of `src`, without its CRLF (or bare LF, which real
    /// clients send), Telnet-processed. `Ok(None)` means more bytes are needed.
    ///
    /// An over-long line gives `Err(LineError::TooLong)` exactly once; its bytes, including
    /// those that arrive later, are dropped up to and including its LF, and the next call
    /// carries on with the following line.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ftp_proto::line::LineDecoder;
    /// // RFC 959 §4.1.3 / RFC 854: the client sends Telnet IP and Synch before ABOR; the
    /// // Telnet commands are removed and the parser sees the verb alone.
    /// let mut dec = LineDecoder::default();
    /// let mut buf = BytesMut::from(&b"\xff\xf4\xff\xf2ABOR\r\n"[..]);
    /// assert_eq!(dec.decode(&mut buf).unwrap().as_deref(), Some(&b"ABOR"[..]));
    /// // RFC 2640 §3.1: CR NUL inside a path is a CR; IAC IAC is a literal 0xFF.
    /// let mut buf = BytesMut::from(&b"RETR a\r\0b\xff\xff\r\n"[..]);
    /// assert_eq!(dec.decode(&mut buf).unwrap().as_deref(), Some(&b"RETR a\rb\xff"[..]));
    /// ```
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, LineError> {
        loop {
            if self.discarding {
                match memchr::memchr(b'\n', src) {
                    Some(lf) => {
                        src.advance(lf + 1);
                        self.discarding = false;
                        self.scanned = 0;
                        continue;
                    }
                    None => {
                        src.clear();
                        self.scanned = 0;
                        return Ok(None);
                    }
                }
            }
            let start = self.scanned.min(src.len());
            let found = src
                .get(start..)
                .and_then(|rest| memchr::memchr(b'\n', rest))
                .map(|i| start + i);
            return match found {
                Some(lf) => {
                    self.scanned = 0;
                    let mut raw = src.split_to(lf + 1);
                    raw.truncate(lf);
                    if raw.last() == Some(&b'\r') {
                        raw.truncate(lf - 1);
                    }
                    if raw.len() > self.max_len {
                        return Err(self.too_long());
                    }
                    Ok(Some(telnet(raw.freeze())))
                }
                None => {
                    self.scanned = src.len();
                    // With no LF yet, at most one trailing CR may still turn out to be
                    // the line ending; anything beyond that exceeds the cap for sure.
                    let over = match src.len().checked_sub(self.max_len) {
                        None | Some(0) => false,
                        Some(1) => src.last() != Some(&b'\r'),
                        Some(_) => true,
                    };
                    if over {
                        src.clear();
                        self.scanned = 0;
                        self.discarding = true;
                        Err(self.too_long())
                    } else {
                        Ok(None)
                    }
                }
            };
        }
    }

    /// At EOF: like [`decode`](Self::decode), then the final unterminated line, if any.
    /// A trailing CR without LF is kept as part of the line. Leaves `src` empty once it
    /// returns `Ok(None)`.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ftp_proto::line::LineDecoder;
    /// // RFC 959 §4.1.3 asks for CRLF; a peer that closes after "QUIT" still said QUIT.
    /// let mut dec = LineDecoder::default();
    /// let mut buf = BytesMut::from(&b"QUIT"[..]);
    /// assert_eq!(dec.decode(&mut buf).unwrap(), None);
    /// assert_eq!(dec.decode_eof(&mut buf).unwrap().as_deref(), Some(&b"QUIT"[..]));
    /// assert_eq!(dec.decode_eof(&mut buf).unwrap(), None);
    /// ```
    pub fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, LineError> {
        if let Some(line) = self.decode(src)? {
            return Ok(Some(line));
        }
        self.scanned = 0;
        if self.discarding {
            self.discarding = false;
            src.clear();
            return Ok(None);
        }
        if src.is_empty() {
            return Ok(None);
        }
        let raw = src.split();
        if raw.len() > self.max_len {
            return Err(self.too_long());
        }
        Ok(Some(telnet(raw.freeze())))
    }

    fn too_long(&self) -> LineError {
        LineError::TooLong {
            limit: self.max_len,
        }
    }
}

/// Applies Telnet processing to one line (its line ending already removed).
///
/// - `IAC IAC` is a literal 0xFF.
/// - `IAC WILL|WONT|DO|DONT option` is removed (3 bytes).
/// - `IAC SB ... IAC SE` is removed.
/// - `IAC` followed by any other Telnet command (IP, DM, AO, AYT, NOP, ...) is removed (2 bytes).
/// - `IAC` followed by a byte that is no Telnet command is removed, the byte kept: this is how
///   `IAC IP IAC ABOR` arrives when the DM of the Synch travelled as urgent data and was
///   taken out of band, and it yields `ABOR`.
/// - DM bytes (0xF2) at the very start of the line, before anything else, are removed: they
///   are the urgent DM of a Synch delivered in line without its IAC. No verb starts with 0xF2.
/// - `CR NUL` is a CR (RFC 2640 §3.1); a CR followed by anything else is kept as is.
fn telnet(raw: Bytes) -> Bytes {
    let needs_work = raw.first() == Some(&DM) || memchr::memchr2(IAC, b'\r', &raw).is_some();
    if !needs_work {
        return raw;
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            IAC => match raw.get(i + 1) {
                Some(&IAC) => {
                    out.push(IAC);
                    i += 2;
                }
                Some(&(WILL..=DONT)) => i += 3,
                Some(&SB) => {
                    // Skip to IAC SE, or to the end of the line if it never comes.
                    let mut j = i + 2;
                    loop {
                        match raw.get(j..) {
                            Some([IAC, SE, ..]) => {
                                i = j + 2;
                                break;
                            }
                            Some([_, ..]) => j += 1,
                            _ => {
                                i = raw.len();
                                break;
                            }
                        }
                    }
                }
                Some(&(SE..=0xFE)) => i += 2,
                // Not a Telnet command: drop the IAC, keep the byte.
                Some(_) => i += 1,
                None => i += 1,
            },
            DM if out.is_empty() => i += 1,
            b'\r' if raw.get(i + 1) == Some(&0) => {
                out.push(b'\r');
                i += 2;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Bytes::from(out)
}

/// Why an argument cannot be written on the control connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ArgError {
    /// The argument holds CR, LF or NUL, which would end the line early and could inject a
    /// second command.
    #[error("byte 0x{byte:02x} at offset {offset} is not allowed in an argument")]
    ForbiddenByte {
        /// The byte (`b'\r'`, `b'\n'` or `0`).
        byte: u8,
        /// Its offset in the argument.
        offset: usize,
    },
}

/// Appends `arg` to `out` for the control connection: 0xFF becomes `IAC IAC` (RFC 854), and
/// CR, LF and NUL are refused. On error `out` is left as it was.
///
/// ```
/// use ftp_proto::line::{encode_arg, ArgError};
/// // RFC 854: "IAC IAC" is the data byte 255; RFC 959 §4.1.3 ends a command at CRLF.
/// let mut out = Vec::new();
/// encode_arg(&mut out, b"caf\xff").unwrap();
/// assert_eq!(out, b"caf\xff\xff");
/// let err = encode_arg(&mut out, b"x\r\nDELE y").unwrap_err();
/// assert_eq!(err, ArgError::ForbiddenByte { byte: b'\r', offset: 1 });
/// assert_eq!(out, b"caf\xff\xff");
/// ```
pub fn encode_arg(out: &mut Vec<u8>, arg: &[u8]) -> Result<(), ArgError> {
    if let Some(offset) = memchr::memchr3(b'\r', b'\n', 0, arg) {
        let byte = arg.get(offset).copied().unwrap_or_default();
        return Err(ArgError::ForbiddenByte { byte, offset });
    }
    out.reserve(arg.len());
    let mut rest = arg;
    while let Some((head, tail)) =
        memchr::memchr(IAC, rest).and_then(|i| rest.split_at_checked(i + 1))
    {
        out.extend_from_slice(head);
        out.push(IAC);
        rest = tail;
    }
    out.extend_from_slice(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every line or error a decoder gave, in order.
    type Outcome = Vec<Result<Vec<u8>, LineError>>;

    /// Feeds `chunks` one after another, then EOF; collects every result.
    fn run(max: usize, chunks: &[&[u8]]) -> Outcome {
        let mut dec = LineDecoder::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match dec.decode(&mut buf) {
                    Ok(Some(l)) => out.push(Ok(l.to_vec())),
                    Ok(None) => {
                        // Bounded: only an unterminated line's head stays buffered.
                        assert!(buf.len() <= max + 1 && memchr::memchr(b'\n', &buf).is_none());
                        break;
                    }
                    Err(e) => out.push(Err(e)),
                }
            }
        }
        loop {
            match dec.decode_eof(&mut buf) {
                Ok(Some(l)) => out.push(Ok(l.to_vec())),
                Ok(None) => break,
                Err(e) => out.push(Err(e)),
            }
        }
        assert!(buf.is_empty());
        out
    }

    fn ok(s: &[u8]) -> Result<Vec<u8>, LineError> {
        Ok(s.to_vec())
    }

    #[test]
    fn table() {
        let too_long = Err(LineError::TooLong { limit: 8 });
        let cases: Vec<(&[u8], Outcome)> = vec![
            (b"USER a\r\n", vec![ok(b"USER a")]),
            (b"USER a\n", vec![ok(b"USER a")]),
            (b"A\r\nB\nC", vec![ok(b"A"), ok(b"B"), ok(b"C")]),
            (b"\r\n", vec![ok(b"")]),
            (b"", vec![]),
            // Telnet: IAC IAC, negotiation, commands.
            (b"RETR \xff\xff\r\n", vec![ok(b"RETR \xff")]),
            (b"\xff\xfb\x01NOOP\r\n", vec![ok(b"NOOP")]),
            (b"NO\xff\xf1OP\r\n", vec![ok(b"NOOP")]),
            (b"\xff\xfa\x18\x01xx\xff\xf0PWD\r\n", vec![ok(b"PWD")]),
            (b"\xff\xfa\x18 never ends\r\n", vec![ok(b"")]),
            (b"NOOP\xff", vec![ok(b"NOOP")]),
            (b"NOOP\xff\xfb", vec![ok(b"NOOP")]),
            // RFC 959 §4.1.3 ABOR sequence and its variants.
            (b"\xff\xf4\xff\xf2ABOR\r\n", vec![ok(b"ABOR")]),
            (b"\xff\xf4\xffABOR\r\n", vec![ok(b"ABOR")]),
            (b"\xff\xf4\xf2ABOR\r\n", vec![ok(b"ABOR")]),
            (b"\xf2ABOR\r\n", vec![ok(b"ABOR")]),
            (b"RETR \xf2\r\n", vec![ok(b"RETR \xf2")]),
            // RFC 2640 CR NUL; lone CR kept.
            (b"RETR a\r\0b\r\n", vec![ok(b"RETR a\rb")]),
            (b"RETR a\rb\r\n", vec![ok(b"RETR a\rb")]),
            (b"RETR a\r\r\n", vec![ok(b"RETR a\r")]),
            (b"RETR a\r", vec![ok(b"RETR a\r")]),
        ];
        for (input, want) in cases {
            assert_eq!(
                run(64, &[input]),
                want,
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
        let cases: Vec<(&[u8], Outcome)> = vec![
            // Cap of 8: exactly 8 passes, 9 fails once, next line survives.
            (b"12345678\r\nX\n", vec![ok(b"12345678"), ok(b"X")]),
            (b"123456789\r\nX\n", vec![too_long.clone(), ok(b"X")]),
            (
                b"123456789012345678901234\nX\n",
                vec![too_long.clone(), ok(b"X")],
            ),
            (b"123456789012345678901234", vec![too_long.clone()]),
            (b"12345678\r", vec![too_long.clone()]),
        ];
        for (input, want) in cases {
            assert_eq!(
                run(8, &[input]),
                want,
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn overlong_memory_bounded() {
        let mut dec = LineDecoder::new(16);
        let mut buf = BytesMut::new();
        let mut errors = 0;
        for _ in 0..10_000 {
            buf.extend_from_slice(b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            if dec.decode(&mut buf).is_err() {
                errors += 1;
            }
            assert!(buf.len() <= 17);
        }
        assert_eq!(errors, 1);
        buf.extend_from_slice(b"tail\r\nNOOP\r\n");
        assert_eq!(dec.decode(&mut buf).unwrap().as_deref(), Some(&b"NOOP"[..]));
    }

    #[test]
    fn encode_arg_refuses() {
        for (arg, byte, offset) in [(&b"a\rb"[..], b'\r', 1), (b"\n", b'\n', 0), (b"ab\0", 0, 2)] {
            let mut out = b"RETR ".to_vec();
            assert_eq!(
                encode_arg(&mut out, arg),
                Err(ArgError::ForbiddenByte { byte, offset })
            );
            assert_eq!(out, b"RETR ");
        }
        let mut out = Vec::new();
        encode_arg(&mut out, b"\xff\xffa\xff").unwrap();
        assert_eq!(out, b"\xff\xff\xff\xffa\xff\xff");
    }

    fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
        // Biased towards the interesting bytes.
        let byte = prop_oneof![
            4 => any::<u8>(),
            2 => Just(b'\r'),
            2 => Just(b'\n'),
            2 => Just(IAC),
            1 => Just(DM),
            1 => Just(0u8),
            1 => Just(WILL),
            1 => Just(SB),
            1 => Just(SE),
            3 => Just(b'A'),
        ];
        proptest::collection::vec(byte, 0..64)
    }

    proptest! {
        #[test]
        fn every_split_same_result(input in line_bytes(), max in 0usize..12) {
            let whole = run(max, &[&input]);
            for at in 0..=input.len() {
                let (a, b) = input.split_at(at);
                prop_assert_eq!(&run(max, &[a, b]), &whole, "split at {}", at);
            }
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            prop_assert_eq!(&run(max, &bytes), &whole);
        }

        #[test]
        fn encoded_arg_decodes_back(arg in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut out = b"X ".to_vec();
            match encode_arg(&mut out, &arg) {
                Ok(()) => {
                    out.extend_from_slice(b"\r\n");
                    let mut want = b"X ".to_vec();
                    want.extend_from_slice(&arg);
                    prop_assert_eq!(run(4096, &[&out]), vec![Ok(want)]);
                }
                Err(ArgError::ForbiddenByte { byte, offset }) => {
                    prop_assert!(matches!(byte, b'\r' | b'\n' | 0));
                    prop_assert_eq!(arg.get(offset), Some(&byte));
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = run(32, &[&input]);
        }
    }
}
