//! [`MemoryStorage`]: an in-memory tree, for tests and embedders.

use std::collections::BTreeMap;
use std::future::{ready, Future};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use futures_io::AsyncWrite;

use super::{
    join_path, split_path, too_many_entries, unique_candidate, DirEntry, FileKind, Metadata,
    ReadSource, Storage, Timestamp, Upload, WriteMode, DEFAULT_MAX_LIST_ENTRIES, UNIQUE_ATTEMPTS,
};

/// A [`Storage`] held in memory, with an optional byte quota.
///
/// It follows the same rules as [`FsStorage`](super::FsStorage): replacing uploads are kept
/// aside until [`Upload::commit`], the in-place modes write through, and the same error kinds
/// come back. It has no symbolic links. Clones share the same tree.
///
/// The quota counts the bytes of all files, plus those of replacing uploads still in
/// progress (as a temporary file on disk would); a write that would go over it fails with
/// [`QuotaExceeded`](io::ErrorKind::QuotaExceeded).
///
/// # Examples
///
/// ```
/// use ftp_server::storage::{MemoryStorage, Storage, Upload, WriteMode};
/// use futures_lite::AsyncWriteExt;
/// use std::io::ErrorKind;
///
/// # futures_lite::future::block_on(async {
/// let storage = MemoryStorage::with_quota(4);
/// let mut upload = storage.write(b"/big", WriteMode::Replace).await?;
/// let err = upload.write_all(b"too large").await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    tree: Arc<Mutex<Tree>>,
}

#[derive(Debug)]
struct Tree {
    root: Node,
    /// Bytes in files and in pending replacing uploads.
    used: u64,
    quota: Option<u64>,
    max_list_entries: usize,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            root: Node::dir(),
            used: 0,
            quota: None,
            max_list_entries: DEFAULT_MAX_LIST_ENTRIES,
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    kind: NodeKind,
    modified: Timestamp,
}

/// The entries of a directory, by name.
type Children = BTreeMap<Vec<u8>, Node>;

#[derive(Debug, Clone)]
enum NodeKind {
    Dir(Children),
    /// Shared with readers; a write copies it only while a reader still holds it.
    File(Arc<Vec<u8>>),
}

fn now() -> Timestamp {
    SystemTime::now().into()
}

fn not_found() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "no such file or directory")
}

fn not_a_dir() -> io::Error {
    io::Error::new(io::ErrorKind::NotADirectory, "not a directory")
}

fn is_a_dir() -> io::Error {
    io::Error::new(io::ErrorKind::IsADirectory, "is a directory")
}

fn past_end() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "offset past the end of the file",
    )
}

fn root_refused() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the root cannot be changed",
    )
}

fn over_quota() -> io::Error {
    io::Error::new(io::ErrorKind::QuotaExceeded, "storage quota exceeded")
}

impl Node {
    fn dir() -> Self {
        Node {
            kind: NodeKind::Dir(BTreeMap::new()),
            modified: now(),
        }
    }

    fn file(data: Vec<u8>) -> Self {
        Node {
            kind: NodeKind::File(Arc::new(data)),
            modified: now(),
        }
    }

    fn len(&self) -> u64 {
        match &self.kind {
            NodeKind::Dir(_) => 0,
            NodeKind::File(data) => data.len() as u64,
        }
    }

    fn metadata(&self) -> Metadata {
        let kind = match self.kind {
            NodeKind::Dir(_) => FileKind::Dir,
            NodeKind::File(_) => FileKind::File,
        };
        let mut meta = Metadata::new(kind, self.len());
        meta.modified = Some(self.modified);
        meta
    }

    fn children_mut(&mut self) -> io::Result<&mut Children> {
        match &mut self.kind {
            NodeKind::Dir(children) => Ok(children),
            NodeKind::File(_) => Err(not_a_dir()),
        }
    }
}

impl Tree {
    fn get(&self, segments: &[&[u8]]) -> io::Result<&Node> {
        let mut node = &self.root;
        for segment in segments {
            node = match &node.kind {
                NodeKind::Dir(children) => children.get(*segment).ok_or_else(not_found)?,
                NodeKind::File(_) => return Err(not_a_dir()),
            };
        }
        Ok(node)
    }

    fn get_mut<S: AsRef<[u8]>>(&mut self, segments: &[S]) -> io::Result<&mut Node> {
        let mut node = &mut self.root;
        for segment in segments {
            node = node
                .children_mut()?
                .get_mut(segment.as_ref())
                .ok_or_else(not_found)?;
        }
        Ok(node)
    }

