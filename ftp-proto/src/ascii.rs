//! Streaming TYPE A (ASCII) line-ending conversion (RFC 959 §3.1.1.1).
//!
//! RFC 959 §3.1.1.1: "the `<CRLF>` sequence should be used where necessary to denote the end of
//! a line of text". On the wire, TYPE A data therefore ends its lines with CRLF, whatever the
//! local convention. This module converts between the local `LF` convention and the network
//! `CRLF` convention, one chunk at a time, carrying state across chunk boundaries so that a CR
//! at the end of one chunk and an LF at the start of the next are handled exactly as if they
//! had arrived together.
//!
//! - [`ToNetwork`] is for sending TYPE A data: every LF becomes CRLF, but an LF that already
//!   follows a CR stays as it is, so existing CRLF pairs are not doubled.
//! - [`FromNetwork`] is for receiving TYPE A data: every CRLF becomes LF; a CR that is not
//!   followed by LF is kept unchanged.
//!
//! Both converters have two forms: [`convert`](ToNetwork::convert) appends to any growable
//! [`BufMut`] (`Vec<u8>`, [`bytes::BytesMut`]), and [`convert_slice`](ToNetwork::convert_slice)
//! fills a fixed buffer and reports how much input it consumed and how much output it wrote,
//! never writing past the end of that buffer. After the last chunk, call `finish`.
//!
//! TYPE I (image, binary) data needs no converter: it passes through byte for byte, so the
//! adapters copy it untouched and no type is provided for it here.
//!
//! Runs of bytes without line endings are located with `memchr` and copied in one piece; the
//! converters never allocate.

use bytes::BufMut;

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// Where converted bytes go: either a growable buffer or a fixed slice with limited room.
trait Sink {
    /// How many more bytes fit.
    fn room(&self) -> usize;
    /// Appends `bytes`; callers never pass more than [`Sink::room`] bytes.
    fn put(&mut self, bytes: &[u8]);
}

/// A growable [`BufMut`]; its room is what it reports as remaining.
struct Growable<'a, B: BufMut>(&'a mut B);

impl<B: BufMut> Sink for Growable<'_, B> {
    fn room(&self) -> usize {
        self.0.remaining_mut()
    }
    fn put(&mut self, bytes: &[u8]) {
        self.0.put_slice(bytes);
    }
}

/// A fixed slice, filled from the front.
struct Fixed<'a> {
    buf: &'a mut [u8],
    written: usize,
}

impl Sink for Fixed<'_> {
    fn room(&self) -> usize {
        self.buf.len().saturating_sub(self.written)
    }
    fn put(&mut self, bytes: &[u8]) {
        let end = self.written.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.written..end) {
            dst.copy_from_slice(bytes);
            self.written = end;
        }
    }
}

/// Converts local text (lines ending in LF) to TYPE A network text (lines ending in CRLF).
///
/// An LF that is already preceded by a CR, in the same chunk or at the end of the previous
/// one, is left alone, so input that already uses CRLF comes out unchanged. A CR that is not
/// followed by LF is passed through as it is. The output never contains an LF without a CR
/// before it.
///
/// ```
/// use ftp_proto::ascii::ToNetwork;
/// // RFC 959 §3.1.1.1: end-of-line is the <CRLF> sequence on the wire.
/// let mut conv = ToNetwork::new();
/// let mut out = Vec::new();
/// conv.convert(b"one\ntwo\r", &mut out);
/// conv.convert(b"\nthree\n", &mut out);
/// conv.finish(&mut out);
/// assert_eq!(out, b"one\r\ntwo\r\nthree\r\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToNetwork {
    /// The last byte written to the output was a CR.
    after_cr: bool,
}

impl ToNetwork {
    /// A converter at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Converts `input` and appends the result to `out`.
    ///
    /// The output is at most twice the input length.
    ///
    /// # Panics
    ///
    /// Only if `out` cannot hold the output, which cannot happen with `Vec<u8>` or
    /// `BytesMut` (they grow). For a fixed-size buffer use
    /// [`convert_slice`](Self::convert_slice).
    ///
    /// ```
    /// use ftp_proto::ascii::ToNetwork;
    /// // RFC 959 §3.1.1.1: "<CRLF> ... denote[s] the end of a line of text".
    /// let mut out = bytes::BytesMut::new();
    /// ToNetwork::new().convert(b"a\nb\r\nc", &mut out);
    /// assert_eq!(&out[..], b"a\r\nb\r\nc");
    /// ```
    pub fn convert(&mut self, input: &[u8], out: &mut impl BufMut) {
        self.run(input, &mut Growable(out));
    }

