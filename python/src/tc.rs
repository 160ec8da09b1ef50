//! Telecommands: `tc encode` and `tc decode` (`eic_bench::cmd::tc`).

use eic_bench::cmd::tc::{EncodeArgs, Layer};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::RequestError;

fn layer_of(layer: &str) -> PyResult<Layer> {
    match layer {
        "packet" => Ok(Layer::Packet),
        "frame" => Ok(Layer::Frame),
        "cltu" => Ok(Layer::Cltu),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "layer {other:?}: expected \"packet\", \"frame\" or \"cltu\""
        ))),
    }
}

/// The message of an error chain (the CLI's `error:` line without the prefix).
fn chain(e: &anyhow::Error) -> String {
    format!("{e:#}")
}

/// Encodes one TC (`tc encode`): a request in the readable syntax, or service/subtype/app data.
#[pyfunction]
#[pyo3(signature = (request = None, *, service = None, subtype = None, app_data = None, apid = 0x240, seq = 0, ack = 0x9, source_id = 1, layer = "packet", frame_seq = 0, bypass = false, randomise = false))]
#[allow(clippy::too_many_arguments)]
fn tc_encode<'py>(
    py: Python<'py>,
    request: Option<String>,
    service: Option<u8>,
    subtype: Option<u8>,
    app_data: Option<Vec<u8>>,
    apid: u16,
    seq: u16,
    ack: u8,
    source_id: u16,
    layer: &str,
    frame_seq: u8,
    bypass: bool,
    randomise: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    if request.is_some() && (service.is_some() || subtype.is_some() || app_data.is_some()) {
        return Err(RequestError::new_err(
            "give a request text, or service and subtype (and app_data), not both",
        ));
    }
    let args = EncodeArgs {
        service,
        subtype,
        app_data: app_data.map(|d| d.iter().map(|b| format!("{b:02x}")).collect()),
        request,
        apid,
        seq,
        ack,
        source_id,
        layer: layer_of(layer)?,
        frame_seq,
        bypass,
        randomise,
    };
    let bytes = eic_bench::cmd::tc::encode(&args).map_err(|e| RequestError::new_err(chain(&e)))?;
    Ok(PyBytes::new(py, &bytes))
}

/// Decodes a TC (`tc decode`) into the dict it prints.
#[pyfunction]
#[pyo3(signature = (data, layer = "packet", *, randomised = false, allow_bad_crc = false))]
fn tc_decode<'py>(
    py: Python<'py>,
    data: &[u8],
    layer: &str,
    randomised: bool,
    allow_bad_crc: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let v = eic_bench::cmd::tc::decode(data, layer_of(layer)?, randomised, allow_bad_crc)
        .map_err(|e| RequestError::new_err(chain(&e)))?;
    crate::conv::to_py(py, &v)
}

/// Adds the TC functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(tc_encode, m)?)?;
    m.add_function(wrap_pyfunction!(tc_decode, m)?)?;
    Ok(())
}
