//! IMT: the Image Trigger, per the active IMT table.
//!
//! ```text
//! accepted event ─► current cycle: counts per (IMT band, pixel)        cycle_ms of event time
//!                        │ cycle closes (cycle boundaries at multiples of cycle_ms since the epoch)
//!                        ├─► accumulation of 1 cycle: image the cycle itself
//!                        └─► accumulation of k cycles: add into its running sum; when an
//!                            aligned block of k cycles is complete, image the sum, clear it
//! ```
//!
//! - **Linearity.** An image is linear in its shadowgram, so the image of k cycles is the image
//!   of the summed shadowgram: each accumulation keeps one running sum per band, fed by one
//!   vector addition per closed cycle, and is imaged once per aligned block of k cycles —
//!   never re-imaging the cycles. With the default ladder 1, 2, 4 … 64 this is 2 − 2⁻⁶ images
//!   per cycle and band, the cost of a binary tree of partial sums, for any set of cycle counts.
//! - **Aligned blocks.** A block of k cycles starts at a cycle number that is a multiple of k
//!   (cycle number = tick / cycle ticks since the epoch), so the blocks do not depend on when
//!   the replay started. A block that was not seen whole (trigger started, re-enabled or
//!   left the SAA in its middle) is discarded, not imaged.
//! - **Counts.** Raw counts, `u16` per pixel, saturating (64 cycles of 20.48 s at 50 counts/s
//!   in one pixel still fit); the 1/efficiency weights are applied when the shadowgram is built,
//!   which is the same by linearity.
//! - **Background.** When the table asks for the quadratic correction, shadowgrams of at least
//!   `bkg_min_cycles` cycles have the least-squares surface a·y² + b·z² + c·y + d·z + e
//!   (over the pixels in use) subtracted before imaging (the imager's
//!   [`Background::Quadratic`]; DOMAIN.md §3: ECPI image_deconv, D22).

use tables::imt::{BkgCorrection, ImtTable};
use tables::pixels::PIXELS;
use tables::{MAX_ACCUMULATIONS, MAX_BANDS, MAX_TRIGGER_BANDS};

use super::imaging::Background;
use crate::limits::CRT_BIN_TICKS;

/// Ticks per millisecond.
const TICKS_PER_MS: u64 = CRT_BIN_TICKS / 10;

/// An accumulation due for imaging.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Due {
    /// IMT band index in the table.
    pub band: usize,
    /// Accumulation index in the table.
    pub accumulation: usize,
    /// Cycles accumulated.
    pub cycles: u16,
    /// Image SNR threshold of this accumulation.
    pub snr: f32,
    /// Start of the accumulated time, ticks.
    pub start_tick: u64,
    /// End of the accumulated time (exclusive), ticks.
    pub end_tick: u64,
}

/// Counters of the IMT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImtStats {
    /// Cycles closed.
    pub cycles: u64,
    /// Images made (accumulations due).
    pub images: u64,
    /// Blocks discarded because they were not seen whole.
    pub partial_blocks: u64,
}

/// The Image Trigger state (fixed memory: see `docs/trigger.md`).
#[derive(Clone, Debug)]
pub struct Imt {
    n_bands: usize,
    tb_of_band: [u8; MAX_BANDS],
    n_acc: usize,
    acc_cycles: [u16; MAX_ACCUMULATIONS],
    acc_snr: [f32; MAX_ACCUMULATIONS],
    cycle_ticks: u64,
    quadratic: bool,
    bkg_min_cycles: u16,
    /// Cycle being filled.
    cycle: Option<u64>,
    /// First cycle seen whole.
    first_cycle: u64,
    current: [[u16; PIXELS]; MAX_TRIGGER_BANDS],
    /// The cycle being filled per elementary band (saturating): one increment per event,
    /// folded into `current` per IMT band when the cycle closes. Saturating sums of
    /// saturated counts equal the saturated sum, so `current` is what counting each event
    /// in every IMT band containing its band gives.
    per_band: [[u16; PIXELS]; MAX_BANDS],
    sums: [[[u16; PIXELS]; MAX_TRIGGER_BANDS]; MAX_ACCUMULATIONS],
    stats: ImtStats,
}

#[allow(clippy::indexing_slicing)] // indices reduced modulo the fixed array lengths
impl Imt {
    /// An unconfigured IMT.
    pub const fn new() -> Self {
        Imt {
            n_bands: 0,
            tb_of_band: [0; MAX_BANDS],
            n_acc: 0,
            acc_cycles: [0; MAX_ACCUMULATIONS],
            acc_snr: [0.0; MAX_ACCUMULATIONS],
            cycle_ticks: 1,
            quadratic: false,
            bkg_min_cycles: 1,
            cycle: None,
            first_cycle: 0,
            current: [[0; PIXELS]; MAX_TRIGGER_BANDS],
            per_band: [[0; PIXELS]; MAX_BANDS],
            sums: [[[0; PIXELS]; MAX_TRIGGER_BANDS]; MAX_ACCUMULATIONS],
            stats: ImtStats { cycles: 0, images: 0, partial_blocks: 0 },
        }
    }

