//! [`MlstFacts`]: which RFC 3659 facts `MLST` and `MLSD` report (`OPTS MLST`).

use std::fmt;

use crate::listing::Entry;

/// A selection of the MLSx facts this server supports (RFC 3659 §7.9).
///
/// The supported facts are those [`format_mlsx_line`](crate::listing::format_mlsx_line)
/// writes from typed [`Entry`] fields: `type`, `size`, `modify`, `unix.mode`, `unix.owner`,
/// `unix.group`. All are selected until the client sends `OPTS MLST`.
///
/// ```
/// use ftp_proto::server::MlstFacts;
/// // RFC 3659 §7.9: OPTS MLST type;size; selects; unknown names are ignored.
/// let f = MlstFacts::parse_selection(b"Type;size;perm;");
/// assert_eq!(f.to_string(), "type;size;");
/// assert_eq!(MlstFacts::default().feat_line(), "type*;size*;modify*;unix.mode*;unix.owner*;unix.group*;");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MlstFacts(u8);

const NAMES: [&str; 6] = [
    "type",
    "size",
    "modify",
    "unix.mode",
    "unix.owner",
    "unix.group",
];

impl Default for MlstFacts {
    fn default() -> Self {
        MlstFacts((1 << NAMES.len()) - 1)
    }
}

impl MlstFacts {
    /// Reads the argument of `OPTS MLST`: fact names each followed by `;`, any letter case.
    /// Unknown names are ignored; an empty argument selects no fact.
    pub fn parse_selection(arg: &[u8]) -> Self {
        let mut bits = 0u8;
        for name in arg.split(|&b| b == b';') {
            if let Some(i) = NAMES
                .iter()
                .position(|n| n.as_bytes().eq_ignore_ascii_case(name))
            {
                bits |= 1 << i;
            }
        }
        MlstFacts(bits)
    }

    fn has(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }

    /// The `FEAT` line's value: every supported fact, selected ones marked with `*`.
    pub fn feat_line(self) -> String {
        NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{n}{};", if self.has(i) { "*" } else { "" }))
            .collect()
    }

    /// Clears the fields of `entry` that report facts not selected, and every fact outside
    /// the supported set, so [`format_mlsx_line`](crate::listing::format_mlsx_line) writes
    /// exactly the selection.
    pub fn apply(self, entry: &mut Entry) {
        if !self.has(0) {
            entry.kind = crate::listing::EntryKind::Other(bytes::Bytes::new());
        }
        if !self.has(1) {
            entry.size = None;
        }
        if !self.has(2) {
            entry.modified = None;
        }
        if !self.has(3) {
            entry.permissions = None;
        }
        if !self.has(4) {
            entry.owner = None;
        }
        if !self.has(5) {
            entry.group = None;
        }
        entry.facts.clear();
    }
}

/// The selected facts, each followed by `;` (the text of the `OPTS MLST` reply).
impl fmt::Display for MlstFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in NAMES.iter().enumerate() {
            if self.has(i) {
                write!(f, "{n};")?;
            }
        }
        Ok(())
    }
}
