//! A tiny hostile registry for what a real one never does (serving a blob whose content
//! does not match its digest, bad JSON): HTTP/1.1 on 127.0.0.1, bearer-token auth per the
//! distribution token spec (so the token flow is exercised too), fixed routes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub const TOKEN: &str = "fake-token-123";

pub struct Route {
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// The first GET gets half the body, then the connection closes (a dropped download).
    pub truncate_first: bool,
}

pub struct Fake {
    pub host: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Requests seen, as "METHOD PATH AUTHORIZATION".
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    /// Serves `routes` (path -> response) to requests bearing the token; `/token` hands it out.
    pub fn start(routes: HashMap<String, Route>) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (s, l, h) = (stop.clone(), log.clone(), host.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    let _ = serve(c, &routes, &h, &l);
                }
            }
        });
        Fake {
            host,
            stop,
            thread: Some(thread),
            log,
        }
    }
}

impl Drop for Fake {
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
    routes: &HashMap<String, Route>,
    host: &str,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
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
    log.lock()
        .unwrap()
        .push(format!("{method} {target} {auth}"));
    let path = target.split('?').next().unwrap_or("").to_string();
    let challenge = format!("Bearer realm=\"http://{host}/token\",service=\"fake\"");
    let mut conn = conn;
    if path == "/token" {
        return respond(
            &mut conn,
            200,
            "application/json",
            &[],
            format!("{{\"token\":\"{TOKEN}\"}}").as_bytes(),
        );
    }
    if auth != format!("Bearer {TOKEN}") {
        let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
        return respond(
            &mut conn,
            401,
            "application/json",
            &[("WWW-Authenticate", &challenge)],
            body,
        );
    }
    if path == "/v2/" {
        return respond(&mut conn, 200, "application/json", &[], b"{}");
    }
    let earlier = format!("{method} {target} ");
    let first = !log
        .lock()
        .unwrap()
        .iter()
        .rev()
        .skip(1)
        .any(|l| l.starts_with(&earlier));
    match routes.get(&path) {
        Some(r) if r.truncate_first && first && method == "GET" => {
            let head = format!(
                "HTTP/1.1 200 X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                r.content_type,
                r.body.len()
            );
            conn.write_all(head.as_bytes())?;
            conn.write_all(&r.body[..r.body.len() / 2])
        }
        Some(r) => respond(
            &mut conn,
            200,
            r.content_type,
            &[],
            if method == "HEAD" { &[] } else { &r.body },
        ),
        None => respond(
            &mut conn,
            404,
            "application/json",
            &[],
            br#"{"errors":[{"code":"NOT_FOUND","message":"unknown"}]}"#,
        ),
    }
}

fn respond(
    conn: &mut TcpStream,
    status: u16,
    ct: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    conn.write_all(body)?;
    conn.flush()
}
