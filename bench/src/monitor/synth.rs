//! Synthetic TM archives for the monitor's tests and benchmark: HK, event, alert and table
//! directory reports packed into AOS frames and CADUs exactly as the unit sends them
//! (PUS TM packets, M_PDU, randomised CADUs), written as TM archive records with chosen
//! reception times.

use std::io::Write;

use tc_tm::aos;
use tc_tm::mission::{self, CADU_LEN};
use tc_tm::mpdu::Packer;
use tc_tm::pus::time::Cuc;
use tc_tm::pus::tm as pus_tm;
use tc_tm::service::Report;
use tc_tm::service::housekeeping::{HkReport, HousekeepingReport, Report as HkMsg};
use tc_tm::spp::{SeqCount, SeqFlags};

use crate::archive::{self, RecordKind};

/// Writes TM archive records of synthetic reports into any writer.
pub struct ArchiveSynth<W: Write> {
    out: W,
    hk: Box<Packer<65536>>,
    alert: Box<Packer<65536>>,
    seq: SeqCount,
    counter: u16,
    scratch: Vec<u8>,
    /// Records written.
    pub records: u64,
}

impl<W: Write> std::fmt::Debug for ArchiveSynth<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveSynth").field("records", &self.records).finish_non_exhaustive()
    }
}

impl<W: Write> ArchiveSynth<W> {
    /// A writer of archive records into `out`.
    pub fn new(out: W) -> Self {
        Self {
            out,
            hk: Box::new(Packer::new(aos::Vcid::new_masked(mission::VC_HK))),
            alert: Box::new(Packer::new(aos::Vcid::new_masked(mission::VC_ALERT))),
            seq: SeqCount::new_masked(0),
            counter: 0,
            scratch: Vec::new(),
            records: 0,
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// One report (service, subtype, source data) at on-board time `cuc_s`, received at
    /// `rx_ns`, sent in its own frame(s) on the HK (or, for ST\[201\], the alert) channel.
    ///
    /// # Errors
    /// I/O errors; a packet the codec refuses (InvalidData).
    pub fn report(
        &mut self,
        rx_ns: i64,
        cuc_s: f64,
        service: u8,
        subtype: u8,
        data: &[u8],
    ) -> std::io::Result<()> {
        let bad = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let r = pus_tm::Repr {
            apid: mission::APID_UGTS,
            seq_flags: SeqFlags::Unsegmented,
            seq_count: self.seq,
            time_ref_status: 0,
            service,
            subtype,
            msg_counter: self.counter,
            dest_id: mission::BENCH_SOURCE_ID,
            time: Cuc::from_secs_f64(cuc_s.max(0.0)).unwrap_or(Cuc::EPOCH),
            source_data: data,
        };
        self.seq = self.seq.next();
        self.counter = self.counter.wrapping_add(1);
        let mut buf = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut buf).map_err(|e| bad(format!("{e:?}")))?;
        let packer = if service == 201 { &mut self.alert } else { &mut self.hk };
        packer.push(buf.get(..n).unwrap_or_default()).map_err(|e| bad(format!("{e:?}")))?;
        let mut frame = [0u8; aos::FRAME_LEN];
        let mut cadu = [0u8; CADU_LEN];
        while packer.flush_frame(0, &mut frame) {
            tc_tm::sync::encode_cadu(&frame, &mut cadu);
            self.scratch.clear();
            archive::encode_record(
                RecordKind::Cadu,
                archive::SOURCE_TCTM,
                rx_ns,
                &cadu,
                &mut self.scratch,
            )
            .map_err(|e| bad(format!("{e}")))?;
            self.out.write_all(&self.scratch)?;
            self.records += 1;
        }
        Ok(())
    }

    /// One SID 1 HK report.
    ///
    /// # Errors
    /// As [`ArchiveSynth::report`].
    pub fn hk(&mut self, rx_ns: i64, cuc_s: f64, hk: &HkReport) -> std::io::Result<()> {
        let msg = HkMsg::Housekeeping(HousekeepingReport::Ugts(*hk));
        let mut data = vec![0u8; msg.buffer_len()];
        msg.emit(&mut data)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{e:?}")))?;
        self.report(rx_ns, cuc_s, 3, 25, &data)
    }

    /// Any typed report.
    ///
    /// # Errors
    /// As [`ArchiveSynth::report`].
    pub fn typed(&mut self, rx_ns: i64, cuc_s: f64, report: &Report<'_>) -> std::io::Result<()> {
        let mut data = vec![0u8; 4096];
        let n = report
            .emit(&mut data)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{e:?}")))?;
        let (service, subtype) = report.service_subtype();
        self.report(rx_ns, cuc_s, service, subtype, data.get(..n).unwrap_or_default())
    }
}

/// A nominal HK report at uptime `uptime_s` (software 1.0.0, observation mode, sector rates
/// around 500 counts/s varying with `i`).
pub fn nominal_hk(i: u64, uptime_s: u32) -> HkReport {
    let mut hk = HkReport { uptime_s, sw_version: 0x0100_0000, ..HkReport::default() };
    hk.mode = tc_tm::service::function::Mode::Observation;
    for (k, r) in hk.sector_rates.iter_mut().enumerate() {
        *r = 450 + ((i * 7 + k as u64 * 13) % 100) as u16;
    }
    hk
}
