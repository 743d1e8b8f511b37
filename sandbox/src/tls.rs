//! HTTPS for WeChat Pay (wechat.md §2, §8): the sandbox also serves its routes over TLS,
//! as `api.mch.weixin.qq.com` does, and asks every client for a certificate. A missing
//! certificate is not refused during the handshake: only `/secapi/` needs one, and it
//! answers for itself ([`crate::wechat::client_cert`]).
//!
//! The server certificate (for 127.0.0.1 and localhost) is issued at start-up by a
//! throwaway CA, one per process, so that a backend told once to trust that CA (its PEM
//! in `SSL_CERT_FILE`, whose certificates minipay adds to its roots) trusts every
//! sandbox of the process.

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The CA and the server configuration made from it.
pub struct TlsIdentity {
    ca_cert_pem: String,
    server_config: Arc<ServerConfig>,
}

impl TlsIdentity {
    /// The identity every sandbox of this process presents.
    pub fn shared() -> &'static TlsIdentity {
        static IDENTITY: OnceLock<TlsIdentity> = OnceLock::new();
        IDENTITY.get_or_init(TlsIdentity::generate)
    }

    /// The CA certificate (PEM) a client must trust to reach the sandbox over TLS.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_cert_pem
    }

    fn generate() -> TlsIdentity {
        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "minipay sandbox CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("a fresh key"))
            .expect("the CA certificate is well-formed");

        let server_key = KeyPair::generate().expect("a fresh key");
        let mut server_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("the names are valid");
        server_params
            .distinguished_name
            .push(DnType::CommonName, "minipay sandbox");
        let server_cert = server_params
            .signed_by(&server_key, &*ca)
            .expect("the server certificate is well-formed");

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = AnyClientCertificate {
            algorithms: provider.signature_verification_algorithms,
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let mut server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the default provider supports the default versions")
            .with_client_cert_verifier(Arc::new(verifier))
            .with_single_cert(vec![server_cert.der().clone(), ca.der().clone()], key)
            .expect("the key fits the certificate");
        server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
        TlsIdentity {
            ca_cert_pem: ca.pem(),
            server_config: Arc::new(server_config),
        }
    }
}

/// Asks for a client certificate, accepts any (or none) whose holder proves it has the
/// private key: which certificate is acceptable is WeChat Pay's business, not TLS's.
#[derive(Debug)]
struct AnyClientCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// TCP connections that finished their TLS handshake. Handshakes run side by side, so a
/// slow client holds up no one.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, identity: &TlsIdentity) -> TlsListener {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(identity.server_config.clone()),
            handshakes: JoinSet::new(),
        }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, address)) => {
                        let acceptor = self.acceptor.clone();
                        self.handshakes.spawn(async move {
                            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                            handshake.await.ok()?.ok().map(|tls| (tls, address))
                        });
                    }
                    // Out of file descriptors and the like: wait a little, as axum does.
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                },
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The certificate the client presented in the handshake, if any (the first of its chain).
#[derive(Debug, Clone, Default)]
pub struct PeerCertificate(pub Option<CertificateDer<'static>>);

impl Connected<IncomingStream<'_, TlsListener>> for PeerCertificate {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> PeerCertificate {
        let (_, connection) = stream.io().get_ref();
        PeerCertificate(
            connection
                .peer_certificates()
                .and_then(<[CertificateDer<'static>]>::first)
                .cloned(),
        )
    }
}

/// Serves `app` over TLS on `listener` until the task is cancelled; each request
/// carries the client's [`PeerCertificate`] as its connect info.
pub async fn serve(listener: TcpListener, app: Router, identity: &TlsIdentity) -> std::io::Result<()> {
    axum::serve(
        TlsListener::new(listener, identity),
        app.into_make_service_with_connect_info::<PeerCertificate>(),
    )
    .await
}

/// A merchant API certificate and its key (PEM), as the merchant platform issues them,
/// for tests and the demo to register with the sandbox and hand to the backend.
#[derive(Debug, Clone)]
pub struct MerchantCertificate {
    pub cert_pem: String,
    pub key_pem: String,
}

impl MerchantCertificate {
    pub fn generate(mch_id: &str) -> MerchantCertificate {
        let key = KeyPair::generate().expect("a fresh key");
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, mch_id);
        let cert = params.self_signed(&key).expect("the certificate is well-formed");
        MerchantCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Certificate and key in one PEM, as `reqwest::Identity::from_pem` (and the
    /// backend's `WECHAT_CLIENT_CERT`) take them.
    pub fn identity_pem(&self) -> String {
        format!("{}{}", self.cert_pem, self.key_pem)
    }
}

/// The DER of the first certificate in `pem`, or `None` when it holds none.
pub fn first_certificate_der(pem: &str) -> Option<Vec<u8>> {
    pem::parse_many(pem)
        .ok()?
        .into_iter()
        .find(|block| block.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_certificates_parse_back() {
        let merchant = MerchantCertificate::generate("1900000109");
        let der = first_certificate_der(&merchant.identity_pem()).unwrap();
        assert_eq!(Some(der), first_certificate_der(&merchant.cert_pem));
        assert_eq!(first_certificate_der(&merchant.key_pem), None);
        assert_ne!(
            first_certificate_der(&MerchantCertificate::generate("1900000109").cert_pem),
            first_certificate_der(&merchant.cert_pem)
        );
    }

    #[test]
    fn the_identity_is_made_once_per_process() {
        let first = TlsIdentity::shared();
        assert!(first.ca_cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(std::ptr::eq(first, TlsIdentity::shared()));
    }
}
