//! `linux.seccomp` -> a classic BPF program for SECCOMP_SET_MODE_FILTER.
//!
//! Shape of the program (every branch forward, conditional jumps ≤ 255):
//! ```text
//!   ld arch
//!   per audit arch:  jeq ARCH ? body : ja next_arch
//!     body: ld nr; [x86_64: nr ≥ 0x40000000 → x32 part or bad-arch]
//!           unconditional rules in chunks: jeq NR → shared ret ACTION ...
//!           conditional rules: jeq NR ? rules : ja next; each rule ANDs its conditions, rules of
//!           one syscall are tried in order, none matching → default action
//!           ret default
//!   bad arch: ret KILL_PROCESS
//! ```

use super::syscalls::{self, Table};

/// A profile the compiler refuses: the JSON field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub problem: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

type Result<T> = std::result::Result<T, Problem>;
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

pub type Insn = libc::sock_filter;

/// A compiled filter and the seccomp(2) flags to load it with.
#[derive(Debug, Clone)]
pub struct Filter {
    pub program: Vec<Insn>,
    pub flags: u32,
    /// Where the notify fd goes when the profile uses SCMP_ACT_NOTIFY (None otherwise).
    pub notify: Option<NotifyTarget>,
}

/// `listenerPath` and `listenerMetadata` of a profile that uses SCMP_ACT_NOTIFY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyTarget {
    pub path: std::path::PathBuf,
    pub metadata: String,
}

pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// What a syscall from an architecture the profile does not list gets.
pub const RET_BAD_ARCH: u32 = RET_KILL_PROCESS;

pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
pub const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
pub const AUDIT_ARCH_RISCV64: u32 = 0xc000_00f3;
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const FLAG_TSYNC: u32 = 1;
const FLAG_LOG: u32 = 2;
const FLAG_SPEC_ALLOW: u32 = 4;
/// Kernel 5.19: a notified syscall waits killably once the listener has received it.
const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// The syscall the runtime makes right after loading a filter with a listener (it passes the fd
/// to its parent with it): a profile with SCMP_ACT_NOTIFY must allow it.
const SEND_SYSCALL: &str = "sendmsg";

// seccomp_data offsets (all supported architectures are little-endian).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn off_arg_lo(i: usize) -> u32 {
    16 + 8 * i as u32
}

// cBPF opcodes.
pub const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
pub const JMP_JA: u16 = 0x05;
pub const JMP_JEQ_K: u16 = 0x15;
pub const JMP_JGT_K: u16 = 0x25;
pub const JMP_JGE_K: u16 = 0x35;
pub const ALU_AND_K: u16 = 0x54;
pub const RET_K: u16 = 0x06;

/// The architectures we have syscall tables for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchKind {
    X86_64,
    X32,
    X86,
    Aarch64,
    Arm,
    Riscv64,
}

impl ArchKind {
    pub const ALL: [ArchKind; 6] = [
        ArchKind::X86_64,
        ArchKind::X32,
        ArchKind::X86,
        ArchKind::Aarch64,
        ArchKind::Arm,
        ArchKind::Riscv64,
    ];

    pub fn table(self) -> Table {
        match self {
            ArchKind::X86_64 => syscalls::X86_64,
            ArchKind::X32 => syscalls::X32,
            ArchKind::X86 => syscalls::X86,
            ArchKind::Aarch64 => syscalls::AARCH64,
            ArchKind::Arm => syscalls::ARM,
            ArchKind::Riscv64 => syscalls::RISCV64,
        }
    }

    pub fn audit(self) -> u32 {
        match self {
            ArchKind::X86_64 | ArchKind::X32 => AUDIT_ARCH_X86_64,
            ArchKind::X86 => AUDIT_ARCH_I386,
            ArchKind::Aarch64 => AUDIT_ARCH_AARCH64,
            ArchKind::Arm => AUDIT_ARCH_ARM,
            ArchKind::Riscv64 => AUDIT_ARCH_RISCV64,
        }
    }

    pub fn lookup(self, name: &str) -> Option<u32> {
        let t = self.table();
        t.binary_search_by(|(n, _)| n.cmp(&name))
            .ok()
            .map(|i| t[i].1)
    }

    /// The machine this binary runs on (SCMP_ARCH_NATIVE).
    pub fn native() -> ArchKind {
        if cfg!(target_arch = "aarch64") {
            ArchKind::Aarch64
        } else if cfg!(target_arch = "arm") {
            ArchKind::Arm
        } else if cfg!(target_arch = "riscv64") {
            ArchKind::Riscv64
        } else if cfg!(target_arch = "x86") {
            ArchKind::X86
        } else {
            ArchKind::X86_64
        }
    }

