//! `coracle logout HOST`: removes the stored credentials for a registry.

use super::login::registry_name;
use super::Result;
use crate::cli::LogoutArgs;
use image::registry::login;

pub fn run(a: &LogoutArgs) -> Result<()> {
    let registry = registry_name(&a.host);
    let file = login::auth_file().map_err(|e| e.to_string())?;
    login::logout(&registry, &file).map_err(|e| e.to_string())?;
    println!("Removed login credentials for {registry}");
    Ok(())
}