    /// The directory holding the last segment, and that segment; the root is refused.
    fn parent_mut<'s, S: AsRef<[u8]>>(
        &mut self,
        segments: &'s [S],
    ) -> io::Result<(&mut Children, &'s [u8])> {
        let (last, parent) = segments.split_last().ok_or_else(root_refused)?;
        Ok((self.get_mut(parent)?.children_mut()?, last.as_ref()))
    }

    /// Accounts for `more` bytes, or fails when that would pass the quota.
    fn reserve(&mut self, more: u64) -> io::Result<()> {
        let used = self.used.checked_add(more).ok_or_else(over_quota)?;
        if self.quota.is_some_and(|quota| used > quota) {
            return Err(over_quota());
        }
        self.used = used;
        Ok(())
    }

    fn release(&mut self, less: u64) {
        self.used = self.used.saturating_sub(less);
    }
}

impl MemoryStorage {
    /// An empty storage without a quota.
    pub fn new() -> Self {
        MemoryStorage::default()
    }

    /// An empty storage holding at most `bytes` bytes of file data.
    pub fn with_quota(bytes: u64) -> Self {
        let storage = MemoryStorage::default();
        storage.lock().quota = Some(bytes);
        storage
    }

    /// Sets the cap on the entries of one listing (default
    /// [`DEFAULT_MAX_LIST_ENTRIES`](super::DEFAULT_MAX_LIST_ENTRIES)).
    pub fn with_max_list_entries(self, max: usize) -> Self {
        self.lock().max_list_entries = max;
        self
    }

    /// The bytes in use: files plus replacing uploads in progress.
    pub fn used(&self) -> u64 {
        self.lock().used
    }

    fn lock(&self) -> MutexGuard<'_, Tree> {
        lock(&self.tree)
    }

    fn with<T>(
        &self,
        path: &[u8],
        op: impl FnOnce(&mut Tree, &[&[u8]]) -> io::Result<T>,
    ) -> io::Result<T> {
        let segments = split_path(path)?;
        op(&mut self.lock(), &segments)
    }

    fn open_write(&self, path: &[u8], mode: WriteMode) -> io::Result<MemoryUpload> {
        let segments = split_path(path)?;
        let mut tree = self.lock();
        let (dir, name) =
            tree.parent_mut(&segments).map_err(
                |e| {
                    if segments.is_empty() {
                        is_a_dir()
                    } else {
                        e
                    }
                },
            )?;
        let existing = match dir.get(name) {
            Some(Node {
                kind: NodeKind::Dir(_),
                ..
            }) if mode != WriteMode::Unique => return Err(is_a_dir()),
            Some(node) => Some(node.len()),
            None => None,
        };
        let mut target: Vec<Vec<u8>> = segments.iter().map(|s| s.to_vec()).collect();
        let write = match mode {
            WriteMode::Replace => Write::Buffer(Vec::new()),
            WriteMode::Append => {
                dir.entry(name.to_vec())
                    .or_insert_with(|| Node::file(Vec::new()));
                Write::Append
            }
            WriteMode::Resume(offset) => {
                if offset > existing.unwrap_or(0) {
                    return Err(past_end());
                }
                let node = dir
                    .entry(name.to_vec())
                    .or_insert_with(|| Node::file(Vec::new()));
                if let NodeKind::File(data) = &mut node.kind {
                    // `offset` is at most the length, which fits in memory.
                    Arc::make_mut(data).truncate(offset as usize);
                }
                node.modified = now();
                let cut = existing.unwrap_or(0) - offset;
                tree.release(cut);
                Write::At(offset)
            }
            WriteMode::Unique => {
                let name = (0..UNIQUE_ATTEMPTS)
                    .map(|n| unique_candidate(name, n))
                    .find(|candidate| !dir.contains_key(candidate))
                    .ok_or_else(|| {
                        io::Error::new(io::ErrorKind::AlreadyExists, "no unique name left")
                    })?;
                dir.insert(name.clone(), Node::file(Vec::new()));
                if let Some(last) = target.last_mut() {
                    *last = name;
                }
                Write::At(0)
            }
        };
        Ok(MemoryUpload {
            tree: Arc::clone(&self.tree),
            path: join_path(&target),
            segments: target,
            write,
            done: false,
        })
    }
}

fn lock(tree: &Mutex<Tree>) -> MutexGuard<'_, Tree> {
    // The tree stays consistent between statements, so a panic elsewhere does not spoil it.
    tree.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// File data shared with the tree, readable as a byte slice.
struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Storage for MemoryStorage {
    type Upload = MemoryUpload;

    fn metadata(&self, path: &[u8]) -> impl Future<Output = io::Result<Metadata>> + Send {
        ready(self.with(path, |tree, segments| Ok(tree.get(segments)?.metadata())))
    }

    fn list(&self, path: &[u8]) -> impl Future<Output = io::Result<Vec<DirEntry>>> + Send {
        ready(
            self.with(path, |tree, segments| match &tree.get(segments)?.kind {
                NodeKind::File(_) => Err(not_a_dir()),
                NodeKind::Dir(children) => {
                    if children.len() > tree.max_list_entries {
                        return Err(too_many_entries());
                    }
                    Ok(children
                        .iter()
                        .map(|(name, node)| {
                            DirEntry::new(Bytes::copy_from_slice(name), node.metadata())
                        })
                        .collect())
                }
            }),
        )
    }

    fn make_dir(&self, path: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        ready(self.with(path, |tree, segments| {
            if segments.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "the root exists",
                ));
            }
            let (dir, name) = tree.parent_mut(segments)?;
            if dir.contains_key(name) {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "already exists",
                ));
            }
            dir.insert(name.to_vec(), Node::dir());
            Ok(())
        }))
    }

    fn remove_dir(&self, path: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        ready(self.with(path, |tree, segments| {
            let (dir, name) = tree.parent_mut(segments)?;
            match &dir.get(name).ok_or_else(not_found)?.kind {
                NodeKind::File(_) => Err(not_a_dir()),
                NodeKind::Dir(children) if !children.is_empty() => Err(io::Error::new(
                    io::ErrorKind::DirectoryNotEmpty,
                    "directory not empty",
                )),
                NodeKind::Dir(_) => {
                    dir.remove(name);
                    Ok(())
                }
            }
        }))
    }

    fn delete(&self, path: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        ready(self.with(path, |tree, segments| {
            let (dir, name) = tree.parent_mut(segments).map_err(|e| {
                if segments.is_empty() {
                    is_a_dir()
                } else {
                    e
                }
            })?;
            let len = match &dir.get(name).ok_or_else(not_found)?.kind {
                NodeKind::Dir(_) => return Err(is_a_dir()),
                NodeKind::File(data) => data.len() as u64,
            };
            dir.remove(name);
            tree.release(len);
            Ok(())
        }))
    }

    fn rename(&self, from: &[u8], to: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        ready((|| {
            let from = split_path(from)?;
            let to = split_path(to)?;
            let mut tree = self.lock();
            if from.is_empty() || to.is_empty() {
                return Err(root_refused());
            }
            tree.get(&from)?;
            if from == to {
                return Ok(());
            }
            if to.starts_with(&from) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cannot move a directory into itself",
                ));
            }
            // Check the destination before taking the source out.
            let from_is_dir = matches!(tree.get(&from)?.kind, NodeKind::Dir(_));
            let (dir, name) = tree.parent_mut(&to)?;
            let replaced = match dir.get(name).map(|n| &n.kind) {
                None => 0,
                Some(NodeKind::Dir(children)) if from_is_dir && children.is_empty() => 0,
                Some(NodeKind::Dir(children)) if from_is_dir && !children.is_empty() => {
                    return Err(io::Error::new(
                        io::ErrorKind::DirectoryNotEmpty,
                        "directory not empty",
                    ))
                }
                Some(NodeKind::Dir(_)) => return Err(is_a_dir()),
                Some(NodeKind::File(_)) if from_is_dir => return Err(not_a_dir()),
                Some(NodeKind::File(data)) => data.len() as u64,
            };
            let (dir, name) = tree.parent_mut(&from)?;
            let node = dir.remove(name).ok_or_else(not_found)?;
            let (dir, name) = tree.parent_mut(&to)?;
            dir.insert(name.to_vec(), node);
            tree.release(replaced);
            Ok(())
        })())
    }

    fn set_modified(
        &self,
        path: &[u8],
        modified: Timestamp,
    ) -> impl Future<Output = io::Result<()>> + Send {
        ready(self.with(path, |tree, segments| {
            tree.get_mut(segments)?.modified = modified;
            Ok(())
        }))
    }

    fn read(
        &self,
        path: &[u8],
        offset: u64,
    ) -> impl Future<Output = io::Result<ReadSource>> + Send {
        ready(
            self.with(path, |tree, segments| match &tree.get(segments)?.kind {
                NodeKind::Dir(_) => Err(is_a_dir()),
                NodeKind::File(data) => {
                    if offset > data.len() as u64 {
                        return Err(past_end());
                    }
                    let mut cursor = futures_lite::io::Cursor::new(Shared(Arc::clone(data)));
                    cursor.set_position(offset);
                    Ok(ReadSource::Stream(Box::new(cursor)))
                }
            }),
        )
    }

    fn write(
        &self,
        path: &[u8],
        mode: WriteMode,
    ) -> impl Future<Output = io::Result<MemoryUpload>> + Send {
        ready(self.open_write(path, mode))
    }
}

#[derive(Debug)]
enum Write {
    /// A replacing upload, kept aside until commit.
    Buffer(Vec<u8>),
    /// In place, at this offset.
    At(u64),
    /// In place, at the end.
    Append,
}

