//! A small, synchronous D-Bus client: just what the systemd driver needs.
//!
//! - Transport: a Unix stream socket (the system bus, or systemd's private peer-to-peer socket).
//! - Auth: `AUTH EXTERNAL` with our uid (the kernel vouches for it through SO_PEERCRED), `BEGIN`.
//! - Messages: little-endian, version 1; method calls out, method returns / errors / signals in.
//! - Types: the basic ones plus arrays, structs and variants, written by [`Writer`]; bodies read
//!   by [`Reader`] for the simple replies systemd sends (`s`, `o`, `uoss`).
//!
//! No unix-fd passing, no introspection, no async: one request, then its reply, with any signals
//! that arrive meanwhile kept for the caller (the JobRemoved signal the caller waits for can arrive
//! before the reply is read).

use std::collections::VecDeque;
use std::io::{self, Read, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;
const SIGNAL: u8 = 4;

// Header field codes.
const F_PATH: u8 = 1;
const F_INTERFACE: u8 = 2;
const F_MEMBER: u8 = 3;
const F_ERROR_NAME: u8 = 4;
const F_REPLY_SERIAL: u8 = 5;
const F_DESTINATION: u8 = 6;
const F_SIGNATURE: u8 = 8;

/// Largest message we accept (the spec's limit is 128 MiB; systemd's replies are tiny).
const MAX_MESSAGE: usize = 16 << 20;

fn proto(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("D-Bus: {}", msg.into()))
}

/// A value inside a variant (`v`): the property types systemd's unit properties use.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    U32(u32),
    U64(u64),
    Str(String),
    /// `as`
    Strs(Vec<String>),
    /// `au`
    U32s(Vec<u32>),
    /// `ay`
    Bytes(Vec<u8>),
}

impl Value {
    fn signature(&self) -> &'static str {
        match self {
            Value::Bool(_) => "b",
            Value::U32(_) => "u",
            Value::U64(_) => "t",
            Value::Str(_) => "s",
            Value::Strs(_) => "as",
            Value::U32s(_) => "au",
            Value::Bytes(_) => "ay",
        }
    }
}

