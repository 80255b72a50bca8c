//! `coracle logout HOST`: removes the stored credentials for a registry.

use super::login::registry_name;
use super::pull::other;
use crate::cli::LogoutArgs;
use image::registry::login;
use image::Result;

pub fn run(a: &LogoutArgs) -> Result<i32> {
    let registry = registry_name(&a.host);
    let file = login::auth_file().map_err(other)?;
    login::logout(&registry, &file).map_err(other)?;
    out!("Removed login credentials for {registry}");
    Ok(0)
}
