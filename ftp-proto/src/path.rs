//! Virtual paths: what a command's path argument names, resolved against the current directory.
//!
//! An FTP server shows each user a virtual tree rooted at `/`. A [`VirtualPath`] is an absolute,
//! normalised path in that tree, as bytes (RFC 2640 §3.2: file names need not be UTF-8):
//!
//! - it always starts with `/`;
//! - it never contains an empty, `.` or `..` segment, so it cannot climb above the root
//!   (`..` at the root stays at the root, as in Unix `/..`);
//! - repeated slashes collapse into one, and there is no trailing slash except for the root itself;
//! - the backslash `\` is an ordinary byte, **not** a separator: `a\..\b` is one segment named
//!   `a\..\b`. A storage backend on a platform where `\` separates paths (Windows) must refuse
//!   such names (for example with an invalid-name error) instead of passing them to the OS;
//! - NUL is refused ([`PathError::Nul`]): no operating system accepts it in a name, and a C API
//!   would silently truncate the path at it. CR and LF are kept (RFC 2640 allows them in names);
//!   the reply encoder neutralises them when a path is echoed on the control connection;
//! - the length is capped at [`MAX_PATH_LEN`] bytes ([`PathError::TooLong`]), so repeated `CWD`
//!   cannot grow the current directory without bound.
//!
//! Mapping a virtual path onto a real file system (and refusing symbolic links that point
//! outside the user's root) is the storage backend's job; the guarantee here is only that the
//! path itself never names anything above `/`.
//!
//! ```
//! use ftp_proto::path::VirtualPath;
//! let cwd = VirtualPath::new(b"/pub/linux").unwrap();
//! assert_eq!(cwd.resolve(b"../docs//./a.txt").unwrap().as_bytes(), b"/pub/docs/a.txt");
//! assert_eq!(cwd.resolve(b"/../../etc/passwd").unwrap().as_bytes(), b"/etc/passwd");
//! assert_eq!(cwd.resolve(b"").unwrap(), cwd);
//! ```

use bytes::Bytes;
use std::fmt;

/// The longest virtual path accepted, in bytes (Linux `PATH_MAX`).
pub const MAX_PATH_LEN: usize = 4096;

/// Why a path argument cannot name anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The argument contains a NUL byte.
    #[error("path contains a NUL byte")]
    Nul,
    /// The resolved path is longer than [`MAX_PATH_LEN`].
    #[error("path longer than {MAX_PATH_LEN} bytes")]
    TooLong,
}

/// An absolute, normalised path in the virtual tree a session shows its user.
///
/// See the [module documentation](self) for the invariants. The `Debug` and `Display` forms show
/// the bytes with non-printable bytes escaped.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VirtualPath(Bytes);

impl Default for VirtualPath {
    fn default() -> Self {
        Self::root()
    }
}

impl VirtualPath {
    /// The root `/`.
    pub fn root() -> Self {
        VirtualPath(Bytes::from_static(b"/"))
    }

    /// Normalises `path` as if resolved from the root: a relative path is taken from `/`.
    ///
    /// ```
    /// use ftp_proto::path::VirtualPath;
    /// assert_eq!(VirtualPath::new(b"home//ftp/./x/..").unwrap().as_bytes(), b"/home/ftp");
    /// assert_eq!(VirtualPath::new(b"..").unwrap().as_bytes(), b"/");
    /// ```
    pub fn new(path: &[u8]) -> Result<Self, PathError> {
        Self::root().resolve(path)
    }

