//! Approximate places of client addresses for the session list (IDN-04), only when the
//! operator configures a MaxMind DB (GeoLite2/GeoIP2 City or Country, or any database in that
//! layout). Nothing is looked up anywhere else, and nothing is stored: the place is worked out
//! from the session's (sealed) address each time the list is shown.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;

/// A MaxMind DB held in memory.
pub struct GeoIpDatabase(maxminddb::Reader<Vec<u8>>);

impl std::fmt::Debug for GeoIpDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("GeoIpDatabase")
            .field(&self.0.metadata.database_type)
            .finish()
    }
}

#[derive(Deserialize)]
struct Named {
    names: Option<BTreeMap<String, String>>,
}

impl Named {
    fn english(&self) -> Option<&str> {
        self.names.as_ref()?.get("en").map(String::as_str)
    }
}

#[derive(Deserialize)]
struct Place {
    city: Option<Named>,
    country: Option<Named>,
}

impl GeoIpDatabase {
    /// Reads a database from its bytes; the error says why it is not one.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, String> {
        let reader =
            maxminddb::Reader::from_source(bytes).map_err(|e| format!("not a MaxMind DB: {e}"))?;
        Ok(Self(reader))
    }

    /// "City, Country", or "Country", for an address the database knows; `None` otherwise.
    pub fn place(&self, ip: IpAddr) -> Option<String> {
        let found = self.0.lookup(ip).ok()?;
        let place: Place = found.decode().ok()??;
        let country = place.country.as_ref().and_then(Named::english);
        let city = place.city.as_ref().and_then(Named::english);
        match (city, country) {
            (Some(c), Some(k)) => Some(format!("{c}, {k}")),
            (None, Some(k)) => Some(k.to_owned()),
            (Some(c), None) => Some(c.to_owned()),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idn_04_garbage_is_not_a_database() {
        let e = GeoIpDatabase::from_bytes(b"not a database".to_vec()).unwrap_err();
        assert!(e.contains("not a MaxMind DB"), "{e}");
    }
}
