//! A database with a 64 KiB block of zeros anywhere is refused, or opens with every row intact: never a
//! panic, never a silently shortened database.

use std::io::{Seek, SeekFrom, Write};

use super::backup::check_file;
use super::open::open_database;
use super::{Store, StoreError, META};

#[test]
fn a_zeroed_block_is_refused_or_harmless() {
    let dir = std::env::temp_dir().join(format!("chia-pool-damage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let good = dir.join("good.redb");
    let store = Store::open(&good).unwrap();
    for batch in 0..20u32 {
        store
            .write_blocking(move |txn| {
                let mut meta = txn.open_table(META)?;
                for i in 0..500u32 {
                    let key = format!("row-{batch}-{i}");
                    meta.insert(key.as_str(), [batch as u8; 200].as_slice())?;
                }
                Ok(())
            })
            .unwrap();
    }
    store.close();
    let rows = check_file(&good).unwrap().rows;
    let size = std::fs::metadata(&good).unwrap().len();
    let bad = dir.join("bad.redb");
    let (mut refused, mut intact) = (0, 0);
    for offset in (0..size).step_by(64 * 1024) {
        std::fs::copy(&good, &bad).unwrap();
        let mut f = std::fs::OpenOptions::new().write(true).open(&bad).unwrap();
        f.seek(SeekFrom::Start(offset)).unwrap();
        f.write_all(&[0u8; 64 * 1024]).unwrap();
        drop(f);
        let checked = check_file(&bad);
        match open_database(&bad, true) {
            Err(StoreError::Damaged { .. }) => {
                refused += 1;
                assert!(
                    checked.is_err(),
                    "check passes a file serve refuses ({offset})"
                );
            }
            Err(e) => panic!("at {offset}: {e}"),
            Ok(db) => {
                drop(db);
                let after = check_file(&bad).unwrap_or_else(|e| panic!("at {offset}: {e}"));
                assert_eq!(after.rows, rows, "rows lost silently, block at {offset}");
                intact += 1;
            }
        }
    }
    eprintln!("{size} bytes: {refused} blocks refused, {intact} harmless");
    assert!(refused >= 1);
    let _ = std::fs::remove_dir_all(&dir);
}