    fn from_spec(a: Arch) -> Option<ArchKind> {
        Some(match a {
            Arch::ScmpArchNative => ArchKind::native(),
            Arch::ScmpArchX86_64 => ArchKind::X86_64,
            Arch::ScmpArchX32 => ArchKind::X32,
            Arch::ScmpArchX86 => ArchKind::X86,
            Arch::ScmpArchAarch64 => ArchKind::Aarch64,
            Arch::ScmpArchArm => ArchKind::Arm,
            Arch::ScmpArchRiscv64 => ArchKind::Riscv64,
            _ => return None,
        })
    }
}

/// The names of the spec's architecture values, for messages.
fn arch_name(a: Arch) -> String {
    a.to_string()
}

fn field_err(field: String, problem: impl std::fmt::Display) -> Problem {
    Problem {
        field,
        problem: problem.to_string(),
    }
}

fn action_ret(
    action: LinuxSeccompAction,
    errno: Option<u32>,
    field: impl Fn() -> String,
) -> Result<u32> {
    use LinuxSeccompAction::*;
    let data = |max: u32, what: &str| -> Result<u32> {
        let v = errno.unwrap_or(libc::EPERM as u32);
        if v > max {
            return Err(field_err(
                field(),
                format!("{what} {v} is out of range (at most {max})"),
            ));
        }
        Ok(v)
    };
    Ok(match action {
        ScmpActKill | ScmpActKillThread => RET_KILL_THREAD,
        ScmpActKillProcess => RET_KILL_PROCESS,
        ScmpActTrap => RET_TRAP,
        ScmpActErrno => RET_ERRNO | data(4095, "errno")?,
        ScmpActTrace => RET_TRACE | data(0xffff, "trace message")?,
        ScmpActLog => RET_LOG,
        ScmpActAllow => RET_ALLOW,
        ScmpActNotify => RET_USER_NOTIF,
    })
}

#[derive(Clone, Copy, Debug)]
struct Cond {
    index: usize,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: u64,
}

#[derive(Clone, Debug)]
struct Rule {
    ret: u32,
    conds: Vec<Cond>,
}

/// One syscall name with its rules in profile order.
#[derive(Clone, Debug)]
struct Group {
    name: String,
    rules: Vec<Rule>,
}

/// Compile the profile. Errors name the JSON field (`linux.seccomp....`).
pub fn compile(s: &LinuxSeccomp) -> Result<Filter> {
    const F: &str = "linux.seccomp";
    if s.default_action() == LinuxSeccompAction::ScmpActNotify {
        // As runc: every syscall of the runtime after the load would wait for a listener that
        // only gets its fd through one of them.
        return Err(field_err(
            format!("{F}.defaultAction"),
            "SCMP_ACT_NOTIFY cannot be the default action (use it on named syscalls)",
        ));
    }
    let default_ret = action_ret(s.default_action(), s.default_errno_ret(), || {
        format!("{F}.defaultAction")
    })?;

    let mut flags = 0;
    let mut wait_killable = None;
    for (i, f) in s.flags().iter().flatten().enumerate() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                wait_killable = Some(i);
                FLAG_WAIT_KILLABLE_RECV
            }
        };
    }

    // Architectures: none listed = the native one.
    let mut arches: Vec<ArchKind> = Vec::new();
    match s.architectures() {
        Some(list) if !list.is_empty() => {
            for (i, a) in list.iter().enumerate() {
                let k = ArchKind::from_spec(*a).ok_or_else(|| {
                    field_err(
                        format!("{F}.architectures[{i}]"),
                        format!("{} is not supported", arch_name(*a)),
                    )
                })?;
                if !arches.contains(&k) {
                    arches.push(k);
                }
            }
        }
        _ => arches.push(ArchKind::native()),
    }

    // Rules, grouped by syscall name in order of first appearance.
    let mut groups: Vec<Group> = Vec::new();
    let mut by_name: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        let field = || format!("{F}.syscalls[{i}]");
        let ret = action_ret(sc.action(), sc.errno_ret(), || {
            format!("{}.action", field())
        })?;
        let mut conds = Vec::new();
        for (j, a) in sc.args().iter().flatten().enumerate() {
            if a.index() > 5 {
                return Err(field_err(
                    format!("{}.args[{j}].index", field()),
                    format!("{} is out of range (0 to 5)", a.index()),
                ));
            }
            conds.push(Cond {
                index: a.index(),
                op: a.op(),
                value: a.value(),
                value_two: a.value_two().unwrap_or(0),
            });
        }
        if sc.names().is_empty() {
            return Err(field_err(format!("{}.names", field()), "must not be empty"));
        }
        for name in sc.names() {
            // Skipped, as runc (libseccomp) does: Podman's and Docker's default profiles list
            // syscalls of other architectures (swapcontext on ppc64, s390_* …) for every arch.
            // A name no table knows is no syscall of any arch we filter, so no rule is lost.
            if !ArchKind::ALL.iter().any(|a| a.lookup(name).is_some()) {
                continue;
            }
            let rule = Rule {
                ret,
                conds: conds.clone(),
            };
            match by_name.get(name.as_str()) {
                Some(&g) => groups[g].rules.push(rule),
                None => {
                    by_name.insert(name, groups.len());
                    groups.push(Group {
                        name: name.clone(),
                        rules: vec![rule],
                    });
                }
            }
        }
    }
    let notify = notify_target(s, &groups, default_ret, wait_killable)?;
    let mut asm = Asm::default();
    emit(&mut asm, &arches, &groups, default_ret);
    let program = asm.finish()?;
    if program.len() > 4096 {
        return Err(field_err(
            F.to_string(),
            format!(
                "the compiled filter has {} instructions, more than the kernel's 4096",
                program.len()
            ),
        ));
    }
    Ok(Filter {
        program,
        flags,
        notify,
    })
}

