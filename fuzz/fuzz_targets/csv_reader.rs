//! CSV/TSV reader on arbitrary bytes: no panic, and every record after the header rows is
//! either usable or rejected (usable rows as wide as the header).
#![no_main]

#[allow(dead_code)]
#[path = "../../src/input.rs"]
mod input;
#[allow(dead_code)]
#[path = "../../src/normalise.rs"]
mod normalise;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte, when small, forces a header-row count as `--header-rows` would.
    let (forced, bytes) = match data.split_first() {
        Some((&b, rest)) if b <= 3 => (if b == 0 { None } else { Some(b as usize) }, rest),
        _ => (None, data),
    };
    if let Ok(t) = input::Table::from_bytes_with(std::path::Path::new("fuzz.csv"), bytes, forced) {
        assert_eq!(t.rows.len() + t.rejected.len(), t.rows_read());
        for r in &t.rows {
            assert_eq!(r.fields.len(), t.headers.len());
        }
        let _ = t.roles();
    }
});