    /// Converts as much of `input` as fits into `out`; returns `(consumed, written)`.
    ///
    /// Never writes past the end of `out`. Input bytes that were not consumed must be passed
    /// again, at the start of the next call. Progress is made whenever `out` is not empty and
    /// `input` is not empty: an LF that needs a CR before it and finds room for only one
    /// byte has its CR written now and the LF itself left for the next call.
    ///
    /// ```
    /// use ftp_proto::ascii::ToNetwork;
    /// // RFC 959 §3.1.1.1: lines end with <CRLF> on the wire.
    /// let mut conv = ToNetwork::new();
    /// let mut buf = [0u8; 3];
    /// assert_eq!(conv.convert_slice(b"ab\ncd", &mut buf), (2, 3)); // "ab\r"; LF still pending
    /// assert_eq!(&buf, b"ab\r");
    /// assert_eq!(conv.convert_slice(b"\ncd", &mut buf), (3, 3));
    /// assert_eq!(&buf, b"\ncd");
    /// ```
    pub fn convert_slice(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        let mut sink = Fixed {
            buf: out,
            written: 0,
        };
        let consumed = self.run(input, &mut sink);
        (consumed, sink.written)
    }

    /// Ends the stream. Writes nothing (a trailing CR was already passed on) and resets the
    /// converter for a new stream; it exists so both directions are driven the same way.
    pub fn finish(&mut self, out: &mut impl BufMut) {
        let _ = out;
        self.after_cr = false;
    }

    /// The conversion itself; returns how many input bytes were consumed.
    fn run(&mut self, input: &[u8], sink: &mut impl Sink) -> usize {
        let mut pos = 0;
        while let Some(rest) = input.get(pos..) {
            if rest.is_empty() {
                break;
            }
            let room = sink.room();
            if room == 0 {
                break;
            }
            match memchr::memchr(LF, rest) {
                None => {
                    let n = rest.len().min(room);
                    let run = rest.get(..n).unwrap_or_default();
                    sink.put(run);
                    if let Some(&last) = run.last() {
                        self.after_cr = last == CR;
                    }
                    pos += n;
                    break;
                }
                Some(i) => {
                    // Copy the run before the LF.
                    if i > 0 {
                        let n = i.min(room);
                        let run = rest.get(..n).unwrap_or_default();
                        sink.put(run);
                        if let Some(&last) = run.last() {
                            self.after_cr = last == CR;
                        }
                        pos += n;
                        if n < i {
                            break;
                        }
                    }
                    let room = sink.room();
                    if room == 0 {
                        break;
                    }
                    if self.after_cr {
                        sink.put(&[LF]);
                        pos += 1;
                    } else if room >= 2 {
                        sink.put(b"\r\n");
                        pos += 1;
                    } else {
                        // Room for one byte: write the CR now; the LF, re-presented next
                        // time, then follows a CR and goes out alone.
                        sink.put(&[CR]);
                        self.after_cr = true;
                        break;
                    }
                    self.after_cr = false;
                }
            }
        }
        pos
    }
}

/// Converts TYPE A network text (lines ending in CRLF) to local text (lines ending in LF).
///
/// Every CRLF pair becomes a single LF, also when the CR ends one chunk and the LF starts the
/// next. A CR that is not followed by LF is kept. A CR at the very end of a chunk is held back
/// until the next byte is known; [`finish`](Self::finish) writes it out if the stream ends
/// there.
///
/// ```
/// use ftp_proto::ascii::FromNetwork;
/// // RFC 959 §3.1.1.1: the <CRLF> sequence denotes the end of a line.
/// let mut conv = FromNetwork::new();
/// let mut out = Vec::new();
/// conv.convert(b"one\r\ntwo\r", &mut out);
/// conv.convert(b"\nlone\rcr\r", &mut out);
/// conv.finish(&mut out);
/// assert_eq!(out, b"one\ntwo\nlone\rcr\r");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FromNetwork {
    /// A CR was consumed but not yet written: it depends on whether an LF follows.
    pending_cr: bool,
}

impl FromNetwork {
    /// A converter at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a CR from the end of the last chunk is still held back.
    pub fn has_pending_cr(&self) -> bool {
        self.pending_cr
    }

