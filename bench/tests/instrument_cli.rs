//! `eic-bench instrument`: the JSON carries the ICD §6 geometry and the trigger's own mask.

use std::process::Command;

use onboard::trigger::geometry;
use serde_json::Value;

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eic-bench")).args(args).output().unwrap()
}

#[test]
fn json_has_icd_geometry_and_mask() {
    let out = bench(&["instrument", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON object on one line");
    let v: Value = serde_json::from_str(&text).unwrap();

    let det = &v["detector"];
    assert_eq!(det["pixels_y"], 80);
    assert_eq!(det["pixels_z"], 80);
    assert_eq!(det["pitch_mm"].as_f64(), Some(4.5));
    let plane = &v["mask_plane"];
    assert_eq!(plane["elements_i"], 46);
    assert_eq!(plane["elements_j"], 46);
    assert!((plane["element_mm"].as_f64().unwrap() - 11.4).abs() < 1e-6);
    assert_eq!(plane["height_mm"].as_f64(), Some(460.0));
    assert_eq!(plane["open_elements"], 846);
    assert_eq!(plane["outside_mask"], "opaque");
    assert_eq!(v["sky"]["pixels"], 199);
    assert!(v["frame"]["direction"].as_str().unwrap().contains("atan(y/x)"));

    let rows = v["mask"].as_array().unwrap();
    assert_eq!(rows.len(), 46);
    let mut ones = 0;
    for (i, row) in rows.iter().enumerate() {
        let row = row.as_array().unwrap();
        assert_eq!(row.len(), 46, "row {i}");
        for (j, e) in row.iter().enumerate() {
            let e = e.as_u64().unwrap();
            assert!(e <= 1);
            assert_eq!(e, u64::from(geometry::MASK[i][j]), "element ({i}, {j})");
            ones += e;
        }
    }
    assert_eq!(ones, 846);
}

#[test]
fn text_view_draws_the_mask() {
    let out = bench(&["instrument"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let art: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.len() == 46 && l.chars().all(|c| c == '#' || c == '.'))
        .collect();
    assert_eq!(art.len(), 46);
    assert_eq!(art.iter().map(|l| l.matches('#').count()).sum::<usize>(), 846);
    let first: String = geometry::MASK[0].iter().map(|&e| if e == 1 { '#' } else { '.' }).collect();
    assert_eq!(art[0], first);
}