/// An upload into a [`MemoryStorage`]; see [`Upload`].
#[derive(Debug)]
pub struct MemoryUpload {
    tree: Arc<Mutex<Tree>>,
    segments: Vec<Vec<u8>>,
    path: Vec<u8>,
    write: Write,
    done: bool,
}

impl MemoryUpload {
    fn write_bytes(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.done {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "upload already finished",
            ));
        }
        let mut tree = lock(&self.tree);
        if let Write::Buffer(pending) = &mut self.write {
            tree.reserve(buf.len() as u64)?;
            pending.extend_from_slice(buf);
            return Ok(buf.len());
        }
        let node = tree.get_mut(&self.segments)?;
        let NodeKind::File(data) = &node.kind else {
            return Err(is_a_dir());
        };
        let len = data.len();
        let start = match self.write {
            Write::At(offset) => usize::try_from(offset).map_err(|_| past_end())?,
            _ => len,
        };
        let end = start.checked_add(buf.len()).ok_or_else(over_quota)?;
        tree.reserve(end.saturating_sub(len) as u64)?;
        let node = tree.get_mut(&self.segments)?;
        if let NodeKind::File(data) = &mut node.kind {
            let data = Arc::make_mut(data);
            if data.len() < end {
                data.resize(end, 0);
            }
            data[start..end].copy_from_slice(buf);
        }
        node.modified = now();
        if let Write::At(offset) = &mut self.write {
            *offset = end as u64;
        }
        Ok(buf.len())
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            if let Write::Buffer(pending) = &mut self.write {
                lock(&self.tree).release(pending.len() as u64);
                *pending = Vec::new();
            }
        }
    }
}

impl AsyncWrite for MemoryUpload {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.get_mut().write_bytes(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Upload for MemoryUpload {
    fn path(&self) -> &[u8] {
        &self.path
    }

    fn commit(mut self) -> impl Future<Output = io::Result<()>> + Send {
        ready((|| {
            if self.done {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "upload already finished",
                ));
            }
            let Write::Buffer(pending) = &mut self.write else {
                self.done = true;
                return Ok(());
            };
            let data = std::mem::take(pending);
            let pending_len = data.len() as u64;
            let mut tree = lock(&self.tree);
            let result = tree.parent_mut(&self.segments).and_then(|(dir, name)| {
                let old = match dir.get(name).map(|n| &n.kind) {
                    Some(NodeKind::Dir(_)) => return Err(is_a_dir()),
                    Some(NodeKind::File(old)) => old.len() as u64,
                    None => 0,
                };
                dir.insert(name.to_vec(), Node::file(data));
                Ok(old)
            });
            self.done = true;
            match result {
                Ok(old) => tree.release(old),
                Err(_) => tree.release(pending_len),
            }
            result.map(drop)
        })())
    }

    fn abort(mut self) -> impl Future<Output = io::Result<()>> + Send {
        self.finish();
        ready(Ok(()))
    }
}

impl Drop for MemoryUpload {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;
    use futures_lite::AsyncWriteExt;

    #[test]
    fn quota_counts_pending_uploads_and_releases_them() {
        block_on(async {
            let storage = MemoryStorage::with_quota(10);
            let mut up = storage.write(b"/a", WriteMode::Replace).await.unwrap();
            up.write_all(b"12345678").await.unwrap();
            assert_eq!(storage.used(), 8);
            let err = up.write_all(b"abc").await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::QuotaExceeded);
            drop(up);
            assert_eq!(storage.used(), 0);

            let mut up = storage.write(b"/a", WriteMode::Replace).await.unwrap();
            up.write_all(b"123456").await.unwrap();
            up.commit().await.unwrap();
            assert_eq!(storage.used(), 6);
            // Replacing counts old and new until the commit, then only the new.
            let mut up = storage.write(b"/a", WriteMode::Replace).await.unwrap();
            up.write_all(b"1234").await.unwrap();
            up.commit().await.unwrap();
            assert_eq!(storage.used(), 4);
        });
    }

    #[test]
    fn quota_applies_to_appends_and_is_freed_by_delete() {
        block_on(async {
            let storage = MemoryStorage::with_quota(5);
            let mut up = storage.write(b"/log", WriteMode::Append).await.unwrap();
            up.write_all(b"12345").await.unwrap();
            let err = up.write_all(b"6").await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::QuotaExceeded);
            up.commit().await.unwrap();
            assert_eq!(storage.metadata(b"/log").await.unwrap().len, 5);
            storage.delete(b"/log").await.unwrap();
            assert_eq!(storage.used(), 0);
        });
    }

    #[test]
    fn rename_refuses_moving_a_directory_into_itself() {
        block_on(async {
            let storage = MemoryStorage::new();
            storage.make_dir(b"/d").await.unwrap();
            let err = storage.rename(b"/d", b"/d/e").await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        });
    }
}
