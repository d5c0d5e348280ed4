//! Shell-style wildcard matching over bytes, for downloads such as
//! `get 'ftp://host/dir/*.txt'`: the client lists the directory (`NLST`) and keeps the names
//! that match.
//!
//! | pattern | matches |
//! |---|---|
//! | `*` | any run of bytes, also none |
//! | `?` | exactly one byte |
//! | `[abc]`, `[a-z]` | one byte from the set (ranges by byte value) |
//! | `[!abc]`, `[^abc]` | one byte not in the set |
//! | `\x` | the byte `x` itself (also `\*`, `\?`, `\[`, `\\`) |
//!
//! Names are bytes, not text: `?` matches one byte, so one byte of a multi-byte UTF-8
//! character. As in the shell, a name starting with `.` is matched only by a pattern that
//! starts with a literal `.`. A `]` right after `[` (or `[!`) belongs to the set; a `[` with
//! no closing `]` is a literal `[`. Patterns cannot fail to compile.
//!
//! Matching takes at most `O(pattern × name)` steps (no exponential backtracking), whatever
//! the server sends.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// This byte.
    Literal(u8),
    /// `?`: any one byte.
    Any,
    /// `*`: any run of bytes.
    Star,
    /// `[...]`: one byte in (or, negated, not in) the inclusive ranges.
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
}

/// A compiled wildcard pattern; see the [module documentation](self) for the syntax.
///
/// ```
/// use ftp_client::glob::Pattern;
/// let p = Pattern::new(b"report-20[0-9][0-9]-??.csv");
/// assert!(p.matches(b"report-2024-01.csv"));
/// assert!(!p.matches(b"report-2024-1.csv"));
/// assert!(Pattern::new(b"*.txt").matches(b"caf\xe9.txt")); // not UTF-8: still a name
/// assert!(!Pattern::new(b"*").matches(b".hidden"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    /// Compiles `pattern`.
    pub fn new(pattern: &[u8]) -> Self {
        let mut tokens = Vec::with_capacity(pattern.len());
        let mut i = 0;
        while let Some(&b) = pattern.get(i) {
            i += 1;
            match b {
                b'*' => {
                    // `**` is the same as `*`.
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                b'?' => tokens.push(Token::Any),
                b'\\' => match pattern.get(i) {
                    Some(&next) => {
                        tokens.push(Token::Literal(next));
                        i += 1;
                    }
                    None => tokens.push(Token::Literal(b'\\')),
                },
                b'[' => match parse_class(&pattern[i..]) {
                    Some((token, used)) => {
                        tokens.push(token);
                        i += used;
                    }
                    None => tokens.push(Token::Literal(b'[')),
                },
                _ => tokens.push(Token::Literal(b)),
            }
        }
        Pattern { tokens }
    }

    /// A pattern that matches exactly `name` (no byte has a special meaning).
    pub fn literal(name: &[u8]) -> Self {
        Pattern {
            tokens: name.iter().map(|&b| Token::Literal(b)).collect(),
        }
    }

    /// Whether the pattern has any wildcard (`*`, `?` or a `[...]` set). A pattern without
    /// one matches only one name, which the caller can fetch without listing.
    pub fn has_wildcards(&self) -> bool {
        self.tokens.iter().any(|t| !matches!(t, Token::Literal(_)))
    }

    /// The name this pattern matches, if it has no wildcard (escapes removed).
    pub fn as_literal(&self) -> Option<Vec<u8>> {
        self.tokens
            .iter()
            .map(|t| match t {
                Token::Literal(b) => Some(*b),
                _ => None,
            })
            .collect()
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &[u8]) -> bool {
        if name.first() == Some(&b'.') && self.tokens.first() != Some(&Token::Literal(b'.')) {
            return false;
        }
        // Iterative matching with one backtrack point: the most recent `*`. Each `*` only
        // ever extends, so the work is bounded by pattern length × name length.
        let (mut p, mut n) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while n < name.len() {
            match self.tokens.get(p) {
                Some(Token::Star) => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                Some(t) if t.matches_byte(name[n]) => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
            match star {
                Some((sp, sn)) => {
                    // Let the last `*` swallow one more byte, then retry after it.
                    star = Some((sp, sn + 1));
                    p = sp + 1;
                    n = sn + 1;
                }
                None => return false,
            }
        }
        self.tokens[p..].iter().all(|t| *t == Token::Star)
    }
}

impl Token {
    fn matches_byte(&self, b: u8) -> bool {
        match self {
            Token::Literal(l) => *l == b,
            Token::Any => true,
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= b && b <= hi) != *negated
            }
        }
    }
}

/// Parses a set after its `[`: returns the token and the bytes used (through the `]`), or
/// `None` when there is no closing `]`.
fn parse_class(s: &[u8]) -> Option<(Token, usize)> {
    let mut i = 0;
    let negated = matches!(s.first(), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let mut b = *s.get(i)?;
        if b == b']' && !first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        first = false;
        i += 1;
        if b == b'\\' {
            b = *s.get(i)?;
            i += 1;
        }
        // A range `a-z`, unless the `-` is last in the set.
        if s.get(i) == Some(&b'-') && s.get(i + 1).is_some_and(|&c| c != b']') {
            let mut hi = *s.get(i + 1)?;
            i += 2;
            if hi == b'\\' {
                hi = *s.get(i)?;
                i += 1;
            }
            ranges.push((b.min(hi), b.max(hi)));
        } else {
            ranges.push((b, b));
        }
    }
}

