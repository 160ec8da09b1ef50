//! ST\[05\] event reporting: the unit raises the events of the registry
//! (`tc_tm::service::event::EventId`, with their severity as subtype 5,1 … 5,4) on VC 0, and
//! 5,5 / 5,6 enable or disable report generation per event ID.
//!
//! Every event is enabled at boot. An ID that is not in the registry gives `event_id_unknown`
//! (subject the ID, index the item) and nothing is changed.

use tc_tm::service::FailureCode;
use tc_tm::service::event::{self as wire, EventId};

use super::{Done, Exec};
use crate::failure::Failure;
use crate::storage::Storage;
use crate::unit::Unit;

/// Bit of an event in the disabled mask (its position in the registry).
fn bit(id: EventId) -> Option<u32> {
    let i = EventId::ALL.iter().position(|&e| e == id)?;
    1u32.checked_shl(u32::try_from(i).ok()?)
}

// The mask has one bit per registered event.
const _: () = assert!(EventId::ALL.len() <= 32);

impl<S: Storage> Unit<S> {
    pub(crate) fn st05(&mut self, r: wire::Request<'_>) -> Exec {
        let (ids, enable) = match r {
            wire::Request::Enable(ids) => (ids, true),
            wire::Request::Disable(ids) => (ids, false),
            _ => return Err(Failure::about(FailureCode::UnknownSubtype, 5 << 8, 0)),
        };
        let mut mask = 0u32;
        for (i, id) in (0u16..).zip(ids.iter()) {
            let b =
                bit(id).ok_or(Failure::new(FailureCode::EventIdUnknown, id.value(), i, 0, 0))?;
            mask |= b;
        }
        if enable {
            self.app.events_disabled &= !mask;
        } else {
            self.app.events_disabled |= mask;
        }
        Ok(Done::Completed)
    }

    /// Whether reports of `id` are generated.
    pub fn event_enabled(&self, id: EventId) -> bool {
        bit(id).is_none_or(|b| self.app.events_disabled & b == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_a_bit() {
        let mut seen = 0u32;
        for &e in EventId::ALL {
            let b = bit(e).unwrap();
            assert_eq!(seen & b, 0);
            seen |= b;
        }
        assert_eq!(bit(EventId::Unknown(0x7777)), None);
    }
}
