//! `process.scheduler` (sched_setattr(2)) and `process.ioPriority` (ioprio_set(2)): how the
//! container's process competes for CPU and disk. Set in the init and in every exec'd process
//! (from the exec's own process object), as runc does; inherited across the execve and by the
//! process's children. `check` is the validation runc makes, run when the config is loaded.

use crate::sys::sched::{self, SchedAttr};
use crate::{Context, Error, Result};
use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxSchedulerFlag, LinuxSchedulerPolicy, Process, Scheduler,
};

/// A problem in the config: (field, problem).
pub type Problem = (String, String);

/// The checks runc makes (nice range, a priority only for the real-time policies, deadline
/// fields only for SCHED_DEADLINE, I/O priority 0..7), plus the kernel's 1..99 for FIFO and RR
/// so that mistake is named at load time too.
pub fn check(p: &Process) -> std::result::Result<(), Problem> {
    if let Some(s) = p.scheduler() {
        check_scheduler(s)?;
    }
    if let Some(io) = p.io_priority() {
        let level = io.priority();
        if !(0..=7).contains(&level) {
            return Err(problem(
                "ioPriority.priority",
                format!("{level} is outside 0..7"),
            ));
        }
    }
    Ok(())
}

fn check_scheduler(s: &Scheduler) -> std::result::Result<(), Problem> {
    use LinuxSchedulerPolicy::*;
    let policy = *s.policy();
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(problem(
            "scheduler.nice",
            format!("{nice} is outside -20..19"),
        ));
    }
    let priority = s.priority().unwrap_or(0);
    let realtime = matches!(policy, SchedFifo | SchedRr);
    if realtime && !(1..=99).contains(&priority) {
        return Err(problem(
            "scheduler.priority",
            format!("{policy} needs a priority in 1..99, not {priority}"),
        ));
    }
    if !realtime && priority != 0 {
        return Err(problem(
            "scheduler.priority",
            format!("only SCHED_FIFO and SCHED_RR take a priority, not {policy}"),
        ));
    }
    let deadline_fields = [
        ("runtime", s.runtime()),
        ("deadline", s.deadline()),
        ("period", s.period()),
    ];
    if policy != SchedDeadline {
        if let Some((name, _)) = deadline_fields.iter().find(|(_, v)| v.unwrap_or(0) != 0) {
            return Err(problem(
                &format!("scheduler.{name}"),
                format!("only SCHED_DEADLINE takes it, not {policy}"),
            ));
        }
    }
    Ok(())
}

fn problem(field: &str, text: String) -> Problem {
    (format!("process.{field}"), text)
}

/// Set the scheduler and the I/O priority the process asks for (nothing when it asks for none).
pub fn apply(p: &Process) -> Result<()> {
    if let Some(s) = p.scheduler() {
        set_scheduler(s)?;
    }
    if let Some(io) = p.io_priority() {
        set_io_priority(io)?;
    }
    Ok(())
}

fn set_scheduler(s: &Scheduler) -> Result<()> {
    let policy = *s.policy();
    let attr = SchedAttr {
        policy: policy_number(policy),
        flags: s.flags().iter().flatten().fold(0, |f, &x| f | flag_bit(x)),
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
        ..SchedAttr::default()
    };
    sched::sched_setattr(&attr).map_err(|e| {
        let realtime = matches!(
            policy,
            LinuxSchedulerPolicy::SchedFifo | LinuxSchedulerPolicy::SchedRr
        );
        // With RT group scheduling (cgroup v1's cpu.rt_runtime_us), a cgroup gets no real-time
        // time unless the config gives it some.
        let hint = if realtime && e.raw_os_error() == Some(libc::EPERM) {
            " (a real-time policy in a cgroup needs linux.resources.cpu.realtimeRuntime where \
             the kernel has RT group scheduling)"
        } else {
            ""
        };
        Error::msg(format!(
            "process.scheduler: sched_setattr {policy}: {}{hint}",
            crate::spec::io_text(&e)
        ))
    })
}

/// The kernel's SCHED_* numbers (linux/sched.h; SCHED_ISO is reserved and refused by the kernel).
fn policy_number(p: LinuxSchedulerPolicy) -> u32 {
    use LinuxSchedulerPolicy::*;
    match p {
        SchedOther => 0,
        SchedFifo => 1,
        SchedRr => 2,
        SchedBatch => 3,
        SchedIso => 4,
        SchedIdle => 5,
        SchedDeadline => 6,
    }
}

/// The kernel's SCHED_FLAG_* bits (linux/sched.h).
fn flag_bit(f: LinuxSchedulerFlag) -> u64 {
    use LinuxSchedulerFlag::*;
    match f {
        SchedResetOnFork => 0x01,
        SchedFlagReclaim => 0x02,
        SchedFlagDLOverrun => 0x04,
        SchedFlagKeepPolicy => 0x08,
        SchedFlagKeepParams => 0x10,
        SchedFlagUtilClampMin => 0x20,
        SchedFlagUtilClampMax => 0x40,
    }
}

fn set_io_priority(io: &LinuxIOPriority) -> Result<()> {
    // IOPRIO_CLASS_* (linux/ioprio.h).
    let class = match io.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    sched::ioprio_set_self(class, io.priority() as u32).context(|| {
        format!(
            "process.ioPriority: ioprio_set {} {}",
            io.class(),
            io.priority()
        )
    })
}