/// Whether `bytes` holds an unescaped wildcard (`*`, `?` or `[`).
///
/// ```
/// use ftp_client::glob::has_wildcards;
/// assert!(has_wildcards(b"*.txt"));
/// assert!(!has_wildcards(b"\\*.txt"));
/// assert!(!has_wildcards(b"plain.txt"));
/// ```
pub fn has_wildcards(bytes: &[u8]) -> bool {
    Pattern::new(bytes).has_wildcards()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"", b"", true),
            (b"", b"a", false),
            (b"*", b"", true),
            (b"*", b"anything at all", true),
            (b"*", b".hidden", false),
            (b".*", b".hidden", true),
            (b"?hidden", b".hidden", false),
            (b"[.]hidden", b".hidden", false),
            (b"*.txt", b"a.txt", true),
            (b"*.txt", b".txt", false),
            (b"*.txt", b"a.txt.bak", false),
            (b"*.txt", b"a.TXT", false),
            (b"a*b*c", b"abc", true),
            (b"a*b*c", b"axxbyyc", true),
            (b"a*b*c", b"axxbyy", false),
            (b"a*b*c", b"abcbc", true),
            (b"a**b", b"ab", true),
            (b"*a", b"aaaa", true),
            (b"*ab", b"aab", true),
            (b"?", b"a", true),
            (b"?", b"", false),
            (b"?", b"ab", false),
            (b"??", b"\xc3\xa9", true),
            (b"?", b"\xc3\xa9", false),
            (b"caf?.txt", b"caf\xe9.txt", true),
            (b"[abc]", b"b", true),
            (b"[abc]", b"d", false),
            (b"[a-c]x", b"bx", true),
            (b"[c-a]x", b"bx", true),
            (b"[!a-c]", b"b", false),
            (b"[!a-c]", b"d", true),
            (b"[^a-c]", b"d", true),
            (b"[]]", b"]", true),
            (b"[!]]", b"]", false),
            (b"[!]]", b"a", true),
            (b"[a-]", b"-", true),
            (b"[a-]", b"a", true),
            (b"[\\]]", b"]", true),
            (b"[\\!a]", b"!", true),
            (b"[", b"[", true),
            (b"[ab", b"[ab", true),
            (b"a[", b"a[", true),
            (b"[]", b"[]", true),
            (b"\\*", b"*", true),
            (b"\\*", b"a", false),
            (b"\\?\\[\\\\", b"?[\\", true),
            (b"ab\\", b"ab\\", true),
            (b"[\x80-\xff]", b"\xe9", true),
            (b"[\x80-\xff]", b"e", false),
            (b"file-[0-9][0-9].log", b"file-07.log", true),
            (b"file-[0-9][0-9].log", b"file-7.log", false),
            (b"* *", b"a b", true),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(
                Pattern::new(pattern).matches(name),
                *want,
                "{:?} vs {:?}",
                String::from_utf8_lossy(pattern),
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn literal_and_wildcard_queries() {
        assert!(!Pattern::new(b"a\\*b").has_wildcards());
        assert_eq!(Pattern::new(b"a\\*b").as_literal(), Some(b"a*b".to_vec()));
        assert_eq!(Pattern::new(b"a*b").as_literal(), None);
        assert!(Pattern::new(b"[ab]").has_wildcards());
        assert!(!Pattern::new(b"[ab").has_wildcards());
        let lit = Pattern::literal(b"*?[");
        assert!(lit.matches(b"*?["));
        assert!(!lit.matches(b"x?["));
        assert!(!lit.has_wildcards());
    }

    #[test]
    fn hostile_inputs_stay_fast() {
        let pattern = Pattern::new(&b"*a".repeat(200));
        let name = vec![b'a'; 5000];
        assert!(pattern.matches(&name));
        let mut name = name;
        name.push(b'b');
        assert!(!pattern.matches(&name));
    }

    /// A straightforward recursive matcher for `*`, `?` and literals, to check the fast one.
    fn reference(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| reference(rest, &n[i..])),
            Some((b'?', rest)) => !n.is_empty() && reference(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && reference(rest, &n[1..]),
        }
    }

    proptest! {
        #[test]
        fn agrees_with_reference(
            pattern in proptest::collection::vec(prop::sample::select(&b"ab*?"[..]), 0..8),
            name in proptest::collection::vec(prop::sample::select(&b"abc"[..]), 0..10),
        ) {
            prop_assert_eq!(Pattern::new(&pattern).matches(&name), reference(&pattern, &name));
        }

        #[test]
        fn literal_matches_itself(name in proptest::collection::vec(any::<u8>(), 0..20)) {
            prop_assume!(name.first() != Some(&b'.'));
            prop_assert!(Pattern::literal(&name).matches(&name));
            let mut escaped = Vec::new();
            for &b in &name {
                if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
                    escaped.push(b'\\');
                }
                escaped.push(b);
            }
            prop_assert!(Pattern::new(&escaped).matches(&name));
            prop_assert_eq!(Pattern::new(&escaped).as_literal(), Some(name.clone()));
        }
    }
}
