//! Container ids (64 hex digits, shown as 12) and names (given, or made up like Docker's).

use super::{Error, Result};
use std::io::Read;

/// A new random id: 32 bytes of /dev/urandom in hex.
pub fn new_id() -> Result<String> {
    let mut b = [0u8; 32];
    let path = std::path::Path::new("/dev/urandom");
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(super::io_err(path))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

pub fn short(id: &str) -> &str {
    &id[..12.min(id.len())]
}

pub fn is_full_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

/// Docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_name(name: &str) -> Result<()> {
    let b = name.as_bytes();
    let ok = b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c));
    if ok && name.len() <= 128 {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "--name {name:?}: invalid name (allowed: [a-zA-Z0-9][a-zA-Z0-9_.-]+, at most 128)"
        )))
    }
}

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "eager", "gentle", "happy", "jolly", "keen", "lucid", "merry", "nimble",
    "proud", "quiet", "swift", "tidy", "vivid", "witty",
];
const NOUNS: &[&str] = &[
    "otter", "heron", "badger", "falcon", "lynx", "marten", "osprey", "puffin", "raven", "seal",
    "stoat", "tern", "vole", "wren", "pike", "newt",
];

/// A made-up name from the id's random bytes (the caller retries on a clash).
pub fn generated_name(id: &str, attempt: usize) -> String {
    let b = id.as_bytes();
    let a = ADJECTIVES[usize::from(b[attempt % 60]) % ADJECTIVES.len()];
    let n = NOUNS[usize::from(b[(attempt + 1) % 60] ^ b[(attempt + 7) % 60]) % NOUNS.len()];
    if attempt == 0 {
        format!("{a}_{n}")
    } else {
        format!("{a}_{n}_{}", &id[attempt % 56..attempt % 56 + 4])
    }
}
