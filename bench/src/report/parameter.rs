//! ST\[20\] parameter management: parameter values by name, decoded per the parameter's type,
//! with its unit.

use onboard::services::parameter::SW_VERSION;
use serde_json::{Value, json};
use tc_tm::service::parameter::{self, ParamEntry, ParamId, Value as ParamValue};

use super::Body;
use crate::names::version_text;

/// A parameter value as the operator reads it ([`crate::names::param_value_text`], shared
/// with the session's failure messages).
pub fn value_text(id: ParamId, raw: u32) -> String {
    crate::names::param_value_text(id, raw)
}

/// A parameter value as JSON: a number or boolean per its type; `null` when the ID is unknown
/// or the value is not one of its type.
pub fn value_json(id: ParamId, raw: u32) -> Value {
    match id.def().and_then(|d| d.decode(raw)) {
        Some(ParamValue::U32(v)) => v.into(),
        Some(ParamValue::I32(v)) => v.into(),
        Some(ParamValue::F32(v)) => f64::from(v).into(),
        Some(ParamValue::Bool(v)) => v.into(),
        None => Value::Null,
    }
}

fn param_entry_json(e: ParamEntry) -> Value {
    let def = e.id.def();
    let mut v = json!({
        "id": e.id.0,
        "name": def.map(|d| d.name),
        "type": def.map(|d| d.ty.name()),
        "unit": def.map(|d| d.unit),
        "value": value_json(e.id, e.raw),
        "raw": e.raw,
    });
    if e.id == SW_VERSION
        && let Some(obj) = v.as_object_mut()
    {
        obj.insert("version".into(), version_text(e.raw).into());
    }
    v
}

pub(super) fn text(r: &parameter::Report<'_>) -> Option<String> {
    let parameter::Report::Values(list) = r else { return None };
    let items: Vec<String> =
        list.iter().map(|e| format!("{} = {}", e.id, value_text(e.id, e.raw))).collect();
    Some(items.join(", "))
}

pub(super) fn json(r: &parameter::Report<'_>) -> Option<Body> {
    let parameter::Report::Values(list) = r else { return None };
    let items: Vec<Value> = list.iter().map(param_entry_json).collect();
    Some(Body::new("parameter_values").with("parameters", items))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use tc_tm::service::Report;

    use crate::report::fixtures::values;
    use crate::report::{json, text};

    #[test]
    fn st20_parameters() {
        let data = values(&[(0x30, 0x0100_0000)]);
        let r = Report::parse(20, 2, &data).unwrap();
        assert_eq!(text(&r), "20,2 sw_version = 1.0.0+0 (0x01000000)");
        assert_eq!(
            json(&r),
            json!({"service": 20, "subtype": 2, "type": "parameter_values", "parameters": [
                {"id": 48, "name": "sw_version", "type": "u32", "unit": "", "value": 16777216,
                 "raw": 16777216, "version": "1.0.0+0"}]})
        );
        let data = values(&[
            (0x01, 1000),
            (0x05, (-250i32) as u32),
            (0x10, 1),
            (0x20, 6.5f32.to_bits()),
            (0x11, 7),
            (0x99, 16),
        ]);
        let r = Report::parse(20, 2, &data).unwrap();
        assert_eq!(
            text(&r),
            "20,2 hk_period_ms = 1000 ms, time_correction_ms = -250 ms, crt_enabled = true, \
             alert_min_snr = 6.5 sigma, imt_enabled = 0x00000007 (not a bool value), \
             0x0099 = 0x00000010 (unknown parameter)"
        );
        let j = json(&r);
        let p = &j["parameters"];
        assert_eq!(p[0]["value"], 1000);
        assert_eq!(p[0]["unit"], "ms");
        assert_eq!(p[1]["value"], -250);
        assert_eq!(p[1]["type"], "i32");
        assert_eq!(p[2]["value"], true);
        assert_eq!(p[3]["value"], 6.5);
        assert_eq!((p[4]["value"].clone(), p[4]["raw"].clone()), (Value::Null, json!(7)));
        assert_eq!((p[5]["name"].clone(), p[5]["id"].clone()), (Value::Null, json!(0x99)));
    }
}
