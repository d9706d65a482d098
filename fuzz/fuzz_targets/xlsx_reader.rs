//! Workbook reader (calamine, XLSX path) on arbitrary bytes: an error or a table, never a panic.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/input.rs"]
mod input;
#[allow(dead_code)]
#[path = "../../src/normalise.rs"]
mod normalise;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = input::ReadOptions::default();
    if let Ok(t) = input::Table::from_workbook_bytes(std::path::Path::new("fuzz.xlsx"), data, &opts) {
        for r in &t.rows {
            assert!(r.line as usize > t.header_rows);
        }
        let _ = t.roles();
    }
});
