//! A connection to one registry: finds the scheme that answers (`GET /v2/`), learns the
//! auth scheme from its challenge, and sends requests with the right `Authorization`
//! (none, Basic, or a bearer token per the distribution token spec, fetched per scope
//! and refreshed once when a request is refused with a new challenge).

use super::authfile::Credentials;
use super::challenge::{self, Challenge};
use super::error::{Error, Result};
use super::transport;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

/// How requests to this registry are authorised.
#[derive(Clone, Debug)]
enum Auth {
    Anonymous,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// What a request carries.
pub enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// A stream sent once (a refused request is not retried).
    Stream(Box<dyn Read + Send + 'a>),
}

pub struct Client {
    agent: ureq::Agent,
    /// `https://host` or `http://host`: whichever answered the ping.
    base: String,
    host: String,
    creds: Option<Credentials>,
    auth: Auth,
    tokens: Mutex<HashMap<String, String>>,
}

impl Client {
    /// Connects to `host` (an API host with its port): pings `/v2/` over each allowed
    /// scheme and keeps the first that answers.
    pub fn connect(host: &str, tls_verify: bool, creds: Option<Credentials>) -> Result<Client> {
        let security = transport::security_for(host, tls_verify);
        let agent = transport::agent(security);
        let mut last = None;
        for base in transport::bases(host, security) {
            match send(
                &agent,
                "GET",
                &format!("{base}/v2/"),
                &[],
                Body::Empty,
                host,
            ) {
                Ok(resp) => return Client::from_ping(agent, base, host, creds, resp),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Unreachable {
            host: host.into(),
            why: "no scheme to try".into(),
        }))
    }

