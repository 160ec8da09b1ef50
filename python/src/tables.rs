//! Table sets: the `tables` crate (the one validator the unit runs) and `tables` CLI forms.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use tables::TableId;
use tables::set::{TableSet, file_name};

use crate::conv;
use crate::errors;

/// The JSON object of one problem (`tables validate --json`).
pub fn problem_json(p: &tables::Problem) -> serde_json::Value {
    eic_bench::cmd::tables::problem_json(p)
}

fn table_id(key: &str) -> PyResult<TableId> {
    TableId::from_key(key).ok_or_else(|| {
        let keys: Vec<&str> = TableId::ALL.iter().map(|t| t.key()).collect();
        pyo3::exceptions::PyValueError::new_err(format!(
            "unknown table {key:?}, expected one of {}",
            keys.join(", ")
        ))
    })
}

/// A set of the seven tables (pixels, bands, crt, imt, catalog, saa, alert).
#[pyclass(module = "eic_bench._native", name = "TableSet")]
#[derive(Clone)]
pub struct PyTableSet {
    /// The tables.
    pub set: TableSet,
    /// The directory it was loaded from, if any.
    pub dir: Option<PathBuf>,
}

#[pymethods]
impl PyTableSet {
    /// Loads a table directory (pixels.csv, bands.toml, ...): raises TablesError with the file,
    /// line and column of the first error.
    #[staticmethod]
    fn load(py: Python<'_>, dir: &Bound<'_, PyAny>) -> PyResult<Self> {
        let dir = conv::path_of(dir)?;
        if !dir.is_dir() {
            return Err(errors::input_file(
                &dir,
                "no such directory (a table directory holds pixels.csv, bands.toml, crt.toml, \
                 imt.toml, catalog.toml, saa.toml and alert.toml)"
                    .into(),
            ));
        }
        let set = py.detach(|| TableSet::load_dir(&dir)).map_err(|e| errors::table_text(&e))?;
        Ok(PyTableSet { set, dir: Some(dir) })
    }

    /// The default table set (what a factory unit runs), or the one generated from `seed`.
    #[staticmethod]
    #[pyo3(signature = (seed = None))]
    fn defaults(seed: Option<u64>) -> Self {
        let set = match seed {
            Some(s) => tables::defaults::generate(s),
            None => tables::defaults::default_set(),
        };
        PyTableSet { set, dir: None }
    }

    /// A set from the text forms: a dict from file name ("pixels.csv", "crt.toml", ...) or
    /// table key ("crt") to text; tables not given come from `base` (default: the defaults).
    #[staticmethod]
    #[pyo3(signature = (texts, base = None))]
    fn from_texts(texts: &Bound<'_, PyDict>, base: Option<&PyTableSet>) -> PyResult<Self> {
        let base = base.map_or_else(tables::defaults::default_set, |b| b.set.clone());
        let mut given = std::collections::HashMap::new();
        for (k, v) in texts.iter() {
            let k: String = k.extract()?;
            let id = TableId::ALL
                .iter()
                .copied()
                .find(|&id| id.key() == k || file_name(id) == k)
                .ok_or_else(|| table_id(&k).err().unwrap_or_else(|| errors::eic(k.clone())))?;
            given.insert(file_name(id), v.extract::<String>()?);
        }
        let set = TableSet::from_texts(|name| {
            let id = TableId::ALL.iter().copied().find(|&id| file_name(id) == name);
            let text = match given.get(name) {
                Some(t) => t.clone(),
                None => id.map(|id| base.to_text(id)).unwrap_or_default(),
            };
            Ok((name.to_owned(), text))
        })
        .map_err(|e| errors::table_text(&e))?;
        Ok(PyTableSet { set, dir: None })
    }

    /// A set from binary table images (as `images()` gives them or the unit dumps them).
    #[staticmethod]
    fn from_images(images: Vec<Vec<u8>>) -> PyResult<Self> {
        let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
        let set = TableSet::from_images(&refs)
            .map_err(|e| errors::TablesError::new_err(format!("table image: {e}")))?;
        Ok(PyTableSet { set, dir: None })
    }

    /// The directory the set was loaded from, or None.
    #[getter]
    fn dir(&self) -> Option<PathBuf> {
        self.dir.clone()
    }

