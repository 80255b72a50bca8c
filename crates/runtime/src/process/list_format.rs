//! The kernel's list format for CPUs and NUMA nodes ("0-3,7"), as `execCPUAffinity` and
//! `linux.memoryPolicy.nodes` use it (and as /proc/self/status prints `Cpus_allowed_list`).

/// Parse `text` into the numbers it names, each below `limit`, in ascending order without
/// duplicates. The error says what is wrong, for a message that names the field.
pub fn parse(text: &str, limit: usize) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (number(a, text)?, number(b, text)?),
            None => {
                let n = number(part, text)?;
                (n, n)
            }
        };
        if first > last {
            return Err(format!("{text:?}: range {part:?} runs backwards"));
        }
        if last >= limit {
            return Err(format!(
                "{text:?}: {last} is above the largest, {}",
                limit - 1
            ));
        }
        out.extend(first..=last);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn number(s: &str, text: &str) -> Result<usize, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a list such as \"0-3,7\""));
    }
    s.parse().map_err(|_| format!("{text:?}: {s} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(parse("0-3,7", 64).unwrap(), [0, 1, 2, 3, 7]);
        assert_eq!(parse("3,1,1-2", 64).unwrap(), [1, 2, 3]);
        assert_eq!(parse("5", 64).unwrap(), [5]);
    }

    #[test]
    fn bad_lists_say_why() {
        let bad = |s: &str| parse(s, 1024).unwrap_err();
        assert_eq!(bad(""), r#""" is not a list such as "0-3,7""#);
        assert_eq!(bad("0,,1"), r#""0,,1" is not a list such as "0-3,7""#);
        assert_eq!(bad("a"), r#""a" is not a list such as "0-3,7""#);
        assert_eq!(bad("3-1"), r#""3-1": range "3-1" runs backwards"#);
        assert_eq!(
            bad("0-1024"),
            r#""0-1024": 1024 is above the largest, 1023"#
        );
        assert_eq!(
            bad("99999999999999999999999"),
            r#""99999999999999999999999": 99999999999999999999999 is too large"#
        );
    }
}
