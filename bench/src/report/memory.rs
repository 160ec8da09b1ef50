//! ST\[06\] memory management: dump and check reports (memory by name, addresses in hex).

use tc_tm::service::memory;

use super::{Body, hex_cut, hexio_format};

pub(super) fn text(r: &memory::Report<'_>) -> Option<String> {
    Some(match r {
        memory::Report::Dump(d) => format!(
            "memory dump {} address=0x{:08X} length={}: {}",
            d.memory_id,
            d.address,
            d.data.len(),
            hex_cut(d.data)
        ),
        memory::Report::Check(c) => format!(
            "memory check {} address=0x{:08X} length={} crc32=0x{:08X}",
            c.memory_id, c.address, c.length, c.crc
        ),
        _ => return None,
    })
}

pub(super) fn json(r: &memory::Report<'_>) -> Option<Body> {
    Some(match r {
        memory::Report::Dump(d) => Body::new("memory_dump")
            .with("memory", d.memory_id.to_string())
            .with("memory_id", d.memory_id.value())
            .with("address", d.address)
            .with("length", d.data.len())
            .with("data", hexio_format(d.data)),
        memory::Report::Check(c) => Body::new("memory_check")
            .with("memory", c.memory_id.to_string())
            .with("memory_id", c.memory_id.value())
            .with("address", c.address)
            .with("length", c.length)
            .with("crc32", c.crc),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use tc_tm::service::Report;
    use tc_tm::service::memory::{CheckReport, DumpReport, MemoryId};

    use super::*;
    use crate::report::{json, text};

    #[test]
    fn st06_memory() {
        let data: Vec<u8> = (0..20).collect();
        let d = Report::Memory(memory::Report::Dump(DumpReport {
            memory_id: MemoryId::BankA,
            address: 0x100,
            data: &data,
        }));
        assert_eq!(
            text(&d),
            "6,6 memory dump bank-a address=0x00000100 length=20: \
             000102030405060708090A0B0C0D0E0F… (20 octets)"
        );
        assert_eq!(
            json(&d),
            json!({"service": 6, "subtype": 6, "type": "memory_dump", "memory": "bank-a",
                "memory_id": 2, "address": 256, "length": 20,
                "data": "000102030405060708090A0B0C0D0E0F10111213"})
        );
        let c = Report::Memory(memory::Report::Check(CheckReport {
            memory_id: MemoryId::Unknown(9),
            address: 0,
            length: 65536,
            crc: 0xDEAD_BEEF,
        }));
        assert_eq!(
            text(&c),
            "6,10 memory check 0x09 address=0x00000000 length=65536 crc32=0xDEADBEEF"
        );
        assert_eq!(json(&c)["crc32"], 0xDEAD_BEEF_u32);
        assert_eq!(json(&c)["memory"], "0x09");
    }
}