/// Marshals a message body or header, aligned relative to the start of the message.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn align(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }

    pub fn byte(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.align(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// `s` or `o`.
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    /// `g`
    pub fn sig(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    /// An array whose elements align to `elem_align`: the length counts from after the padding
    /// that precedes the first element.
    pub fn array(&mut self, elem_align: usize, body: impl FnOnce(&mut Writer)) {
        self.align(4);
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.align(elem_align);
        let start = self.buf.len();
        body(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }

    /// The start of a struct (or dict entry): 8-byte aligned.
    pub fn struct_start(&mut self) {
        self.align(8);
    }

    pub fn variant(&mut self, v: &Value) {
        self.sig(v.signature());
        match v {
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::U32(n) => self.u32(*n),
            Value::U64(n) => self.u64(*n),
            Value::Str(s) => self.str(s),
            Value::Strs(list) => self.array(4, |w| list.iter().for_each(|s| w.str(s))),
            Value::U32s(list) => self.array(4, |w| list.iter().for_each(|n| w.u32(*n))),
            Value::Bytes(b) => self.array(1, |w| w.buf.extend_from_slice(b)),
        }
    }
}

/// Reads a message body (alignment relative to the start of the body, which is 8-aligned in the
/// message, so the same).
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    fn align(&mut self, n: usize) {
        self.pos = self.pos.div_ceil(n) * n;
    }

    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| proto("message truncated"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub fn byte(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> io::Result<u32> {
        self.align(4);
        let b = self.take(4)?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    /// `s` or `o`.
    pub fn str(&mut self) -> io::Result<String> {
        let len = self.u32()? as usize;
        let s = self.take(len)?;
        self.take(1)?;
        String::from_utf8(s.to_vec()).map_err(|_| proto("string is not UTF-8"))
    }

    /// `g`
    pub fn sig(&mut self) -> io::Result<String> {
        let len = self.byte()? as usize;
        let s = self.take(len)?;
        self.take(1)?;
        String::from_utf8(s.to_vec()).map_err(|_| proto("signature is not UTF-8"))
    }
}

/// A message received from the peer.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub kind: u8,
    pub serial: u32,
    pub reply_serial: Option<u32>,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub signature: String,
    pub body: Vec<u8>,
}

impl Message {
    pub fn is_signal(&self, interface: &str, member: &str) -> bool {
        self.kind == SIGNAL
            && self.interface.as_deref() == Some(interface)
            && self.member.as_deref() == Some(member)
    }

    /// A body that starts with a string (an error's message, Hello's name, a job path).
    pub fn first_string(&self) -> Option<String> {
        match self.signature.chars().next() {
            Some('s' | 'o') => Reader::new(&self.body).str().ok(),
            _ => None,
        }
    }
}

/// An error the peer answered with (`org.freedesktop.systemd1.NoSuchUnit`, …).
#[derive(Debug)]
pub struct RemoteError {
    pub name: String,
    pub message: String,
}

/// One method call.
pub struct Call<'a> {
    pub destination: Option<&'a str>,
    pub path: &'a str,
    pub interface: &'a str,
    pub member: &'a str,
    pub signature: &'a str,
    /// The body, marshalled with a fresh [`Writer`] (bodies start 8-aligned, so the alignment is
    /// the same as within the message).
    pub body: Vec<u8>,
}

/// A connection to a bus or to a peer.
pub struct Connection {
    stream: UnixStream,
    serial: u32,
    /// Signals read while waiting for a reply, oldest first.
    pending: VecDeque<Message>,
}

impl Connection {
    /// Connect to the socket at `path` and authenticate as our uid. `bus` says whether it is a
    /// message bus (which wants `Hello` first) or a peer (systemd's private socket).
    pub fn connect(path: &Path, bus: bool, timeout: Duration) -> io::Result<Connection> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut c = Connection {
            stream,
            serial: 0,
            pending: VecDeque::new(),
        };
        c.auth()?;
        if bus {
            c.call(&Call {
                destination: Some("org.freedesktop.DBus"),
                path: "/org/freedesktop/DBus",
                interface: "org.freedesktop.DBus",
                member: "Hello",
                signature: "",
                body: Vec::new(),
            })?
            .map_err(|e| proto(format!("Hello: {}: {}", e.name, e.message)))?;
        }
        Ok(c)
    }

    fn auth(&mut self) -> io::Result<()> {
        let uid = sys::process::getuid().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        // BEGIN is pipelined with AUTH in one write (as sd-bus clients do); the first message goes
        // out only once OK is back. With BEGIN written after OK, right before the first message,
        // systemd 252 (private socket, QEMU guest) left that first call unanswered in about one
        // connection of three; pipelined, it has answered every one since.
        self.stream
            .write_all(format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n").as_bytes())?;
        let line = self.read_line()?;
        if !line.starts_with("OK ") {
            return Err(proto(format!("authentication refused: {line:?}")));
        }
        Ok(())
    }

    /// One line of the auth conversation, byte by byte (nothing after it may be consumed).
    fn read_line(&mut self) -> io::Result<String> {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            if line.len() > 512 {
                return Err(proto("auth line too long"));
            }
            self.stream.read_exact(&mut b)?;
            line.push(b[0]);
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).map_err(|_| proto("auth line is not UTF-8"))
    }

    /// Send `call` and wait for its reply: Ok(the return) or Ok(Err(the peer's error)).
    pub fn call(&mut self, call: &Call) -> io::Result<Result<Message, RemoteError>> {
        let serial = self.send(call)?;
        loop {
            let m = self.read_message()?;
            match m.kind {
                METHOD_RETURN | ERROR if m.reply_serial == Some(serial) => {
                    if m.kind == METHOD_RETURN {
                        return Ok(Ok(m));
                    }
                    return Ok(Err(RemoteError {
                        name: m.error_name.clone().unwrap_or_default(),
                        message: m.first_string().unwrap_or_default(),
                    }));
                }
                SIGNAL => self.pending.push_back(m),
                // Replies to calls we no longer wait for, or calls to us: nothing to do.
                _ => {}
            }
        }
    }

    /// The next signal: one kept while waiting for a reply, else the next from the socket. Fails
    /// with the socket's timeout error when none comes in time.
    pub fn next_signal(&mut self) -> io::Result<Message> {
        if let Some(m) = self.pending.pop_front() {
            return Ok(m);
        }
        loop {
            let m = self.read_message()?;
            if m.kind == SIGNAL {
                return Ok(m);
            }
        }
    }

    fn send(&mut self, call: &Call) -> io::Result<u32> {
        self.serial += 1;
        let mut w = Writer::default();
        w.byte(b'l');
        w.byte(METHOD_CALL);
        w.byte(0); // flags: a reply is expected
        w.byte(1); // protocol version
        w.u32(call.body.len() as u32);
        w.u32(self.serial);
        let field = |w: &mut Writer, code: u8, sig: &str, value: &str| {
            w.struct_start();
            w.byte(code);
            w.sig(sig);
            if sig == "g" {
                w.sig(value);
            } else {
                w.str(value);
            }
        };
        w.array(8, |w| {
            field(w, F_PATH, "o", call.path);
            field(w, F_INTERFACE, "s", call.interface);
            field(w, F_MEMBER, "s", call.member);
            if let Some(d) = call.destination {
                field(w, F_DESTINATION, "s", d);
            }
            if !call.signature.is_empty() {
                field(w, F_SIGNATURE, "g", call.signature);
            }
        });
        w.struct_start();
        let mut bytes = w.into_bytes();
        bytes.extend_from_slice(&call.body);
        self.stream.write_all(&bytes)?;
        Ok(self.serial)
    }

    fn read_message(&mut self) -> io::Result<Message> {
        let mut fixed = [0u8; 16];
        self.stream.read_exact(&mut fixed)?;
        if fixed[0] != b'l' {
            // Peers answer in our byte order in practice; big-endian support is not needed here.
            return Err(proto("big-endian message"));
        }
        let word = |i: usize| u32::from_le_bytes(fixed[i..i + 4].try_into().expect("4")) as usize;
        let (body_len, fields_len) = (word(4), word(12));
        let header_len = (16 + fields_len).div_ceil(8) * 8;
        if header_len + body_len > MAX_MESSAGE {
            return Err(proto("message too large"));
        }
        let mut rest = vec![0u8; header_len - 16 + body_len];
        self.stream.read_exact(&mut rest)?;
        let mut m = Message {
            kind: fixed[1],
            serial: word(8) as u32,
            ..Message::default()
        };
        // The fields array, read with offsets relative to the message start (16 bytes are gone:
        // still 8-aligned).
        let mut r = Reader::new(&rest[..fields_len]);
        while r.pos < fields_len {
            r.align(8);
            let code = r.byte()?;
            let sig = r.sig()?;
            match sig.as_str() {
                "s" | "o" => {
                    let v = r.str()?;
                    match code {
                        F_PATH => m.path = Some(v),
                        F_INTERFACE => m.interface = Some(v),
                        F_MEMBER => m.member = Some(v),
                        F_ERROR_NAME => m.error_name = Some(v),
                        _ => {}
                    }
                }
                "g" => {
                    let v = r.sig()?;
                    if code == F_SIGNATURE {
                        m.signature = v;
                    }
                }
                "u" => {
                    let v = r.u32()?;
                    if code == F_REPLY_SERIAL {
                        m.reply_serial = Some(v);
                    }
                }
                other => return Err(proto(format!("unexpected header field type {other:?}"))),
            }
        }
        m.body = rest.split_off(header_len - 16);
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_arrays_and_variants_are_aligned() {
        let mut w = Writer::default();
        w.byte(1);
        w.str("ab");
        assert_eq!(w.buf, [1, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 0]);
        let mut w = Writer::default();
        w.variant(&Value::U64(7));
        // signature "t", padded to 8, then the value
        assert_eq!(w.buf, [1, b't', 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
        let mut w = Writer::default();
        w.array(8, |w| {
            w.struct_start();
            w.str("x");
        });
        // length 6 counts from the first element (after the 4 bytes of padding)
        assert_eq!(w.buf, [6, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, b'x', 0]);
        let mut w = Writer::default();
        w.array(8, |_| {});
        assert_eq!(w.buf, [0, 0, 0, 0, 0, 0, 0, 0], "empty array still pads");
        let mut w = Writer::default();
        w.variant(&Value::U32s(vec![5]));
        assert_eq!(w.buf, [2, b'a', b'u', 0, 4, 0, 0, 0, 5, 0, 0, 0]);
        let mut w = Writer::default();
        w.variant(&Value::Strs(vec!["a".into()]));
        assert_eq!(w.buf, [2, b'a', b's', 0, 6, 0, 0, 0, 1, 0, 0, 0, b'a', 0]);
    }

    #[test]
    fn reader_reads_what_writer_wrote() {
        let mut w = Writer::default();
        w.u32(42);
        w.str("/org/freedesktop/systemd1/job/7");
        w.str("coracle-x.scope");
        w.sig("uoss");
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u32().unwrap(), 42);
        assert_eq!(r.str().unwrap(), "/org/freedesktop/systemd1/job/7");
        assert_eq!(r.str().unwrap(), "coracle-x.scope");
        assert_eq!(r.sig().unwrap(), "uoss");
        assert!(r.byte().is_err(), "past the end is an error, not a panic");
    }
}
