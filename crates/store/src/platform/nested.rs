//! Rows nested in one column as JSON, so that a page's related rows come back with its main row.
//!
//! Each statement is a round trip to the database, and on SQLite a hand-off to the driver's
//! thread and back for the statement and for every row (BENCHMARKS.md): an idea's ratings and
//! comments, read as their own statements, cost more than reading them. Nested as a JSON array
//! in the idea's row they cost one statement in all. Binary values (identifiers, sealed text)
//! travel as hexadecimal, which both databases write and [`hex`] reads back.

use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::{DatabaseKind, StoreError, StoreResult};

/// `expr` (a BLOB/BYTEA or, on PostgreSQL, a UUID) as hexadecimal text; NULL stays NULL.
pub(crate) fn hex_of(kind: DatabaseKind, expr: &str, uuid: bool) -> String {
    match (kind, uuid) {
        // SQLite's hex(NULL) is '', not NULL.
        (DatabaseKind::Sqlite, _) => format!("nullif(hex({expr}), '')"),
        (DatabaseKind::Postgres, true) => format!("replace(CAST({expr} AS TEXT), '-', '')"),
        (DatabaseKind::Postgres, false) => format!("encode({expr}, 'hex')"),
    }
}

/// A scalar subquery that yields the rows `FROM …` as a JSON array of arrays of `columns`
/// (`[]` when there are none). The order of the elements is not defined: callers sort.
pub(crate) fn json_rows(kind: DatabaseKind, columns: &[String], from: &str) -> String {
    let columns = columns.join(", ");
    match kind {
        DatabaseKind::Sqlite => format!("(SELECT json_group_array(json_array({columns})) {from})"),
        DatabaseKind::Postgres => format!(
            "(SELECT CAST(COALESCE(json_agg(json_build_array({columns})), CAST('[]' AS JSON)) AS TEXT) {from})"
        ),
    }
}

/// Reads a column written by [`json_rows`] as a list of `T` (a tuple of the columns).
pub(crate) fn parse<T: DeserializeOwned>(what: &str, json: &str) -> StoreResult<Vec<T>> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("nested {what}: {e}")))
}

/// Bytes from their hexadecimal text (either case).
pub(crate) fn hex(what: &str, text: &str) -> StoreResult<Vec<u8>> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(StoreError::Corrupt(format!("{what}: odd-length hex")));
    }
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks_exact(2) {
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            _ => return Err(StoreError::Corrupt(format!("{what}: not hex"))),
        }
    }
    Ok(out)
}

/// A UUID from its 32 hexadecimal digits.
pub(crate) fn uuid(what: &str, text: &str) -> StoreResult<Uuid> {
    Uuid::try_parse(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        assert_eq!(hex("t", "00ff7Fa0").unwrap(), vec![0, 255, 127, 160]);
        assert_eq!(hex("t", "").unwrap(), Vec::<u8>::new());
        assert!(matches!(hex("t", "abc"), Err(StoreError::Corrupt(_))));
        assert!(matches!(hex("t", "zz"), Err(StoreError::Corrupt(_))));
        let id = Uuid::now_v7();
        assert_eq!(
            uuid("t", &id.simple().to_string().to_uppercase()).unwrap(),
            id
        );
        assert!(matches!(uuid("t", "12"), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn malformed_nested_rows_are_corrupt_not_a_panic() {
        assert!(matches!(
            parse::<(String, i64)>("x", "[[\"a\"]]"),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(
            parse::<(String, i64)>("x", "[[\"a\",1]]").unwrap(),
            vec![("a".to_owned(), 1)]
        );
    }
}