    /// Converts `input` and appends the result to `out`.
    ///
    /// The output is at most one byte longer than the input (a CR held back from the
    /// previous chunk).
    ///
    /// # Panics
    ///
    /// Only if `out` cannot hold the output, which cannot happen with `Vec<u8>` or
    /// `BytesMut` (they grow). For a fixed-size buffer use
    /// [`convert_slice`](Self::convert_slice).
    ///
    /// ```
    /// use ftp_proto::ascii::FromNetwork;
    /// // RFC 959 §3.1.1.1: <CRLF> ends a line; a lone CR is data.
    /// let mut out = Vec::new();
    /// FromNetwork::new().convert(b"a\r\nb\rc\n", &mut out);
    /// assert_eq!(out, b"a\nb\rc\n");
    /// ```
    pub fn convert(&mut self, input: &[u8], out: &mut impl BufMut) {
        self.run(input, &mut Growable(out));
    }

    /// Converts as much of `input` as fits into `out`; returns `(consumed, written)`.
    ///
    /// Never writes past the end of `out`. Input bytes that were not consumed must be passed
    /// again, at the start of the next call. Progress is made whenever `out` is not empty and
    /// `input` is not empty.
    ///
    /// ```
    /// use ftp_proto::ascii::FromNetwork;
    /// // RFC 959 §3.1.1.1: the <CRLF> sequence denotes the end of a line.
    /// let mut conv = FromNetwork::new();
    /// let mut buf = [0u8; 8];
    /// assert_eq!(conv.convert_slice(b"ab\r\ncd\r", &mut buf), (7, 5));
    /// assert_eq!(&buf[..5], b"ab\ncd");
    /// assert_eq!(conv.finish_slice(&mut buf), 1);
    /// assert_eq!(&buf[..1], b"\r");
    /// ```
    pub fn convert_slice(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        let mut sink = Fixed {
            buf: out,
            written: 0,
        };
        let consumed = self.run(input, &mut sink);
        (consumed, sink.written)
    }

    /// Ends the stream: writes a CR still held back from the last chunk, then resets the
    /// converter for a new stream.
    pub fn finish(&mut self, out: &mut impl BufMut) {
        if self.pending_cr {
            out.put_u8(CR);
        }
        self.pending_cr = false;
    }

    /// Ends the stream into a fixed buffer; returns the number of bytes written (0 or 1).
    ///
    /// If a CR is held back and `out` is empty, nothing is written and the CR stays pending
    /// (see [`has_pending_cr`](Self::has_pending_cr)); call again with room for one byte.
    pub fn finish_slice(&mut self, out: &mut [u8]) -> usize {
        if !self.pending_cr {
            return 0;
        }
        match out.first_mut() {
            Some(first) => {
                *first = CR;
                self.pending_cr = false;
                1
            }
            None => 0,
        }
    }

