//! [`FsStorage`]: a directory on disk, every path jailed under it (Unix only).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use blocking::{unblock, Unblock};
use bytes::Bytes;
use futures_io::AsyncWrite;
use futures_lite::AsyncWriteExt;

use super::{
    join_path, split_path, too_many_entries, unique_candidate, DirEntry, FileKind, Metadata,
    ReadSource, Storage, Timestamp, Upload, WriteMode, DEFAULT_MAX_LIST_ENTRIES, UNIQUE_ATTEMPTS,
};

/// The capacity of the pipe between an upload and the blocking thread that writes it.
const UPLOAD_PIPE: usize = 256 * 1024;

/// A [`Storage`] on the local file system, jailed under a root directory.
///
/// # The jail
///
/// Virtual paths are resolved under the root: `/` is the root itself, and `..` is refused
/// before any file-system call. Symbolic links are allowed as long as they resolve inside the
/// root: the directory holding the last segment is canonicalised (every link in it resolved)
/// and must lie under the canonical root; when an operation follows the last segment (reading,
/// listing, metadata, appending), the whole path is canonicalised and checked the same way. A
/// link leading outside is refused with
/// [`PermissionDenied`](io::ErrorKind::PermissionDenied), and is listed as
/// [`FileKind::Symlink`] without its target. Non-regular files (FIFOs, devices) are never
/// opened.
///
/// **Race window**: the check and the operation are separate system calls. Someone with write
/// access to the tree through another channel (a local user; FTP itself has no command that
/// creates links) could swap a checked directory for a link between the two. Serve trees that
/// only the server and trusted users can modify.
///
/// # Uploads
///
/// [`WriteMode::Replace`] writes to a hidden temporary file beside the target,
/// `.NAME.ftp-upload-RANDOM` (or `.ftp-upload-RANDOM` for very long names), created with the
/// previous file's permissions. [`Upload::commit`] calls `fsync` and then `rename`, which is
/// atomic; a dropped upload removes the temporary file in the background. A temporary file left
/// by a crash of the whole process stays and can be removed by hand.
///
/// # Errors
///
/// Errors keep their [`ErrorKind`](io::ErrorKind) (`ENOSPC` is
/// [`StorageFull`](io::ErrorKind::StorageFull), `EDQUOT` is
/// [`QuotaExceeded`](io::ErrorKind::QuotaExceeded)) but carry no path, so the location of the
/// root never reaches a client.
///
/// # Examples
///
/// ```
/// use ftp_server::storage::{FsStorage, Storage};
///
/// # futures_lite::future::block_on(async {
/// let dir = tempfile::tempdir()?;
/// let storage = FsStorage::new(dir.path())?;
/// storage.make_dir(b"/incoming").await?;
/// assert!(storage.metadata(b"/incoming").await?.is_dir());
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FsStorage {
    jail: Arc<Jail>,
}

#[derive(Debug)]
struct Jail {
    /// The canonical root directory.
    root: PathBuf,
    max_list_entries: usize,
    /// `fsync` an upload before it is committed.
    sync_uploads: bool,
}

