//! SAA: trigger inhibition inside the South Atlantic Anomaly polygon.
//!
//! The last orbit position received on the stimulus link is tested against the active SAA
//! table ([`tables::saa::SaaTable::contains`], even-odd rule on geographic longitude and
//! latitude; longitudes are brought into −180 … 180° first). While the position is inside and
//! the `saa_inhibit` parameter is set, both triggers are inhibited: events are counted and
//! dropped, and the CRT and IMT histories are cleared on entry, so the anomaly's particle
//! background never enters a background fit or an accumulation (DOMAIN.md §9: triggering
//! disabled inside an uploadable polygon, like Swift/BAT). Before any orbit position the unit
//! is taken to be outside.

use tables::saa::SaaTable;

/// A change of the SAA state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The position entered the polygon.
    Entered,
    /// The position left the polygon.
    Exited,
}

/// The SAA stage.
#[derive(Clone, Debug)]
pub struct Saa {
    table: SaaTable,
    inside: bool,
    inhibit: bool,
    position: Option<(f32, f32)>,
}

/// Longitude brought into −180 … 180°.
pub fn wrap_lon(lon_deg: f32) -> f32 {
    if lon_deg > 180.0 {
        lon_deg - 360.0
    } else if lon_deg < -180.0 {
        lon_deg + 360.0
    } else {
        lon_deg
    }
}

impl Default for Saa {
    fn default() -> Self {
        Self::new()
    }
}

impl Saa {
    /// Outside, inhibition on, empty polygon.
    pub const fn new() -> Self {
        Saa {
            table: SaaTable { version: 0, vertices: heapless::Vec::new() },
            inside: false,
            inhibit: true,
            position: None,
        }
    }

    /// Takes the SAA table; the state is re-evaluated at the last position.
    pub fn configure(&mut self, table: &SaaTable) -> Option<Transition> {
        self.table = table.clone();
        let p = self.position?;
        self.update(p.0, p.1)
    }

    /// Sets the `saa_inhibit` parameter.
    pub fn set_inhibit(&mut self, on: bool) {
        self.inhibit = on;
    }

    /// The `saa_inhibit` parameter.
    pub fn inhibit(&self) -> bool {
        self.inhibit
    }

    /// A new orbit position; returns the transition if the state changed.
    pub fn update(&mut self, lon_deg: f32, lat_deg: f32) -> Option<Transition> {
        self.position = Some((lon_deg, lat_deg));
        let inside =
            self.table.vertices.len() >= 4 && self.table.contains(wrap_lon(lon_deg), lat_deg);
        let t = match (self.inside, inside) {
            (false, true) => Some(Transition::Entered),
            (true, false) => Some(Transition::Exited),
            _ => None,
        };
        self.inside = inside;
        t
    }

    /// Whether the last position is inside the polygon (HK `in_saa`).
    pub fn inside(&self) -> bool {
        self.inside
    }

    /// Whether the triggers are inhibited now (HK `saa_inhibited`).
    pub fn inhibited(&self) -> bool {
        self.inside && self.inhibit
    }

    /// The last orbit position (longitude, latitude), if any.
    pub fn position(&self) -> Option<(f32, f32)> {
        self.position
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tables::saa::Vertex;

    fn square() -> SaaTable {
        let mut t = SaaTable::default();
        for (lon, lat) in
            [(-60.0, -40.0), (10.0, -40.0), (10.0, -10.0), (-60.0, -10.0), (-60.0, -40.0)]
        {
            t.vertices.push(Vertex { lon_deg: lon, lat_deg: lat }).unwrap();
        }
        t
    }

    #[test]
    fn polygon_inclusion_and_transitions() {
        let mut s = Saa::new();
        assert_eq!(s.configure(&square()), None);
        assert_eq!(s.update(0.0, 0.0), None);
        assert!(!s.inside());
        assert_eq!(s.update(-30.0, -25.0), Some(Transition::Entered));
        assert!(s.inhibited());
        // 330° east is -30°: still inside.
        assert_eq!(s.update(330.0, -25.0), None);
        assert!(s.inside());
        s.set_inhibit(false);
        assert!(s.inside() && !s.inhibited());
        assert_eq!(s.update(20.0, -25.0), Some(Transition::Exited));
        assert_eq!(s.update(-30.0, -41.0), None);
    }

    #[test]
    fn default_table_contains_the_anomaly_centre() {
        let set = tables::defaults::default_set();
        let mut s = Saa::new();
        s.configure(&set.saa);
        assert_eq!(s.update(-45.0, -25.0), Some(Transition::Entered));
        assert_eq!(s.update(100.0, 10.0), Some(Transition::Exited));
        assert_eq!(s.update(-45.0, 20.0), None);
    }
}