    /// The conversion itself; returns how many input bytes were consumed.
    fn run(&mut self, input: &[u8], sink: &mut impl Sink) -> usize {
        let mut pos = 0;
        if self.pending_cr {
            match input.first() {
                None => return 0,
                Some(_) if sink.room() == 0 => return 0,
                Some(&LF) => {
                    sink.put(&[LF]);
                    pos = 1;
                }
                // A lone CR: keep it, and look at this byte normally below.
                Some(_) => sink.put(&[CR]),
            }
            self.pending_cr = false;
        }
        while let Some(rest) = input.get(pos..) {
            if rest.is_empty() {
                break;
            }
            let room = sink.room();
            if room == 0 {
                break;
            }
            match memchr::memchr(CR, rest) {
                None => {
                    let n = rest.len().min(room);
                    sink.put(rest.get(..n).unwrap_or_default());
                    pos += n;
                    break;
                }
                Some(i) => {
                    if i > 0 {
                        let n = i.min(room);
                        sink.put(rest.get(..n).unwrap_or_default());
                        pos += n;
                        if n < i {
                            break;
                        }
                    }
                    match rest.get(i + 1) {
                        None => {
                            // CR ends the chunk: hold it until the next byte is known.
                            self.pending_cr = true;
                            pos += 1;
                        }
                        Some(_) if sink.room() == 0 => break,
                        Some(&LF) => {
                            sink.put(&[LF]);
                            pos += 2;
                        }
                        Some(_) => {
                            sink.put(&[CR]);
                            pos += 1;
                        }
                    }
                }
            }
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn to_net(input: &[u8]) -> Vec<u8> {
        let mut c = ToNetwork::new();
        let mut out = Vec::new();
        c.convert(input, &mut out);
        c.finish(&mut out);
        out
    }

    fn from_net(input: &[u8]) -> Vec<u8> {
        let mut c = FromNetwork::new();
        let mut out = Vec::new();
        c.convert(input, &mut out);
        c.finish(&mut out);
        out
    }

    /// Feeds `input` in chunks ending at each of `cuts` (sorted, in range).
    fn chunked<C>(
        input: &[u8],
        cuts: &[usize],
        mut conv: C,
        step: fn(&mut C, &[u8], &mut Vec<u8>),
        fin: fn(&mut C, &mut Vec<u8>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            let cut = cut.clamp(start, input.len());
            step(&mut conv, &input[start..cut], &mut out);
            start = cut;
        }
        fin(&mut conv, &mut out);
        out
    }

    /// Drives `convert_slice` with an output buffer of `cap` bytes and input chunks of `chunk`.
    fn via_slices_to(input: &[u8], chunk: usize, cap: usize) -> Vec<u8> {
        let mut c = ToNetwork::new();
        let mut out = Vec::new();
        let mut buf = vec![0u8; cap];
        let mut pos = 0;
        let mut stalls = 0;
        while pos < input.len() {
            let end = (pos + chunk).min(input.len());
            let (used, wrote) = c.convert_slice(&input[pos..end], &mut buf);
            assert!(wrote <= cap);
            out.extend_from_slice(&buf[..wrote]);
            pos += used;
            if used == 0 && wrote == 0 {
                stalls += 1;
                assert!(stalls < 2, "no progress");
            } else {
                stalls = 0;
            }
        }
        c.finish(&mut out);
        out
    }

    fn via_slices_from(input: &[u8], chunk: usize, cap: usize) -> Vec<u8> {
        let mut c = FromNetwork::new();
        let mut out = Vec::new();
        let mut buf = vec![0u8; cap];
        let mut pos = 0;
        let mut stalls = 0;
        while pos < input.len() {
            let end = (pos + chunk).min(input.len());
            let (used, wrote) = c.convert_slice(&input[pos..end], &mut buf);
            assert!(wrote <= cap);
            out.extend_from_slice(&buf[..wrote]);
            pos += used;
            if used == 0 && wrote == 0 {
                stalls += 1;
                assert!(stalls < 2, "no progress");
            } else {
                stalls = 0;
            }
        }
        let n = c.finish_slice(&mut buf);
        out.extend_from_slice(&buf[..n]);
        assert!(!c.has_pending_cr());
        out
    }

    #[test]
    fn to_network_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"plain", b"plain"),
            (b"\n", b"\r\n"),
            (b"\n\n", b"\r\n\r\n"),
            (b"a\r\nb", b"a\r\nb"),
            (b"a\r\r\nb", b"a\r\r\nb"),
            (b"lone\rcr", b"lone\rcr"),
            (b"trailing\r", b"trailing\r"),
            (b"mixed\nunix\r\ndos\n", b"mixed\r\nunix\r\ndos\r\n"),
            // A typical README sent by a Unix server in TYPE A.
            (
                b"Welcome.\n\nFiles are in /pub.\n",
                b"Welcome.\r\n\r\nFiles are in /pub.\r\n",
            ),
            (b"\xff\xfe\n\x00", b"\xff\xfe\r\n\x00"),
        ];
        for (input, want) in cases {
            assert_eq!(to_net(input), *want, "{:?}", input);
            for chunk in 1..4 {
                for cap in 1..4 {
                    assert_eq!(
                        via_slices_to(input, chunk, cap),
                        *want,
                        "{input:?} {chunk} {cap}"
                    );
                }
            }
        }
    }

    #[test]
    fn from_network_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"plain", b"plain"),
            (b"\r\n", b"\n"),
            (b"\r\n\r\n", b"\n\n"),
            (b"bare\nlf", b"bare\nlf"),
            (b"lone\rcr", b"lone\rcr"),
            (b"\r\r\n", b"\r\n"),
            (b"\r\r", b"\r\r"),
            (b"end\r", b"end\r"),
            // A Windows server's text file.
            (b"[section]\r\nkey=value\r\n", b"[section]\nkey=value\n"),
            (b"\xff\r\n\x00\r", b"\xff\n\x00\r"),
        ];
        for (input, want) in cases {
            assert_eq!(from_net(input), *want, "{:?}", input);
            for chunk in 1..4 {
                for cap in 1..4 {
                    assert_eq!(
                        via_slices_from(input, chunk, cap),
                        *want,
                        "{input:?} {chunk} {cap}"
                    );
                }
            }
        }
    }

    #[test]
    fn cr_lf_split_across_chunks() {
        let mut c = ToNetwork::new();
        let mut out = Vec::new();
        c.convert(b"a\r", &mut out);
        c.convert(b"\nb", &mut out);
        assert_eq!(out, b"a\r\nb");

        let mut c = FromNetwork::new();
        let mut out = Vec::new();
        c.convert(b"a\r", &mut out);
        assert!(c.has_pending_cr());
        assert_eq!(out, b"a");
        c.convert(b"\nb\r", &mut out);
        assert_eq!(out, b"a\nb");
        c.convert(b"x", &mut out);
        assert_eq!(out, b"a\nb\rx");
        c.convert(b"\r", &mut out);
        c.convert(b"", &mut out);
        assert!(c.has_pending_cr());
        c.finish(&mut out);
        assert_eq!(out, b"a\nb\rx\r");
        assert!(!c.has_pending_cr());
    }

    #[test]
    fn empty_output_slice_makes_no_progress_and_no_harm() {
        let mut c = ToNetwork::new();
        assert_eq!(c.convert_slice(b"abc\n", &mut []), (0, 0));
        let mut c = FromNetwork::new();
        // The CR at the end needs no room yet: it is held back.
        assert_eq!(c.convert_slice(b"a\r", &mut [0u8; 1]), (2, 1));
        assert!(c.has_pending_cr());
        assert_eq!(c.convert_slice(b"\r", &mut []), (0, 0));
        assert_eq!(c.finish_slice(&mut []), 0);
        assert!(c.has_pending_cr());
        assert_eq!(c.finish_slice(&mut [0u8; 2]), 1);
        assert!(!c.has_pending_cr());
        assert_eq!(c.finish_slice(&mut [0u8; 2]), 0);
    }

    fn bytes_with_line_endings() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'a'), any::<u8>()],
            0..64,
        )
    }

    proptest! {
        #[test]
        fn to_network_any_chunking_matches_one_shot(
            input in bytes_with_line_endings(),
            mut cuts in proptest::collection::vec(0usize..64, 0..8),
        ) {
            cuts.sort_unstable();
            let got = chunked(&input, &cuts, ToNetwork::new(),
                |c, i, o| c.convert(i, o), |c, o| c.finish(o));
            prop_assert_eq!(got, to_net(&input));
        }

        #[test]
        fn from_network_any_chunking_matches_one_shot(
            input in bytes_with_line_endings(),
            mut cuts in proptest::collection::vec(0usize..64, 0..8),
        ) {
            cuts.sort_unstable();
            let got = chunked(&input, &cuts, FromNetwork::new(),
                |c, i, o| c.convert(i, o), |c, o| c.finish(o));
            prop_assert_eq!(got, from_net(&input));
        }

        #[test]
        fn slice_forms_match_buf_forms(
            input in bytes_with_line_endings(),
            chunk in 1usize..10,
            cap in 1usize..10,
        ) {
            prop_assert_eq!(via_slices_to(&input, chunk, cap), to_net(&input));
            prop_assert_eq!(via_slices_from(&input, chunk, cap), from_net(&input));
        }

        #[test]
        fn round_trip_without_cr(input in bytes_with_line_endings()) {
            let input: Vec<u8> = input.into_iter().filter(|&b| b != b'\r').collect();
            prop_assert_eq!(from_net(&to_net(&input)), input);
        }

        #[test]
        fn to_network_never_emits_bare_lf(input in bytes_with_line_endings()) {
            let out = to_net(&input);
            for (i, &b) in out.iter().enumerate() {
                if b == b'\n' {
                    prop_assert!(i > 0 && out[i - 1] == b'\r');
                }
            }
        }

        #[test]
        fn from_network_output_never_longer(input in bytes_with_line_endings()) {
            let out = from_net(&input);
            prop_assert!(out.len() <= input.len());
            let crlf = input.windows(2).filter(|w| *w == b"\r\n").count();
            prop_assert_eq!(out.len(), input.len() - crlf);
        }

        #[test]
        fn every_split_gives_same_output(input in bytes_with_line_endings()) {
            let to = to_net(&input);
            let from = from_net(&input);
            for split in 0..=input.len() {
                let (a, b) = input.split_at(split);
                let mut c = ToNetwork::new();
                let mut out = Vec::new();
                c.convert(a, &mut out);
                c.convert(b, &mut out);
                c.finish(&mut out);
                prop_assert_eq!(&out, &to);
                let mut c = FromNetwork::new();
                let mut out = Vec::new();
                c.convert(a, &mut out);
                c.convert(b, &mut out);
                c.finish(&mut out);
                prop_assert_eq!(&out, &from);
            }
        }
    }
}
