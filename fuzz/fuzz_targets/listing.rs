//! Listing parsers: never panic; formatters never emit CR, LF or NUL; an MLSx entry that
//! parses re-formats to a line that parses to the same entry.
#![no_main]

use ftp_proto::listing::{format_mlsx_line, format_unix_line, parse_list_line, parse_mlsx_line, ListLine};
use libfuzzer_sys::fuzz_target;

fn clean(line: &[u8]) -> bool {
    !line.iter().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(ListLine::Entry(entry)) = parse_list_line(data) {
        let mut out = Vec::new();
        format_unix_line(&entry, 1_764_000_000, &mut out);
        assert!(clean(&out));
        let mut mlsx = Vec::new();
        format_mlsx_line(&entry, &mut mlsx);
        assert!(clean(&mlsx));
    }
    if let Ok(entry) = parse_mlsx_line(data) {
        let mut out = Vec::new();
        format_mlsx_line(&entry, &mut out);
        assert!(clean(&out));
        // RFC 3659 §7: an entry without facts is " name", and an MLST reply line is " " +
        // entry, so a fact-less line whose name starts with a space or itself looks like
        // `fact=value; name` reads either way (the parser takes the MLST form). Every other
        // entry must survive the round trip.
        let ambiguous = out.starts_with(b" ")
            && (entry.name.first() == Some(&b' ') || entry.name.contains(&b'='));
        // The formatter replaces what a line cannot carry (CR, LF, NUL anywhere; `;` in a
        // fact value; `=` or `;` in a fact name): only entries without those round-trip.
        let facts_clean = entry.facts.iter().all(|f| {
            clean(&f.value)
                && !f.value.contains(&b';')
                && clean(&f.name)
                && !f.name.iter().any(|b| matches!(b, b'=' | b';' | b' '))
        });
        let value_clean = |v: &[u8]| clean(v) && !v.contains(&b';');
        let kind_clean = match &entry.kind {
            ftp_proto::listing::EntryKind::Other(v) => value_clean(v),
            _ => true,
        };
        let fields_clean = [&entry.link_target, &entry.owner, &entry.group]
            .iter()
            .all(|f| f.as_ref().is_none_or(|v| value_clean(v)));
        if clean(&entry.name)
            && !entry.name.is_empty()
            && !ambiguous
            && facts_clean
            && kind_clean
            && fields_clean
        {
            let again = parse_mlsx_line(&out).expect("formatted MLSx line parses");
            assert_eq!(again, entry, "MLSx round trip");
        }
    }
});