    /// Resolves a command's path argument against `self` (the current directory).
    ///
    /// An argument starting with `/` is absolute; anything else is relative to `self`. An
    /// empty argument names `self`. RFC 959 §3.2 leaves the pathname syntax to the server;
    /// this is the Unix syntax every common client assumes.
    ///
    /// ```
    /// use ftp_proto::path::{PathError, VirtualPath};
    /// let cwd = VirtualPath::new(b"/a/b").unwrap();
    /// assert_eq!(cwd.resolve(b"c").unwrap().as_bytes(), b"/a/b/c");
    /// assert_eq!(cwd.resolve(b"../../../..").unwrap().as_bytes(), b"/");
    /// assert_eq!(cwd.resolve(b"x\\..\\y").unwrap().as_bytes(), b"/a/b/x\\..\\y");
    /// assert_eq!(cwd.resolve(b"a\0b"), Err(PathError::Nul));
    /// ```
    pub fn resolve(&self, arg: &[u8]) -> Result<Self, PathError> {
        if memchr::memchr(0, arg).is_some() {
            return Err(PathError::Nul);
        }
        let mut out: Vec<u8> = Vec::with_capacity(self.0.len() + arg.len() + 1);
        if !arg.starts_with(b"/") {
            // `self` is already normalised: copy it without its trailing slash (the root's).
            out.extend_from_slice(self.0.strip_suffix(b"/").unwrap_or(&self.0));
        }
        for seg in arg.split(|&b| b == b'/') {
            match seg {
                b"" | b"." => {}
                b".." => {
                    let cut = memchr::memrchr(b'/', &out).unwrap_or(0);
                    out.truncate(cut);
                }
                _ => {
                    out.push(b'/');
                    out.extend_from_slice(seg);
                }
            }
        }
        if out.is_empty() {
            out.push(b'/');
        }
        if out.len() > MAX_PATH_LEN {
            return Err(PathError::TooLong);
        }
        Ok(VirtualPath(Bytes::from(out)))
    }

    /// Appends one file name (an entry of this directory).
    ///
    /// The name is taken as a single segment: a name that is empty, `.`, `..` or contains `/`
    /// or NUL is refused with `None`, so a listing entry can never escape its directory.
    ///
    /// ```
    /// use ftp_proto::path::VirtualPath;
    /// let dir = VirtualPath::new(b"/pub").unwrap();
    /// assert_eq!(dir.join(b"a b").unwrap().as_bytes(), b"/pub/a b");
    /// assert!(dir.join(b"..").is_none());
    /// assert!(dir.join(b"x/y").is_none());
    /// ```
    pub fn join(&self, name: &[u8]) -> Option<Self> {
        if matches!(name, b"" | b"." | b"..") || name.iter().any(|&b| b == b'/' || b == 0) {
            return None;
        }
        self.resolve(name).ok()
    }

    /// The parent directory; the root is its own parent.
    ///
    /// ```
    /// use ftp_proto::path::VirtualPath;
    /// assert_eq!(VirtualPath::new(b"/a/b").unwrap().parent().as_bytes(), b"/a");
    /// assert_eq!(VirtualPath::root().parent().as_bytes(), b"/");
    /// ```
    pub fn parent(&self) -> Self {
        match memchr::memrchr(b'/', &self.0) {
            Some(0) | None => Self::root(),
            Some(i) => VirtualPath(self.0.slice(..i)),
        }
    }

    /// The last segment, or `None` for the root.
    pub fn file_name(&self) -> Option<&[u8]> {
        let i = memchr::memrchr(b'/', &self.0)?;
        self.0.get(i + 1..).filter(|n| !n.is_empty())
    }

    /// Whether this is the root `/`.
    pub fn is_root(&self) -> bool {
        self.0.as_ref() == b"/"
    }

    /// Whether `self` is `base` or lies below it (segment by segment: `/ab` is not below `/a`).
    ///
    /// ```
    /// use ftp_proto::path::VirtualPath;
    /// let a = VirtualPath::new(b"/a").unwrap();
    /// assert!(VirtualPath::new(b"/a/b").unwrap().starts_with(&a));
    /// assert!(!VirtualPath::new(b"/ab").unwrap().starts_with(&a));
    /// assert!(a.starts_with(&VirtualPath::root()));
    /// ```
    pub fn starts_with(&self, base: &VirtualPath) -> bool {
        if base.is_root() {
            return true;
        }
        match self.0.strip_prefix(base.as_bytes()) {
            Some(rest) => rest.is_empty() || rest.starts_with(b"/"),
            None => false,
        }
    }

    /// The segments after the root, in order (none for the root).
    pub fn segments(&self) -> impl Iterator<Item = &[u8]> {
        self.0.split(|&b| b == b'/').filter(|s| !s.is_empty())
    }

    /// The path as bytes, starting with `/`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The path as shared bytes (cheap to clone).
    pub fn to_bytes(&self) -> Bytes {
        self.0.clone()
    }
}

