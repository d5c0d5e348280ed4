//! Where files live: the async, streaming [`Storage`] trait and its implementations.
//!
//! # Paths
//!
//! Every path handed to a [`Storage`] is a *virtual* path: bytes (file names need not be UTF-8),
//! absolute (starting with `/`, the root of the storage), already normalised by `ftp-proto` (no
//! `.` or `..` segments). Implementations still defend themselves: [`split_path`] refuses `..`
//! with [`PermissionDenied`](io::ErrorKind::PermissionDenied), a relative path with
//! [`InvalidInput`](io::ErrorKind::InvalidInput) and a NUL byte with
//! [`InvalidFilename`](io::ErrorKind::InvalidFilename).
//!
//! # Errors
//!
//! Every operation fails with a [`std::io::Error`] whose [`ErrorKind`](io::ErrorKind) tells the
//! protocol layer which reply to send: `NotFound`, `PermissionDenied`, `AlreadyExists`,
//! `NotADirectory`, `IsADirectory`, `DirectoryNotEmpty`, `InvalidFilename`, `InvalidInput` (an
//! offset past the end of a file), `StorageFull` (452), `QuotaExceeded` (552). Error messages
//! never contain real file-system paths.
//!
//! # Uploads never lose data
//!
//! [`WriteMode::Replace`] (STOR) writes into a temporary file beside the target and only
//! [`Upload::commit`] moves it into place, atomically; an upload that is dropped or
//! [aborted](Upload::abort) leaves the previous version of the file untouched.
//! [`WriteMode::Append`] (APPE), [`WriteMode::Resume`] (REST + STOR) and [`WriteMode::Unique`]
//! (STOU) write to the target directly: the data already there is kept, and the bytes of an
//! interrupted transfer stay, so the client can resume it.

use std::fmt;
use std::future::Future;
use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};

#[cfg(unix)]
mod fs;
mod memory;
#[cfg(test)]
mod suite;

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use fs::{FsStorage, FsUpload};
pub use memory::{MemoryStorage, MemoryUpload};

/// The default cap on the number of entries one [`Storage::list`] call returns.
///
/// A listing is collected in memory, so it is bounded: a directory with more entries fails with
/// [`ErrorKind::Other`](io::ErrorKind::Other) rather than exhausting memory.
pub const DEFAULT_MAX_LIST_ENTRIES: usize = 100_000;

