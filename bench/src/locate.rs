//! Turns codec errors into one-line messages that name the layer, the offset in the input and
//! the expected value, as operators and scripts need them.

use tc_tm::{Error, cltu, pus, spp, tc_frame};

/// Offset (relative to the start of the unit being parsed, of length `unit_len`) that an
/// error points at.
pub fn offset_of(error: &Error, unit_len: usize) -> usize {
    match error {
        Error::Pus(pus::Error::BadCrc { .. }) | Error::TcFrame(tc_frame::Error::BadCrc { .. }) => {
            unit_len.saturating_sub(2)
        }
        Error::Pus(pus::Error::Truncated { found, .. })
        | Error::TcFrame(tc_frame::Error::Truncated { found, .. })
        | Error::Cltu(cltu::Error::Truncated { found, .. })
        | Error::Spp(spp::Error::Truncated { found, .. })
        | Error::Pus(pus::Error::Spp(spp::Error::Truncated { found, .. })) => {
            (*found).min(unit_len)
        }
        Error::Pus(pus::Error::BadPusVersion(_)) => spp::HEADER_LEN,
        Error::Cltu(cltu::Error::Uncorrectable { block }) => 2 + block * cltu::BLOCK_LEN,
        Error::Cltu(cltu::Error::MissingTail) => unit_len,
        Error::Aos(tc_tm::aos::Error::BadFecf { .. }) => tc_tm::aos::FRAME_LEN - 2,
        _ => 0,
    }
}

/// `"<layer> error at offset N: <reason>"`, with `base` added to the error's own offset.
pub fn describe(error: &Error, base: u64, unit_len: usize) -> String {
    let at = base + offset_of(error, unit_len) as u64;
    let reason = match error {
        Error::Cltu(e) => e.to_string(),
        Error::TcFrame(e) => e.to_string(),
        Error::Aos(e) => e.to_string(),
        Error::Mpdu(e) => e.to_string(),
        Error::Spp(e) => e.to_string(),
        Error::Pus(e) => e.to_string(),
        Error::Service(e) => e.to_string(),
        other => other.to_string(),
    };
    format!("{} error at offset {at}: {reason}", error.layer())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_crc_points_at_the_pec() {
        let e = Error::Pus(pus::Error::BadCrc { computed: 0x1234, received: 0x5678 });
        let s = describe(&e, 100, 37);
        assert!(s.starts_with("pus error at offset 135: "), "{s}");
        assert!(s.contains("0x1234") || s.contains("1234"), "{s}");
    }
}