impl AsRef<[u8]> for VirtualPath {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.escape_ascii())
    }
}

impl fmt::Debug for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtualPath(\"{}\")", self.0.escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"/", b"", b"/"),
            (b"/", b"/", b"/"),
            (b"/", b"..", b"/"),
            (b"/", b"../..", b"/"),
            (b"/", b"a", b"/a"),
            (b"/a", b"b/", b"/a/b"),
            (b"/a", b"//b//c//", b"/b/c"),
            (b"/a/b", b"..", b"/a"),
            (b"/a/b", b"../..", b"/"),
            (b"/a/b", b"../../../x", b"/x"),
            (b"/a/b", b"./././", b"/a/b"),
            (b"/a/b", b"...", b"/a/b/..."),
            (b"/a/b", b"..x", b"/a/b/..x"),
            (b"/a", b"\\..\\..", b"/a/\\..\\.."),
            (b"/a", b"c:\\windows", b"/a/c:\\windows"),
            (b"/a", b"sp ace/ ", b"/a/sp ace/ "),
            (b"/a", b"\xff\xfe", b"/a/\xff\xfe"),
            (b"/a", b"x\r\ny", b"/a/x\r\ny"),
        ];
        for (cwd, arg, want) in cases {
            let cwd = VirtualPath::new(cwd).unwrap();
            let got = cwd.resolve(arg).unwrap();
            assert_eq!(got.as_bytes(), *want, "{cwd:?} + {:?}", arg.escape_ascii());
        }
    }

    #[test]
    fn errors_and_helpers() {
        let root = VirtualPath::root();
        assert_eq!(root.resolve(b"a\0"), Err(PathError::Nul));
        let long = vec![b'x'; MAX_PATH_LEN];
        assert_eq!(root.resolve(&long), Err(PathError::TooLong));
        assert!(root.resolve(&long[1..]).is_ok());
        let p = VirtualPath::new(b"/a/b/c").unwrap();
        assert_eq!(p.file_name(), Some(&b"c"[..]));
        assert_eq!(root.file_name(), None);
        assert_eq!(
            p.segments().collect::<Vec<_>>(),
            vec![&b"a"[..], b"b", b"c"]
        );
        assert_eq!(root.segments().count(), 0);
        assert!(root.is_root());
        assert_eq!(p.to_string(), "/a/b/c");
        assert!(root.join(b"a\0").is_none());
        assert!(root.join(b".").is_none());
    }

    fn segment() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"..".to_vec()),
            Just(b".".to_vec()),
            Just(Vec::new()),
            Just(b"\\..".to_vec()),
            proptest::collection::vec(1u8..=255, 1..6),
        ]
    }

    fn arg() -> impl Strategy<Value = Vec<u8>> {
        (any::<bool>(), proptest::collection::vec(segment(), 0..10)).prop_map(|(abs, segs)| {
            let mut v = if abs { b"/".to_vec() } else { Vec::new() };
            v.extend(segs.join(&b'/'));
            v
        })
    }

    proptest! {
        #[test]
        fn normalised(cwd in arg(), a in arg()) {
            let cwd = VirtualPath::new(&cwd).unwrap();
            let p = cwd.resolve(&a).unwrap();
            let b = p.as_bytes();
            prop_assert!(b.starts_with(b"/"));
            prop_assert!(b == b"/" || !b.ends_with(b"/"));
            for seg in b.split(|&c| c == b'/').skip(1) {
                prop_assert!(seg != b".." && seg != b".");
                prop_assert!(!seg.is_empty() || b == b"/");
            }
            // Normalising is idempotent, and a relative argument never climbs above the root.
            prop_assert_eq!(VirtualPath::new(b).unwrap(), p.clone());
            prop_assert_eq!(p.parent().resolve(p.file_name().unwrap_or(b"")).unwrap(), p.clone());
        }

        #[test]
        fn any_bytes(cwd in proptest::collection::vec(any::<u8>(), 0..64),
                     a in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(cwd) = VirtualPath::new(&cwd) {
                if let Ok(p) = cwd.resolve(&a) {
                    prop_assert!(p.as_bytes().starts_with(b"/"));
                    prop_assert!(p.segments().all(|s| s != b".." && s != b"."));
                }
            }
        }
    }
}
