//! Measures in-place validation and decoding of the 6400-entry pixel image, and encoding.
//! `cargo run --release -p tables --features std --example validate_speed`

use std::time::Instant;

use tables::defaults::default_set;
use tables::{PixelImage, TableId, image};

fn main() {
    let set = default_set();
    let img = set.image(TableId::Pixels).expect("encodes");
    let runs = 200;
    let t = Instant::now();
    let mut problems = 0usize;
    for _ in 0..runs {
        tables::validate_image(&img, &set.bands, &mut |_| problems += 1).expect("valid image");
    }
    let per = t.elapsed() / runs;
    println!("validate_image(pixels, {} octets, CRC + 6400 entries in place): {per:?}", img.len());
    let t = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(PixelImage::new_checked(&img[..]).expect("valid"));
    }
    println!("PixelImage::new_checked (header + CRC-32 only): {:?}", t.elapsed() / runs);
    let mut buf = vec![0u8; img.len()];
    let t = Instant::now();
    for _ in 0..runs {
        image::emit(&*set.pixels, &mut buf).expect("fits");
    }
    println!("image::emit(pixels): {:?}", t.elapsed() / runs);
    assert_eq!(problems, 0);
}
