//! The client adapters (blocking, tokio, async-std) against this workspace's own server, over
//! real loopback sockets, in every data mode and over IPv4 and IPv6.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use ftp_client::ftp_proto::listing::EntryKind;
use ftp_client::ftp_proto::time::FtpTime;
use ftp_client::{Config, DataMode, TransferType};

const USER: &str = "anna";
const PASSWORD: &str = "secret";

/// This workspace's server on its own thread and tokio runtime, serving a temporary directory.
struct TestServer {
    v4: SocketAddr,
    v6: Option<SocketAddr>,
    root: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    fn start() -> TestServer {
        use ftp_server::auth::UserTable;
        use ftp_server::runtime::TokioRuntime;
        use ftp_server::storage::FsStorage;
        use ftp_server::Server;

        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_owned();
        let mut users = UserTable::with_iterations(1_000);
        users.add_user(USER, PASSWORD.as_bytes()).set_writable(true);
        let v6_usable = std::net::TcpListener::bind("[::1]:0").is_ok();
        let mut builder = Server::builder(FsStorage::new(&root).expect("storage"), users)
            .listen("127.0.0.1:0".parse().expect("addr"))
            .shutdown_grace(Duration::from_secs(1));
        if v6_usable {
            builder = builder.listen("[::1]:0".parse().expect("addr"));
        }
        let server = builder.build();
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let bound = server.bind(TokioRuntime).await.expect("bind");
                addr_tx.send(bound.local_addrs()).expect("send");
                let _ = bound
                    .serve(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let addrs = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server bound");
        TestServer {
            v4: *addrs.iter().find(|a| a.is_ipv4()).expect("IPv4 listener"),
            v6: addrs.iter().find(|a| a.is_ipv6()).copied(),
            root,
            stop: Some(stop_tx),
            thread: Some(thread),
            _dir: dir,
        }
    }

    fn file(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn exists(&self, path: &str) -> bool {
        self.root.join(path).exists()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn config(mode: DataMode) -> Config {
    let mut config = Config::default();
    config.data_mode = mode;
    config.connect_timeout = Duration::from_secs(5);
    config.session.reply_timeout = Duration::from_secs(10);
    config.session.data_timeout = Duration::from_secs(10);
    config
}

/// Reproducible pseudo-random bytes (xorshift).
fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

const SMALL: usize = 100_000;
const BIG: usize = 4 << 20;
const TEXT_LOCAL: &[u8] = b"one\ntwo\nthree\rx\n\nlast";

fn when() -> FtpTime {
    FtpTime::from_unix(1_700_000_000, 0).expect("time")
}

/// Compares two byte strings without printing them whole.
fn same(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: {} bytes, want {}; first difference at {at:?}",
            got.len(),
            want.len()
        );
    }
}

fn dir_of(server: &TestServer, dir: &str) -> PathBuf {
    Path::new(&server.root).join(dir)
}

// ---------------------------------------------------------------------------------------------
// Blocking

mod blocking {
    use super::*;
    use ftp_client::blocking::Client;

    fn scenario(server: &TestServer, addr: SocketAddr, mode: DataMode, dir: &str) {
        let mut c = Client::connect(addr, config(mode)).expect("connect");
        assert_eq!(c.greeting().expect("greeting").code.get(), 220);
        let e = c.login(USER, "wrong").expect_err("bad password");
        assert_eq!(e.reply_code(), Some(530), "{e}");
        c.login(USER, PASSWORD).expect("login");

        c.mkdir(dir).expect("mkdir");
        assert!(dir_of(server, dir).is_dir());
        c.cwd(dir).expect("cwd");
        assert!(c.pwd().expect("pwd").ends_with(dir.as_bytes()));

        // put, ls, get
        let small = random(SMALL, 1);
        assert_eq!(
            c.store_from("a.bin", &mut &small[..]).expect("put"),
            SMALL as u64
        );
        same(
            &server.file(&format!("{dir}/a.bin")),
            &small,
            "uploaded a.bin",
        );
        let listing = c.list("").expect("list");
        let a = listing
            .entries
            .iter()
            .find(|e| &e.name[..] == b"a.bin")
            .expect("a.bin listed");
        assert_eq!((&a.kind, a.size), (&EntryKind::File, Some(SMALL as u64)));
        assert_eq!(listing.skipped, 0);
        let mlsd = c.mlsd("").expect("mlsd");
        assert!(mlsd.entries.iter().any(|e| &e.name[..] == b"a.bin"));
        let names = c.nlst("").expect("nlst");
        assert!(names.iter().any(|n| n.ends_with(b"a.bin")), "{names:?}");
        let raw = c.list_raw("").expect("list_raw");
        assert!(raw.iter().any(|l| l.ends_with(b"a.bin")));
        let mut got = Vec::new();
        c.retrieve("a.bin", 0)
            .expect("get")
            .read_to_end(&mut got)
            .expect("read");
        assert!(got == small, "download differs");
        let mut d = c.retrieve("a.bin", 0).expect("get");
        let mut got = Vec::new();
        d.read_to_end(&mut got).expect("read");
        assert_eq!(d.finish().expect("finish"), SMALL as u64);

        // resume: get from an offset, put in two parts (REST + STOR)
        let mut tail = Vec::new();
        c.retrieve_to("a.bin", 40_000, &mut tail)
            .expect("resume get");
        assert!(tail[..] == small[40_000..]);
        let mut w = c.store("r.bin", 0).expect("put");
        w.write_all(&small[..30_000]).expect("write");
        w.finish().expect("finish");
        let mut w = c.store("r.bin", 30_000).expect("resume put");
        w.write_all(&small[30_000..]).expect("write");
        w.finish().expect("finish");
        assert!(server.file(&format!("{dir}/r.bin")) == small);
        let mut w = c.append("r.bin").expect("append");
        w.write_all(b"tail").expect("write");
        w.finish().expect("finish");
        assert_eq!(c.size("r.bin").expect("size"), SMALL as u64 + 4);

        // rename, size, mdtm, mfmt, mlst, errors
        c.rename("a.bin", "b.bin").expect("rename");
        assert!(!server.exists(&format!("{dir}/a.bin")));
        assert_eq!(c.size("b.bin").expect("size"), SMALL as u64);
        c.mdtm("b.bin").expect("mdtm");
        c.set_mtime("b.bin", when()).expect("mfmt");
        assert_eq!(c.mdtm("b.bin").expect("mdtm").to_unix(), when().to_unix());
        assert_eq!(c.mlst("b.bin").expect("mlst").size, Some(SMALL as u64));
        let e = c.size("missing").expect_err("no such file");
        assert_eq!(e.reply_code(), Some(550), "{e}");
        assert!(c.retrieve("missing", 0).is_err());
        c.noop().expect("the session survives refusals");

        // ASCII round trip
        c.transfer_type(TransferType::Ascii).expect("TYPE A");
        c.store_from("t.txt", &mut &TEXT_LOCAL[..])
            .expect("put text");
        let mut text = Vec::new();
        c.retrieve_to("t.txt", 0, &mut text).expect("get text");
        assert_eq!(text, TEXT_LOCAL, "{:?}", String::from_utf8_lossy(&text));
        c.transfer_type(TransferType::Binary).expect("TYPE I");

        // 4 MiB
        let big = random(BIG, 7);
        c.store_from("big.bin", &mut &big[..]).expect("put big");
        let mut got = Vec::with_capacity(BIG);
        assert_eq!(
            c.retrieve_to("big.bin", 0, &mut got).expect("get big"),
            BIG as u64
        );
        assert!(got == big, "big download differs");

        // abandoned download: the next operation still works
        {
            let mut d = c.retrieve("big.bin", 0).expect("get");
            let mut buf = [0u8; 1000];
            d.read_exact(&mut buf).expect("read");
        }
        assert_eq!(c.size("big.bin").expect("size after abandon"), BIG as u64);

        for f in ["b.bin", "r.bin", "t.txt", "big.bin"] {
            c.delete(f).expect("delete");
        }
        c.cdup().expect("cdup");
        c.rmdir(dir).expect("rmdir");
        assert!(!dir_of(server, dir).exists());
        c.syst().expect("syst");
        c.feat().expect("feat");
        c.quote("NOOP").expect("quote");
        c.quit().expect("quit");
        assert!(c.is_closed());
    }

    #[test]
    fn epsv() {
        let s = TestServer::start();
        scenario(&s, s.v4, DataMode::ExtendedPassive, "epsv");
    }

    #[test]
    fn pasv() {
        let s = TestServer::start();
        scenario(&s, s.v4, DataMode::Passive, "pasv");
    }

    #[test]
    fn active() {
        let s = TestServer::start();
        scenario(&s, s.v4, DataMode::Active { bind: None }, "active");
    }

    #[test]
    fn auto_switches_modes_mid_session() {
        let s = TestServer::start();
        let mut c = Client::connect(s.v4, config(DataMode::Auto)).expect("connect");
        c.login(USER, PASSWORD).expect("login");
        for mode in [
            DataMode::Active { bind: None },
            DataMode::Passive,
            DataMode::Auto,
        ] {
            c.data_mode(mode);
            c.store_from("m.bin", &mut &b"mode"[..]).expect("put");
            assert_eq!(c.nlst("").expect("nlst").len(), 1);
        }
        c.quit().expect("quit");
    }

    #[test]
    fn ipv6_epsv() {
        let s = TestServer::start();
        let Some(v6) = s.v6 else {
            return eprintln!("SKIP: no IPv6 loopback");
        };
        scenario(&s, v6, DataMode::ExtendedPassive, "v6epsv");
    }

    #[test]
    fn ipv6_active() {
        let s = TestServer::start();
        let Some(v6) = s.v6 else {
            return eprintln!("SKIP: no IPv6 loopback");
        };
        scenario(&s, v6, DataMode::Active { bind: None }, "v6active");
    }
}

#[cfg(any(feature = "tokio", feature = "async-std"))]
mod nonblocking {
    use super::*;
    use ftp_client::nonblocking::{AsyncClient, Runtime};
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    pub(super) async fn scenario<R: Runtime + Default>(
        server: &TestServer,
        addr: SocketAddr,
        mode: DataMode,
        dir: &str,
    ) {
        let mut c = AsyncClient::<R>::connect(addr, config(mode))
            .await
            .expect("connect");
        assert_eq!(c.greeting().expect("greeting").code.get(), 220);
        let e = c.login(USER, "wrong").await.expect_err("bad password");
        assert_eq!(e.reply_code(), Some(530), "{e}");
        c.login(USER, PASSWORD).await.expect("login");

        c.mkdir(dir).await.expect("mkdir");
        assert!(dir_of(server, dir).is_dir());
        c.cwd(dir).await.expect("cwd");
        assert!(c.pwd().await.expect("pwd").ends_with(dir.as_bytes()));

        // put, ls, get
        let small = random(SMALL, 1);
        assert_eq!(
            c.store_from("a.bin", &mut futures_lite::io::Cursor::new(&small[..]))
                .await
                .expect("put"),
            SMALL as u64
        );
        same(
            &server.file(&format!("{dir}/a.bin")),
            &small,
            "uploaded a.bin",
        );
        let listing = c.list("").await.expect("list");
        let a = listing
            .entries
            .iter()
            .find(|e| &e.name[..] == b"a.bin")
            .expect("a.bin listed");
        assert_eq!((&a.kind, a.size), (&EntryKind::File, Some(SMALL as u64)));
        assert_eq!(listing.skipped, 0);
        let mlsd = c.mlsd("").await.expect("mlsd");
        assert!(mlsd.entries.iter().any(|e| &e.name[..] == b"a.bin"));
        let names = c.nlst("").await.expect("nlst");
        assert!(names.iter().any(|n| n.ends_with(b"a.bin")), "{names:?}");
        let raw = c.list_raw("").await.expect("list_raw");
        assert!(raw.iter().any(|l| l.ends_with(b"a.bin")));
        let mut got = Vec::new();
        {
            let mut d = c.retrieve("a.bin", 0).await.expect("get");
            d.read_to_end(&mut got).await.expect("read");
            d.finish().await.expect("finish");
        }
        assert!(got == small, "download differs");
        let mut d = c.retrieve("a.bin", 0).await.expect("get");
        let mut got = Vec::new();
        d.read_to_end(&mut got).await.expect("read");
        assert_eq!(d.finish().await.expect("finish"), SMALL as u64);

        // resume: get from an offset, put in two parts (REST + STOR)
        let mut tail = Vec::new();
        c.retrieve_to("a.bin", 40_000, &mut tail)
            .await
            .expect("resume get");
        assert!(tail[..] == small[40_000..]);
        let mut w = c.store("r.bin", 0).await.expect("put");
        w.write_all(&small[..30_000]).await.expect("write");
        w.finish().await.expect("finish");
        let mut w = c.store("r.bin", 30_000).await.expect("resume put");
        w.write_all(&small[30_000..]).await.expect("write");
        w.finish().await.expect("finish");
        assert!(server.file(&format!("{dir}/r.bin")) == small);
        let mut w = c.append("r.bin").await.expect("append");
        w.write_all(b"tail").await.expect("write");
        w.finish().await.expect("finish");
        assert_eq!(c.size("r.bin").await.expect("size"), SMALL as u64 + 4);

        // rename, size, mdtm, mfmt, mlst, errors
        c.rename("a.bin", "b.bin").await.expect("rename");
        assert!(!server.exists(&format!("{dir}/a.bin")));
        assert_eq!(c.size("b.bin").await.expect("size"), SMALL as u64);
        c.mdtm("b.bin").await.expect("mdtm");
        c.set_mtime("b.bin", when()).await.expect("mfmt");
        assert_eq!(
            c.mdtm("b.bin").await.expect("mdtm").to_unix(),
            when().to_unix()
        );
        assert_eq!(
            c.mlst("b.bin").await.expect("mlst").size,
            Some(SMALL as u64)
        );
        let e = c.size("missing").await.expect_err("no such file");
        assert_eq!(e.reply_code(), Some(550), "{e}");
        assert!(c.retrieve("missing", 0).await.is_err());
        c.noop().await.expect("the session survives refusals");

        // ASCII round trip
        c.transfer_type(TransferType::Ascii).await.expect("TYPE A");
        c.store_from("t.txt", &mut futures_lite::io::Cursor::new(TEXT_LOCAL))
            .await
            .expect("put text");
        let mut text = Vec::new();
        c.retrieve_to("t.txt", 0, &mut text)
            .await
            .expect("get text");
        assert_eq!(text, TEXT_LOCAL, "{:?}", String::from_utf8_lossy(&text));
        c.transfer_type(TransferType::Binary).await.expect("TYPE I");

        // 4 MiB
        let big = random(BIG, 7);
        c.store_from("big.bin", &mut futures_lite::io::Cursor::new(&big[..]))
            .await
            .expect("put big");
        let mut got = Vec::with_capacity(BIG);
        assert_eq!(
            c.retrieve_to("big.bin", 0, &mut got)
                .await
                .expect("get big"),
            BIG as u64
        );
        assert!(got == big, "big download differs");

        // abandoned download: the next operation still works
        {
            let mut d = c.retrieve("big.bin", 0).await.expect("get");
            let mut buf = [0u8; 1000];
            d.read_exact(&mut buf).await.expect("read");
        }
        assert_eq!(
            c.size("big.bin").await.expect("size after abandon"),
            BIG as u64
        );

        for f in ["b.bin", "r.bin", "t.txt", "big.bin"] {
            c.delete(f).await.expect("delete");
        }
        c.cdup().await.expect("cdup");
        c.rmdir(dir).await.expect("rmdir");
        assert!(!dir_of(server, dir).exists());
        c.syst().await.expect("syst");
        c.feat().await.expect("feat");
        c.quote("NOOP").await.expect("quote");
        c.quit().await.expect("quit");
        assert!(c.is_closed());
    }

    macro_rules! matrix {
        ($run:path) => {
            #[test]
            fn epsv() {
                let s = TestServer::start();
                $run(super::scenario::<R>(
                    &s,
                    s.v4,
                    DataMode::ExtendedPassive,
                    "epsv",
                ));
            }

            #[test]
            fn pasv() {
                let s = TestServer::start();
                $run(super::scenario::<R>(&s, s.v4, DataMode::Passive, "pasv"));
            }

            #[test]
            fn active() {
                let s = TestServer::start();
                $run(super::scenario::<R>(
                    &s,
                    s.v4,
                    DataMode::Active { bind: None },
                    "active",
                ));
            }

            #[test]
            fn ipv6_epsv() {
                let s = TestServer::start();
                let Some(v6) = s.v6 else {
                    return eprintln!("SKIP: no IPv6 loopback");
                };
                $run(super::scenario::<R>(
                    &s,
                    v6,
                    DataMode::ExtendedPassive,
                    "v6epsv",
                ));
            }

            #[test]
            fn ipv6_active() {
                let s = TestServer::start();
                let Some(v6) = s.v6 else {
                    return eprintln!("SKIP: no IPv6 loopback");
                };
                $run(super::scenario::<R>(
                    &s,
                    v6,
                    DataMode::Active { bind: None },
                    "v6active",
                ));
            }
        };
    }

    #[cfg(feature = "tokio")]
    mod tokio_client {
        use super::super::*;
        type R = ftp_client::nonblocking::TokioRuntime;

        fn run(f: impl std::future::Future<Output = ()>) {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(f)
        }

        matrix!(run);
    }

    #[cfg(feature = "async-std")]
    mod async_std_client {
        use super::super::*;
        type R = ftp_client::nonblocking::AsyncStdRuntime;

        matrix!(async_io::block_on);
    }
}