impl FsStorage {
    /// Serves the directory `root`, which must exist.
    ///
    /// # Errors
    ///
    /// The error of canonicalising `root`, or
    /// [`NotADirectory`](io::ErrorKind::NotADirectory).
    pub fn new(root: impl AsRef<Path>) -> io::Result<Self> {
        let root = fs::canonicalize(root)?;
        if !fs::metadata(&root)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "storage root is not a directory",
            ));
        }
        Ok(FsStorage {
            jail: Arc::new(Jail {
                root,
                max_list_entries: DEFAULT_MAX_LIST_ENTRIES,
                sync_uploads: true,
            }),
        })
    }

    /// Sets the cap on the entries of one listing (default [`DEFAULT_MAX_LIST_ENTRIES`]).
    ///
    /// [`DEFAULT_MAX_LIST_ENTRIES`]: super::DEFAULT_MAX_LIST_ENTRIES
    pub fn with_max_list_entries(self, max: usize) -> Self {
        FsStorage {
            jail: Arc::new(Jail {
                root: self.jail.root.clone(),
                max_list_entries: max,
                sync_uploads: self.jail.sync_uploads,
            }),
        }
    }

    /// Whether [`Upload::commit`] flushes the file to stable storage (`fsync`) before it
    /// becomes visible (default `true`: after a crash or power loss the target holds either
    /// the old or the complete new version). With `false`, commit only renames, as most FTP
    /// servers do; the data reaches the disk when the kernel writes it back.
    pub fn with_sync_uploads(self, sync: bool) -> Self {
        FsStorage {
            jail: Arc::new(Jail {
                root: self.jail.root.clone(),
                max_list_entries: self.jail.max_list_entries,
                sync_uploads: sync,
            }),
        }
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.jail.root
    }

    /// Runs `op` on the blocking thread pool with the jail and the segments of `path`.
    fn run<T, F>(
        &self,
        path: &[u8],
        op: F,
    ) -> impl std::future::Future<Output = io::Result<T>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&Jail, &[&[u8]]) -> io::Result<T> + Send + 'static,
    {
        let jail = Arc::clone(&self.jail);
        let path = path.to_vec();
        async move {
            unblock(move || {
                let segments = split_path(&path)?;
                op(&jail, &segments).map_err(redact)
            })
            .await
        }
    }
}

/// Drops whatever an error says beyond its kind and OS code, so no path can leak.
fn redact(e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => {
            let kind = e.kind();
            // Errors built in this module carry fixed messages without paths; keep those.
            match e.into_inner() {
                Some(inner) if inner.downcast_ref::<JailError>().is_some() => {
                    io::Error::new(kind, inner)
                }
                _ => io::Error::from(kind),
            }
        }
    }
}

/// A fixed message for errors this module makes itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct JailError(&'static str);

fn error(kind: io::ErrorKind, message: &'static str) -> io::Error {
    io::Error::new(kind, JailError(message))
}

fn os(segment: &[u8]) -> &std::ffi::OsStr {
    std::ffi::OsStr::from_bytes(segment)
}

impl Jail {
    fn check_inside(&self, path: &Path) -> io::Result<()> {
        if path.starts_with(&self.root) {
            Ok(())
        } else {
            Err(error(
                io::ErrorKind::PermissionDenied,
                "path leads outside the storage root",
            ))
        }
    }

    /// The real path of `segments`, following every link, checked to lie under the root.
    fn follow(&self, segments: &[&[u8]]) -> io::Result<PathBuf> {
        let mut path = self.root.clone();
        path.extend(segments.iter().map(|s| os(s)));
        let canonical = fs::canonicalize(path)?;
        self.check_inside(&canonical)?;
        Ok(canonical)
    }

    /// The real path of the last segment itself (a link there is not followed), inside the
    /// checked canonical parent; `None` for the root.
    fn entry(&self, segments: &[&[u8]]) -> io::Result<Option<PathBuf>> {
        let Some((last, parent)) = segments.split_last() else {
            return Ok(None);
        };
        Ok(Some(self.follow(parent)?.join(os(last))))
    }

    /// Like [`Jail::entry`], with the root refused.
    fn entry_not_root(&self, segments: &[&[u8]]) -> io::Result<PathBuf> {
        self.entry(segments)?.ok_or_else(|| {
            error(
                io::ErrorKind::PermissionDenied,
                "the root cannot be changed",
            )
        })
    }

    /// Describes `path` from its `lstat` result, following a link that stays in the jail.
    fn describe(&self, path: &Path, lstat: &fs::Metadata) -> Metadata {
        if !lstat.file_type().is_symlink() {
            return convert(lstat);
        }
        let target = fs::read_link(path)
            .ok()
            .and_then(|t| self.display_target(&t));
        let followed = fs::canonicalize(path)
            .ok()
            .filter(|c| c.starts_with(&self.root))
            .and_then(|c| fs::metadata(c).ok());
        let mut meta = match followed {
            Some(stat) => convert(&stat),
            None => {
                let mut meta = convert(lstat);
                meta.kind = FileKind::Symlink;
                meta
            }
        };
        meta.symlink_target = Some(target.unwrap_or_default());
        meta
    }

