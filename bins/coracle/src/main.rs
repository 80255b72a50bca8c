//! `coracle`: the engine's command line (Docker/Podman conventions).

fn main() {
    eprintln!("coracle: no commands yet");
    std::process::exit(1);
}
