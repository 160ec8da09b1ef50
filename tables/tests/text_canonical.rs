//! The text forms the tool writes are canonical: every committed table directory (the
//! defaults and the example workplan) read, turned into images, decoded back (what
//! `tables pull` does with the unit's dumps) and written again is byte-identical, so `diff -r`
//! between a pulled copy and its source shows only real differences (`tables diff` is the
//! semantic comparison).
#![cfg(feature = "std")]

use std::path::Path;

use tables::TableId;
use tables::set::{TableSet, file_name};

fn check(dir: &Path) {
    let set = TableSet::load_dir(dir).unwrap();
    let images: Vec<Vec<u8>> = TableId::ALL.iter().map(|&id| set.image(id).unwrap()).collect();
    let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    let back = TableSet::from_images(&refs).unwrap();
    for id in TableId::ALL {
        let path = dir.join(file_name(id));
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            back.to_text(id) == committed,
            "{}: text -> image -> text differs from the committed file (write it in the tool's \
             canonical form, e.g. floats with a decimal point)",
            path.display()
        );
    }
}

#[test]
fn defaults_round_trip_to_identical_text() {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("defaults"));
}

#[test]
fn example_workplan_round_trips_to_identical_text() {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/workplan-tables"));
}
