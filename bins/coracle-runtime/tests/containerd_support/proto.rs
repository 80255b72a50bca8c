//! Just enough protobuf for the CRI tests: messages are built field by field ([`Msg`]) and read
//! back as numbered fields ([`Fields`]), so no .proto compiler or generated code is needed. The
//! field numbers are those of Kubernetes' CRI v1 `api.proto` (written next to each use).

/// A message being written (wire format: key varint, then the value).
#[derive(Debug, Clone, Default)]
pub struct Msg(Vec<u8>);

impl Msg {
    pub fn new() -> Msg {
        Msg::default()
    }

    /// A varint field: integers, enums, bools.
    pub fn uint(mut self, field: u32, value: u64) -> Msg {
        key(&mut self.0, field, 0);
        varint(&mut self.0, value);
        self
    }

    /// A length-delimited field: string or bytes.
    pub fn bytes(mut self, field: u32, value: &[u8]) -> Msg {
        key(&mut self.0, field, 2);
        varint(&mut self.0, value.len() as u64);
        self.0.extend_from_slice(value);
        self
    }

    pub fn string(self, field: u32, value: &str) -> Msg {
        self.bytes(field, value.as_bytes())
    }

    /// One element per call for `repeated string`.
    pub fn strings(self, field: u32, values: &[&str]) -> Msg {
        values.iter().fold(self, |m, v| m.string(field, v))
    }

    /// An embedded message.
    pub fn message(self, field: u32, value: Msg) -> Msg {
        self.bytes(field, &value.0)
    }

    pub fn encode(&self) -> &[u8] {
        &self.0
    }
}

fn key(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire_type));
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One field's value as it came on the wire.
#[derive(Debug, Clone)]
enum Value {
    Varint(u64),
    Bytes(Vec<u8>),
    Fixed(u64),
}

/// A decoded message: its fields by number, in wire order (a missing field reads as its
/// protobuf default: 0, empty).
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(u32, Value)>);

impl Fields {
    pub fn decode(mut b: &[u8]) -> Result<Fields, String> {
        let mut fields = Vec::new();
        while !b.is_empty() {
            let k = read_varint(&mut b)?;
            let (field, wire_type) = ((k >> 3) as u32, k & 7);
            let value = match wire_type {
                0 => Value::Varint(read_varint(&mut b)?),
                1 => Value::Fixed(u64::from_le_bytes(take(&mut b, 8)?.try_into().unwrap())),
                2 => {
                    let n = read_varint(&mut b)? as usize;
                    Value::Bytes(take(&mut b, n)?.to_vec())
                }
                5 => Value::Fixed(u64::from(u32::from_le_bytes(
                    take(&mut b, 4)?.try_into().unwrap(),
                ))),
                t => return Err(format!("field {field}: unsupported wire type {t}")),
            };
            fields.push((field, value));
        }
        Ok(Fields(fields))
    }

    fn last(&self, field: u32) -> Option<&Value> {
        self.0
            .iter()
            .rev()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v)
    }

    pub fn uint(&self, field: u32) -> u64 {
        match self.last(field) {
            Some(Value::Varint(v)) | Some(Value::Fixed(v)) => *v,
            _ => 0,
        }
    }

    /// An `int32` (negative values travel as 64-bit two's complement).
    pub fn int32(&self, field: u32) -> i32 {
        self.uint(field) as i64 as i32
    }

    pub fn bytes(&self, field: u32) -> Vec<u8> {
        match self.last(field) {
            Some(Value::Bytes(b)) => b.clone(),
            _ => Vec::new(),
        }
    }

    pub fn string(&self, field: u32) -> String {
        String::from_utf8_lossy(&self.bytes(field)).into_owned()
    }

    pub fn message(&self, field: u32) -> Fields {
        Fields::decode(&self.bytes(field)).unwrap_or_default()
    }
}

fn read_varint(b: &mut &[u8]) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first().ok_or("truncated varint")?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint longer than 10 bytes".into())
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if b.len() < n {
        return Err(format!(
            "truncated field: {n} bytes wanted, {} left",
            b.len()
        ));
    }
    let (head, rest) = b.split_at(n);
    *b = rest;
    Ok(head)
}

#[test]
fn round_trip() {
    let m = Msg::new()
        .string(1, "id")
        .uint(3, u64::MAX - 1) // -2 as int32/int64
        .message(2, Msg::new().uint(1, 300));
    let f = Fields::decode(m.encode()).unwrap();
    assert_eq!(f.string(1), "id");
    assert_eq!(f.int32(3), -2);
    assert_eq!(f.message(2).uint(1), 300);
    assert_eq!(f.uint(9), 0);
}
