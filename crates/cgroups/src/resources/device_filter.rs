//! Device rules as an eBPF program (`BPF_PROG_TYPE_CGROUP_DEVICE`) for the cgroup2 hierarchy.
//!
//! The kernel runs the programs attached to a task's cgroup on the default (cgroup2) hierarchy —
//! on hybrid hosts too — for every device open and mknod, with a context
//! `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` whose `access_type` has
//! the device type in its low 16 bits (block 1, char 2) and the access in its high 16 bits (mknod 1,
//! read 2, write 4). The program returns 1 to allow and 0 to deny (EPERM).
//!
//! The rule list is first reduced to what the v1 controller would make of it ([`V1List`]: a
//! default plus exceptions of the opposite verdict), so the program decides exactly as v1 does,
//! including its corner cases (type `a` resets the list; a deny in a default-deny list only
//! removes access from the identical exception). The program then tests the exceptions, last one
//! first, and the first that matches decides; if none does, the default decides:
//!
//! ```text
//!     r2 = ctx->access_type & 0xffff      // device type
//!     r3 = ctx->access_type >> 16         // access
//!     r4 = ctx->major
//!     r5 = ctx->minor
//!   one block per exception, last first:
//!     if w2 != TYPE goto next             // 32-bit compares, exact for every u32
//!     if r3 & ~ACCESS goto next           // allow: all the access asked for is granted
//!     r1 = r3; r1 &= ACCESS; if r1 == 0 goto next   // deny: any of it is refused
//!     if w4 != MAJOR goto next            // left out for "*"
//!     if w5 != MINOR goto next            // left out for "*"
//!     r0 = VERDICT; exit
//!   next: ...
//!     r0 = DEFAULT; exit
//! ```
//!
//! The access test is left out when the exception covers rwm. Jumps only go forward, to the
//! next block, and every instruction is reachable (the verifier rejects dead code).

use std::io;
use std::path::Path;

use super::devices::{Exception, Rule, V1List, RWM};

/// One eBPF instruction, laid out as the kernel's `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u8,
    /// `dst_reg:4, src_reg:4` (bitfields: the first is the low nibble on little-endian).
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

const _: () = assert!(std::mem::size_of::<Insn>() == 8);

impl Insn {
    /// The kernel's `struct bpf_insn` bytes (little-endian layout: the register nibbles and the
    /// multi-byte fields as x86_64 and aarch64 lay them out).
    pub fn encode(&self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code, self.regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }
}

// The opcodes this generator emits (class | operation | source).
/// `dst = *(u32 *)(src + off)`: BPF_LDX | BPF_MEM | BPF_W.
pub(crate) const LDX_W: u8 = 0x61;
/// `dst = imm`: BPF_ALU64 | BPF_MOV | BPF_K.
pub(crate) const MOV_K: u8 = 0xb7;
/// `dst = src`: BPF_ALU64 | BPF_MOV | BPF_X.
pub(crate) const MOV_X: u8 = 0xbf;
/// `dst &= imm`: BPF_ALU64 | BPF_AND | BPF_K.
pub(crate) const AND_K: u8 = 0x57;
/// `dst >>= imm`: BPF_ALU64 | BPF_RSH | BPF_K.
pub(crate) const RSH_K: u8 = 0x77;
/// `if (u32)dst != (u32)imm goto +off`: BPF_JMP32 | BPF_JNE | BPF_K.
pub(crate) const JNE32_K: u8 = 0x56;
/// `if dst == imm goto +off`: BPF_JMP | BPF_JEQ | BPF_K.
pub(crate) const JEQ_K: u8 = 0x15;
/// `if dst & imm goto +off`: BPF_JMP | BPF_JSET | BPF_K.
pub(crate) const JSET_K: u8 = 0x45;
/// `return r0`: BPF_JMP | BPF_EXIT.
pub(crate) const EXIT: u8 = 0x95;

// Registers: r0 the verdict, r1 the context pointer (then a scratch register), r2–r5 the fields.
const R0: u8 = 0;
const R1: u8 = 1;
const TYPE: u8 = 2;
const ACCESS: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    let regs = if cfg!(target_endian = "little") {
        dst | src << 4
    } else {
        dst << 4 | src
    };
    Insn {
        code,
        regs,
        off,
        imm,
    }
}

/// The program for the rule list `rules` (as `devices::rules` builds it).
pub(crate) fn program(rules: &[Rule]) -> Vec<Insn> {
    program_for(&V1List::from_rules(rules))
}

fn program_for(list: &V1List) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_W, TYPE, R1, 0, 0),
        insn(MOV_X, ACCESS, TYPE, 0, 0),
        insn(RSH_K, ACCESS, 0, 0, 16),
        insn(AND_K, TYPE, 0, 0, 0xffff),
        insn(LDX_W, MAJOR, R1, 4, 0),
        insn(LDX_W, MINOR, R1, 8, 0),
    ];
    let verdict = !list.default_allow;
    for e in list.exceptions.iter().rev() {
        p.extend(block(e, verdict));
    }
    p.push(insn(MOV_K, R0, 0, 0, i32::from(list.default_allow)));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

