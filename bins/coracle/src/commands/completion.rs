//! `completion bash|zsh|fish`: the shell's completion script, generated from the clap
//! definition (clap_complete), so it never falls behind the flags. Hidden commands and flags
//! (`__monitor`, flags accepted only to be refused) are left out: clap_complete would list them.

use crate::cli::{Cli, SHELLS};
use clap::{Command, CommandFactory};
use clap_complete::Shell;
use std::io::Write;

pub fn run(shell: &str) -> i32 {
    let shell = match shell {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        other => {
            eprintln!(
                "coracle: completion: unknown shell {other:?}: expected one of {}",
                SHELLS.join(", ")
            );
            return 125;
        }
    };
    let mut visible = visible(built());
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut visible, "coracle", &mut script);
    if std::io::stdout().write_all(&script).is_err() {
        return 141;
    }
    0
}

/// The whole definition, built, for the life of this short process: the copy below borrows its
/// names (clap takes `&'static str` names unless its "string" feature is on).
fn built() -> &'static Command {
    let mut cli = Cli::command();
    cli.build();
    Box::leak(Box::new(cli))
}

/// A copy of a built command without its hidden subcommands and arguments. Built, the command
/// already holds its help/version flags and help subcommand as ordinary entries, so the copy
/// turns clap's automatic ones off rather than get them twice (and keeps the version the
/// --version flag needs).
fn visible(cmd: &'static Command) -> Command {
    let mut out = Command::new(cmd.get_name())
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true);
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    if let Some(version) = cmd.get_version() {
        out = out.version(version);
    }
    out.args(cmd.get_arguments().filter(|a| !a.is_hide_set()).cloned())
        .subcommands(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(visible),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(cmd: &Command) -> Vec<String> {
        let mut v: Vec<String> = cmd
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect();
        for s in cmd.get_subcommands() {
            v.push(s.get_name().to_string());
            v.extend(
                names(s)
                    .into_iter()
                    .map(|n| format!("{}/{n}", s.get_name())),
            );
        }
        v
    }

    #[test]
    fn the_copy_keeps_what_is_visible_and_drops_what_is_hidden() {
        let v = names(&visible(built()));
        for want in [
            "run",
            "run/publish",
            "run/hostname",
            "run/init",
            "stats/no_stream",
            "volume/create",
        ] {
            assert!(v.iter().any(|n| n == want), "{want} missing from {v:?}");
        }
        assert!(!v.iter().any(|n| n == "__monitor"), "__monitor kept: {v:?}");
    }
}
