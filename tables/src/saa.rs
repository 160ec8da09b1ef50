//! South Atlantic Anomaly contour (ID `0x06`): a simple closed polygon in geographic
//! longitude/latitude inside which the trigger is inhibited.
//!
//! The polygon is written closed: its last vertex repeats the first. Payload: count u8, then
//! per vertex `lon_deg` f32, `lat_deg` f32. The polygon must not cross the ±180° meridian
//! (the SAA lies between about −90° and +40° of longitude).

use crate::image::{self, Error, Reader, Table, Writer};
use crate::problem::{Field, Problem, ProblemKind, check_count, check_range, idx};
use crate::{MAX_VERTICES, TableId};

/// Payload format version.
pub const FORMAT_VERSION: u8 = 1;
/// Largest image of the SAA table, in octets: header, count, [`MAX_VERTICES`] vertices of 8
/// octets, CRC.
pub const MAX_IMAGE_LEN: usize = image::HEADER_LEN + 1 + 8 * MAX_VERTICES + image::CRC_LEN;
/// Fewest vertices: a triangle plus the closing vertex.
pub const MIN_VERTICES: usize = 4;

/// One polygon vertex.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct Vertex {
    /// Geographic longitude, degrees east, −180..180.
    pub lon_deg: f32,
    /// Geographic latitude, degrees north, −90..90.
    pub lat_deg: f32,
}

/// The SAA table.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct SaaTable {
    /// Table content version.
    pub version: u16,
    /// The closed polygon: the last vertex repeats the first.
    pub vertices: heapless::Vec<Vertex, MAX_VERTICES>,
}

type P = (f64, f64);

fn pt(v: &Vertex) -> P {
    (f64::from(v.lon_deg), f64::from(v.lat_deg))
}

fn orient(a: P, b: P, c: P) -> f64 {
    (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
}

fn on_segment(a: P, b: P, c: P) -> bool {
    c.0 >= a.0.min(b.0) && c.0 <= a.0.max(b.0) && c.1 >= a.1.min(b.1) && c.1 <= a.1.max(b.1)
}

/// Whether segments `ab` and `cd` share any point (touching counts).
fn segments_meet(a: P, b: P, c: P, d: P) -> bool {
    let (d1, d2) = (orient(c, d, a), orient(c, d, b));
    let (d3, d4) = (orient(a, b, c), orient(a, b, d));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && on_segment(c, d, a))
        || (d2 == 0.0 && on_segment(c, d, b))
        || (d3 == 0.0 && on_segment(a, b, c))
        || (d4 == 0.0 && on_segment(a, b, d))
}

