//! The man pages, generated from the clap definition: `cargo run -p coracle --example man --
//! OUTDIR` (what `scripts/man.sh OUTDIR` runs) writes coracle.1 and one page per visible command
//! (coracle-run.1, coracle-volume-create.1, …). An example, not part of the `coracle` binary:
//! devices need no roff writer, and clap_mangen is only a dev-dependency.

#[allow(dead_code)]
#[path = "../src/cli.rs"]
mod cli;

use clap::CommandFactory;
use std::path::Path;

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: man OUTDIR");
        std::process::exit(2);
    };
    if let Err(e) = write_pages(Path::new(&dir)) {
        eprintln!("man: {}: {e}", Path::new(&dir).display());
        std::process::exit(1);
    }
}

/// Every visible command's page into `dir` (made if missing). Hidden commands (`__monitor`)
/// and hidden flags get none.
fn write_pages(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(cli::Cli::command(), dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// The page as `man` shows it (groff when man-db is absent), without formatting codes.
    fn rendered(page: &Path) -> String {
        let out = if Path::new("/usr/bin/man").exists() {
            Command::new("man")
                .arg("-l")
                .arg(page)
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "100")
                .output()
        } else {
            Command::new("groff")
                .args(["-man", "-Tutf8"])
                .arg(page)
                .output()
        }
        .expect("man-db or groff is installed (scripts/packages.txt)");
        assert!(out.status.success(), "{page:?}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        // Bold and underline are backspace overstrikes on a pipe: keep the last character.
        let mut plain = String::new();
        for c in text.chars() {
            if c == '\u{8}' {
                plain.pop();
            } else {
                plain.push(c);
            }
        }
        strip_escapes(&plain)
    }

    /// Without SGR sequences (groff -Tutf8 may use them instead of overstrikes).
    fn strip_escapes(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn pages_for_the_commands_render_and_name_their_flags() {
        let dir = tempfile::tempdir().unwrap();
        write_pages(dir.path()).unwrap();
        for page in [
            "coracle.1",
            "coracle-run.1",
            "coracle-stats.1",
            "coracle-volume-create.1",
        ] {
            assert!(dir.path().join(page).exists(), "{page} not written");
        }
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|n| n.contains("__monitor")),
            "a hidden command got a page: {names:?}"
        );
        let run = rendered(&dir.path().join("coracle-run.1"));
        assert!(run.contains("coracle-run"), "{run}");
        assert!(run.contains("--publish"), "{run}");
        assert!(run.contains("--hostname"), "{run}");
        assert!(run.contains("--init"), "{run}");
        let top = rendered(&dir.path().join("coracle.1"));
        assert!(top.contains("coracle-run(1)"), "{top}");
        assert!(top.contains("completion"), "{top}");
    }
}