/// The listener of a profile that uses SCMP_ACT_NOTIFY, after the checks that make it usable:
/// a listenerPath, no notify or denial of the syscall that passes the fd on, and
/// WAIT_KILLABLE_RECV only with a listener. A listenerPath without SCMP_ACT_NOTIFY is unused
/// (runc and crun accept it too: there is no fd to send).
fn notify_target(
    s: &LinuxSeccomp,
    groups: &[Group],
    default_ret: u32,
    wait_killable: Option<usize>,
) -> Result<Option<NotifyTarget>> {
    const F: &str = "linux.seccomp";
    let notifying = s
        .syscalls()
        .iter()
        .flatten()
        .position(|sc| sc.action() == LinuxSeccompAction::ScmpActNotify);
    let Some(first) = notifying else {
        if let Some(i) = wait_killable {
            return Err(field_err(
                format!("{F}.flags[{i}]"),
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a listener: no syscall uses SCMP_ACT_NOTIFY",
            ));
        }
        return Ok(None);
    };
    let Some(path) = s.listener_path() else {
        return Err(field_err(
            format!("{F}.listenerPath"),
            format!("is required: {F}.syscalls[{first}] uses SCMP_ACT_NOTIFY"),
        ));
    };
    if path.as_os_str().is_empty() || !path.is_absolute() {
        return Err(field_err(
            format!("{F}.listenerPath"),
            format!("{path:?} must be an absolute path to a Unix socket"),
        ));
    }
    check_send_allowed(s, groups, default_ret)?;
    Ok(Some(NotifyTarget {
        path: path.clone(),
        metadata: s.listener_metadata().clone().unwrap_or_default(),
    }))
}

/// After loading a filter with a listener the init passes the fd to the runtime with sendmsg
/// (and sends its errors the same way): that call must go through, unconditionally.
fn check_send_allowed(s: &LinuxSeccomp, groups: &[Group], default_ret: u32) -> Result<()> {
    const F: &str = "linux.seccomp";
    let allows = |ret: u32| ret == RET_ALLOW || ret == RET_LOG;
    let why = "the runtime passes the listener fd on with it right after loading the filter";
    let rules = groups
        .iter()
        .find(|g| g.name == SEND_SYSCALL)
        .map_or(&[][..], |g| &g.rules[..]);
    if let Some(bad) = rules.iter().find(|r| !allows(r.ret)) {
        let what = if bad.ret == RET_USER_NOTIF {
            "SCMP_ACT_NOTIFY cannot be used for"
        } else {
            "with SCMP_ACT_NOTIFY in the profile, a rule may not deny"
        };
        let i = s
            .syscalls()
            .iter()
            .flatten()
            .position(|sc| sc.names().iter().any(|n| n == SEND_SYSCALL))
            .unwrap_or(0);
        return Err(field_err(
            format!("{F}.syscalls[{i}]"),
            format!("{what} {SEND_SYSCALL}: {why}"),
        ));
    }
    let unconditional = rules.iter().any(|r| r.conds.is_empty());
    if !unconditional && !allows(default_ret) {
        return Err(field_err(
            F.to_string(),
            format!("with SCMP_ACT_NOTIFY, {SEND_SYSCALL} must be allowed unconditionally: {why}"),
        ));
    }
    Ok(())
}

