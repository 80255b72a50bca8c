//! `login` and `logout`: credentials checked against the registry, then kept in (or
//! removed from) the auth file.

use super::authfile::{self, Credentials};
use super::client::Client;
use super::endpoint;
use super::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The auth file, or an error saying how to name one.
pub fn auth_file() -> Result<PathBuf> {
    authfile::default_path().ok_or_else(|| {
        Error::Invalid("no auth file: set REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR or HOME".into())
    })
}

/// Credentials stored for a registry (by the name used in references, e.g. `docker.io`).
pub fn stored_credentials(registry: &str) -> Result<Option<Credentials>> {
    match authfile::default_path() {
        Some(path) => authfile::lookup(&path, registry).map_err(Error::Store),
        None => Ok(None),
    }
}

/// Checks the credentials with the registry, then stores them in `file`.
pub fn login(registry: &str, creds: Credentials, tls_verify: bool, file: &Path) -> Result<()> {
    let host = endpoint::api_host(registry);
    let client = Client::connect(host, tls_verify, Some(creds.clone()))?;
    client.verify_login()?;
    authfile::store(file, registry, &creds).map_err(Error::Store)
}

/// Removes stored credentials; an error when there were none (as Podman says).
pub fn logout(registry: &str, file: &Path) -> Result<()> {
    if authfile::remove(file, registry).map_err(Error::Store)? {
        Ok(())
    } else {
        Err(Error::NotFound {
            what: format!("credentials for {registry} in {}", file.display()),
        })
    }
}
