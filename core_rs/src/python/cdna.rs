//! CDNA bindings: read the configuration, change it through the Guardian (with a policy for
//! data that breaks the new rules), its history and rollback.

use super::args::{kind_arg, opt_size_arg, policy_arg, space_arg};
use super::errors::ValidationError;
use super::runtime::PyRuntime;
use super::values::cdna_dict;
use crate::cdna::flags as cflags;
use crate::space::{NUM_SPACES, SPACE_NAMES};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

#[pymethods]
impl PyRuntime {
    /// The CDNA as nested dicts, one per block.
    fn get_cdna_config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        cdna_dict(py, &self.store().cdna())
    }

    /// Per-space distance scales as {space: scale}.
    fn get_cdna_scales<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.store().cdna();
        let d = PyDict::new(py);
        for (i, n) in SPACE_NAMES.iter().enumerate() {
            d.set_item(*n, c.scales[i])?;
        }
        Ok(d)
    }

    /// Change scales: a dict {space: scale} (names, L1..L8 or numbers) or 8 values.
    fn update_cdna_scales(&self, scales: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut changes: Vec<(usize, f64)> = Vec::new();
        if let Ok(d) = scales.downcast::<PyDict>() {
            for (k, v) in d.iter() {
                let val: f64 = v.extract().map_err(|_| {
                    ValidationError::new_err(format!("scale for {k} must be a number"))
                })?;
                changes.push((space_arg(&k)?, val));
            }
        } else {
            let vals: Vec<f64> = scales.extract().map_err(|_| {
                ValidationError::new_err(
                    "scales must be a dict {space: scale} or a sequence of 8 numbers",
                )
            })?;
            if vals.len() != NUM_SPACES {
                return Err(ValidationError::new_err(format!(
                    "scales must have 8 values, got {}",
                    vals.len()
                )));
            }
            changes.extend(vals.into_iter().enumerate());
        }
        self.store().set_scales(&changes)?;
        Ok(())
    }

    fn get_cdna_profile(&self) -> &'static str {
        self.store().cdna().profile_name()
    }

    /// Switch profile: default, explorer, analyst or creative. `policy` says what to do
    /// when the data held breaks the profile's rules: "refuse", "clamp" or "force".
    #[pyo3(signature = (name, policy="refuse"))]
    fn set_cdna_profile(&self, name: &str, policy: &str) -> PyResult<()> {
        self.store().set_profile(name, policy_arg(policy)?)?;
        Ok(())
    }

    fn get_cdna_flags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.store().cdna();
        let d = PyDict::new(py);
        for (i, n) in cflags::NAMES.iter().enumerate() {
            d.set_item(*n, c.flags & (1 << i) != 0)?;
        }
        Ok(d)
    }

    /// Set flags from {name: bool}; unnamed flags keep their value.
    #[pyo3(signature = (flags, policy="refuse"))]
    fn set_cdna_flags(&self, flags: &Bound<'_, PyDict>, policy: &str) -> PyResult<()> {
        let policy = policy_arg(policy)?;
        let mut changes = Vec::new();
        for (k, v) in flags.iter() {
            let name: String = k.extract()?;
            let bit = cflags::parse(&name)?;
            let on: bool = v.extract().map_err(|_| {
                ValidationError::new_err(format!("flag {name} must be True or False"))
            })?;
            changes.push((bit, on));
        }
        self.store().set_flags(&changes, policy)?;
        Ok(())
    }

    /// Check the CDNA, and the data held against it: {"valid": bool, "problems": [...]}.
    fn validate_cdna<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = self.store().cdna_problems();
        let d = PyDict::new(py);
        d.set_item("valid", p.is_empty())?;
        d.set_item("problems", p)?;
        Ok(d)
    }

    /// Set numeric CDNA fields by name (bounds, degree limits, rates); validated as one
    /// change. `policy` ("refuse", "clamp" or "force") says what to do when the data held
    /// breaks the new rules.
    #[pyo3(signature = (fields, policy="refuse"))]
    fn update_cdna(&self, fields: &Bound<'_, PyDict>, policy: &str) -> PyResult<()> {
        let policy = policy_arg(policy)?;
        let mut changes = Vec::new();
        for (k, v) in fields.iter() {
            let name: String = k.extract()?;
            let val: f64 = v
                .extract()
                .map_err(|_| ValidationError::new_err(format!("{name} must be a number")))?;
            changes.push((name, val));
        }
        self.store().set_fields(&changes, policy)?;
        Ok(())
    }

    /// Allow or forbid connection kinds.
    #[pyo3(signature = (kinds, allowed, policy="refuse"))]
    fn set_cdna_kinds(
        &self,
        kinds: Vec<Bound<'_, PyAny>>,
        allowed: bool,
        policy: &str,
    ) -> PyResult<()> {
        let policy = policy_arg(policy)?;
        let codes: Vec<u8> = kinds.iter().map(kind_arg).collect::<PyResult<_>>()?;
        self.store().set_kinds_allowed(&codes, allowed, policy)?;
        Ok(())
    }

    /// Read a CDNA field by name (degree limits as int, the rest as float).
    fn cdna_field<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let v = self.store().cdna().field(name)?;
        if name.starts_with("max_") {
            Ok((v as u64).into_pyobject(py)?.into_any())
        } else {
            Ok(v.into_pyobject(py)?.into_any())
        }
    }

    /// The 384-byte CDNA V2.1 record.
    fn cdna_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.store().cdna().to_bytes())
    }

    /// Earlier CDNA versions, oldest first: revision, profile, changed_at, reason.
    fn cdna_history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for v in self.store().history() {
            let d = PyDict::new(py);
            d.set_item("revision", v.cdna.revision)?;
            d.set_item("profile", v.cdna.profile_name())?;
            d.set_item("changed_at", v.changed_at)?;
            d.set_item("change", v.reason)?;
            out.append(d)?;
        }
        Ok(out)
    }

    fn cdna_revision(&self) -> u32 {
        self.store().cdna().revision
    }

    /// Return to the version `steps` changes back (the rollback is itself a new revision).
    #[pyo3(signature = (steps=None, policy="refuse"))]
    fn cdna_rollback(&self, steps: Option<&Bound<'_, PyAny>>, policy: &str) -> PyResult<()> {
        let steps = opt_size_arg(steps, "steps")?.unwrap_or(1);
        self.store().rollback_cdna(steps, policy_arg(policy)?)?;
        Ok(())
    }
}