    /// A link target as a client may see it: relative targets as they are, absolute ones
    /// inside the root as virtual paths, others not at all.
    fn display_target(&self, target: &Path) -> Option<Bytes> {
        if target.is_relative() {
            return Some(Bytes::copy_from_slice(target.as_os_str().as_bytes()));
        }
        let rest = target.strip_prefix(&self.root).ok()?;
        let mut shown = b"/".to_vec();
        shown.extend_from_slice(rest.as_os_str().as_bytes());
        Some(shown.into())
    }

    /// A regular file to open: refuses directories and special files (opening a FIFO would
    /// block a pool thread).
    fn regular_file(&self, path: &Path) -> io::Result<fs::Metadata> {
        let meta = fs::metadata(path)?;
        if meta.is_dir() {
            Err(error(io::ErrorKind::IsADirectory, "is a directory"))
        } else if !meta.is_file() {
            Err(error(io::ErrorKind::PermissionDenied, "not a regular file"))
        } else {
            Ok(meta)
        }
    }

    /// The real file a write to `segments` goes to: a link is followed when it stays inside
    /// the root, a dangling link is refused.
    fn write_target(&self, segments: &[&[u8]]) -> io::Result<(PathBuf, Option<fs::Metadata>)> {
        let Some(entry) = self.entry(segments)? else {
            return Err(error(io::ErrorKind::IsADirectory, "is a directory"));
        };
        match fs::symlink_metadata(&entry) {
            Ok(lstat) if lstat.file_type().is_symlink() => {
                let target = fs::canonicalize(&entry).map_err(|e| {
                    if e.kind() == io::ErrorKind::NotFound {
                        error(io::ErrorKind::PermissionDenied, "dangling symbolic link")
                    } else {
                        e
                    }
                })?;
                self.check_inside(&target)?;
                let meta = self.regular_file(&target)?;
                Ok((target, Some(meta)))
            }
            Ok(_) => {
                let meta = self.regular_file(&entry)?;
                Ok((entry, Some(meta)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((entry, None)),
            Err(e) => Err(e),
        }
    }
}

fn convert(meta: &fs::Metadata) -> Metadata {
    let file_type = meta.file_type();
    let kind = if file_type.is_file() {
        FileKind::File
    } else if file_type.is_dir() {
        FileKind::Dir
    } else if file_type.is_symlink() {
        FileKind::Symlink
    } else {
        FileKind::Other
    };
    let mut out = Metadata::new(kind, meta.len());
    let nanos = u32::try_from(meta.mtime_nsec()).unwrap_or(0);
    out.modified = Some(Timestamp::new(meta.mtime(), nanos));
    out.permissions = meta.mode() & 0o7777;
    out.owner = Some(meta.uid().to_string().into());
    out.group = Some(meta.gid().to_string().into());
    out
}

/// A hidden temporary name beside `name`, for a replacing upload.
fn temp_name(name: &[u8]) -> io::Result<Vec<u8>> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|_| io::Error::other("no random source"))?;
    let mut temp = b".".to_vec();
    // Keep the temporary name within the usual 255-byte limit.
    if name.len() <= 200 {
        temp.extend_from_slice(name);
        temp.push(b'.');
    }
    temp.extend_from_slice(b"ftp-upload-");
    for b in random {
        temp.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    Ok(temp)
}

impl Storage for FsStorage {
    type Upload = FsUpload;

    fn metadata(
        &self,
        path: &[u8],
    ) -> impl std::future::Future<Output = io::Result<Metadata>> + Send {
        self.run(path, |jail, segments| match jail.entry(segments)? {
            None => Ok(convert(&fs::metadata(&jail.root)?)),
            Some(entry) => {
                let lstat = fs::symlink_metadata(&entry)?;
                Ok(jail.describe(&entry, &lstat))
            }
        })
    }

    fn list(
        &self,
        path: &[u8],
    ) -> impl std::future::Future<Output = io::Result<Vec<DirEntry>>> + Send {
        self.run(path, |jail, segments| {
            let dir = jail.follow(segments)?;
            let mut entries = Vec::new();
            for entry in fs::read_dir(dir)? {
                // An entry removed while listing is skipped.
                let Ok(entry) = entry else { continue };
                let Ok(lstat) = entry.metadata() else {
                    continue;
                };
                if entries.len() == jail.max_list_entries {
                    return Err(too_many_entries());
                }
                let name = Bytes::copy_from_slice(entry.file_name().as_bytes());
                entries.push(DirEntry::new(name, jail.describe(&entry.path(), &lstat)));
            }
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(entries)
        })
    }

    fn make_dir(&self, path: &[u8]) -> impl std::future::Future<Output = io::Result<()>> + Send {
        self.run(path, |jail, segments| match jail.entry(segments)? {
            None => Err(error(io::ErrorKind::AlreadyExists, "the root exists")),
            Some(entry) => fs::create_dir(entry),
        })
    }

    fn remove_dir(&self, path: &[u8]) -> impl std::future::Future<Output = io::Result<()>> + Send {
        self.run(path, |jail, segments| {
            fs::remove_dir(jail.entry_not_root(segments)?)
        })
    }

    fn delete(&self, path: &[u8]) -> impl std::future::Future<Output = io::Result<()>> + Send {
        self.run(path, |jail, segments| {
            let entry = jail.entry(segments)?;
            let entry =
                entry.ok_or_else(|| error(io::ErrorKind::IsADirectory, "is a directory"))?;
            if fs::symlink_metadata(&entry)?.is_dir() {
                return Err(error(io::ErrorKind::IsADirectory, "is a directory"));
            }
            fs::remove_file(entry)
        })
    }

    fn rename(
        &self,
        from: &[u8],
        to: &[u8],
    ) -> impl std::future::Future<Output = io::Result<()>> + Send {
        let to = to.to_vec();
        self.run(from, move |jail, from| {
            let to = split_path(&to)?;
            let from = jail.entry_not_root(from)?;
            let to = jail.entry_not_root(&to)?;
            fs::rename(from, to)
        })
    }

    fn set_modified(
        &self,
        path: &[u8],
        modified: Timestamp,
    ) -> impl std::future::Future<Output = io::Result<()>> + Send {
        self.run(path, move |jail, segments| {
            let real = jail.follow(segments)?;
            let meta = fs::metadata(&real)?;
            if !meta.is_file() && !meta.is_dir() {
                return Err(error(io::ErrorKind::PermissionDenied, "not a regular file"));
            }
            File::open(real)?.set_modified(modified.to_system_time())
        })
    }

    fn read(
        &self,
        path: &[u8],
        offset: u64,
    ) -> impl std::future::Future<Output = io::Result<ReadSource>> + Send {
        self.run(path, move |jail, segments| {
            let real = jail.follow(segments)?;
            let meta = jail.regular_file(&real)?;
            if offset > meta.len() {
                return Err(error(
                    io::ErrorKind::InvalidInput,
                    "offset past the end of the file",
                ));
            }
            let mut file = File::open(real)?;
            file.seek(SeekFrom::Start(offset))?;
            Ok(ReadSource::File(file))
        })
    }

    fn write(
        &self,
        path: &[u8],
        mode: WriteMode,
    ) -> impl std::future::Future<Output = io::Result<FsUpload>> + Send {
        self.run(path, move |jail, segments| {
            let (file, temp, virtual_path) = match mode {
                WriteMode::Replace => {
                    let (target, existing) = jail.write_target(segments)?;
                    let name = target.file_name().map(|n| n.as_bytes()).unwrap_or_default();
                    let temp = target.with_file_name(os(&temp_name(name)?));
                    let file = OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&temp)?;
                    if let Some(existing) = existing {
                        // Best effort: the new version keeps the old one's permissions.
                        let _ = file.set_permissions(existing.permissions());
                    }
                    (file, Some(Temp { temp, target }), join_path(segments))
                }
                WriteMode::Append => {
                    let (target, _) = jail.write_target(segments)?;
                    let file = OpenOptions::new().append(true).create(true).open(target)?;
                    (file, None, join_path(segments))
                }
                WriteMode::Resume(offset) => {
                    let (target, existing) = jail.write_target(segments)?;
                    let len = existing.as_ref().map_or(0, fs::Metadata::len);
                    if offset > len {
                        return Err(error(
                            io::ErrorKind::InvalidInput,
                            "offset past the end of the file",
                        ));
                    }
                    let mut file = OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .open(target)?;
                    file.set_len(offset)?;
                    file.seek(SeekFrom::Start(offset))?;
                    (file, None, join_path(segments))
                }
                WriteMode::Unique => {
                    let Some((base, parent)) = segments.split_last() else {
                        return Err(error(io::ErrorKind::IsADirectory, "is a directory"));
                    };
                    let dir = jail.follow(parent)?;
                    let mut opened = None;
                    for n in 0..UNIQUE_ATTEMPTS {
                        let name = unique_candidate(base, n);
                        match OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .open(dir.join(os(&name)))
                        {
                            Ok(file) => {
                                let mut chosen = parent.to_vec();
                                chosen.push(&name);
                                opened = Some((file, join_path(&chosen)));
                                break;
                            }
                            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                            Err(e) => return Err(e),
                        }
                    }
                    let (file, chosen) = opened.ok_or_else(|| {
                        error(io::ErrorKind::AlreadyExists, "no unique name left")
                    })?;
                    (file, None, chosen)
                }
            };
            Ok(FsUpload {
                file: Some(Handle::Direct(file)),
                temp,
                path: virtual_path,
                sync: jail.sync_uploads,
            })
        })
    }
}

#[derive(Debug)]
struct Temp {
    temp: PathBuf,
    target: PathBuf,
}

/// The open file of an [`FsUpload`].
#[derive(Debug)]
enum Handle {
    /// Nothing written through `AsyncWrite` yet: the file itself, which
    /// [`Upload::direct_file`] hands out.
    Direct(File),
    /// Written through `AsyncWrite`: a pipe to a blocking thread that writes the file.
    Piped(Unblock<File>),
}

impl Handle {
    /// The file, once every byte written through the pipe has reached it.
    async fn into_file(self) -> (io::Result<()>, File) {
        match self {
            Handle::Direct(file) => (Ok(()), file),
            Handle::Piped(mut file) => {
                let flushed = file.flush().await;
                (flushed, file.into_inner().await)
            }
        }
    }
}

/// An upload into an [`FsStorage`]; see [`Upload`].
///
/// Its file is available for direct writes ([`Upload::direct_file`]) until the first byte goes
/// through [`AsyncWrite`]; from then on writes go through a pipe to the blocking thread pool.
#[derive(Debug)]
pub struct FsUpload {
    /// Present until the upload is committed or aborted.
    file: Option<Handle>,
    /// The temporary file and its target, for [`WriteMode::Replace`].
    temp: Option<Temp>,
    path: Vec<u8>,
    /// `fsync` before commit.
    sync: bool,
}

impl FsUpload {
    /// The pipe to the file, set up on the first write through `AsyncWrite`.
    fn piped(&mut self) -> io::Result<&mut Unblock<File>> {
        if let Some(Handle::Direct(_)) = self.file {
            if let Some(Handle::Direct(file)) = self.file.take() {
                self.file = Some(Handle::Piped(Unblock::with_capacity(UPLOAD_PIPE, file)));
            }
        }
        match self.file.as_mut() {
            Some(Handle::Piped(file)) => Ok(file),
            _ => Err(error(io::ErrorKind::BrokenPipe, "upload already finished")),
        }
    }

