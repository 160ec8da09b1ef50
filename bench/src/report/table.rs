//! ST\[200\] table management: the table directory and dump segments (tables by key, CRCs in
//! hex).

use std::fmt::Write as _;

use serde_json::{Value, json};
use tc_tm::service::table::{self, DirectoryEntry, DumpSegment};

use super::{Body, hex_cut, hexio_format};
use crate::names::table_key;

fn directory_item_text(e: &DirectoryEntry) -> String {
    let mut s = format!(
        "{} v{} 0x{:08X} {} {}",
        table_key(e.table_id),
        e.active_version,
        e.active_crc,
        e.active_len,
        e.inactive_state
    );
    if e.inactive_state != table::InactiveState::Empty {
        let _ = write!(
            s,
            " (v{} {}/{} octets",
            e.inactive_version, e.inactive_received, e.inactive_len
        );
        if e.inactive_crc != 0 {
            let _ = write!(s, " 0x{:08X}", e.inactive_crc);
        }
        s.push(')');
    }
    s
}

fn dump_segment_text(d: &DumpSegment<'_>) -> String {
    let end = u64::from(d.offset).saturating_add(d.data.len() as u64);
    format!(
        "table dump {} {} v{} octets {}..{} of {}: {}",
        table_key(d.table_id),
        d.buffer,
        d.version,
        d.offset,
        end,
        d.total_len,
        hex_cut(d.data)
    )
}

pub(super) fn text(r: &table::Report<'_>) -> Option<String> {
    Some(match r {
        table::Report::DumpSegment(d) => dump_segment_text(d),
        table::Report::Directory(list) => {
            let items: Vec<String> = list.iter().map(|e| directory_item_text(&e)).collect();
            format!("table directory ({} tables): {}", list.len(), items.join("; "))
        }
        _ => return None,
    })
}

pub(super) fn json(r: &table::Report<'_>) -> Option<Body> {
    Some(match r {
        table::Report::DumpSegment(d) => Body::new("table_dump_segment")
            .with("table", table_key(d.table_id))
            .with("table_id", d.table_id)
            .with("buffer", d.buffer.name())
            .with("version", d.version)
            .with("offset", d.offset)
            .with("length", d.data.len())
            .with("total_len", d.total_len)
            .with("data", hexio_format(d.data)),
        table::Report::Directory(list) => {
            let items: Vec<Value> = list
                .iter()
                .map(|e| {
                    json!({
                        "table": table_key(e.table_id),
                        "table_id": e.table_id,
                        "active_version": e.active_version,
                        "active_crc": e.active_crc,
                        "active_len": e.active_len,
                        "inactive_state": e.inactive_state.name(),
                        "inactive_version": e.inactive_version,
                        "inactive_crc": e.inactive_crc,
                        "inactive_len": e.inactive_len,
                        "inactive_received": e.inactive_received,
                    })
                })
                .collect();
            Body::new("table_directory").with("tables", items)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use tc_tm::service::List;
    use tc_tm::service::Report;
    use tc_tm::service::table::{BufferSel, InactiveState};

    use super::*;
    use crate::report::{json, text};

    #[test]
    fn st200_tables() {
        let entries = [
            DirectoryEntry {
                table_id: 3,
                active_version: 2,
                active_crc: 0x1234_ABCD,
                active_len: 96,
                ..DirectoryEntry::default()
            },
            DirectoryEntry {
                table_id: 9,
                active_version: 1,
                active_crc: 0xCAFE_F00D,
                active_len: 2048,
                inactive_state: InactiveState::Validated,
                inactive_version: 3,
                inactive_crc: 0x0BAD_CAFE,
                inactive_len: 1024,
                inactive_received: 1024,
            },
        ];
        let mut buf = [0u8; 64];
        let list = List::encode_into(&entries, &mut buf).unwrap();
        let r = Report::Table(table::Report::Directory(list));
        assert_eq!(
            text(&r),
            "200,8 table directory (2 tables): crt v2 0x1234ABCD 96 empty; 0x09 v1 0xCAFEF00D \
             2048 validated (v3 1024/1024 octets 0x0BADCAFE)"
        );
        let j = json(&r);
        assert_eq!(j["type"], "table_directory");
        assert_eq!(j["tables"][0]["table"], "crt");
        assert_eq!(j["tables"][0]["active_crc"], 0x1234_ABCD);
        assert_eq!(j["tables"][1]["inactive_state"], "validated");
        assert_eq!(j["tables"][1]["table_id"], 9);
        let data = [0x5A; 4];
        let seg = Report::Table(table::Report::DumpSegment(DumpSegment {
            table_id: 1,
            buffer: BufferSel::Inactive,
            version: 4,
            total_len: 2000,
            offset: 1024,
            data: &data,
        }));
        assert_eq!(
            text(&seg),
            "200,6 table dump pixels inactive v4 octets 1024..1028 of 2000: 5A5A5A5A"
        );
        assert_eq!(
            json(&seg),
            json!({"service": 200, "subtype": 6, "type": "table_dump_segment", "table": "pixels",
                "table_id": 1, "buffer": "inactive", "version": 4, "offset": 1024, "length": 4,
                "total_len": 2000, "data": "5A5A5A5A"})
        );
        let empty = Report::parse(200, 8, &[0]).unwrap();
        assert_eq!(text(&empty), "200,8 table directory (0 tables): ");
    }
}
