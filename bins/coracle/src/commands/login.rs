//! `coracle login [-u USER] [-p PASS | --password-stdin] HOST`: checks the credentials with
//! the registry, then stores them in the auth file (auth.json format).

use super::pull::other;
use super::usage;
use crate::cli::LoginArgs;
use image::registry::{login, Credentials};
use image::Result;
use std::io::Read;

pub fn run(a: &LoginArgs) -> Result<i32> {
    let username = a
        .username
        .clone()
        .ok_or_else(|| usage("login: --username (-u) is required"))?;
    let password = match (&a.password, a.password_stdin) {
        (Some(_), true) => {
            return Err(usage(
                "login: --password and --password-stdin are exclusive",
            ))
        }
        (Some(p), false) => p.clone(),
        (None, true) => read_stdin()?,
        (None, false) => return Err(usage("login: give --password (-p) or --password-stdin")),
    };
    if password.is_empty() {
        return Err(usage("login: the password is empty"));
    }
    let registry = registry_name(&a.host);
    let file = login::auth_file().map_err(other)?;
    login::login(
        &registry,
        Credentials { username, password },
        a.tls.tls_verify,
        &file,
    )
    .map_err(other)?;
    out!("Login Succeeded!");
    Ok(0)
}

/// The password is the first line of stdin, without its newline.
fn read_stdin() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| usage(format!("login: reading the password from stdin: {e}")))?;
    Ok(s.lines().next().unwrap_or("").to_string())
}

/// Users type hosts as `https://host/` too (as for Docker); the store key is the bare host.
pub fn registry_name(host: &str) -> String {
    let h = host
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    h.split('/').next().unwrap_or(h).to_string()
}
