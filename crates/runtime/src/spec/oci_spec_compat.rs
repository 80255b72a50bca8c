//! Where oci-spec 0.10 reads the runtime spec differently from runc, fixed up before the typed
//! parse (a JSON pass only when the text holds one of these cases; the common case costs a scan
//! of the bytes):
//! - two `scheduler.flags` values are spelt after oci-spec's variant names: `SCHED_RESET_ON_FORK`
//!   for the spec's `SCHED_FLAG_RESET_ON_FORK`, `SCHED_FLAG_D_L_OVERRUN` for
//!   `SCHED_FLAG_DL_OVERRUN`: a config written to the spec would be refused;
//! - an empty `execCPUAffinity.initial` or `final` is refused, where the spec (and runc) take
//!   empty as omitted: the empty ones are dropped.

use serde_json::Value;

/// (the runtime spec's name, oci-spec's name)
const RENAMES: [(&str, &str); 2] = [
    ("SCHED_FLAG_RESET_ON_FORK", "SCHED_RESET_ON_FORK"),
    ("SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_D_L_OVERRUN"),
];

/// The document as JSON with those cases fixed in the process object at `process` ("/process"
/// in config.json, "" for exec's process file), or None when nothing needs fixing (or the text
/// is not JSON: the typed parse reports that).
pub(super) fn fixed(text: &[u8], process: &str) -> Option<Value> {
    let mentions = |needle: &str| text.windows(needle.len()).any(|w| w == needle.as_bytes());
    let flags = RENAMES.iter().any(|(spec, _)| mentions(spec));
    let affinity = mentions("execCPUAffinity") && mentions("\"\"");
    if !flags && !affinity {
        return None;
    }
    let mut doc: Value = serde_json::from_slice(text).ok()?;
    let p = doc.pointer_mut(process)?;
    if let Some(list) = p
        .pointer_mut("/scheduler/flags")
        .and_then(Value::as_array_mut)
    {
        for f in list.iter_mut() {
            if let Some((_, ours)) = RENAMES.iter().find(|(spec, _)| f.as_str() == Some(spec)) {
                *f = Value::from(*ours);
            }
        }
    }
    if let Some(a) = p.get_mut("execCPUAffinity").and_then(Value::as_object_mut) {
        a.retain(|_, v| v.as_str() != Some(""));
    }
    Some(doc)
}

#[cfg(test)]
mod tests {
    use super::fixed;
    use serde_json::json;

    #[test]
    fn spec_flag_names_become_oci_spec_names() {
        let text = br#"{"process":{"scheduler":{"policy":"SCHED_OTHER","flags":["SCHED_FLAG_RESET_ON_FORK","SCHED_FLAG_DL_OVERRUN","SCHED_FLAG_RECLAIM"]}}}"#;
        let doc = fixed(text, "/process").unwrap();
        assert_eq!(
            doc["process"]["scheduler"]["flags"],
            json!([
                "SCHED_RESET_ON_FORK",
                "SCHED_FLAG_D_L_OVERRUN",
                "SCHED_FLAG_RECLAIM"
            ])
        );
        assert!(fixed(br#"{"process":{}}"#, "/process").is_none());
    }

    #[test]
    fn empty_affinity_lists_are_dropped() {
        let text = br#"{"args":["x"],"execCPUAffinity":{"initial":"0","final":""}}"#;
        let doc = fixed(text, "").unwrap();
        assert_eq!(doc["execCPUAffinity"], json!({"initial": "0"}));
    }
}
