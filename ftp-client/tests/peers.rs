//! Proves the test harness: every server starts on loopback and greets with `220`.
//!
//! Only raw `std::net` here, so a failure points at the harness or the peer, not the client.

mod common;

fn greets(name: &'static str) {
    let Some(server) = common::start(name) else {
        return;
    };
    match common::read_greeting(server.addr()) {
        Ok((code, text)) => assert_eq!(code, 220, "{name} greeting: {text}"),
        Err(e) => panic!(
            "{name}: no greeting on {}: {e}\n{}",
            server.addr(),
            server.log()
        ),
    }
    assert!(server.root.is_dir());
}

#[test]
fn vsftpd_greets() {
    greets("vsftpd");
}

#[test]
fn pyftpdlib_greets() {
    greets("pyftpdlib");
}

#[test]
fn pureftpd_greets() {
    greets("pureftpd");
}

#[test]
fn proftpd_greets() {
    greets("proftpd");
}

#[test]
fn own_server_greets() {
    greets(common::OWN);
}

#[test]
fn served_files_are_visible_to_the_test() {
    let Some(server) = common::start_with(common::OWN, |root| {
        std::fs::write(root.join("hello.txt"), b"hello\n")
    }) else {
        return;
    };
    assert_eq!(server.read("hello.txt"), b"hello\n");
    server.write("sub/new.bin", b"\x00\xff");
    assert_eq!(server.read("sub/new.bin"), b"\x00\xff");
    assert!(server
        .url("x")
        .starts_with("ftp://ftpbench:ftpbench-pw@127.0.0.1:"));
}