    /// Flushes the pipe, if there is one.
    fn poll_flush_piped(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.file.as_mut() {
            Some(Handle::Piped(file)) => Pin::new(file).poll_flush(cx).map_err(redact),
            Some(Handle::Direct(_)) => Poll::Ready(Ok(())),
            None => Poll::Ready(Err(error(
                io::ErrorKind::BrokenPipe,
                "upload already finished",
            ))),
        }
    }
}

impl AsyncWrite for FsUpload {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let file = self.piped()?;
        Pin::new(file).poll_write(cx, buf).map_err(redact)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush_piped(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Closing only flushes: the file stays open until commit or abort.
        self.poll_flush_piped(cx)
    }
}

impl Upload for FsUpload {
    fn path(&self) -> &[u8] {
        &self.path
    }

    async fn commit(mut self) -> io::Result<()> {
        let handle = self
            .file
            .take()
            .ok_or_else(|| error(io::ErrorKind::BrokenPipe, "upload already finished"))?;
        let (flushed, file) = handle.into_file().await;
        let temp = self.temp.take();
        let sync = self.sync;
        unblock(move || {
            let result = flushed.and_then(|()| if sync { file.sync_all() } else { Ok(()) });
            drop(file);
            match temp {
                None => result,
                Some(Temp { temp, target }) => {
                    let result = result.and_then(|()| fs::rename(&temp, target));
                    if result.is_err() {
                        let _ = fs::remove_file(temp);
                    }
                    result
                }
            }
        })
        .await
        .map_err(redact)
    }