/// The instructions for one exception: every test jumps to the end of the block when it fails.
fn block(e: &Exception, allow: bool) -> Vec<Insn> {
    // Tests first, with `off` to be set to "the next block".
    let mut b = vec![insn(JNE32_K, TYPE, 0, 0, e.typ as i32)];
    if e.access != RWM {
        if allow {
            b.push(insn(JSET_K, ACCESS, 0, 0, i32::from(!e.access & RWM)));
        } else {
            b.push(insn(MOV_X, R1, ACCESS, 0, 0));
            b.push(insn(AND_K, R1, 0, 0, i32::from(e.access)));
            b.push(insn(JEQ_K, R1, 0, 0, 0));
        }
    }
    if let Some(major) = e.major {
        b.push(insn(JNE32_K, MAJOR, 0, 0, major as i32));
    }
    if let Some(minor) = e.minor {
        b.push(insn(JNE32_K, MINOR, 0, 0, minor as i32));
    }
    b.push(insn(MOV_K, R0, 0, 0, i32::from(allow)));
    b.push(insn(EXIT, 0, 0, 0, 0));
    let len = b.len();
    for (i, ins) in b.iter_mut().enumerate() {
        if matches!(ins.code, JNE32_K | JSET_K | JEQ_K) {
            ins.off = (len - i - 1) as i16;
        }
    }
    b
}

/// Load the program for `rules` and attach it to the cgroup2 directory `dir` (which no process
/// may have joined yet, or it would run unfiltered meanwhile). The program stays attached, and
/// loaded, until the cgroup is removed; `BPF_F_ALLOW_MULTI` keeps programs of ancestors in force
/// too (a device must pass them all) and lets nested cgroups add their own.
pub(crate) fn attach(rules: &[Rule], dir: &Path) -> io::Result<()> {
    let prog = crate::bpf::load_device_program(&program(rules))?;
    crate::bpf::attach_device_program(dir, &prog)
}

/// Errors of [`attach`] that mean "this host or this process cannot filter devices with eBPF"
/// (no bpf(2): ENOSYS; no CAP_BPF/CAP_SYS_ADMIN, e.g. rootless: EPERM; no cgroup BPF or no such
/// program type: EINVAL), as opposed to a failure of the cgroup itself.
pub(crate) fn unsupported(e: &io::Error) -> bool {
    matches!(
        crate::fsutil::errno(e),
        Some(libc::ENOSYS | libc::EPERM | libc::EINVAL)
    )
}

#[cfg(test)]
mod tests {
    use super::super::devices::{self, DevType, Source, MKNOD, READ, WRITE};
    use super::*;

