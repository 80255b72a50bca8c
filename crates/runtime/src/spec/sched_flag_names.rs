//! oci-spec 0.10 spells two `process.scheduler.flags` values differently from the runtime spec
//! (its serde names come from the variant names): `SCHED_RESET_ON_FORK` for the spec's
//! `SCHED_FLAG_RESET_ON_FORK` and `SCHED_FLAG_D_L_OVERRUN` for `SCHED_FLAG_DL_OVERRUN`. A config
//! written to the spec (as runc reads it) would be refused; so when the text holds a spec name,
//! the document is parsed as JSON first and those flags are renamed before the typed parse. The
//! common case (neither name present) costs one scan of the bytes.

use serde_json::Value;

/// (the runtime spec's name, oci-spec's name)
const RENAMES: [(&str, &str); 2] = [
    ("SCHED_FLAG_RESET_ON_FORK", "SCHED_RESET_ON_FORK"),
    ("SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_D_L_OVERRUN"),
];

/// The document as JSON with the flags at `pointer` (e.g. "/process/scheduler/flags") renamed, or
/// None when nothing needs renaming (or the text is not JSON: the typed parse reports that).
pub(super) fn renamed(text: &[u8], pointer: &str) -> Option<Value> {
    let mentions = |name: &str| text.windows(name.len()).any(|w| w == name.as_bytes());
    if !RENAMES.iter().any(|(spec, _)| mentions(spec)) {
        return None;
    }
    let mut doc: Value = serde_json::from_slice(text).ok()?;
    let flags = doc.pointer_mut(pointer)?.as_array_mut()?;
    for f in flags.iter_mut() {
        if let Some((_, ours)) = RENAMES.iter().find(|(spec, _)| f.as_str() == Some(spec)) {
            *f = Value::from(*ours);
        }
    }
    Some(doc)
}

#[cfg(test)]
mod tests {
    use super::renamed;
    use serde_json::json;

    #[test]
    fn spec_names_become_oci_spec_names() {
        let text = br#"{"process":{"scheduler":{"policy":"SCHED_OTHER","flags":["SCHED_FLAG_RESET_ON_FORK","SCHED_FLAG_DL_OVERRUN","SCHED_FLAG_RECLAIM"]}}}"#;
        let doc = renamed(text, "/process/scheduler/flags").unwrap();
        assert_eq!(
            doc["process"]["scheduler"]["flags"],
            json!([
                "SCHED_RESET_ON_FORK",
                "SCHED_FLAG_D_L_OVERRUN",
                "SCHED_FLAG_RECLAIM"
            ])
        );
        assert!(renamed(br#"{"process":{}}"#, "/process/scheduler/flags").is_none());
    }
}