// ---- assembler: forward jumps to labels, resolved at the end ----

#[derive(Clone, Copy, Debug, PartialEq)]
enum T {
    Next,
    L(usize),
}

#[derive(Default)]
struct Asm {
    code: Vec<(u16, T, T, u32)>,
    /// Instruction index each label points at.
    labels: Vec<Option<usize>>,
}

impl Asm {
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn bind(&mut self, l: usize) {
        self.labels[l] = Some(self.code.len());
    }
    fn ld(&mut self, off: u32) {
        self.code.push((LD_W_ABS, T::Next, T::Next, off));
    }
    fn and(&mut self, k: u32) {
        self.code.push((ALU_AND_K, T::Next, T::Next, k));
    }
    fn jmp(&mut self, op: u16, k: u32, jt: T, jf: T) {
        self.code.push((op, jt, jf, k));
    }
    /// Unconditional jump; its 32-bit offset has no 255 limit.
    fn ja(&mut self, l: usize) {
        self.code
            .push((JMP_JA, T::Next, T::Next, l as u32 | 0x8000_0000));
    }
    fn ret(&mut self, k: u32) {
        self.code.push((RET_K, T::Next, T::Next, k));
    }
    fn finish(self) -> Result<Vec<Insn>> {
        let at = |l: usize| self.labels[l].expect("unbound label");
        let mut out = Vec::with_capacity(self.code.len());
        for (pc, &(code, jt, jf, k)) in self.code.iter().enumerate() {
            let rel = |t: T| -> Result<u8> {
                match t {
                    T::Next => Ok(0),
                    T::L(l) => u8::try_from(at(l) - pc - 1).map_err(|_| {
                        field_err(
                            "linux.seccomp.syscalls".into(),
                            "a rule has too many conditions to compile (jump over 255)",
                        )
                    }),
                }
            };
            let (jt, jf, k) = if code == JMP_JA {
                (0, 0, (at((k & !0x8000_0000) as usize) - pc - 1) as u32)
            } else {
                (rel(jt)?, rel(jf)?, k)
            };
            out.push(Insn { code, jt, jf, k });
        }
        Ok(out)
    }
}

/// Unconditional `jeq` entries per chunk, so the shared returns stay within a 255 jump.
const CHUNK: usize = 180;

fn emit(asm: &mut Asm, arches: &[ArchKind], groups: &[Group], default_ret: u32) {
    let bad_arch = asm.label();
    asm.ld(OFF_ARCH);
    // One section per audit arch value; x86_64 and x32 share one.
    let mut audits: Vec<u32> = Vec::new();
    for a in arches {
        if !audits.contains(&a.audit()) {
            audits.push(a.audit());
        }
    }
    for audit in audits {
        let next = asm.label();
        let skip = next_after(asm);
        asm.jmp(JMP_JEQ_K, audit, T::L(skip), T::Next);
        asm.ja(next);
        asm.ld(OFF_NR);
        if audit == AUDIT_ARCH_X86_64 {
            let has64 = arches.contains(&ArchKind::X86_64);
            let has32 = arches.contains(&ArchKind::X32);
            let x32 = asm.label();
            // nr ≥ X32 bit: the x32 ABI.
            let body64 = asm.label();
            asm.jmp(JMP_JGE_K, X32_SYSCALL_BIT, T::Next, T::L(body64));
            if has32 {
                asm.ja(x32);
            } else {
                asm.ja(bad_arch);
            }
            asm.bind(body64);
            if has64 {
                body(asm, ArchKind::X86_64, groups, default_ret);
            } else {
                asm.ja(bad_arch);
            }
            asm.bind(x32);
            if has32 {
                body(asm, ArchKind::X32, groups, default_ret);
            }
        } else {
            let kind = *arches.iter().find(|a| a.audit() == audit).unwrap();
            body(asm, kind, groups, default_ret);
        }
        asm.bind(next);
    }
    asm.bind(bad_arch);
    asm.ret(RET_BAD_ARCH);
}

/// A label bound to the instruction after the next one (skips one `ja`).
fn next_after(asm: &mut Asm) -> usize {
    let l = asm.label();
    asm.labels[l] = Some(asm.code.len() + 2);
    l
}