    fn from_ping(
        agent: ureq::Agent,
        base: String,
        host: &str,
        creds: Option<Credentials>,
        resp: ureq::Response,
    ) -> Result<Client> {
        let auth = match resp.status() {
            200..=299 => Auth::Anonymous,
            401 => auth_from(&challenges(&resp), host)?,
            status => {
                let detail = if status >= 500 {
                    "server error"
                } else {
                    "not a distribution (v2) registry"
                };
                return Err(Error::Status {
                    what: format!("{host}/v2/"),
                    status,
                    detail: detail.into(),
                });
            }
        };
        Ok(Client {
            agent,
            base,
            host: host.to_string(),
            creds,
            auth,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// An absolute URL for an API path (`/v2/...`) or a `Location` the registry returned
    /// (absolute, or relative to the registry).
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            format!("{}{}", self.base, path_or_url)
        }
    }

    /// Checks that the credentials are accepted (what `login` verifies): a token for no
    /// scope under Bearer, an authorised `/v2/` under Basic.
    pub fn verify_login(&self) -> Result<()> {
        match &self.auth {
            Auth::Anonymous => Ok(()),
            Auth::Bearer { .. } => self.token(&[]).map(drop),
            Auth::Basic => {
                let what = format!("login to {}", self.host);
                let resp = self.request("GET", "/v2/", &[], &[], Body::Empty)?;
                match resp.status() {
                    401 => Err(self.unauthorized(&what, resp)),
                    _ => expect_ok(resp, &what).map(drop),
                }
            }
        }
    }

    /// Sends a request authorised for `scopes` (e.g. `repository:app:pull`). Returns the
    /// response whatever its status (callers name what failed); transport failures are
    /// `Unreachable` naming the host.
    pub fn request(
        &self,
        method: &str,
        path_or_url: &str,
        scopes: &[String],
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<ureq::Response> {
        let url = self.url(path_or_url);
        let replayable: Option<&[u8]> = match &body {
            Body::Empty => Some(&[]),
            Body::Bytes(b) => Some(b),
            Body::Stream(_) => None,
        };
        let authz = self.authorization(scopes, false)?;
        let resp = self.send_with(method, &url, headers, authz.as_deref(), body)?;
        // A bearer registry may want a different scope than we asked for: fetch a token for
        // the challenge it sent and try once more.
        if resp.status() == 401 && matches!(self.auth, Auth::Bearer { .. }) {
            if let Some(bytes) = replayable {
                let wanted = challenges(&resp)
                    .into_iter()
                    .find(|c| c.scheme == "bearer")
                    .and_then(|c| c.param("scope").map(str::to_string));
                let scopes: Vec<String> = match wanted {
                    Some(s) => s.split(' ').map(str::to_string).collect(),
                    None => scopes.to_vec(),
                };
                let authz = self.authorization(&scopes, true)?;
                let body = if bytes.is_empty() {
                    Body::Empty
                } else {
                    Body::Bytes(bytes)
                };
                return self.send_with(method, &url, headers, authz.as_deref(), body);
            }
        }
        Ok(resp)
    }

    fn send_with(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        authz: Option<&str>,
        body: Body<'_>,
    ) -> Result<ureq::Response> {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = authz {
            all.push(("Authorization", a));
        }
        send(&self.agent, method, url, &all, body, &self.host)
    }

    fn authorization(&self, scopes: &[String], fresh: bool) -> Result<Option<String>> {
        match &self.auth {
            Auth::Anonymous => Ok(None),
            Auth::Basic => Ok(self.creds.as_ref().map(Credentials::basic_header)),
            Auth::Bearer { .. } => {
                let key = scopes.join(" ");
                if !fresh {
                    if let Some(t) = self.tokens.lock().unwrap().get(&key) {
                        return Ok(Some(format!("Bearer {t}")));
                    }
                }
                let token = self.token(scopes)?;
                self.tokens.lock().unwrap().insert(key, token.clone());
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// Fetches a bearer token from the realm (GET, with Basic credentials when we have them).
    fn token(&self, scopes: &[String]) -> Result<String> {
        let Auth::Bearer { realm, service } = &self.auth else {
            return Err(Error::Invalid("no token realm".into()));
        };
        let mut url = realm.clone();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        let mut add = |k: &str, v: &str| {
            url.push(sep);
            url.push_str(&format!("{k}={}", encode_query(v)));
            sep = '&';
        };
        if let Some(s) = service {
            add("service", s);
        }
        for s in scopes {
            add("scope", s);
        }
        let basic = self.creds.as_ref().map(Credentials::basic_header);
        let headers: Vec<(&str, &str)> = basic
            .as_deref()
            .map(|b| ("Authorization", b))
            .into_iter()
            .collect();
        let realm_host = url_host(realm);
        let resp = send(&self.agent, "GET", &url, &headers, Body::Empty, realm_host)?;
        let what = format!("token from {realm}");
        if resp.status() == 401 || resp.status() == 403 {
            return Err(self.unauthorized(&format!("{} (token service)", self.host), resp));
        }
        let resp = expect_ok(resp, &what)?;
        let doc: serde_json::Value = read_json(resp, &what)?;
        doc.get("token")
            .or_else(|| doc.get("access_token"))
            .and_then(serde_json::Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| Error::BadDocument {
                document: what,
                why: "no \"token\" or \"access_token\"".into(),
            })
    }

    /// The error for a 401, saying whether credentials were sent at all.
    pub fn unauthorized(&self, what: &str, resp: ureq::Response) -> Error {
        let server = error_message(resp);
        let detail = match &self.creds {
            Some(c) => format!(
                "the registry refused the credentials of user {:?}{server}",
                c.username
            ),
            None => format!(
                "authentication required (coracle login {}){server}",
                self.host
            ),
        };
        Error::Unauthorized {
            what: what.to_string(),
            detail,
        }
    }
}

/// Sends one request; any HTTP status is a response, a failure to talk HTTP at all is
/// `Unreachable` naming the host.
fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Body<'_>,
    host: &str,
) -> Result<ureq::Response> {
    let mut req = agent.request(method, url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = match body {
        Body::Empty => req.call(),
        Body::Bytes(b) => req.send_bytes(b),
        Body::Stream(r) => req.send(r),
    };
    match result {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => Ok(resp),
        Err(ureq::Error::Transport(t)) => Err(Error::Unreachable {
            host: host.to_string(),
            why: transport_why(&t),
        }),
    }
}

fn transport_why(t: &ureq::Transport) -> String {
    let mut why = t.kind().to_string();
    if let Some(m) = t.message() {
        why = format!("{why}: {m}");
    }
    if let Some(src) = std::error::Error::source(t) {
        why = format!("{why}: {src}");
    }
    why.lines().next().unwrap_or_default().to_string()
}

fn challenges(resp: &ureq::Response) -> Vec<Challenge> {
    resp.all("www-authenticate")
        .iter()
        .flat_map(|h| challenge::parse(h))
        .collect()
}

fn auth_from(challenges: &[Challenge], host: &str) -> Result<Auth> {
    if let Some(c) = challenges.iter().find(|c| c.scheme == "bearer") {
        let realm = c.param("realm").ok_or_else(|| Error::Unsupported {
            what: format!("{host}/v2/"),
            why: "bearer challenge without a realm".into(),
        })?;
        return Ok(Auth::Bearer {
            realm: realm.to_string(),
            service: c.param("service").map(str::to_string),
        });
    }
    if challenges.iter().any(|c| c.scheme == "basic") {
        return Ok(Auth::Basic);
    }
    Err(Error::Unsupported {
        what: format!("{host}/v2/"),
        why: "401 without a Basic or Bearer challenge".into(),
    })
}

/// Passes 2xx responses; maps the rest to the error that names `what`.
pub fn expect_ok(resp: ureq::Response, what: &str) -> Result<ureq::Response> {
    let what = what.to_string();
    match resp.status() {
        200..=299 => Ok(resp),
        401 => Err(Error::Unauthorized {
            what,
            detail: format!("authentication refused{}", error_message(resp)),
        }),
        403 => Err(Error::Denied {
            what,
            detail: error_message(resp).trim_start_matches(": ").to_string(),
        }),
        404 => Err(Error::NotFound { what }),
        status => Err(Error::Status {
            what,
            status,
            detail: error_message(resp).trim_start_matches(": ").to_string(),
        }),
    }
}

/// The registry's own explanation (`{"errors":[{"code":..,"message":..}]}`), as ": CODE message".
fn error_message(resp: ureq::Response) -> String {
    let mut text = String::new();
    let _ = resp.into_reader().take(64 * 1024).read_to_string(&mut text);
    let parsed: Option<serde_json::Value> = serde_json::from_str(&text).ok();
    let first = parsed
        .as_ref()
        .and_then(|v| v.get("errors")?.get(0).cloned());
    match first {
        Some(e) => {
            let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
            let msg = e.get("message").and_then(|c| c.as_str()).unwrap_or("");
            format!(": {} {}", code, msg).trim_end().to_string()
        }
        None => String::new(),
    }
}

/// Reads a JSON document of at most 4 MiB (manifests, token answers).
pub fn read_json<T: serde::de::DeserializeOwned>(
    resp: ureq::Response,
    document: &str,
) -> Result<T> {
    let bytes = read_limited(resp, document)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::BadDocument {
        document: document.into(),
        why: e.to_string(),
    })
}

pub const MAX_DOCUMENT: u64 = 4 << 20;

pub fn read_limited(resp: ureq::Response, document: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    resp.into_reader()
        .take(MAX_DOCUMENT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("reading {document}"), e))?;
    if bytes.len() as u64 > MAX_DOCUMENT {
        return Err(Error::BadDocument {
            document: document.into(),
            why: "larger than 4 MiB".into(),
        });
    }
    Ok(bytes)
}

fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// Percent-encodes a query value (scopes hold `:` `/` `,`, realms may hold anything).
pub fn encode_query(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding_and_hosts() {
        assert_eq!(
            encode_query("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
        assert_eq!(
            url_host("https://auth.example:8443/token?x=1"),
            "auth.example:8443"
        );
    }
}
