//! `volume create|ls [-q]|inspect|rm|prune [-a]`: volumes under the store root.

use super::engine_fail;
use crate::cli::VolumeCommand;
use engine::container::{volumes, Engine};

pub fn run(engine: &Engine, cmd: &VolumeCommand) -> i32 {
    match cmd {
        VolumeCommand::Create { name } => match volumes::create(engine, name) {
            Ok(_) => {
                out!("{name}");
                0
            }
            Err(e) => engine_fail(&e, 1),
        },
        VolumeCommand::Ls { quiet } => match volumes::list(engine) {
            Ok(names) => {
                if !quiet {
                    out!("DRIVER    VOLUME NAME");
                }
                for n in names {
                    if *quiet {
                        out!("{n}");
                    } else {
                        out!("local     {n}");
                    }
                }
                0
            }
            Err(e) => engine_fail(&e, 1),
        },
        VolumeCommand::Inspect { names } => {
            let mut all = vec![];
            for n in names {
                match volumes::inspect(engine, n) {
                    Ok(v) => all.push(v),
                    Err(e) => return engine_fail(&e, 1),
                }
            }
            out!("{}", serde_json::to_string_pretty(&all).expect("json"));
            0
        }
        VolumeCommand::Rm { names } => {
            let mut code = 0;
            for n in names {
                match volumes::remove(engine, n) {
                    Ok(()) => out!("{n}"),
                    Err(e) => code = engine_fail(&e, 1),
                }
            }
            code
        }
        VolumeCommand::Prune { all } => match volumes::prune(engine, *all) {
            Ok(removed) => {
                for n in removed {
                    out!("{n}");
                }
                0
            }
            Err(e) => engine_fail(&e, 1),
        },
    }
}
