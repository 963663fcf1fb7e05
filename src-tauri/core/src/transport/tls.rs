//! TLS to a `tcp://` daemon as the Docker CLI sets it up: `ca.pem` checks the daemon (the
//! system's roots when there is none), `cert.pem` and `key.pem` are our certificate when they
//! exist, and with verification off (`DOCKER_TLS` without `_VERIFY`, a context's
//! `SkipTLSVerify`) any certificate is taken, as the CLI takes it.
//!
//! rustls with the `ring` provider: no OpenSSL to find on macOS or Windows.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

use super::problem::ConnectProblem;
use crate::endpoint::Tls;

pub(crate) type Refusal = (ConnectProblem, String);

/// The client configuration for `tls`, read from its files now (so a missing file is said at
/// once, not at the first request).
pub(crate) fn client_config(tls: &Tls) -> Result<Arc<ClientConfig>, Refusal> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| (ConnectProblem::TlsUntrusted, e.to_string()))?;
    let builder = if tls.verify {
        builder.with_root_certificates(roots(tls)?)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    };
    let dir = tls.cert_dir.as_deref();
    let cert = dir.map(|d| d.join("cert.pem")).filter(|p| p.is_file());
    let key = dir.map(|d| d.join("key.pem")).filter(|p| p.is_file());
    let config = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain = certificates(&cert)?;
            let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| unreadable(&key, e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| (ConnectProblem::TlsClientCertificateNeeded, e.to_string()))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The name the daemon's certificate must carry: the address's host (an IP address works when
/// the certificate lists it, as dockerd's usually do).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned()).map_err(|e| format!("\"{host}\": {e}"))
}

fn roots(tls: &Tls) -> Result<RootCertStore, Refusal> {
    let mut store = RootCertStore::empty();
    let ca = tls
        .cert_dir
        .as_deref()
        .map(|d| d.join("ca.pem"))
        .filter(|p| p.is_file());
    match ca {
        Some(ca) => {
            for cert in certificates(&ca)? {
                store.add(cert).map_err(|e| {
                    (
                        ConnectProblem::TlsUntrusted,
                        format!("{}: {e}", ca.display()),
                    )
                })?;
            }
        }
        None => {
            // The CLI, given no CA, trusts the system's: so do we.
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
    }
    Ok(store)
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Refusal> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| unreadable(path, e))?;
    if certs.is_empty() {
        return Err(unreadable(path, "no certificate in it"));
    }
    Ok(certs)
}

fn unreadable(path: &Path, e: impl std::fmt::Display) -> Refusal {
    let path = path.display().to_string();
    let message = format!("{path}: {e}");
    (ConnectProblem::TlsMaterialUnreadable { path }, message)
}

/// Verification off, as asked: the handshake's signatures are still checked, so the session is
/// encrypted to whoever holds the certificate's key; who that is goes unchecked.
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

/// The problem a failed handshake or read points at, if it was TLS's doing.
pub(crate) fn problem_of(err: &rustls::Error) -> ConnectProblem {
    use rustls::{AlertDescription as A, Error as E};
    match err {
        E::AlertReceived(A::CertificateRequired | A::BadCertificate | A::HandshakeFailure) => {
            ConnectProblem::TlsClientCertificateNeeded
        }
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => ConnectProblem::TlsNotSpoken,
        _ => ConnectProblem::TlsUntrusted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_certificate_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "not a certificate").unwrap();
        let tls = Tls {
            verify: true,
            cert_dir: Some(dir.path().to_owned()),
        };
        let (problem, message) = client_config(&tls).unwrap_err();
        assert!(
            matches!(&problem, ConnectProblem::TlsMaterialUnreadable { path } if path.ends_with("ca.pem")),
            "{problem:?}"
        );
        assert!(message.contains("ca.pem"), "{message}");
    }

    #[test]
    fn without_verification_no_files_are_needed() {
        let tls = Tls {
            verify: false,
            cert_dir: None,
        };
        assert!(client_config(&tls).is_ok());
    }

    #[test]
    fn addresses_become_server_names() {
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("docker.example.com").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(server_name("bad name").is_err());
    }
}