    async fn abort(mut self) -> io::Result<()> {
        let file = self.file.take();
        let temp = self.temp.take();
        finish_dropped(file, temp).await.map_err(redact)
    }

    fn direct_file(&self) -> Option<&File> {
        match &self.file {
            Some(Handle::Direct(file)) => Some(file),
            _ => None,
        }
    }
}

/// Closes an uncommitted upload: a temporary file is removed, an in-place file is flushed so
/// the bytes already accepted are kept.
async fn finish_dropped(file: Option<Handle>, temp: Option<Temp>) -> io::Result<()> {
    match temp {
        Some(Temp { temp, .. }) => {
            drop(file);
            unblock(move || fs::remove_file(temp)).await
        }
        None => {
            if let Some(file) = file {
                drop(file.into_file().await);
            }
            Ok(())
        }
    }
}

impl Drop for FsUpload {
    fn drop(&mut self) {
        let file = self.file.take();
        let temp = self.temp.take();
        if file.is_some() || temp.is_some() {
            // No runtime is known here: finish on the blocking pool, in the background.
            unblock(move || futures_lite::future::block_on(finish_dropped(file, temp))).detach();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;

    #[test]
    fn redacted_errors_keep_their_kind_and_lose_their_text() {
        let full = redact(io::Error::from_raw_os_error(28));
        assert_eq!(full.kind(), io::ErrorKind::StorageFull);
        let custom = redact(io::Error::new(io::ErrorKind::NotFound, "/srv/ftp/secret"));
        assert_eq!(custom.kind(), io::ErrorKind::NotFound);
        assert!(!format!("{custom} {custom:?}").contains("/srv"));
        let own = redact(error(io::ErrorKind::PermissionDenied, "not a regular file"));
        assert!(own.to_string().contains("not a regular file"));
    }

    #[test]
    fn direct_writes_replace_on_commit_only() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"old").unwrap();
        let storage = FsStorage::new(dir.path()).unwrap();
        block_on(async {
            let dropped = storage.write(b"/f", WriteMode::Replace).await.unwrap();
            dropped.direct_file().unwrap().write_all(b"lost").unwrap();
            drop(dropped);
            assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"old");

            let mut up = storage.write(b"/f", WriteMode::Replace).await.unwrap();
            up.direct_file().unwrap().write_all(b"new").unwrap();
            up.flush().await.unwrap();
            up.commit().await.unwrap();
            assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"new");

            // Once bytes went through the pipe, the file is no longer handed out.
            let mut up = storage.write(b"/f", WriteMode::Append).await.unwrap();
            up.write_all(b"+").await.unwrap();
            assert!(up.direct_file().is_none());
            up.commit().await.unwrap();
            assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"new+");
        });
    }

    #[test]
    fn disk_full_surfaces_as_storage_full() {
        // Linux's /dev/full fails every write with ENOSPC.
        let Ok(file) = OpenOptions::new().write(true).open("/dev/full") else {
            return;
        };
        let mut upload = FsUpload {
            file: Some(Handle::Direct(file)),
            temp: None,
            path: b"/full".to_vec(),
            sync: true,
        };
        block_on(async {
            let written = upload.write_all(&[0; 4096]).await;
            let flushed = upload.flush().await;
            let err = written.and(flushed).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        });
    }
}
