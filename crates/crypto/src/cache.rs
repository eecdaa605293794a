//! A bounded cache of unwrapped data keys.
//!
//! Unwrapping a DEK costs a KEK lookup and an AEAD call; listing a page of ideas needs a handful
//! of DEKs again and again. The cache keeps at most `capacity` keys, evicts the least recently
//! used, and every key it drops is zeroised (by `SecretKey`'s drop). It holds keys only, never
//! plaintext, and nothing another node needs: a miss simply unwraps again.
//!
//! Every key is kept for a limited time ([`KEY_CACHE_TTL`]) too: when one node destroys a key
//! (an erasure), the other nodes, which cannot be told, stop opening data with it once their
//! cached copy has expired; a miss then finds the key gone from the database (ENC-04).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::keys::{KeyId, SecretKey};

/// How long a node keeps an unwrapped key before reading it from the database again: the
/// longest a node other than the one that erased a person goes on opening that person's data.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

struct Entry {
    key: SecretKey,
    used: u64,
    stored: Instant,
}

/// (scope, key id, version): the scope is the workspace a key belongs to, so a key is only ever
/// found again for the workspace it was stored for, and a whole workspace can be forgotten.
type Slot = (uuid::Uuid, KeyId, u32);

struct Inner {
    entries: HashMap<Slot, Entry>,
    clock: u64,
}

/// A bounded, thread-safe LRU cache of unwrapped keys, by scope (workspace), key id and version.
pub struct KeyCache {
    inner: Mutex<Inner>,
    capacity: usize,
    ttl: Duration,
}

impl KeyCache {
    /// A cache holding at most `capacity` keys (at least one), each for [`KEY_CACHE_TTL`].
    pub fn new(capacity: usize) -> Self {
        Self::with_ttl(capacity, KEY_CACHE_TTL)
    }

    /// A cache holding at most `capacity` keys, each for at most `ttl`.
    pub fn with_ttl(capacity: usize, ttl: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                clock: 0,
            }),
            capacity: capacity.max(1),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent (every operation is
        // a single map call), so a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key, if cached for this scope and not expired; marks it recently used.
    pub fn get(&self, scope: uuid::Uuid, id: KeyId, version: u32) -> Option<SecretKey> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let slot = (scope, id, version);
        if inner
            .entries
            .get(&slot)
            .is_some_and(|e| e.stored.elapsed() >= self.ttl)
        {
            inner.entries.remove(&slot);
            return None;
        }
        inner.entries.get_mut(&slot).map(|e| {
            e.used = now;
            e.key.clone()
        })
    }

    /// Caches a key, evicting the least recently used one when full.
    pub fn insert(&self, scope: uuid::Uuid, id: KeyId, version: u32, key: SecretKey) {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let full = !inner.entries.contains_key(&(scope, id, version))
            && inner.entries.len() >= self.capacity;
        if full
            && let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| *k)
        {
            inner.entries.remove(&oldest);
        }
        inner.entries.insert(
            (scope, id, version),
            Entry {
                key,
                used: now,
                stored: Instant::now(),
            },
        );
    }

    /// Drops every version of a key (it was shredded or rotated away).
    pub fn forget(&self, scope: uuid::Uuid, id: KeyId) {
        self.lock()
            .entries
            .retain(|(s, k, _), _| !(*s == scope && *k == id));
    }

    /// Drops every key of a scope (a workspace was erased).
    pub fn forget_scope(&self, scope: uuid::Uuid) {
        self.lock().entries.retain(|(s, _, _), _| *s != scope);
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WS: uuid::Uuid = uuid::Uuid::from_u128(7);

    #[test]
    fn enc_02_cache_is_bounded_and_evicts_least_recently_used() {
        let cache = KeyCache::new(3);
        let ids: Vec<KeyId> = (0..4).map(|_| KeyId::now_v7()).collect();
        let keys: Vec<SecretKey> = (0..4).map(|_| SecretKey::generate().unwrap()).collect();
        for i in 0..3 {
            cache.insert(WS, ids[i], 1, keys[i].clone());
        }
        assert_eq!(cache.get(WS, ids[0], 1), Some(keys[0].clone()));
        cache.insert(WS, ids[3], 1, keys[3].clone());
        assert_eq!(cache.len(), 3);
        assert!(
            cache.get(WS, ids[1], 1).is_none(),
            "the least recently used key went"
        );
        assert!(
            cache.get(WS, ids[0], 1).is_some()
                && cache.get(WS, ids[2], 1).is_some()
                && cache.get(WS, ids[3], 1).is_some()
        );
        assert!(cache.get(WS, ids[0], 2).is_none(), "versions are distinct");
    }

    #[test]
    fn enc_04_cached_keys_expire_so_other_nodes_forget_shredded_keys() {
        let cache = KeyCache::with_ttl(10, Duration::from_millis(50));
        let id = KeyId::now_v7();
        cache.insert(WS, id, 1, SecretKey::generate().unwrap());
        assert!(cache.get(WS, id, 1).is_some(), "fresh keys are served");
        std::thread::sleep(Duration::from_millis(80));
        assert!(cache.get(WS, id, 1).is_none(), "expired keys are not");
        assert!(cache.is_empty(), "and are dropped (zeroised)");
    }

    #[test]
    fn acc_02_a_key_is_found_only_in_its_own_scope() {
        let cache = KeyCache::new(10);
        let id = KeyId::now_v7();
        cache.insert(WS, id, 1, SecretKey::generate().unwrap());
        assert!(cache.get(uuid::Uuid::from_u128(8), id, 1).is_none());
    }

    #[test]
    fn enc_04_forgotten_keys_and_scopes_are_gone_in_every_version() {
        let cache = KeyCache::new(10);
        let (a, b) = (KeyId::now_v7(), KeyId::now_v7());
        cache.insert(WS, a, 1, SecretKey::generate().unwrap());
        cache.insert(WS, a, 2, SecretKey::generate().unwrap());
        cache.insert(WS, b, 1, SecretKey::generate().unwrap());
        let other = uuid::Uuid::from_u128(9);
        cache.insert(other, b, 1, SecretKey::generate().unwrap());
        cache.forget(WS, a);
        assert!(cache.get(WS, a, 1).is_none() && cache.get(WS, a, 2).is_none());
        assert!(cache.get(WS, b, 1).is_some());
        cache.forget_scope(WS);
        assert!(cache.get(WS, b, 1).is_none());
        assert_eq!(cache.len(), 1, "other scopes stay");
    }
}
