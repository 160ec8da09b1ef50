//! The committed default set (`tables/defaults/`) is exactly the generator's output, and it
//! is valid.
#![cfg(feature = "std")]

use std::path::Path;

use tables::TableId;
use tables::defaults::default_set;
use tables::set::{TableSet, file_name};

fn dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/defaults"))
}

#[test]
fn committed_defaults_equal_generator_output() {
    let set = default_set();
    for id in TableId::ALL {
        let path = dir().join(file_name(id));
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == set.to_text(id),
            "{} differs from the generator: run `eic-bench tables defaults -o tables/defaults`",
            path.display()
        );
    }
    assert_eq!(TableSet::load_dir(dir()).unwrap(), set);
}

#[test]
fn validator_accepts_the_default_set() {
    let set = TableSet::load_dir(dir()).unwrap();
    let problems = set.problems();
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn missing_file_is_named() {
    let e = TableSet::load_dir(Path::new("/nonexistent-dir")).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent-dir/pixels.csv: cannot read:"), "{e}");
}