    /// Runs the unit's validator: a list of problems, each a dict with table, entry, field,
    /// field_code, kind_code, compact (the ST[01] failure data, hex) and message; empty when
    /// valid.
    fn validate<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.set.problems().iter().map(|p| conv::to_py(py, &problem_json(p))).collect()
    }

    /// Raises InvalidTablesError (with .problems) unless the set is valid.
    fn check(&self) -> PyResult<()> {
        let problems = self.set.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            let what = self.dir.as_ref().map_or("table set".into(), |d| d.display().to_string());
            Err(errors::invalid_tables(&what, &problems))
        }
    }

    /// The version of one table.
    fn version(&self, table: &str) -> PyResult<u16> {
        Ok(self.set.version(table_id(table)?))
    }

    /// The text form of one table (CSV for pixels, TOML for the others).
    fn to_text(&self, table: &str) -> PyResult<String> {
        Ok(self.set.to_text(table_id(table)?))
    }

    /// A copy with one table replaced by its text form (raises TablesError with line and
    /// column).
    fn with_text(&self, table: &str, text: String) -> PyResult<Self> {
        let id = table_id(table)?;
        let set = TableSet::from_texts(|name| {
            if name == file_name(id) {
                Ok((name.to_owned(), text.clone()))
            } else {
                let other = TableId::ALL.iter().copied().find(|&t| file_name(t) == name);
                Ok((name.to_owned(), other.map(|t| self.set.to_text(t)).unwrap_or_default()))
            }
        })
        .map_err(|e| errors::table_text(&e))?;
        Ok(PyTableSet { set, dir: None })
    }

    /// Writes the text forms into a directory (created if needed).
    fn save(&self, dir: &Bound<'_, PyAny>) -> PyResult<()> {
        let dir = conv::path_of(dir)?;
        self.set.save_dir(&dir).map_err(|e| errors::eic(format!("writing {}: {e}", dir.display())))
    }

    /// The binary image of one table (header, payload, CRC-32), as the unit loads it.
    fn image<'py>(&self, py: Python<'py>, table: &str) -> PyResult<Bound<'py, PyBytes>> {
        let img = self
            .set
            .image(table_id(table)?)
            .map_err(|e| errors::eic(format!("encoding the image: {e}")))?;
        Ok(PyBytes::new(py, &img))
    }

    /// Every table's binary image, by table key, in load order (bands before the tables that
    /// use them); `tables build` writes the same octets. Raises InvalidTablesError when the
    /// set does not validate (no image of an invalid set, as `tables build`).
    fn images<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.check()?;
        let d = PyDict::new(py);
        for id in TableId::ALL {
            let img =
                self.set.image(id).map_err(|e| errors::eic(format!("encoding the image: {e}")))?;
            d.set_item(id.key(), PyBytes::new(py, &img))?;
        }
        Ok(d)
    }

    /// Writes the pixel calibration (gain, offset, threshold, status) as a FITS file.
    fn write_fits(&self, path: &Bound<'_, PyAny>) -> PyResult<()> {
        let path = conv::path_of(path)?;
        std::fs::write(&path, tables::fits::write_calibration(&self.set.pixels))
            .map_err(|e| errors::eic(format!("writing {}: {e}", path.display())))
    }

    /// A copy whose pixel calibration comes from a FITS file (raises TablesError with the HDU,
    /// row and column of a bad cell).
    fn with_fits(&self, path: &Bound<'_, PyAny>) -> PyResult<Self> {
        let path = conv::path_of(path)?;
        let bytes = std::fs::read(&path)
            .map_err(|e| errors::input_file(&path, format!("cannot read: {e}")))?;
        let mut set = self.set.clone();
        tables::fits::apply_calibration(&path.display().to_string(), &bytes, &mut set.pixels)
            .map_err(|e| errors::table_text(&e))?;
        Ok(PyTableSet { set, dir: None })
    }

    /// The differences from this set to `other`, as `tables diff --json` lists them.
    fn diff<'py>(&self, py: Python<'py>, other: &PyTableSet) -> PyResult<Bound<'py, PyAny>> {
        let d = tables::diff::diff(&self.set, &other.set);
        conv::to_py(py, &tables::diff::to_json(&d))
    }

    /// The differences as `tables diff` prints them.
    fn diff_text(&self, other: &PyTableSet) -> String {
        tables::diff::to_text(&tables::diff::diff(&self.set, &other.set))
    }

    fn __eq__(&self, other: &PyTableSet) -> bool {
        self.set == other.set
    }

    fn __repr__(&self) -> String {
        let versions: Vec<String> = TableId::ALL
            .iter()
            .map(|&id| format!("{} v{}", id.key(), self.set.version(id)))
            .collect();
        match &self.dir {
            Some(d) => format!("TableSet({:?}: {})", d.display().to_string(), versions.join(", ")),
            None => format!("TableSet({})", versions.join(", ")),
        }
    }
}

/// The table keys, in load order.
#[pyfunction]
fn table_keys() -> Vec<&'static str> {
    TableId::ALL.iter().map(|t| t.key()).collect()
}

/// Adds the table functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTableSet>()?;
    m.add_function(wrap_pyfunction!(table_keys, m)?)?;
    Ok(())
}