    /// Takes the IMT table and restarts.
    pub fn configure(&mut self, table: &ImtTable) {
        self.n_bands = table.bands.len().min(MAX_TRIGGER_BANDS);
        self.tb_of_band = [0; MAX_BANDS];
        for (t, tb) in table.bands.iter().enumerate().take(MAX_TRIGGER_BANDS) {
            for b in tb.first..=tb.last {
                if let Some(m) = self.tb_of_band.get_mut(usize::from(b)) {
                    *m |= 1 << t;
                }
            }
        }
        self.n_acc = table.accumulations.len().min(MAX_ACCUMULATIONS);
        for (i, a) in table.accumulations.iter().enumerate().take(MAX_ACCUMULATIONS) {
            self.acc_cycles[i] = a.cycles.max(1);
            self.acc_snr[i] = a.snr;
        }
        self.cycle_ticks = (u64::from(table.cycle_ms) * TICKS_PER_MS).max(1);
        self.quadratic = table.bkg_correction == BkgCorrection::Quadratic;
        self.bkg_min_cycles = table.bkg_min_cycles;
        self.reset();
    }

    /// Forgets every partial cycle and block.
    pub fn reset(&mut self) {
        self.cycle = None;
        for b in &mut self.current {
            b.fill(0);
        }
        for b in &mut self.per_band {
            b.fill(0);
        }
        for a in &mut self.sums {
            for b in a.iter_mut() {
                b.fill(0);
            }
        }
    }

    /// Counters.
    pub fn stats(&self) -> ImtStats {
        self.stats
    }

    /// First tick at which [`Imt::advance`] has a cycle to close (0 before the first call).
    pub fn next_boundary(&self) -> u64 {
        self.cycle.map_or(0, |c| (c + 1).saturating_mul(self.cycle_ticks))
    }

    /// Cycle length, ticks.
    pub fn cycle_ticks(&self) -> u64 {
        self.cycle_ticks
    }

    /// Counts an accepted event (pixel, elementary band) in the current cycle.
    #[inline]
    pub fn add(&mut self, pixel: u16, band: u8) {
        if self.cycle.is_none() {
            return;
        }
        if let Some(c) = self.per_band[usize::from(band) % MAX_BANDS].get_mut(usize::from(pixel)) {
            *c = c.saturating_add(1);
        }
    }

    /// Brings the IMT to event time `tick`, closing every cycle that ended before it; `on_due`
    /// gets every accumulation due, with the IMT to build its shadowgram from.
    pub fn advance(&mut self, tick: u64, on_due: &mut dyn FnMut(&Self, Due)) {
        let target = tick / self.cycle_ticks;
        let Some(mut c) = self.cycle else {
            self.cycle = Some(target);
            self.first_cycle = target + 1;
            return;
        };
        while c < target {
            self.close_cycle(c, on_due);
            c += 1;
            self.cycle = Some(c);
            if target - c
                > 2 * u64::from(self.acc_cycles[..self.n_acc].iter().copied().max().unwrap_or(1))
            {
                // Long gap: every block is broken anyway.
                self.reset();
                self.cycle = Some(target);
                self.first_cycle = target + 1;
                return;
            }
        }
    }

    fn close_cycle(&mut self, c: u64, on_due: &mut dyn FnMut(&Self, Due)) {
        self.stats.cycles += 1;
        // The cycle's counts per IMT band from those per elementary band.
        for (b, row) in self.per_band.iter_mut().enumerate() {
            let mut tbs = self.tb_of_band[b];
            while tbs != 0 {
                let t = tbs.trailing_zeros() as usize % MAX_TRIGGER_BANDS;
                tbs &= tbs - 1;
                for (c, &n) in self.current[t].iter_mut().zip(row.iter()) {
                    *c = c.saturating_add(n);
                }
            }
            row.fill(0);
        }
        let whole = c >= self.first_cycle;
        for a in 0..self.n_acc {
            if self.acc_cycles[a] > 1 {
                for t in 0..self.n_bands {
                    for (s, &v) in self.sums[a][t].iter_mut().zip(&self.current[t]) {
                        *s = s.saturating_add(v);
                    }
                }
            }
        }
        for a in 0..self.n_acc {
            let k = u64::from(self.acc_cycles[a]);
            if !(c + 1).is_multiple_of(k) {
                continue;
            }
            let block_start = c + 1 - k;
            if whole && block_start >= self.first_cycle {
                for t in 0..self.n_bands {
                    self.stats.images += 1;
                    on_due(
                        self,
                        Due {
                            band: t,
                            accumulation: a,
                            cycles: self.acc_cycles[a],
                            snr: self.acc_snr[a],
                            start_tick: block_start * self.cycle_ticks,
                            end_tick: (c + 1).saturating_mul(self.cycle_ticks),
                        },
                    );
                }
            } else {
                self.stats.partial_blocks += 1;
            }
            if k > 1 {
                for b in self.sums[a].iter_mut() {
                    b.fill(0);
                }
            }
        }
        for b in &mut self.current {
            b.fill(0);
        }
    }