/// An async file store addressed by virtual paths.
///
/// Methods return futures that are `Send`, so a server can run each session on a multi-threaded
/// runtime. See the [module documentation](self) for the path rules, the error kinds and the
/// upload guarantees.
///
/// # Examples
///
/// ```
/// use ftp_server::storage::{MemoryStorage, Storage, Upload, WriteMode};
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
///
/// # futures_lite::future::block_on(async {
/// let storage = MemoryStorage::new();
/// storage.make_dir(b"/pub").await?;
///
/// let mut upload = storage.write(b"/pub/hello.txt", WriteMode::Replace).await?;
/// upload.write_all(b"hello, world\n").await?;
/// upload.commit().await?;
///
/// let mut text = Vec::new();
/// storage
///     .read(b"/pub/hello.txt", 7)
///     .await?
///     .into_async_read()
///     .read_to_end(&mut text)
///     .await?;
/// assert_eq!(text, b"world\n");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub trait Storage: Send + Sync + 'static {
    /// The handle [`Storage::write`] returns.
    type Upload: Upload;

    /// Describes the file or directory at `path`.
    ///
    /// A symbolic link is followed; [`Metadata::symlink_target`] then tells that the path is a
    /// link, and a link that cannot be followed is reported as [`FileKind::Symlink`].
    fn metadata(&self, path: &[u8]) -> impl Future<Output = io::Result<Metadata>> + Send;

    /// Lists the directory at `path`, sorted by name, without `.` and `..`.
    ///
    /// The entries are collected in memory: implementations cap their number (see
    /// [`DEFAULT_MAX_LIST_ENTRIES`]) and fail with [`ErrorKind::Other`](io::ErrorKind::Other)
    /// past the cap.
    fn list(&self, path: &[u8]) -> impl Future<Output = io::Result<Vec<DirEntry>>> + Send;

    /// Creates the directory `path` (MKD); its parent must exist.
    fn make_dir(&self, path: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Removes the empty directory `path` (RMD).
    fn remove_dir(&self, path: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Deletes the file `path` (DELE); a symbolic link is removed, not its target.
    fn delete(&self, path: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Renames `from` to `to` (RNFR + RNTO), replacing a file already at `to`.
    fn rename(&self, from: &[u8], to: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Sets the modification time of `path` (MFMT, `SITE UTIME`).
    fn set_modified(
        &self,
        path: &[u8],
        modified: Timestamp,
    ) -> impl Future<Output = io::Result<()>> + Send;

    /// Opens the file `path` for reading from byte `offset` (RETR, after REST).
    ///
    /// An offset past the end of the file fails with
    /// [`InvalidInput`](io::ErrorKind::InvalidInput); an offset equal to the length gives an
    /// empty stream.
    fn read(&self, path: &[u8], offset: u64)
        -> impl Future<Output = io::Result<ReadSource>> + Send;

    /// Opens the file `path` for writing (STOR, APPE, REST + STOR, STOU).
    ///
    /// Nothing becomes final before [`Upload::commit`]; see [`WriteMode`] for what each mode
    /// does with the data already there.
    fn write(
        &self,
        path: &[u8],
        mode: WriteMode,
    ) -> impl Future<Output = io::Result<Self::Upload>> + Send;
}

impl<S: Storage> Storage for std::sync::Arc<S> {
    type Upload = S::Upload;

    fn metadata(&self, path: &[u8]) -> impl Future<Output = io::Result<Metadata>> + Send {
        (**self).metadata(path)
    }

    fn list(&self, path: &[u8]) -> impl Future<Output = io::Result<Vec<DirEntry>>> + Send {
        (**self).list(path)
    }

    fn make_dir(&self, path: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        (**self).make_dir(path)
    }

    fn remove_dir(&self, path: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        (**self).remove_dir(path)
    }

    fn delete(&self, path: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        (**self).delete(path)
    }

    fn rename(&self, from: &[u8], to: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        (**self).rename(from, to)
    }

    fn set_modified(
        &self,
        path: &[u8],
        modified: Timestamp,
    ) -> impl Future<Output = io::Result<()>> + Send {
        (**self).set_modified(path, modified)
    }

    fn read(
        &self,
        path: &[u8],
        offset: u64,
    ) -> impl Future<Output = io::Result<ReadSource>> + Send {
        (**self).read(path, offset)
    }

    fn write(
        &self,
        path: &[u8],
        mode: WriteMode,
    ) -> impl Future<Output = io::Result<Self::Upload>> + Send {
        (**self).write(path, mode)
    }
}

/// How [`Storage::write`] treats the file already at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteMode {
    /// Create the file or replace it (STOR). The bytes go to a temporary file that
    /// [`Upload::commit`] renames over the target, so the previous version survives an
    /// interrupted upload.
    Replace,
    /// Add to the end of the file, creating it if needed (APPE). Written in place.
    Append,
    /// Write from this byte offset (REST + STOR): the file is cut to `offset` bytes, then
    /// written in place. The offset must not exceed the current length
    /// ([`InvalidInput`](io::ErrorKind::InvalidInput) otherwise); a missing file is created
    /// when the offset is 0.
    Resume(u64),
    /// Create a new file under a name not yet taken (STOU). The last segment of the path is the
    /// suggested name; when it is taken, `.1`, `.2`, ... are appended. The chosen path is
    /// [`Upload::path`]. Written in place.
    Unique,
}

/// The handle of a file being written; bytes go in through [`AsyncWrite`].
///
/// Call [`commit`](Upload::commit) once the transfer has completed. Dropping the handle, or
/// calling [`abort`](Upload::abort), discards a [`WriteMode::Replace`] upload and keeps the
/// previous file; for the in-place modes the bytes written so far stay.
pub trait Upload: AsyncWrite + Send + Unpin + 'static {
    /// The virtual path the data goes to (for [`WriteMode::Unique`], the name that was chosen:
    /// the `150 FILE: name` of RFC 1123).
    fn path(&self) -> &[u8];

    /// Flushes the data to stable storage and makes it visible under [`Upload::path`].
    fn commit(self) -> impl Future<Output = io::Result<()>> + Send;

    /// Ends the upload without committing it (the same as dropping it, but the clean-up is
    /// finished when the future completes).
    fn abort(self) -> impl Future<Output = io::Result<()>> + Send;

    /// The open file the upload writes to, when the bytes may be written to it directly
    /// (blocking `write`, `splice`) instead of through [`AsyncWrite`]; `None` (the default)
    /// when they must go through [`AsyncWrite`].
    ///
    /// The file is positioned where the next byte belongs (opened for appending for
    /// [`WriteMode::Append`]). Bytes written to it, or to a duplicate of its descriptor
    /// ([`File::try_clone`](std::fs::File::try_clone)), are part of the upload exactly as if
    /// they had gone through [`AsyncWrite`]: [`commit`](Upload::commit) is still what makes a
    /// [`WriteMode::Replace`] upload visible, and dropping the handle still discards it. Once
    /// bytes went through [`AsyncWrite`], an implementation that buffers them returns `None`,
    /// so the two are never interleaved out of order.
    fn direct_file(&self) -> Option<&std::fs::File> {
        None
    }
}

/// An open file to send, as [`Storage::read`] returns it.
#[non_exhaustive]
pub enum ReadSource {
    /// A file on disk, already positioned at the requested offset. An adapter can send it with
    /// zero-copy system calls (`sendfile`, `splice`) when the data connection is plain TCP, or
    /// turn it into a stream with [`ReadSource::into_async_read`].
    File(std::fs::File),
    /// Any other byte stream, starting at the requested offset.
    Stream(Box<dyn AsyncRead + Send + Unpin>),
}

impl ReadSource {
    /// Turns the source into a byte stream; a [`ReadSource::File`] is read on the blocking
    /// thread pool.
    ///
    /// ```
    /// use ftp_server::storage::ReadSource;
    /// use futures_lite::AsyncReadExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let source = ReadSource::Stream(Box::new(futures_lite::io::Cursor::new(b"abc".to_vec())));
    /// let mut out = Vec::new();
    /// source.into_async_read().read_to_end(&mut out).await?;
    /// assert_eq!(out, b"abc");
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub fn into_async_read(self) -> Box<dyn AsyncRead + Send + Unpin> {
        match self {
            // A small pipe: one per transfer, and the kernel's read-ahead does the rest.
            ReadSource::File(file) => Box::new(blocking::Unblock::with_capacity(64 * 1024, file)),
            ReadSource::Stream(stream) => stream,
        }
    }
}

impl fmt::Debug for ReadSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadSource::File(file) => f.debug_tuple("File").field(file).finish(),
            ReadSource::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link that cannot be followed: dangling, or leading outside the storage root.
    Symlink,
    /// Anything else (device, FIFO, socket): listed, never opened.
    Other,
}

