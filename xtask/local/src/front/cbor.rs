//! Smithy RPC v2 CBOR, the protocol the SDK speaks to CloudWatch, read and written with the
//! SDK's own codec (aws-smithy-cbor), as JSON values: the front's rules work on those.
//! Timestamps (tag 1) read as epoch seconds; written as tag 1 under [`TIMESTAMP_KEYS`].
use aws_smithy_cbor::{Decoder, Encoder, data::Type, decode::DeserializeError};
use aws_smithy_types::DateTime;
use serde_json::{Map, Number, Value};

/// The fields of CloudWatch's answers the front writes that are timestamps (lists of them).
const TIMESTAMP_KEYS: &[&str] = &[
    "Timestamps",
    "AlarmConfigurationUpdatedTimestamp",
    "StateUpdatedTimestamp",
    "StateTransitionedTimestamp",
];

/// A request body as a JSON value; an empty body is an empty structure.
pub(super) fn decode(body: &[u8]) -> Result<Value, DeserializeError> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    value(&mut Decoder::new(body))
}

fn value(d: &mut Decoder<'_>) -> Result<Value, DeserializeError> {
    Ok(match d.datatype()? {
        Type::Map | Type::MapIndef => {
            let len = d.map()?;
            let mut map = Map::new();
            while more(d, len, map.len())? {
                let key = d.string()?;
                map.insert(key, value(d)?);
            }
            Value::Object(map)
        }
        Type::Array | Type::ArrayIndef => {
            let len = d.list()?;
            let mut list = Vec::new();
            while more(d, len, list.len())? {
                list.push(value(d)?);
            }
            Value::Array(list)
        }
        Type::String | Type::StringIndef => Value::String(d.string()?),
        Type::Bool => Value::Bool(d.boolean()?),
        Type::Null | Type::Undefined => {
            d.skip()?;
            Value::Null
        }
        Type::F16 | Type::F32 | Type::F64 => number(d.double()?),
        Type::Tag => number(d.timestamp()?.as_secs_f64()),
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => {
            let n = d.long()?;
            Value::Number(n.into())
        }
        Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => Value::Number(d.long()?.into()),
        _ => {
            // Blobs and simple values: nothing CloudWatch's requests to us carry.
            d.skip()?;
            Value::Null
        }
    })
}

/// Whether another item follows: counted for a definite container, up to the break for an
/// indefinite one (which it consumes).
fn more(d: &mut Decoder<'_>, len: Option<u64>, read: usize) -> Result<bool, DeserializeError> {
    match len {
        Some(len) => Ok((read as u64) < len),
        None if d.datatype()? == Type::Break => {
            d.skip()?;
            Ok(false)
        }
        None => Ok(true),
    }
}

fn number(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// An answer body from a JSON value.
pub(super) fn encode(value: &Value) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    write(&mut e, value, false);
    e.into_writer()
}

fn write(e: &mut Encoder, value: &Value, timestamps: bool) {
    match value {
        Value::Object(map) => {
            e.map(map.len());
            for (key, value) in map {
                e.str(key);
                write(e, value, TIMESTAMP_KEYS.contains(&key.as_str()));
            }
        }
        Value::Array(list) => {
            e.array(list.len());
            for item in list {
                write(e, item, timestamps);
            }
        }
        Value::Number(n) if timestamps => {
            e.timestamp(&DateTime::from_secs_f64(n.as_f64().unwrap_or_default()));
        }
        Value::Number(n) => {
            match n.as_i64() {
                Some(i) => e.long(i),
                None => e.double(n.as_f64().unwrap_or_default()),
            };
        }
        Value::String(s) => {
            e.str(s);
        }
        Value::Bool(b) => {
            e.boolean(*b);
        }
        Value::Null => {
            e.null();
        }
    }
}
