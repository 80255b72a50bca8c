//! A container's bind and volume mounts, resolved at `create`: `-v`/`--mount` host paths and
//! volumes (named ones made on first use, anonymous ones made here), then an anonymous volume
//! for each of the image's VOLUME paths the flags did not mount over. A volume that is empty is
//! first filled with what the image has at its destination (Docker's copy-up) unless the flag
//! said `nocopy`. The result goes into config.json and the record (`inspect`'s Mounts, and
//! which anonymous volumes `rm -v` removes).

use super::request::{clean_destination, Request, Source};
use super::{copy_up, volumes, Engine, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    /// `bind` or `volume`.
    pub kind: String,
    /// The volume's name (volumes only).
    #[serde(default)]
    pub name: Option<String>,
    /// The host path mounted (a volume's `_data`).
    pub source: PathBuf,
    pub destination: String,
    pub rw: bool,
    /// Made for this container (not named by the user): `rm -v` and `--rm` remove it.
    #[serde(default)]
    pub anonymous: bool,
    /// Its volume did not exist before this container's create (anonymous, or named and made
    /// on first use): a `run` that cannot start removes it again.
    #[serde(default)]
    pub made: bool,
}

impl Mount {
    /// One entry of `inspect`'s `Mounts`, in Docker's shape.
    pub fn to_docker(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "Type": self.kind, "Source": self.source, "Destination": self.destination,
            "Mode": "", "RW": self.rw, "Propagation": "rprivate",
        });
        if let Some(n) = &self.name {
            v["Name"] = n.as_str().into();
            v["Driver"] = "local".into();
            v["Propagation"] = "".into();
        }
        v
    }
}

/// The mounts of a new container `cid`, volumes made (their names pushed to `made`, so a
/// failed create can remove them) and filled from `rootfs` (the container's root, mounted).
/// `image_volumes`: the image config's Volumes. The caller holds the records lock.
pub fn prepare(
    engine: &Engine,
    cid: &str,
    req: &Request,
    image_volumes: &[String],
    rootfs: &Path,
    made: &mut Vec<String>,
) -> Result<Vec<Mount>> {
    let binds = req.binds()?;
    let mut taken: Vec<String> = binds.iter().map(|b| b.destination.clone()).collect();
    taken.extend(req.tmpfs_mounts()?.into_iter().map(|(d, _)| d));
    let mut out = vec![];
    for b in &binds {
        let m = match &b.source {
            Source::Host(p) => Mount {
                kind: "bind".into(),
                name: None,
                source: p.clone(),
                destination: b.destination.clone(),
                rw: !b.read_only,
                anonymous: false,
                made: false,
            },
            Source::Volume(name) => {
                let (data, new) = volumes::ensure(engine, name, &volumes::Meta::default())?;
                if new {
                    made.push(name.clone());
                }
                volume(name, data, &b.destination, !b.read_only, false, new)
            }
            Source::Anonymous => {
                let (name, data) = volumes::create_anonymous(engine, cid)?;
                made.push(name.clone());
                volume(&name, data, &b.destination, !b.read_only, true, true)
            }
        };
        if let (Some(name), false) = (&m.name, b.nocopy) {
            copy_up::fill(rootfs, &m.destination, name, &m.source)?;
        }
        out.push(m);
    }
    let mut wanted: Vec<String> = image_volumes
        .iter()
        .filter_map(|v| clean_destination(v))
        .filter(|v| !taken.contains(v))
        .collect();
    wanted.sort();
    wanted.dedup();
    for dst in wanted {
        let (name, data) = volumes::create_anonymous(engine, cid)?;
        made.push(name.clone());
        copy_up::fill(rootfs, &dst, &name, &data)?;
        out.push(volume(&name, data, &dst, true, true, true));
    }
    Ok(out)
}

fn volume(name: &str, data: PathBuf, dst: &str, rw: bool, anonymous: bool, made: bool) -> Mount {
    Mount {
        kind: "volume".into(),
        name: Some(name.into()),
        source: data,
        destination: dst.into(),
        rw,
        anonymous,
        made,
    }
}

/// Mount order: parents before what is mounted inside them (Docker sorts by depth), else as
/// given.
pub fn depth(destination: &str) -> usize {
    destination.split('/').filter(|c| !c.is_empty()).count()
}