/// The rules for one ABI; the accumulator holds the syscall number. Ends with `ret default`.
fn body(asm: &mut Asm, arch: ArchKind, groups: &[Group], default_ret: u32) {
    let resolved: Vec<(u32, &Group)> = groups
        .iter()
        .filter_map(|g| arch.lookup(&g.name).map(|nr| (nr, g)))
        .collect();
    // A group whose first rule has no conditions: that rule decides. Same as default: nothing to emit.
    let mut plain: Vec<(u32, u32)> = Vec::new();
    let mut conditional: Vec<(u32, &Group)> = Vec::new();
    for (nr, g) in resolved {
        let first = &g.rules[0];
        if first.conds.is_empty() {
            if first.ret != default_ret {
                plain.push((nr, first.ret));
            }
        } else {
            conditional.push((nr, g));
        }
    }
    for chunk in plain.chunks(CHUNK) {
        let mut rets: Vec<(u32, usize)> = Vec::new();
        for &(nr, ret) in chunk {
            let l = match rets.iter().find(|(r, _)| *r == ret) {
                Some((_, l)) => *l,
                None => {
                    let l = asm.label();
                    rets.push((ret, l));
                    l
                }
            };
            asm.jmp(JMP_JEQ_K, nr, T::L(l), T::Next);
        }
        let after = asm.label();
        asm.ja(after);
        for (ret, l) in rets {
            asm.bind(l);
            asm.ret(ret);
        }
        asm.bind(after);
    }
    for (nr, g) in conditional {
        let next = asm.label();
        let skip = next_after(asm);
        asm.jmp(JMP_JEQ_K, nr, T::L(skip), T::Next);
        asm.ja(next);
        for rule in &g.rules {
            let fail = asm.label();
            for c in &rule.conds {
                cond(asm, c, fail);
            }
            asm.ret(rule.ret);
            asm.bind(fail);
            if rule.conds.is_empty() {
                break; // later rules for this syscall can never match
            }
        }
        asm.ret(default_ret);
        // The accumulator holds an argument now; reload the number for the next syscall.
        asm.bind(next);
        asm.ld(OFF_NR);
    }
    asm.ret(default_ret);
}

/// Fall through when the condition holds, jump to `fail` when it does not.
fn cond(asm: &mut Asm, c: &Cond, fail: usize) {
    use LinuxSeccompOperator::*;
    let lo = off_arg_lo(c.index);
    let hi = lo + 4;
    let split = |v: u64| ((v >> 32) as u32, v as u32);
    let pass = asm.label();
    let (vhi, vlo) = split(c.value);
    let (f, p, n) = (T::L(fail), T::L(pass), T::Next);
    match c.op {
        ScmpCmpEq => {
            asm.ld(hi);
            asm.jmp(JMP_JEQ_K, vhi, n, f);
            asm.ld(lo);
            asm.jmp(JMP_JEQ_K, vlo, n, f);
        }
        ScmpCmpNe => {
            asm.ld(hi);
            asm.jmp(JMP_JEQ_K, vhi, n, p);
            asm.ld(lo);
            asm.jmp(JMP_JEQ_K, vlo, f, n);
        }
        ScmpCmpMaskedEq => {
            let (mhi, mlo) = (vhi, vlo);
            let (whi, wlo) = split(c.value_two);
            asm.ld(hi);
            asm.and(mhi);
            asm.jmp(JMP_JEQ_K, whi, n, f);
            asm.ld(lo);
            asm.and(mlo);
            asm.jmp(JMP_JEQ_K, wlo, n, f);
        }
        ScmpCmpGt | ScmpCmpGe => {
            // hi > vhi: pass; hi < vhi: fail; equal: compare lo.
            asm.ld(hi);
            asm.jmp(JMP_JGT_K, vhi, p, n);
            asm.jmp(JMP_JEQ_K, vhi, n, f);
            asm.ld(lo);
            let op = if c.op == ScmpCmpGt {
                JMP_JGT_K
            } else {
                JMP_JGE_K
            };
            asm.jmp(op, vlo, n, f);
        }
        ScmpCmpLt | ScmpCmpLe => {
            // hi > vhi: fail; hi < vhi: pass; equal: lo < vlo (not ≥) or lo ≤ vlo (not >).
            asm.ld(hi);
            asm.jmp(JMP_JGT_K, vhi, f, n);
            asm.jmp(JMP_JEQ_K, vhi, n, p);
            asm.ld(lo);
            let op = if c.op == ScmpCmpLt {
                JMP_JGE_K
            } else {
                JMP_JGT_K
            };
            asm.jmp(op, vlo, f, n);
        }
    }
    asm.bind(pass);
}