/// A point in time as seconds and nanoseconds since the Unix epoch (UTC).
///
/// ```
/// use ftp_server::storage::Timestamp;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let t = Timestamp::new(1_700_000_000, 5);
/// assert_eq!(t.to_system_time(), UNIX_EPOCH + Duration::new(1_700_000_000, 5));
/// assert_eq!(Timestamp::from(t.to_system_time()), t);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before).
    pub secs: i64,
    /// Nanoseconds within the second, below 1,000,000,000.
    pub nanos: u32,
}

impl Timestamp {
    /// A timestamp from seconds and nanoseconds since the epoch; nanoseconds past a second
    /// are carried into the seconds.
    pub fn new(secs: i64, nanos: u32) -> Self {
        Timestamp {
            secs: secs.saturating_add(i64::from(nanos / 1_000_000_000)),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// The same instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let nanos = Duration::from_nanos(u64::from(self.nanos));
        if self.secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(self.secs.unsigned_abs()) + nanos
        } else {
            UNIX_EPOCH - Duration::from_secs(self.secs.unsigned_abs()) + nanos
        }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        match time.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp::new(
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            Err(e) => {
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                if d.subsec_nanos() == 0 {
                    Timestamp::new(-secs, 0)
                } else {
                    Timestamp::new(-secs - 1, 1_000_000_000 - d.subsec_nanos())
                }
            }
        }
    }
}

/// What [`Storage::metadata`] and [`Storage::list`] tell about a path.
///
/// Build one with [`Metadata::new`] and set the optional fields.
///
/// ```
/// use ftp_server::storage::{FileKind, Metadata, Timestamp};
///
/// let mut meta = Metadata::new(FileKind::File, 5_000_000_000);
/// meta.modified = Some(Timestamp::new(1_700_000_000, 0));
/// meta.permissions = 0o640;
/// assert!(meta.is_file());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// What the path names (after following a symbolic link).
    pub kind: FileKind,
    /// The size in bytes.
    pub len: u64,
    /// The last modification time, if known.
    pub modified: Option<Timestamp>,
    /// Unix permission bits (`0o7777` at most), as `ls -l` and MLSD's `UNIX.mode` show them.
    pub permissions: u32,
    /// The owner's name, if known ([`FsStorage`] gives the numeric user id).
    pub owner: Option<Bytes>,
    /// The group's name, if known ([`FsStorage`] gives the numeric group id).
    pub group: Option<Bytes>,
    /// The link's target when the path is a symbolic link (`None` otherwise). An absolute
    /// target inside the storage is given as a virtual path; one that would reveal a path
    /// outside the storage is given as empty bytes.
    pub symlink_target: Option<Bytes>,
}

