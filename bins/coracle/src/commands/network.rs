//! `network create [--subnet CIDR] NAME`, `network ls [-q]`, `network inspect NAME...`,
//! `network rm NAME...`: the engine's network store (definitions under the store root).

use crate::cli::NetworkCommand;
use engine::container::Engine;

pub fn run(engine: &Engine, cmd: &NetworkCommand) -> i32 {
    let nets = engine.networks();
    let fail = |e: engine::network::Error| {
        eprintln!("coracle: {e}");
        1
    };
    match cmd {
        NetworkCommand::Create { subnet, name } => match nets.create(name, subnet.as_deref()) {
            Ok(info) => {
                out!("{}", info.name);
                0
            }
            Err(e) => fail(e),
        },
        NetworkCommand::Ls { quiet: true } => match nets.list() {
            Ok(list) => {
                for n in list {
                    out!("{}", n.name);
                }
                0
            }
            Err(e) => fail(e),
        },
        NetworkCommand::Ls { quiet: false } => match nets.list() {
            Ok(list) => {
                out!("{:<24}{:<10}{:<20}", "NAME", "DRIVER", "SUBNET");
                for n in list {
                    out!(
                        "{:<24}{:<10}{:<20}",
                        n.name,
                        n.driver,
                        n.subnet.unwrap_or_default()
                    );
                }
                0
            }
            Err(e) => fail(e),
        },
        NetworkCommand::Inspect { names } => {
            let mut all = vec![];
            for n in names {
                match nets.inspect(n) {
                    Ok(info) => all.push(serde_json::json!({
                        "Name": info.name,
                        "Driver": info.driver,
                        "Subnet": info.subnet,
                        "Gateway": info.gateway,
                        "Bridge": info.bridge,
                        "Containers": info.containers,
                    })),
                    Err(e) => return fail(e),
                }
            }
            out!("{}", serde_json::to_string_pretty(&all).expect("json"));
            0
        }
        NetworkCommand::Rm { names } => {
            let mut code = 0;
            for n in names {
                match nets.remove(n) {
                    Ok(()) => out!("{n}"),
                    Err(e) => code = fail(e),
                }
            }
            code
        }
    }
}
