//! The smaller controllers: `hugepageLimits` (hugetlb), `network` (v1 net_cls / net_prio), `rdma`,
//! and `unified` (raw cgroup2 files). Asking for one the host lacks is an error naming the field
//! (checked when the plan is applied); not asking costs nothing.

use std::io;

use oci_spec::runtime::LinuxResources;

use super::{invalid, v2_limit, Plan, Target, Write};

/// "2MB", "1GB", "64KB": the form both the spec and the kernel's file names use.
fn check_page_size(s: &str, field: &str) -> io::Result<()> {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    if !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && matches!(unit, "KB" | "MB" | "GB")
    {
        Ok(())
    } else {
        Err(invalid(format!(
            "{field}.pageSize: {s:?} is not a page size like \"2MB\" or \"1GB\""
        )))
    }
}

/// Files of the unified hierarchy that `linux.resources.unified` may not write: membership and
/// the tree's own structure are the runtime's business.
const UNIFIED_FORBIDDEN: &[&str] = &["cgroup.procs", "cgroup.threads", "cgroup.subtree_control"];

pub(super) fn plan(r: &LinuxResources, v2: bool, p: &mut Plan) -> io::Result<()> {
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        let field = format!("linux.resources.hugepageLimits[{i}]");
        check_page_size(h.page_size(), &field)?;
        let (t, file, value) = if v2 {
            let file = format!("hugetlb.{}.max", h.page_size());
            (Target::V2, file, v2_limit(h.limit()))
        } else {
            let file = format!("hugetlb.{}.limit_in_bytes", h.page_size());
            (Target::V1("hugetlb"), file, h.limit().to_string())
        };
        p.push(Write::new(t, file, value, field));
    }
    if let Some(net) = r.network() {
        let field = "linux.resources.network";
        if v2 && (net.class_id().is_some() || net.priorities().is_some()) {
            return Err(invalid(format!(
                "{field}: cgroup v2 has no net_cls/net_prio controllers (use an eBPF program)"
            )));
        }
        if let Some(id) = net.class_id() {
            p.push(Write::new(
                Target::V1("net_cls"),
                "net_cls.classid",
                id.to_string(),
                format!("{field}.classID"),
            ));
        }
        for (i, prio) in net.priorities().iter().flatten().enumerate() {
            if prio.name().is_empty() || prio.name().contains(char::is_whitespace) {
                return Err(invalid(format!(
                    "{field}.priorities[{i}].name: {:?} is not an interface name",
                    prio.name()
                )));
            }
            p.push(Write::new(
                Target::V1("net_prio"),
                "net_prio.ifpriomap",
                format!("{} {}", prio.name(), prio.priority()),
                format!("{field}.priorities[{i}]"),
            ));
        }
    }
    if let Some(rdma) = r.rdma() {
        let t = if v2 { Target::V2 } else { Target::V1("rdma") };
        let mut devices: Vec<_> = rdma.iter().collect();
        devices.sort_by(|a, b| a.0.cmp(b.0));
        for (dev, limit) in devices {
            let field = format!("linux.resources.rdma.{dev}");
            if dev.is_empty() || dev.contains(char::is_whitespace) {
                return Err(invalid(format!("{field}: not a device name")));
            }
            let mut line = dev.clone();
            if let Some(h) = limit.hca_handles() {
                line.push_str(&format!(" hca_handle={h}"));
            }
            if let Some(o) = limit.hca_objects() {
                line.push_str(&format!(" hca_object={o}"));
            }
            if line.len() > dev.len() {
                p.push(Write::new(t, "rdma.max", line, field));
            }
        }
    }
    if let Some(unified) = r.unified() {
        let mut keys: Vec<_> = unified.iter().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        for (key, value) in keys {
            let field = format!("linux.resources.unified.{key}");
            if key.is_empty()
                || key.contains('/')
                || key.starts_with('.')
                || !key.contains('.')
                || UNIFIED_FORBIDDEN.contains(&key.as_str())
            {
                return Err(invalid(format!(
                    "{field}: not a cgroup2 control file this runtime may write"
                )));
            }
            p.push(Write::new(Target::V2, key.clone(), value.clone(), field));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{res, writes};
    use super::super::{plan as plan_all, Target};

    #[test]
    fn hugetlb() {
        let r = res(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}"#);
        assert_eq!(
            writes(&plan_all(&r, false).unwrap()),
            vec![(
                Target::V1("hugetlb"),
                "hugetlb.2MB.limit_in_bytes",
                "4194304".into()
            )]
        );
        assert_eq!(
            writes(&plan_all(&r, true).unwrap()),
            vec![(Target::V2, "hugetlb.2MB.max", "4194304".into())]
        );
        let e = plan_all(
            &res(r#"{"hugepageLimits":[{"pageSize":"2M/../x","limit":1}]}"#),
            false,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("linux.resources.hugepageLimits[0].pageSize"),
            "{e}"
        );
    }

    #[test]
    fn network() {
        let r =
            res(r#"{"network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5}]}}"#);
        assert_eq!(
            writes(&plan_all(&r, false).unwrap()),
            vec![
                (Target::V1("net_cls"), "net_cls.classid", "1048577".into()),
                (
                    Target::V1("net_prio"),
                    "net_prio.ifpriomap",
                    "eth0 5".into()
                ),
            ]
        );
        assert!(plan_all(&r, true)
            .unwrap_err()
            .to_string()
            .contains("network"));
    }

    #[test]
    fn rdma_and_unified() {
        let r = res(r#"{"rdma":{"mlx5_1":{"hcaHandles":3,"hcaObjects":1000}},
            "unified":{"memory.high":"1000000","io.weight":"50"}}"#);
        assert_eq!(
            writes(&plan_all(&r, true).unwrap()),
            vec![
                (
                    Target::V2,
                    "rdma.max",
                    "mlx5_1 hca_handle=3 hca_object=1000".into()
                ),
                (Target::V2, "io.weight", "50".into()),
                (Target::V2, "memory.high", "1000000".into()),
            ]
        );
        for bad in ["../x", "cgroup.procs", "nodot", ".hidden"] {
            let r = res(&format!(r#"{{"unified":{{"{bad}":"1"}}}}"#));
            let e = plan_all(&r, true).unwrap_err();
            assert!(e.to_string().starts_with("linux.resources.unified."), "{e}");
        }
    }
}