impl Metadata {
    /// Metadata with the given kind and length; permissions `0o644` for files and `0o755`
    /// otherwise, no time, owner, group or link target.
    pub fn new(kind: FileKind, len: u64) -> Self {
        Metadata {
            kind,
            len,
            modified: None,
            permissions: if kind == FileKind::File { 0o644 } else { 0o755 },
            owner: None,
            group: None,
            symlink_target: None,
        }
    }

    /// Whether the path is a regular file.
    pub fn is_file(&self) -> bool {
        self.kind == FileKind::File
    }

    /// Whether the path is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == FileKind::Dir
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirEntry {
    /// The file name, as bytes (not necessarily UTF-8; never contains `/` or NUL).
    pub name: Bytes,
    /// What the entry is.
    pub metadata: Metadata,
}

impl DirEntry {
    /// An entry with this name and metadata.
    pub fn new(name: impl Into<Bytes>, metadata: Metadata) -> Self {
        DirEntry {
            name: name.into(),
            metadata,
        }
    }
}

/// Splits a virtual path into its segments, checking the rules every [`Storage`] enforces.
///
/// Empty and `.` segments are skipped; the root `/` gives no segment.
///
/// # Errors
///
/// [`InvalidInput`](io::ErrorKind::InvalidInput) when the path does not start with `/`,
/// [`PermissionDenied`](io::ErrorKind::PermissionDenied) for a `..` segment,
/// [`InvalidFilename`](io::ErrorKind::InvalidFilename) for a NUL byte.
///
/// ```
/// use ftp_server::storage::split_path;
/// use std::io::ErrorKind;
///
/// assert_eq!(split_path(b"/pub/./a b//c").unwrap(), [&b"pub"[..], b"a b", b"c"]);
/// assert!(split_path(b"/").unwrap().is_empty());
/// assert_eq!(split_path(b"/../etc/passwd").unwrap_err().kind(), ErrorKind::PermissionDenied);
/// assert_eq!(split_path(b"etc").unwrap_err().kind(), ErrorKind::InvalidInput);
/// ```
pub fn split_path(path: &[u8]) -> io::Result<Vec<&[u8]>> {
    if path.first() != Some(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path is not absolute",
        ));
    }
    if path.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidFilename,
            "path contains a NUL byte",
        ));
    }
    let mut segments = Vec::new();
    for segment in path.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "path leads outside the root",
                ))
            }
            s => segments.push(s),
        }
    }
    Ok(segments)
}

/// Joins segments back into a normalised virtual path.
fn join_path<S: AsRef<[u8]>>(segments: &[S]) -> Vec<u8> {
    let mut path = Vec::new();
    for s in segments {
        path.push(b'/');
        path.extend_from_slice(s.as_ref());
    }
    if path.is_empty() {
        path.push(b'/');
    }
    path
}

/// The name [`WriteMode::Unique`] tries after `base` was taken `n` times.
fn unique_candidate(base: &[u8], n: u32) -> Vec<u8> {
    let mut name = base.to_vec();
    if n > 0 {
        name.extend_from_slice(format!(".{n}").as_bytes());
    }
    name
}

/// How many names [`WriteMode::Unique`] tries before giving up with `AlreadyExists`.
const UNIQUE_ATTEMPTS: u32 = 1000;

fn too_many_entries() -> io::Error {
    io::Error::other("directory has too many entries to list")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_before_the_epoch() {
        let t = Timestamp::from(UNIX_EPOCH - Duration::from_millis(1_500));
        assert_eq!(t, Timestamp::new(-2, 500_000_000));
        assert_eq!(
            t.to_system_time(),
            UNIX_EPOCH - Duration::from_millis(1_500)
        );
        assert_eq!(Timestamp::new(1, 2_000_000_001), Timestamp::new(3, 1));
    }
}