impl SaaTable {
    /// Whether a point lies inside the polygon (even-odd rule; points on an edge may go
    /// either way). Linear in the number of vertices.
    pub fn contains(&self, lon_deg: f32, lat_deg: f32) -> bool {
        let (x, y) = (f64::from(lon_deg), f64::from(lat_deg));
        let mut inside = false;
        for w in self.vertices.windows(2) {
            if let [a, b] = w {
                let (a, b) = (pt(a), pt(b));
                if (a.1 > y) != (b.1 > y) && x < a.0 + (y - a.1) * (b.0 - a.0) / (b.1 - a.1) {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// Validates: 4 to [`MAX_VERTICES`] vertices, coordinates in range, polygon closed (last
    /// vertex equal to the first) and simple (no two non-adjacent edges meet, which also
    /// catches repeated vertices). Edge `k` runs from vertex `k` to vertex `k + 1`. Quadratic
    /// in the number of vertices.
    pub fn validate(&self, sink: &mut dyn FnMut(Problem)) {
        let t = TableId::Saa;
        let v = &self.vertices;
        check_count(sink, t, Field::Vertices, v.len(), MIN_VERTICES, MAX_VERTICES);
        let mut coords_ok = true;
        for (i, p) in v.iter().enumerate() {
            let e = idx(i);
            coords_ok &=
                check_range(sink, t, e, Field::LonDeg, f64::from(p.lon_deg), -180.0, 180.0);
            coords_ok &= check_range(sink, t, e, Field::LatDeg, f64::from(p.lat_deg), -90.0, 90.0);
        }
        let closed = v.len() >= 2 && v.first() == v.last();
        if !closed {
            sink(Problem {
                table: t,
                entry: None,
                field: Field::Vertices,
                kind: ProblemKind::NotClosed,
            });
        }
        if !coords_ok || v.len() < 3 {
            return;
        }
        let edges = v.len() - 1;
        for i in 0..edges {
            for j in i + 2..edges {
                if closed && i == 0 && j == edges - 1 {
                    continue; // adjacent through the closing vertex
                }
                let (Some(a), Some(b), Some(c), Some(d)) =
                    (v.get(i), v.get(i + 1), v.get(j), v.get(j + 1))
                else {
                    continue;
                };
                if segments_meet(pt(a), pt(b), pt(c), pt(d)) {
                    sink(Problem {
                        table: t,
                        entry: idx(i),
                        field: Field::Edge,
                        kind: ProblemKind::SelfIntersecting { other: idx(j).unwrap_or(0) },
                    });
                }
            }
        }
        // Zero-length edges have no non-adjacent neighbour meeting them when the polygon is
        // a triangle; catch them directly.
        for (i, w) in v.windows(2).enumerate() {
            if let [a, b] = w
                && a == b
            {
                sink(Problem {
                    table: t,
                    entry: idx(i),
                    field: Field::Edge,
                    kind: ProblemKind::Duplicate { other: idx(i).unwrap_or(0) },
                });
            }
        }
    }
}

impl Table for SaaTable {
    const ID: TableId = TableId::Saa;
    const FORMAT_VERSION: u8 = FORMAT_VERSION;

    fn version(&self) -> u16 {
        self.version
    }

    fn payload_len(&self) -> usize {
        1 + 8 * self.vertices.len()
    }

    fn emit_payload(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.count(Field::Vertices, self.vertices.len())?;
        for p in &self.vertices {
            w.f32(p.lon_deg)?;
            w.f32(p.lat_deg)?;
        }
        Ok(())
    }

    fn parse_payload(r: &mut Reader<'_>, version: u16) -> Result<Self, Error> {
        let n = r.count(Field::Vertices, MAX_VERTICES)?;
        let mut t = SaaTable { version, vertices: heapless::Vec::new() };
        for _ in 0..n {
            let p = Vertex { lon_deg: r.f32()?, lat_deg: r.f32()? };
            t.vertices.push(p).map_err(|_| Error::Capacity {
                field: Field::Vertices,
                found: n,
                max: MAX_VERTICES,
            })?;
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::{String, ToString};
    use std::vec::Vec;

    use super::*;
    use crate::image;

    fn poly(v: &[(f32, f32)]) -> SaaTable {
        let mut t = SaaTable { version: 1, vertices: heapless::Vec::new() };
        for &(lon_deg, lat_deg) in v {
            t.vertices.push(Vertex { lon_deg, lat_deg }).unwrap();
        }
        t
    }

    fn problems(t: &SaaTable) -> Vec<String> {
        let mut v = Vec::new();
        t.validate(&mut |p| v.push(p.to_string()));
        v
    }

    const SQUARE: [(f32, f32); 5] =
        [(-60.0, -40.0), (0.0, -40.0), (0.0, -10.0), (-60.0, -10.0), (-60.0, -40.0)];

    #[test]
    fn accepts_square_and_contains() {
        let t = poly(&SQUARE);
        assert!(problems(&t).is_empty());
        assert!(t.contains(-30.0, -20.0));
        assert!(!t.contains(10.0, -20.0));
        let mut buf = [0u8; 64];
        let n = image::emit(&t, &mut buf).unwrap();
        assert_eq!(image::parse::<SaaTable>(&buf[..n]).unwrap(), t);
    }

    #[test]
    fn rejects_open_polygon() {
        assert_eq!(
            problems(&poly(&SQUARE[..4])),
            [
                "SAA table, field VERTICES: polygon is not closed: the last vertex must repeat the first"
            ]
        );
    }

    #[test]
    fn rejects_bow_tie() {
        let t = poly(&[(0.0, 0.0), (10.0, 10.0), (10.0, 0.0), (0.0, 10.0), (0.0, 0.0)]);
        assert_eq!(problems(&t), ["SAA table, edge 0, field EDGE: crosses edge 2"]);
    }

    #[test]
    fn rejects_bad_coordinates() {
        let mut s = SQUARE;
        s[1].1 = -95.0;
        assert_eq!(
            problems(&poly(&s)),
            ["SAA table, vertex 1, field LAT_DEG: -95 deg is outside -90..90"]
        );
    }

    #[test]
    fn rejects_repeated_vertex() {
        let t = poly(&[(0.0, 0.0), (10.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 0.0)]);
        assert!(!problems(&t).is_empty());
    }
}
