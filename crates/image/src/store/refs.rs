//! The reference index, ROOT/refs.json: `{"refs": {"docker.io/library/busybox:latest":
//! {"mediaType": …, "digest": "sha256:…", "size": N}}}`, one entry per tag or digest
//! reference, each naming an image manifest. Rewritten whole (it is small) through
//! [`atomic::write_file`], under ROOT/refs.lock.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::atomic;
use super::digest::Digest;
use crate::error::{Error, IoContext, Result};

/// What a reference points at: an image manifest, by digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

#[derive(Default, Serialize, Deserialize)]
pub(super) struct RefIndex {
    pub refs: BTreeMap<String, Target>,
}

impl RefIndex {
    pub fn load(path: &Path) -> Result<RefIndex> {
        match std::fs::read(path) {
            Ok(data) => serde_json::from_slice(&data)
                .map_err(|e| Error::json(path.display().to_string(), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RefIndex::default()),
            Err(e) => Err(e).at(path),
        }
    }

    pub fn save(&self, tmp: &Path, path: &Path) -> Result<()> {
        let data = serde_json::to_vec_pretty(self).expect("the index serialises");
        atomic::write_file(tmp, path, &data)
    }
}
