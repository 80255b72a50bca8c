//! `linux.resources.pids`: `pids.max` on v1 and v2 alike. A limit of 0 is "not set" (as in runc),
//! a negative one is unlimited ("max").

use oci_spec::runtime::LinuxPids;

use super::{v2_limit, Plan, Target, Write};

pub(super) fn plan(pids: &LinuxPids, v2: bool, p: &mut Plan) {
    let limit = pids.limit();
    if limit == 0 {
        return;
    }
    let t = if v2 { Target::V2 } else { Target::V1("pids") };
    p.push(Write::new(
        t,
        "pids.max",
        v2_limit(limit),
        "linux.resources.pids.limit",
    ));
}

#[cfg(test)]
mod tests {
    use super::super::tests::{res, writes};
    use super::super::{plan as plan_all, Target};

    #[test]
    fn pids_max() {
        let p = plan_all(&res(r#"{"pids":{"limit":10}}"#), false).unwrap();
        let w = writes(&p);
        assert_eq!(w, vec![(Target::V1("pids"), "pids.max", "10".into())]);
        let p = plan_all(&res(r#"{"pids":{"limit":-1}}"#), true).unwrap();
        let w = writes(&p);
        assert_eq!(w, vec![(Target::V2, "pids.max", "max".into())]);
        assert!(plan_all(&res(r#"{"pids":{"limit":0}}"#), true)
            .unwrap()
            .steps
            .is_empty());
    }
}
