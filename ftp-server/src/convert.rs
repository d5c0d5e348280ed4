//! Translations between the storage layer's types and `ftp-proto`'s.

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ftp_proto::listing::{Entry, EntryKind, Modified};
use ftp_proto::server::StorageError;
use ftp_proto::time::FtpTime;

use crate::storage::{FileKind, Metadata, Timestamp};

/// The reply-relevant kind of a storage error.
pub(crate) fn storage_error(e: &io::Error) -> StorageError {
    use io::ErrorKind as K;
    match e.kind() {
        K::NotFound => StorageError::NotFound,
        K::PermissionDenied | K::ReadOnlyFilesystem => StorageError::PermissionDenied,
        K::DirectoryNotEmpty => StorageError::NotEmpty,
        K::AlreadyExists => StorageError::AlreadyExists,
        K::NotADirectory => StorageError::NotADirectory,
        K::IsADirectory => StorageError::IsADirectory,
        K::StorageFull => StorageError::NoSpace,
        K::QuotaExceeded | K::FileTooLarge => StorageError::QuotaExceeded,
        K::InvalidFilename => StorageError::InvalidName,
        K::InvalidInput => StorageError::InvalidOffset,
        K::Unsupported => StorageError::Unsupported,
        _ => StorageError::Other,
    }
}

/// A storage [`Metadata`] as a listing [`Entry`] named `name`.
pub(crate) fn entry(name: Bytes, meta: &Metadata) -> Entry {
    let kind = match meta.kind {
        FileKind::Dir => EntryKind::Dir,
        FileKind::Symlink => EntryKind::Symlink,
        FileKind::File => EntryKind::File,
        _ => EntryKind::Other(Bytes::from_static(b"special")),
    };
    let mut e = Entry::new(name, kind);
    e.size = Some(meta.len);
    e.modified = meta
        .modified
        .and_then(|t: Timestamp| FtpTime::from_unix(t.secs, t.nanos))
        .map(Modified::Exact);
    e.permissions = Some((meta.permissions & 0o7777) as u16);
    e.owner = meta.owner.clone();
    e.group = meta.group.clone();
    e.link_target = meta.symlink_target.clone();
    e
}

/// The last segment of a virtual path (`/` for the root).
pub(crate) fn file_name(path: &[u8]) -> Bytes {
    let name = path.rsplit(|&b| b == b'/').find(|s| !s.is_empty());
    Bytes::copy_from_slice(name.unwrap_or(b"/"))
}

/// The wall clock in Unix seconds (listings choose between a time and a year with it).
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_map_to_replies() {
        use io::ErrorKind as K;
        let cases = [
            (K::NotFound, StorageError::NotFound),
            (K::StorageFull, StorageError::NoSpace),
            (K::QuotaExceeded, StorageError::QuotaExceeded),
            (K::InvalidFilename, StorageError::InvalidName),
            (K::InvalidInput, StorageError::InvalidOffset),
            (K::DirectoryNotEmpty, StorageError::NotEmpty),
            (K::BrokenPipe, StorageError::Other),
        ];
        for (kind, want) in cases {
            assert_eq!(storage_error(&io::Error::from(kind)), want, "{kind:?}");
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(&file_name(b"/a/b")[..], b"b");
        assert_eq!(&file_name(b"/a/b/")[..], b"b");
        assert_eq!(&file_name(b"/")[..], b"/");
    }
}
