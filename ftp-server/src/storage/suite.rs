//! One test suite, run against every [`Storage`] implementation.

use std::io::ErrorKind;
use std::time::Duration;

use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncWriteExt};

use super::*;

async fn put<S: Storage>(s: &S, path: &[u8], data: &[u8], mode: WriteMode) -> Vec<u8> {
    let mut up = s.write(path, mode).await.unwrap();
    up.write_all(data).await.unwrap();
    let chosen = up.path().to_vec();
    up.commit().await.unwrap();
    chosen
}

async fn get<S: Storage>(s: &S, path: &[u8], offset: u64) -> Vec<u8> {
    let mut out = Vec::new();
    s.read(path, offset)
        .await
        .unwrap()
        .into_async_read()
        .read_to_end(&mut out)
        .await
        .unwrap();
    out
}

async fn names<S: Storage>(s: &S, path: &[u8]) -> Vec<Vec<u8>> {
    let entries = s.list(path).await.unwrap();
    entries.iter().map(|e| e.name.to_vec()).collect()
}

/// Waits for background clean-up (a dropped upload's temporary file) to finish.
async fn eventually_names<S: Storage>(s: &S, path: &[u8], expected: &[&[u8]]) {
    for _ in 0..200 {
        if names(s, path).await == expected {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(names(s, path).await, expected);
}

fn kind<T>(r: std::io::Result<T>) -> ErrorKind {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.kind(),
    }
}

async fn roundtrip<S: Storage>(s: &S) {
    s.make_dir(b"/pub").await.unwrap();
    put(s, b"/pub/a.txt", b"hello world", WriteMode::Replace).await;
    assert_eq!(get(s, b"/pub/a.txt", 0).await, b"hello world");
    assert_eq!(get(s, b"/pub/a.txt", 6).await, b"world");
    assert_eq!(get(s, b"/pub/a.txt", 11).await, b"");
    assert_eq!(
        kind(s.read(b"/pub/a.txt", 12).await),
        ErrorKind::InvalidInput
    );
    let meta = s.metadata(b"/pub/a.txt").await.unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.len, 11);
    assert!(meta.modified.is_some());
    assert!(s.metadata(b"/pub").await.unwrap().is_dir());
    assert!(s.metadata(b"/").await.unwrap().is_dir());
    let entries = s.list(b"/pub").await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(&entries[0].name[..], b"a.txt");
    assert_eq!(entries[0].metadata.len, 11);
    assert_eq!(names(s, b"/").await, [b"pub".to_vec()]);
}

async fn replace_commits_new_version<S: Storage>(s: &S) {
    put(s, b"/f", b"old contents", WriteMode::Replace).await;
    put(s, b"/f", b"new", WriteMode::Replace).await;
    assert_eq!(get(s, b"/f", 0).await, b"new");
    eventually_names(s, b"/", &[b"f"]).await;
}

async fn dropped_upload_keeps_old_version<S: Storage>(s: &S) {
    put(s, b"/f", b"precious", WriteMode::Replace).await;
    let mut up = s.write(b"/f", WriteMode::Replace).await.unwrap();
    up.write_all(b"partial garbage").await.unwrap();
    up.flush().await.unwrap();
    // Not visible before the commit.
    assert_eq!(get(s, b"/f", 0).await, b"precious");
    drop(up);
    assert_eq!(get(s, b"/f", 0).await, b"precious");
    eventually_names(s, b"/", &[b"f"]).await;

    let mut up = s.write(b"/f", WriteMode::Replace).await.unwrap();
    up.write_all(b"more garbage").await.unwrap();
    up.abort().await.unwrap();
    assert_eq!(get(s, b"/f", 0).await, b"precious");
    assert_eq!(names(s, b"/").await, [b"f".to_vec()]);

    // A new file that was never committed does not appear.
    let up = s.write(b"/g", WriteMode::Replace).await.unwrap();
    up.abort().await.unwrap();
    assert_eq!(kind(s.metadata(b"/g").await), ErrorKind::NotFound);
}

async fn append<S: Storage>(s: &S) {
    put(s, b"/log", b"one\n", WriteMode::Append).await;
    put(s, b"/log", b"two\n", WriteMode::Append).await;
    assert_eq!(get(s, b"/log", 0).await, b"one\ntwo\n");
    // Bytes of an interrupted append stay (written in place).
    let mut up = s.write(b"/log", WriteMode::Append).await.unwrap();
    up.write_all(b"three").await.unwrap();
    up.abort().await.unwrap();
    assert_eq!(get(s, b"/log", 0).await, b"one\ntwo\nthree");
}

