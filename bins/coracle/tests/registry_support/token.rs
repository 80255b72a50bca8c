//! A token server per the distribution token spec, for a real docker-registry configured
//! with `auth: token`: checks Basic credentials, answers `{"token": JWT}` with an ES256 JWT
//! whose x5c names a self-signed certificate the registry trusts (rootcertbundle), granting
//! the scopes asked for to USER only.

use super::{pem_der, self_signed, PASSWORD, USER};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub const ISSUER: &str = "coracle-test-issuer";
pub const SERVICE: &str = "coracle-test-registry";

pub struct TokenServer {
    pub realm: String,
    pub cert: PathBuf,
    /// Tokens handed out.
    pub issued: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    host: String,
    thread: Option<JoinHandle<()>>,
}

impl TokenServer {
    pub fn start(dir: &Path) -> TokenServer {
        let (cert, key) = self_signed(dir, "token");
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pem_der(&key), &rng)
            .unwrap();
        let x5c = STANDARD.encode(pem_der(&cert));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let (stop, issued) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (s, n) = (stop.clone(), issued.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    let _ = serve(c, &pair, &x5c, &n);
                }
            }
        });
        TokenServer {
            realm: format!("http://{host}/token"),
            cert,
            issued,
            stop,
            host,
            thread: Some(thread),
        }
    }

    /// The registry's `auth:` section trusting this server.
    pub fn registry_auth(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            self.realm,
            self.cert.display()
        )
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.host);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    conn: TcpStream,
    key: &EcdsaKeyPair,
    x5c: &str,
    issued: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut auth = String::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                auth = v.trim().to_string();
            }
        }
    }
    let good = format!("Basic {}", STANDARD.encode(format!("{USER}:{PASSWORD}")));
    let mut conn = conn;
    if auth != good {
        return respond(&mut conn, 401, br#"{"details":"bad credentials"}"#);
    }
    let scopes: Vec<String> = target
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter_map(|kv| kv.strip_prefix("scope="))
                .map(decode)
                .collect()
        })
        .unwrap_or_default();
    let jwt = sign(key, x5c, &scopes);
    issued.fetch_add(1, Ordering::SeqCst);
    respond(
        &mut conn,
        200,
        json!({ "token": jwt }).to_string().as_bytes(),
    )
}

/// `repository:NAME:ACTIONS` scopes -> the JWT's access claim; signed ES256 (r||s).
fn sign(key: &EcdsaKeyPair, x5c: &str, scopes: &[String]) -> String {
    let access: Vec<_> = scopes
        .iter()
        .filter_map(|s| {
            let mut p = s.splitn(3, ':');
            let (t, name, actions) = (p.next()?, p.next()?, p.next()?);
            Some(
                json!({"type": t, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}),
            )
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [x5c]});
    let claims = json!({"iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 300, "nbf": now - 10,
                        "iat": now, "jti": format!("{now}-{}", scopes.len()), "access": access});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = key
        .sign(&ring::rand::SystemRandom::new(), signing_input.as_bytes())
        .unwrap();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(conn: &mut TcpStream, status: u16, body: &[u8]) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes())?;
    conn.write_all(body)?;
    conn.flush()
}
