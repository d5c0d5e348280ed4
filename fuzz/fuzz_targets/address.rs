//! Address parsers (PORT, 227, EPRT, 229, LPRT, 228): never panic, and whatever parses
//! writes back to text that parses to the same address.
#![no_main]

use ftp_proto::address::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = parse_port(data) {
        let mut w = Vec::new();
        write_port(a, &mut w);
        assert_eq!(parse_port(&w), Ok(a));
    }
    if let Ok(a) = parse_pasv_reply(data) {
        let mut w = Vec::new();
        write_pasv_reply(a, &mut w);
        assert_eq!(parse_pasv_reply(&w), Ok(a));
    }
    if let Ok(a) = parse_eprt(data) {
        let mut w = Vec::new();
        write_eprt(a, &mut w);
        assert_eq!(parse_eprt(&w), Ok(a));
    }
    if let Ok(p) = parse_epsv_reply(data) {
        let mut w = Vec::new();
        write_epsv_reply(p, &mut w);
        assert_eq!(parse_epsv_reply(&w), Ok(p));
    }
    if let Ok(a) = parse_lprt(data) {
        let mut w = Vec::new();
        write_lprt(a, &mut w);
        assert_eq!(parse_lprt(&w), Ok(a));
    }
    if let Ok(a) = parse_lpsv_reply(data) {
        let mut w = Vec::new();
        write_lpsv_reply(a, &mut w);
        assert_eq!(parse_lpsv_reply(&w), Ok(a));
    }
});
