//! `coracle completion bash|zsh|fish`: the scripts load in the shell and complete what the CLI
//! defines (bash is driven for real: COMP_WORDS/COMP_CWORD and the registered function), hidden
//! commands stay out, an unknown shell is one error line. Needs no root and no store.

use std::process::{Command, Output};

fn coracle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coracle"))
        .args(args)
        .output()
        .unwrap()
}

fn script(shell: &str) -> String {
    let out = coracle(&["completion", shell]);
    assert!(out.status.success(), "completion {shell}: {out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// What bash offers for `words` (the last one being completed), through the function the
/// script registers with `complete -F`.
fn bash_complete(words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("coracle.bash");
    std::fs::write(&file, script("bash")).unwrap();
    let driver = r#"
        source "$1"; shift
        spec=$(complete -p coracle) || exit 3
        fn=${spec#*-F }; fn=${fn%% *}
        COMP_WORDS=(coracle "$@")
        COMP_CWORD=$#
        COMP_LINE="${COMP_WORDS[*]}"
        COMP_POINT=${#COMP_LINE}
        "$fn" coracle "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let out = Command::new("bash")
        .arg("-c")
        .arg(driver)
        .arg("bash")
        .arg(&file)
        .args(words)
        .output()
        .unwrap();
    assert!(out.status.success(), "{words:?}: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[test]
fn the_bash_script_loads_and_registers_a_completion_for_coracle() {
    let exe = env!("CARGO_BIN_EXE_coracle");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source <('{exe}' completion bash) && complete -p coracle"
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let spec = String::from_utf8_lossy(&out.stdout);
    assert!(
        spec.starts_with("complete ")
            && spec.contains("-F ")
            && spec.trim_end().ends_with(" coracle"),
        "{spec}"
    );
}

#[test]
fn bash_completes_commands_flags_and_values() {
    assert_eq!(bash_complete(&["ru"]), ["run"]);
    let all = bash_complete(&[""]);
    for c in ["run", "stats", "completion", "volume", "ps"] {
        assert!(all.iter().any(|w| w == c), "{c} not offered: {all:?}");
    }
    assert!(
        !all.iter().any(|w| w.starts_with("__")),
        "a hidden command is offered: {all:?}"
    );
    assert!(bash_complete(&["__"]).is_empty());
    let run = bash_complete(&["run", "--pu"]);
    assert!(run.iter().any(|w| w == "--publish"), "{run:?}");
    assert!(run.iter().any(|w| w == "--pull"), "{run:?}");
    assert_eq!(bash_complete(&["run", "--ini"]), ["--init"]);
    assert_eq!(bash_complete(&["volume", "cr"]), ["create"]);
    let shells = bash_complete(&["completion", ""]);
    for s in ["bash", "zsh", "fish"] {
        assert!(shells.iter().any(|w| w == s), "{s} not offered: {shells:?}");
    }
    assert_eq!(bash_complete(&["completion", "z"]), ["zsh"]);
    assert_eq!(bash_complete(&["stats", "--no"]), ["--no-stream"]);
}

#[test]
fn zsh_and_fish_scripts_name_the_commands_and_not_the_hidden_ones() {
    for shell in ["zsh", "fish"] {
        let s = script(shell);
        for want in ["coracle", "run", "publish", "no-stream", "completion"] {
            assert!(s.contains(want), "{shell}: {want} missing");
        }
        assert!(!s.contains("__monitor"), "{shell}: hidden command listed");
    }
    assert!(script("zsh").starts_with("#compdef coracle"));
    assert!(script("fish").contains("complete -c coracle"));
}

#[test]
fn an_unknown_shell_is_one_error_line_and_exit_125() {
    let out = coracle(&["completion", "tcsh"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
    assert!(out.stdout.is_empty());
    // No shell at all is a usage error, as for any missing argument.
    assert_eq!(coracle(&["completion"]).status.code(), Some(125));
}
