//! `linux.resources.blockIO`.
//!
//! v1: throttling in `blkio.throttle.{read,write}_{bps,iops}_device` ("major:minor rate"); weights
//! in `blkio.weight` / `blkio.weight_device` (CFQ) or `blkio.bfq.weight` / `blkio.bfq.weight_device`
//! (BFQ). Where neither scheduler's files exist, asking for a weight is an error naming the field.
//! v2: `io.max` ("major:minor rbps=N wbps=N riops=N wiops=N"), `io.bfq.weight` (same scale as v1) or
//! else `io.weight` (1..10000, mapped from 10..1000 as runc does); per-device weights in
//! `io.bfq.weight`.

use std::io;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use super::{invalid, Plan, Target, Write};

const F: &str = "linux.resources.blockIO";

/// blkio.weight (10..1000) → io.weight (1..10000), as runc maps it.
pub(crate) fn weight_to_io_weight(w: u16) -> u64 {
    let w = u64::from(w.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

fn check_weight(w: u16, field: &str) -> io::Result<()> {
    if (10..=1000).contains(&w) {
        Ok(())
    } else {
        Err(invalid(format!("{F}.{field}: {w} is outside 10..1000")))
    }
}

fn dev(d: &LinuxThrottleDevice) -> String {
    format!("{}:{}", d.major(), d.minor())
}

/// A weight of 0 means "not set": Docker sends `"blockIO": {"weight": 0}` for every container
/// without `--blkio-weight`, and runc writes no weight then.
fn set(w: Option<u16>) -> Option<u16> {
    w.filter(|&w| w != 0)
}

pub(super) fn plan(b: &LinuxBlockIo, v2: bool, p: &mut Plan) -> io::Result<()> {
    let (weight, leaf_weight) = (set(b.weight()), set(b.leaf_weight()));
    let throttles: [(
        &str,
        &'static str,
        &'static str,
        &Option<Vec<LinuxThrottleDevice>>,
    ); 4] = [
        (
            "throttleReadBpsDevice",
            "blkio.throttle.read_bps_device",
            "rbps",
            b.throttle_read_bps_device(),
        ),
        (
            "throttleWriteBpsDevice",
            "blkio.throttle.write_bps_device",
            "wbps",
            b.throttle_write_bps_device(),
        ),
        (
            "throttleReadIOPSDevice",
            "blkio.throttle.read_iops_device",
            "riops",
            b.throttle_read_iops_device(),
        ),
        (
            "throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
            "wiops",
            b.throttle_write_iops_device(),
        ),
    ];
    if let Some(w) = weight {
        check_weight(w, "weight")?;
    }
    if let Some(w) = leaf_weight {
        check_weight(w, "leafWeight")?;
    }
    if v2 {
        let t = Target::V2;
        if let Some(w) = weight {
            // io.bfq.weight takes the v1 scale where BFQ is in use; else io.weight, converted.
            p.push(
                Write::new(t, "io.bfq.weight", w.to_string(), format!("{F}.weight"))
                    .or_file_value("io.weight", weight_to_io_weight(w).to_string()),
            );
        }
        if leaf_weight.is_some() {
            return Err(invalid(format!(
                "{F}.leafWeight: cgroup v2 has no leaf weight"
            )));
        }
        for (i, d) in b.weight_device().iter().flatten().enumerate() {
            if let Some(w) = set(d.weight()) {
                check_weight(w, &format!("weightDevice[{i}].weight"))?;
                p.push(Write::new(
                    t,
                    "io.bfq.weight",
                    format!("{}:{} {w}", d.major(), d.minor()),
                    format!("{F}.weightDevice[{i}]"),
                ));
            }
        }
        for (field, _, key, list) in throttles {
            for (i, d) in list.iter().flatten().enumerate() {
                let rate = if d.rate() == 0 {
                    "max".to_string()
                } else {
                    d.rate().to_string()
                };
                p.push(Write::new(
                    t,
                    "io.max",
                    format!("{} {key}={rate}", dev(d)),
                    format!("{F}.{field}[{i}]"),
                ));
            }
        }
        return Ok(());
    }
    let t = Target::V1("blkio");
    if let Some(w) = weight {
        p.push(
            Write::new(t, "blkio.weight", w.to_string(), format!("{F}.weight"))
                .or_file("blkio.bfq.weight"),
        );
    }
    if let Some(w) = leaf_weight {
        p.push(Write::new(
            t,
            "blkio.leaf_weight",
            w.to_string(),
            format!("{F}.leafWeight"),
        ));
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if let Some(w) = set(d.weight()) {
            check_weight(w, &format!("weightDevice[{i}].weight"))?;
            p.push(
                Write::new(
                    t,
                    "blkio.weight_device",
                    format!("{}:{} {w}", d.major(), d.minor()),
                    format!("{F}.weightDevice[{i}]"),
                )
                .or_file("blkio.bfq.weight_device"),
            );
        }
        if let Some(w) = set(d.leaf_weight()) {
            p.push(Write::new(
                t,
                "blkio.leaf_weight_device",
                format!("{}:{} {w}", d.major(), d.minor()),
                format!("{F}.weightDevice[{i}].leafWeight"),
            ));
        }
    }
    for (field, file, _, list) in throttles {
        for (i, d) in list.iter().flatten().enumerate() {
            p.push(Write::new(
                t,
                file,
                format!("{} {}", dev(d), d.rate()),
                format!("{F}.{field}[{i}]"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{res, writes};
    use super::super::{plan as plan_all, Target};
    use super::*;

    #[test]
    fn weight_mapping() {
        assert_eq!(weight_to_io_weight(10), 1);
        assert_eq!(weight_to_io_weight(500), 4950);
        assert_eq!(weight_to_io_weight(1000), 10000);
    }

    /// Docker's spec for a container without --blkio-weight.
    #[test]
    fn zero_weights_are_unset() {
        let r = res(r#"{"blockIO":{"weight":0,"leafWeight":0,
            "weightDevice":[{"major":8,"minor":0,"weight":0,"leafWeight":0}]}}"#);
        assert!(writes(&plan_all(&r, false).unwrap()).is_empty());
        assert!(writes(&plan_all(&r, true).unwrap()).is_empty());
    }

    #[test]
    fn throttles() {
        let r = res(r#"{"blockIO":{
            "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],
            "throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":0}]}}"#);
        let b = Target::V1("blkio");
        assert_eq!(
            writes(&plan_all(&r, false).unwrap()),
            vec![
                (b, "blkio.throttle.read_bps_device", "8:0 1048576".into()),
                (b, "blkio.throttle.write_iops_device", "8:16 0".into()),
            ]
        );
        assert_eq!(
            writes(&plan_all(&r, true).unwrap()),
            vec![
                (Target::V2, "io.max", "8:0 rbps=1048576".into()),
                (Target::V2, "io.max", "8:16 wiops=max".into()),
            ]
        );
    }

    #[test]
    fn weights() {
        let r = res(r#"{"blockIO":{"weight":500}}"#);
        let p = plan_all(&r, false).unwrap();
        assert_eq!(
            writes(&p),
            vec![(Target::V1("blkio"), "blkio.weight", "500".into())]
        );
        assert!(
            matches!(&p.steps[0], super::super::Step::One(w) if w.alt_file == Some("blkio.bfq.weight"))
        );
        let p = plan_all(&r, true).unwrap();
        assert_eq!(
            writes(&p),
            vec![(Target::V2, "io.bfq.weight", "500".into())]
        );
        assert!(matches!(&p.steps[0], super::super::Step::One(w)
            if w.alt_file == Some("io.weight") && w.alt_value.as_deref() == Some("4950")));
        let e = plan_all(&res(r#"{"blockIO":{"weight":5}}"#), false).unwrap_err();
        assert!(
            e.to_string().starts_with("linux.resources.blockIO.weight"),
            "{e}"
        );
    }
}
