//! LSM labels: the AppArmor profile and the SELinux process, keyring and mount labels.
//! Nothing here runs unless the config asks for a label (the default start path stays free of it).

pub mod apparmor;
pub mod attr;
pub mod selinux;

use oci_spec::runtime::Process;

/// The labels a process asks for, each file held open from where the host's /proc is reachable
/// (before the pivot, or before `exec` joins the container's mount namespace), written as the
/// last step before exec.
#[derive(Default)]
pub struct ExecLabels {
    apparmor: Option<(attr::AttrFile, String)>,
    selinux: Option<(attr::AttrFile, String)>,
}

impl ExecLabels {
    /// Open the attr files for the labels `p` asks for (none: no syscall at all).
    pub fn open(p: &Process) -> crate::Result<ExecLabels> {
        let mut labels = ExecLabels::default();
        if let Some(profile) = non_empty(p.apparmor_profile()) {
            labels.apparmor = Some((apparmor::open_exec()?, profile.to_string()));
        }
        if let Some(label) = non_empty(p.selinux_label()) {
            labels.selinux = Some((selinux::open_exec()?, label.to_string()));
        }
        Ok(labels)
    }

    /// Write them: the kernel applies them at the next execve. Consumes the files (closed here:
    /// no host /proc fd reaches the container).
    pub fn apply(self) -> crate::Result<()> {
        if let Some((file, profile)) = self.apparmor {
            apparmor::apply(file, &profile)?;
        }
        if let Some((file, label)) = self.selinux {
            selinux::apply_exec(file, &label)?;
        }
        Ok(())
    }
}

/// A label field that is set and not empty (an empty string means "none", as in runc).
pub fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}