    /// The shadowgram of an accumulation due: per pixel, counts × weight and its variance
    /// counts × weight²; returns the raw counts on the pixels in use.
    pub fn shadowgram(
        &self,
        due: &Due,
        weights: &[f32; PIXELS],
        counts_out: &mut [f32; PIXELS],
        variance_out: &mut [f32; PIXELS],
    ) -> u64 {
        let t = due.band % MAX_TRIGGER_BANDS;
        let counts = if due.cycles <= 1 {
            &self.current[t]
        } else {
            &self.sums[due.accumulation % MAX_ACCUMULATIONS][t]
        };
        let mut total = 0u64;
        for (((o, v), &n), &w) in
            counts_out.iter_mut().zip(variance_out.iter_mut()).zip(counts).zip(weights)
        {
            let n32 = f32::from(n);
            *o = w * n32;
            *v = w * w * n32;
            if w > 0.0 {
                total += u64::from(n);
            }
        }
        total
    }

    /// The background treatment of an accumulation: quadratic from `bkg_min_cycles` when the
    /// table asks for it.
    pub fn background(&self, due: &Due) -> Background {
        if self.quadratic && due.cycles >= self.bkg_min_cycles {
            Background::Quadratic
        } else {
            Background::None
        }
    }
}

impl Default for Imt {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;
    use std::vec::Vec;
    use tables::bands::TriggerBand;
    use tables::imt::Accumulation;

    fn table() -> ImtTable {
        let mut t = ImtTable {
            cycle_ms: 1000,
            bkg_correction: BkgCorrection::None,
            bkg_min_cycles: 4,
            ..ImtTable::default()
        };
        t.bands.push(TriggerBand { first: 0, last: 1 }).unwrap();
        for (cycles, snr) in [(1, 6.5), (2, 6.5), (3, 6.0), (4, 6.5)] {
            t.accumulations.push(Accumulation { cycles, snr }).unwrap();
        }
        t
    }

    #[test]
    fn accumulations_sum_aligned_cycles_and_skip_partial_blocks() {
        super::super::big_stack(|| {
            let mut imt = Box::new(Imt::new());
            let w = Box::new([1.0f32; PIXELS]);
            imt.configure(&table());
            let ct = imt.cycle_ticks();
            let mut dues: Vec<(Due, f32)> = Vec::new();
            let mut sg = Box::new([0f32; PIXELS]);
            let mut var = Box::new([0f32; PIXELS]);
            // Start mid-cycle 10; one event per cycle at pixel 5, band 0 (cycle number c gives c
            // events).
            for c in 10u64..=24 {
                let tick = c * ct + ct / 2;
                imt.advance(tick, &mut |imt, d| {
                    imt.shadowgram(&d, &w, &mut sg, &mut var);
                    assert_eq!(imt.background(&d), Background::None);
                    dues.push((d, sg[5]));
                });
                for _ in 0..c {
                    imt.add(5, 0);
                }
            }
            // Cycle 10 was partial; whole cycles are 11..=23 (24 is still open).
            let one: Vec<_> = dues.iter().filter(|(d, _)| d.cycles == 1).collect();
            assert_eq!(one.len(), 13);
            assert_eq!(one[0].1, 11.0);
            // 2-cycle blocks start at even cycles: [12, 13] = 25 … [22, 23] = 45.
            let two: Vec<_> = dues.iter().filter(|(d, _)| d.cycles == 2).map(|(_, v)| *v).collect();
            assert_eq!(two, [25.0, 29.0, 33.0, 37.0, 41.0, 45.0]);
            // 3-cycle blocks: [12..14] = 39, [15..17], [18..20], [21..23].
            let three: Vec<_> =
                dues.iter().filter(|(d, _)| d.cycles == 3).map(|(_, v)| *v).collect();
            assert_eq!(three, [39.0, 48.0, 57.0, 66.0]);
            // 4-cycle blocks: [8..11] partial (skipped), [12..15] = 54, [16..19] = 70, [20..23] = 86.
            let four: Vec<_> =
                dues.iter().filter(|(d, _)| d.cycles == 4).map(|(_, v)| *v).collect();
            assert_eq!(four, [54.0, 70.0, 86.0]);
            let d = dues.iter().find(|(d, _)| d.cycles == 4).unwrap().0;
            assert_eq!((d.start_tick, d.end_tick), (12 * ct, 16 * ct));
            assert!(imt.stats().partial_blocks >= 2);
        });
    }
}