async fn resume_at_offset<S: Storage>(s: &S) {
    put(s, b"/r", b"0123456789", WriteMode::Replace).await;
    put(s, b"/r", b"abc", WriteMode::Resume(4)).await;
    assert_eq!(get(s, b"/r", 0).await, b"0123abc");
    put(s, b"/r", b"!", WriteMode::Resume(7)).await;
    assert_eq!(get(s, b"/r", 0).await, b"0123abc!");
    assert_eq!(
        kind(s.write(b"/r", WriteMode::Resume(9)).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(get(s, b"/r", 0).await, b"0123abc!");
    // Resume at 0 creates a missing file; past 0 it does not.
    put(s, b"/new", b"x", WriteMode::Resume(0)).await;
    assert_eq!(get(s, b"/new", 0).await, b"x");
    assert_eq!(
        kind(s.write(b"/none", WriteMode::Resume(1)).await),
        ErrorKind::InvalidInput
    );
}

async fn unique_names<S: Storage>(s: &S) {
    s.make_dir(b"/in").await.unwrap();
    let first = put(s, b"/in/up", b"1", WriteMode::Unique).await;
    let second = put(s, b"/in/up", b"2", WriteMode::Unique).await;
    let third = put(s, b"/in/up", b"3", WriteMode::Unique).await;
    assert_eq!(first, b"/in/up");
    assert_eq!(second, b"/in/up.1");
    assert_eq!(third, b"/in/up.2");
    assert_eq!(get(s, b"/in/up.1", 0).await, b"2");
    assert_eq!(names(s, b"/in").await.len(), 3);
}

async fn jail_paths<S: Storage>(s: &S) {
    put(s, b"/f", b"x", WriteMode::Replace).await;
    for path in [&b"/../etc/passwd"[..], b"/a/../../etc", b"/.."] {
        assert_eq!(kind(s.read(path, 0).await), ErrorKind::PermissionDenied);
        assert_eq!(kind(s.metadata(path).await), ErrorKind::PermissionDenied);
        assert_eq!(
            kind(s.write(path, WriteMode::Replace).await),
            ErrorKind::PermissionDenied
        );
        assert_eq!(kind(s.list(path).await), ErrorKind::PermissionDenied);
    }
    assert_eq!(
        kind(s.read(b"etc/passwd", 0).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(kind(s.read(b"", 0).await), ErrorKind::InvalidInput);
    assert_eq!(kind(s.read(b"/f\0", 0).await), ErrorKind::InvalidFilename);
    // `.` and doubled slashes are harmless.
    assert_eq!(get(s, b"/./f", 0).await, b"x");
    assert_eq!(get(s, b"//f", 0).await, b"x");
}

async fn non_utf8_names<S: Storage>(s: &S) {
    let dir = b"/r\xe9pertoire";
    s.make_dir(dir).await.unwrap();
    put(
        s,
        b"/r\xe9pertoire/caf\xe9 \xff.txt",
        b"bytes",
        WriteMode::Replace,
    )
    .await;
    assert_eq!(names(s, b"/").await, [b"r\xe9pertoire".to_vec()]);
    assert_eq!(names(s, dir).await, [b"caf\xe9 \xff.txt".to_vec()]);
    assert_eq!(
        get(s, b"/r\xe9pertoire/caf\xe9 \xff.txt", 0).await,
        b"bytes"
    );
    s.rename(b"/r\xe9pertoire/caf\xe9 \xff.txt", b"/\xfe")
        .await
        .unwrap();
    assert_eq!(get(s, b"/\xfe", 0).await, b"bytes");
}

async fn directory_errors<S: Storage>(s: &S) {
    s.make_dir(b"/d").await.unwrap();
    put(s, b"/d/f", b"x", WriteMode::Replace).await;
    assert_eq!(kind(s.make_dir(b"/d").await), ErrorKind::AlreadyExists);
    assert_eq!(kind(s.make_dir(b"/").await), ErrorKind::AlreadyExists);
    assert_eq!(kind(s.make_dir(b"/missing/d").await), ErrorKind::NotFound);
    assert_eq!(
        kind(s.remove_dir(b"/d").await),
        ErrorKind::DirectoryNotEmpty
    );
    assert_eq!(kind(s.remove_dir(b"/").await), ErrorKind::PermissionDenied);
    assert_eq!(kind(s.remove_dir(b"/d/f").await), ErrorKind::NotADirectory);
    assert_eq!(kind(s.delete(b"/d").await), ErrorKind::IsADirectory);
    assert_eq!(kind(s.delete(b"/").await), ErrorKind::IsADirectory);
    assert_eq!(kind(s.delete(b"/nope").await), ErrorKind::NotFound);
    assert_eq!(kind(s.read(b"/d", 0).await), ErrorKind::IsADirectory);
    assert_eq!(
        kind(s.write(b"/d", WriteMode::Replace).await),
        ErrorKind::IsADirectory
    );
    assert_eq!(
        kind(s.write(b"/", WriteMode::Replace).await),
        ErrorKind::IsADirectory
    );
    assert_eq!(kind(s.list(b"/d/f").await), ErrorKind::NotADirectory);
    assert_eq!(kind(s.read(b"/d/f/g", 0).await), ErrorKind::NotADirectory);
    assert_eq!(kind(s.list(b"/nope").await), ErrorKind::NotFound);
    assert_eq!(kind(s.read(b"/nope", 0).await), ErrorKind::NotFound);
    assert_eq!(
        kind(s.write(b"/nope/f", WriteMode::Replace).await),
        ErrorKind::NotFound
    );
    s.delete(b"/d/f").await.unwrap();
    s.remove_dir(b"/d").await.unwrap();
    assert!(names(s, b"/").await.is_empty());
}

async fn rename_and_times<S: Storage>(s: &S) {
    s.make_dir(b"/a").await.unwrap();
    s.make_dir(b"/b").await.unwrap();
    put(s, b"/a/f", b"1", WriteMode::Replace).await;
    put(s, b"/b/g", b"2", WriteMode::Replace).await;
    s.rename(b"/a/f", b"/b/g").await.unwrap();
    assert_eq!(get(s, b"/b/g", 0).await, b"1");
    assert_eq!(kind(s.metadata(b"/a/f").await), ErrorKind::NotFound);
    assert_eq!(
        kind(s.rename(b"/a/none", b"/b/x").await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(s.rename(b"/b/g", b"/none/x").await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(s.rename(b"/", b"/x").await),
        ErrorKind::PermissionDenied
    );
    s.rename(b"/b", b"/c").await.unwrap();
    assert_eq!(names(s, b"/c").await, [b"g".to_vec()]);

    let t = Timestamp::new(1_234_567_890, 0);
    s.set_modified(b"/c/g", t).await.unwrap();
    assert_eq!(s.metadata(b"/c/g").await.unwrap().modified, Some(t));
    s.set_modified(b"/c", t).await.unwrap();
    assert_eq!(s.metadata(b"/c").await.unwrap().modified, Some(t));
    assert_eq!(kind(s.set_modified(b"/none", t).await), ErrorKind::NotFound);
}

async fn list_cap<S: Storage>(s: &S) {
    for i in 0..3 {
        put(s, format!("/f{i}").as_bytes(), b"", WriteMode::Replace).await;
    }
    assert_eq!(names(s, b"/").await.len(), 3);
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[test]
                fn $name() {
                    let storage = crate::storage::MemoryStorage::new();
                    futures_lite::future::block_on(super::$name(&storage));
                }
            )*
        }

        #[cfg(unix)]
        mod fs {
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let storage = crate::storage::FsStorage::new(dir.path()).unwrap();
                    futures_lite::future::block_on(super::$name(&storage));
                }
            )*
        }
    };
}

suite!(
    roundtrip,
    replace_commits_new_version,
    dropped_upload_keeps_old_version,
    append,
    resume_at_offset,
    unique_names,
    jail_paths,
    non_utf8_names,
    directory_errors,
    rename_and_times,
    list_cap,
);

#[test]
fn list_cap_is_enforced() {
    block_on(async {
        let memory = MemoryStorage::new().with_max_list_entries(2);
        list_cap_fails(&memory).await;
        #[cfg(unix)]
        {
            let dir = tempfile::tempdir().unwrap();
            let fs = FsStorage::new(dir.path()).unwrap().with_max_list_entries(2);
            list_cap_fails(&fs).await;
        }
    });
}

async fn list_cap_fails<S: Storage>(s: &S) {
    for i in 0..3 {
        put(s, format!("/f{i}").as_bytes(), b"", WriteMode::Replace).await;
    }
    assert_eq!(kind(s.list(b"/").await), ErrorKind::Other);
}

#[cfg(unix)]
mod fs_only {
    use super::*;
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, FsStorage, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir(&root).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("secret"), b"secret").unwrap();
        let storage = FsStorage::new(&root).unwrap();
        (dir, storage, outside)
    }

    fn root_str(s: &FsStorage) -> String {
        s.root().to_string_lossy().into_owned()
    }

    #[test]
    fn symlinks_leading_outside_are_refused() {
        let (_dir, s, outside) = setup();
        let root = s.root().to_path_buf();
        symlink("/etc", root.join("etc")).unwrap();
        symlink(&outside, root.join("out_abs")).unwrap();
        symlink("../outside", root.join("out_rel")).unwrap();
        symlink(outside.join("secret"), root.join("secret_link")).unwrap();
        symlink("/nonexistent/x", root.join("dangling")).unwrap();
        block_on(async {
            let denied = ErrorKind::PermissionDenied;
            for path in [
                &b"/etc/passwd"[..],
                b"/out_abs/secret",
                b"/out_rel/secret",
                b"/secret_link",
            ] {
                assert_eq!(kind(s.read(path, 0).await), denied, "{path:?}");
                assert_eq!(kind(s.write(path, WriteMode::Replace).await), denied);
                assert_eq!(kind(s.write(path, WriteMode::Append).await), denied);
                assert_eq!(
                    kind(s.set_modified(path, Timestamp::new(0, 0)).await),
                    denied
                );
            }
            assert_eq!(kind(s.list(b"/etc").await), denied);
            assert_eq!(kind(s.list(b"/out_rel").await), denied);
            assert_eq!(kind(s.make_dir(b"/out_abs/new").await), denied);
            assert_eq!(kind(s.delete(b"/out_abs/secret").await), denied);
            assert_eq!(kind(s.rename(b"/out_abs/secret", b"/stolen").await), denied);
            assert_eq!(
                kind(s.write(b"/dangling", WriteMode::Replace).await),
                denied
            );
            assert_eq!(
                kind(s.write(b"/out_abs/new", WriteMode::Unique).await),
                denied
            );

            // Listed as unfollowable links, without revealing their targets.
            let entries = s.list(b"/").await.unwrap();
            for e in &entries {
                assert_eq!(e.metadata.kind, FileKind::Symlink, "{:?}", e.name);
            }
            let rel = entries.iter().find(|e| &e.name[..] == b"out_rel").unwrap();
            assert_eq!(
                rel.metadata.symlink_target.as_deref(),
                Some(&b"../outside"[..])
            );
            let abs = entries.iter().find(|e| &e.name[..] == b"etc").unwrap();
            assert_eq!(abs.metadata.symlink_target.as_deref(), Some(&b""[..]));

            // Deleting the link itself is fine and leaves the target alone.
            s.delete(b"/secret_link").await.unwrap();
        });
        assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"secret");
    }

    #[test]
    fn symlinks_inside_are_followed() {
        let (_dir, s, _outside) = setup();
        let root = s.root().to_path_buf();
        std::fs::create_dir(root.join("real")).unwrap();
        std::fs::write(root.join("real/file"), b"data").unwrap();
        symlink("real", root.join("alias")).unwrap();
        symlink(root.join("real/file"), root.join("abs_link")).unwrap();
        block_on(async {
            assert_eq!(get(&s, b"/alias/file", 0).await, b"data");
            assert_eq!(get(&s, b"/abs_link", 0).await, b"data");
            let meta = s.metadata(b"/alias").await.unwrap();
            assert!(meta.is_dir());
            assert_eq!(meta.symlink_target.as_deref(), Some(&b"real"[..]));
            let meta = s.metadata(b"/abs_link").await.unwrap();
            assert!(meta.is_file());
            // An absolute target inside the root is shown as a virtual path.
            assert_eq!(meta.symlink_target.as_deref(), Some(&b"/real/file"[..]));
            // Replacing through a link writes the target and keeps the link.
            put(&s, b"/abs_link", b"new", WriteMode::Replace).await;
            assert_eq!(std::fs::read(root.join("real/file")).unwrap(), b"new");
            assert!(std::fs::symlink_metadata(root.join("abs_link"))
                .unwrap()
                .file_type()
                .is_symlink());
        });
    }

    #[test]
    fn errors_never_reveal_the_root() {
        let (_dir, s, _outside) = setup();
        symlink("/etc", s.root().join("etc")).unwrap();
        let root = root_str(&s);
        block_on(async {
            let errors = [
                s.read(b"/missing", 0).await.unwrap_err(),
                s.read(b"/etc/passwd", 0).await.unwrap_err(),
                s.list(b"/missing/dir").await.unwrap_err(),
                s.make_dir(b"/a/b/c").await.unwrap_err(),
                s.rename(b"/x", b"/y").await.unwrap_err(),
            ];
            for e in errors {
                let text = format!("{e} {e:?}");
                assert!(!text.contains(&root), "{text}");
                assert!(!text.contains("/etc"), "{text}");
            }
        });
    }

    #[test]
    fn special_files_are_not_opened() {
        let (_dir, s, _outside) = setup();
        let status = std::process::Command::new("mkfifo")
            .arg(s.root().join("fifo"))
            .status();
        if !status.is_ok_and(|st| st.success()) {
            return;
        }
        block_on(async {
            assert_eq!(kind(s.read(b"/fifo", 0).await), ErrorKind::PermissionDenied);
            assert_eq!(
                kind(s.write(b"/fifo", WriteMode::Append).await),
                ErrorKind::PermissionDenied
            );
            let meta = s.metadata(b"/fifo").await.unwrap();
            assert_eq!(meta.kind, FileKind::Other);
        });
    }

    #[test]
    fn offsets_past_4_gib() {
        let (_dir, s, _outside) = setup();
        const BIG: u64 = 5 * 1024 * 1024 * 1024;
        // A sparse file: no disk space is used for the hole.
        std::fs::File::create(s.root().join("big"))
            .unwrap()
            .set_len(BIG)
            .unwrap();
        block_on(async {
            assert_eq!(s.metadata(b"/big").await.unwrap().len, BIG);
            put(&s, b"/big", b"tail", WriteMode::Resume(BIG)).await;
            assert_eq!(s.metadata(b"/big").await.unwrap().len, BIG + 4);
            assert_eq!(get(&s, b"/big", BIG + 1).await, b"ail");
            match s.read(b"/big", BIG).await.unwrap() {
                ReadSource::File(file) => {
                    use std::io::Seek;
                    let mut file = file;
                    assert_eq!(file.stream_position().unwrap(), BIG);
                }
                other => panic!("expected a file, got {other:?}"),
            }
            put(&s, b"/big", b"!", WriteMode::Append).await;
            assert_eq!(get(&s, b"/big", BIG + 4).await, b"!");
        });
    }

    #[test]
    fn replace_uses_a_hidden_temporary_file_and_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, s, _outside) = setup();
        let path = s.root().join("f");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        block_on(async {
            let mut up = s.write(b"/f", WriteMode::Replace).await.unwrap();
            up.write_all(b"new").await.unwrap();
            up.flush().await.unwrap();
            let listed = names(&s, b"/").await;
            assert_eq!(listed.len(), 2);
            let temp = listed.iter().find(|n| n.as_slice() != b"f").unwrap();
            assert!(temp.starts_with(b".f.ftp-upload-"), "{temp:?}");
            up.commit().await.unwrap();
            assert_eq!(names(&s, b"/").await, [b"f".to_vec()]);
            let meta = s.metadata(b"/f").await.unwrap();
            assert_eq!(meta.permissions, 0o600);
            assert!(meta.owner.is_some());
        });
    }

    #[test]
    fn works_under_tokio() {
        let (_dir, s, _outside) = setup();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            put(&s, b"/t", b"tokio", WriteMode::Replace).await;
            assert_eq!(get(&s, b"/t", 0).await, b"tokio");
        });
    }

    #[test]
    fn a_root_that_is_not_a_directory_is_refused() {
        let (dir, _s, outside) = setup();
        let err = FsStorage::new(outside.join("secret")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotADirectory);
        assert!(FsStorage::new(dir.path().join("missing")).is_err());
    }
}
