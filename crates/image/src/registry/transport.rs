//! The HTTP transport: one ureq agent (sync, no async runtime) per registry, HTTPS with
//! rustls and the webpki roots, or without certificate checks for `--tls-verify=false`;
//! and which scheme a host is spoken to with.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;

/// How a registry host may be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// HTTPS with verified certificates only.
    Verified,
    /// HTTPS without certificate checks, then plain HTTP (`--tls-verify=false`, and
    /// loopback hosts, as Docker and Podman treat them).
    Insecure,
}

/// Loopback hosts are spoken to without TLS checks and over plain HTTP if need be.
pub fn security_for(host: &str, tls_verify: bool) -> Security {
    let name = host_without_port(host);
    let loopback =
        name == "localhost" || name.starts_with("127.") || name == "::1" || name == "[::1]";
    if tls_verify && !loopback {
        Security::Verified
    } else {
        Security::Insecure
    }
}

/// The base URLs to try, in order, for a host.
pub fn bases(host: &str, security: Security) -> Vec<String> {
    match security {
        Security::Verified => vec![format!("https://{host}")],
        Security::Insecure => vec![format!("https://{host}"), format!("http://{host}")],
    }
}

/// An agent with coracle's timeouts; redirects are followed (blob downloads are often
/// redirected to object storage) and ureq drops Authorization headers on redirect.
pub fn agent(security: Security) -> ureq::Agent {
    let mut b = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(120))
        .timeout_write(Duration::from_secs(120))
        .user_agent(concat!("coracle/", env!("CARGO_PKG_VERSION")));
    if security == Security::Insecure {
        b = b.tls_config(Arc::new(insecure_tls()));
    }
    b.build()
}

fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| &h[1..]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

fn insecure_tls() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth()
}

/// Accepts any certificate (the user asked for `--tls-verify=false`) but still checks the
/// handshake signatures, so the connection is at least to whoever holds that key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_insecure_others_verified() {
        assert_eq!(security_for("localhost:5000", true), Security::Insecure);
        assert_eq!(security_for("127.0.0.1:41234", true), Security::Insecure);
        assert_eq!(security_for("[::1]:5000", true), Security::Insecure);
        assert_eq!(security_for("quay.io", true), Security::Verified);
        assert_eq!(security_for("quay.io", false), Security::Insecure);
        assert_eq!(bases("quay.io", Security::Verified), ["https://quay.io"]);
    }
}
