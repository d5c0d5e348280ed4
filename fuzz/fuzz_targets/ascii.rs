//! TYPE A conversion: chunked output equals one-shot output in both directions, the slice
//! form never overruns, and FromNetwork(ToNetwork(x)) == x when x has no CR.
#![no_main]

use ftp_proto::ascii::{FromNetwork, ToNetwork};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let at = usize::from(split) % (data.len() + 1);
    let (a, b) = data.split_at(at);

    let mut one = Vec::new();
    ToNetwork::new().convert(data, &mut one);
    let mut two = Vec::new();
    let mut enc = ToNetwork::new();
    enc.convert(a, &mut two);
    enc.convert(b, &mut two);
    enc.finish(&mut two);
    assert_eq!(one, two, "ToNetwork depends on chunking");

    let mut back = Vec::new();
    let mut dec = FromNetwork::new();
    dec.convert(a, &mut back);
    dec.convert(b, &mut back);
    dec.finish(&mut back);
    let mut back_one = Vec::new();
    let mut dec1 = FromNetwork::new();
    dec1.convert(data, &mut back_one);
    dec1.finish(&mut back_one);
    assert_eq!(back, back_one, "FromNetwork depends on chunking");

    // Slice form with a tiny output buffer.
    let mut small = [0u8; 3];
    let mut dec2 = FromNetwork::new();
    let mut input = data;
    let mut sliced = Vec::new();
    while !input.is_empty() {
        let (used, written) = dec2.convert_slice(input, &mut small);
        assert!(written <= small.len());
        sliced.extend_from_slice(&small[..written]);
        input = &input[used..];
        assert!(used > 0 || written > 0, "no progress");
    }
    let n = dec2.finish_slice(&mut small);
    sliced.extend_from_slice(&small[..n]);
    assert_eq!(sliced, back_one, "slice form differs");

    if !data.contains(&b'\r') {
        let mut wire = Vec::new();
        ToNetwork::new().convert(data, &mut wire);
        let mut round = Vec::new();
        let mut d = FromNetwork::new();
        d.convert(&wire, &mut round);
        d.finish(&mut round);
        assert_eq!(round, data, "round trip");
    }
});