    /// Run `prog` as the kernel would, for the few opcodes the generator emits. Panics on anything
    /// the verifier would reject here: another opcode, a backward or out-of-range jump, a context
    /// load through a register that no longer holds the context, an exit before r0 is set.
    fn run(prog: &[Insn], typ: DevType, major: u32, minor: u32, access: u8) -> u64 {
        let ctx = [u32::from(access) << 16 | typ as u32, major, minor];
        let mut r = [0u64; 11];
        let mut ctx_reg = Some(1usize);
        let mut r0_set = false;
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            let imm = i64::from(i.imm) as u64;
            pc += 1;
            let mut jump = |cond: bool| {
                assert!(i.off >= 0, "backward jump at {}", pc - 1);
                if cond {
                    pc += i.off as usize;
                }
                assert!(pc < prog.len(), "jump past the end");
            };
            match i.code {
                LDX_W => {
                    assert_eq!(Some(src), ctx_reg, "load through a non-context register");
                    assert!(i.off >= 0 && i.off % 4 == 0 && i.off < 12, "ctx offset");
                    r[dst] = u64::from(ctx[i.off as usize / 4]);
                }
                MOV_K => r[dst] = imm,
                MOV_X => r[dst] = r[src],
                AND_K => r[dst] &= imm,
                RSH_K => r[dst] >>= i.imm,
                JNE32_K => jump(r[dst] as u32 != i.imm as u32),
                JEQ_K => jump(r[dst] == imm),
                JSET_K => jump(r[dst] & imm != 0),
                EXIT => {
                    assert!(r0_set, "exit with r0 unset");
                    assert!(r[0] <= 1, "verdict {}", r[0]);
                    return r[0];
                }
                op => panic!("opcode {op:#x} at {}", pc - 1),
            }
            if i.code != EXIT && !matches!(i.code, JNE32_K | JEQ_K | JSET_K) {
                if ctx_reg == Some(dst) {
                    ctx_reg = None;
                }
                r0_set |= dst == 0;
            }
        }
    }

    /// Every instruction is reachable (forward jumps only: one pass in order).
    fn assert_all_reachable(prog: &[Insn]) {
        let mut reach = vec![false; prog.len()];
        reach[0] = true;
        for pc in 0..prog.len() {
            assert!(reach[pc], "instruction {pc} is unreachable: {prog:?}");
            let i = prog[pc];
            if i.code != EXIT {
                reach[pc + 1] = true;
            }
            if matches!(i.code, JNE32_K | JEQ_K | JSET_K) {
                reach[pc + 1 + i.off as usize] = true;
            }
        }
        assert_eq!(prog.last().unwrap().code, EXIT);
    }

    const TYPES: [DevType; 2] = [DevType::Block, DevType::Char];
    const NUMBERS: [u32; 8] = [0, 1, 3, 5, 8, 9, 136, 4095];

    /// The program's verdict equals the v1 list's for every type, number pair and access.
    fn assert_same_verdicts(rules: &[Rule]) {
        let list = V1List::from_rules(rules);
        let prog = program(rules);
        assert_all_reachable(&prog);
        for typ in TYPES {
            for major in NUMBERS {
                for minor in NUMBERS {
                    for access in 1..=RWM {
                        let v1 = list.allows(typ, major, minor, access);
                        let bpf = run(&prog, typ, major, minor, access) == 1;
                        assert_eq!(
                            bpf, v1,
                            "{typ:?} {major}:{minor} access {access}: rules {rules:#?}"
                        );
                    }
                }
            }
        }
    }

    fn spec(json: &str) -> Vec<Rule> {
        let r: oci_spec::runtime::LinuxResources = serde_json::from_str(json).unwrap();
        devices::rules(r.devices().as_deref().unwrap()).unwrap()
    }

    #[test]
    fn runc_default_config() {
        let rules = spec(r#"{"devices":[{"allow":false,"access":"rwm"}]}"#);
        assert_same_verdicts(&rules);
        let prog = program(&rules);
        let ok = |t, ma, mi, acc| run(&prog, t, ma, mi, acc) == 1;
        use DevType::*;
        for (ma, mi) in [
            (1, 3),
            (1, 5),
            (1, 7),
            (1, 8),
            (1, 9),
            (5, 0),
            (5, 2),
            (136, 4),
        ] {
            assert!(ok(Char, ma, mi, READ | WRITE), "c {ma}:{mi}");
        }
        assert!(!ok(Char, 1, 1, READ), "/dev/mem");
        assert!(!ok(Block, 8, 0, READ), "/dev/sda");
        assert!(!ok(Char, 10, 200, READ | WRITE), "/dev/net/tun");
        assert!(ok(Block, 8, 0, MKNOD), "mknod of anything");
        assert!(ok(Char, 136, 4, READ | WRITE | MKNOD), "/dev/pts/4");
    }

    #[test]
    fn spec_rules_and_corner_cases() {
        for json in [
            // Allow a device, deny part of the defaults again, exact and wildcard numbers.
            r#"{"devices":[{"allow":false,"access":"rwm"},
                {"allow":true,"type":"c","major":1,"minor":1,"access":"r"},
                {"allow":true,"type":"b","major":8,"access":"rw"},
                {"allow":false,"type":"c","major":1,"minor":3,"access":"w"}]}"#,
            // No leading deny-all (one is added); a type-a allow later resets to allow-all and the
            // defaults then remove nothing; later denies carve exceptions out of it.
            r#"{"devices":[{"allow":true,"type":"c","major":1,"minor":3,"access":"m"},
                {"allow":true,"access":"rwm"},
                {"allow":false,"type":"b","access":"w"},
                {"allow":false,"type":"c","major":1,"minor":5,"access":"rw"}]}"#,
            // Allow everything: the program allows everything.
            r#"{"devices":[{"allow":true,"access":"rwm"}]}"#,
            // Wildcards written out as -1, u (unbuffered char) type.
            r#"{"devices":[{"allow":false,"type":"a"},
                {"allow":true,"type":"u","major":-1,"minor":9,"access":"rwm"}]}"#,
        ] {
            assert_same_verdicts(&spec(json));
        }
    }

    /// Many random rule lists over small domains (a fixed xorshift sequence: reproducible).
    #[test]
    fn random_rule_lists() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let num = |v: u64| [None, Some(1), Some(3), Some(8)][v as usize];
        for _ in 0..300 {
            let len = next(8) as usize;
            let rules: Vec<Rule> = (0..len)
                .map(|_| Rule {
                    allow: next(2) == 0,
                    typ: [DevType::All, DevType::Block, DevType::Char, DevType::Char]
                        [next(4) as usize],
                    major: num(next(4)),
                    minor: num(next(4)),
                    access: 1 + next(7) as u8,
                    source: Source::Default,
                })
                .collect();
            assert_same_verdicts(&rules);
        }
    }

    #[test]
    fn jumps_land_on_the_next_block() {
        let e = Exception {
            typ: DevType::Char,
            major: Some(1),
            minor: None,
            access: READ,
        };
        let b = block(&e, false);
        // JNE type, MOV, AND, JEQ, JNE major, MOV r0, EXIT.
        let codes: Vec<u8> = b.iter().map(|i| i.code).collect();
        assert_eq!(
            codes,
            [JNE32_K, MOV_X, AND_K, JEQ_K, JNE32_K, MOV_K, EXIT].as_slice()
        );
        assert_eq!(b[0].off, 6);
        assert_eq!(b[3].off, 3);
        assert_eq!(b[4].off, 2);
        assert_eq!(b[5].imm, 0);
    }
}
