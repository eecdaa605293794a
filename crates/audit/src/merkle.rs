//! The Merkle tree of RFC 6962 / RFC 9162 §2.1: SHA-256, leaves hashed as `H(0x00 ‖ data)`,
//! interior nodes as `H(0x01 ‖ left ‖ right)`, a tree of `n` leaves split at the largest power
//! of two below `n`.
//!
//! The log stores the hash of every *perfect* subtree (2^level leaves starting at a multiple of
//! 2^level) as it completes, so any proof needs only a few lookups. This module says which
//! perfect subtrees a proof needs ([`inclusion_parts`], [`consistency_parts`]), folds the
//! looked-up hashes into the proof ([`fold`]), and verifies proofs without trusting anyone
//! ([`verify_inclusion`], [`verify_consistency`]).

use sha2::{Digest, Sha256};

use crate::AuditError;

/// A SHA-256 hash: a leaf, a node or a root.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The hash of a leaf holding `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of a tree over `leaves` (leaf hashes), computed directly: for tests and small trees.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// A perfect subtree: `2^level` leaves starting at leaf `index << level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = a leaf).
    pub level: u8,
    /// Position among the subtrees of that level.
    pub index: u64,
}

/// The perfect subtrees that make up leaves `[from, to)`, left to right, largest first. For a
/// range the RFC's recursion produces, its hash is these folded from the right.
pub fn perfect_parts(from: u64, to: u64) -> Vec<NodeId> {
    let mut parts = Vec::new();
    let mut at = from;
    while at < to {
        // The largest aligned perfect subtree starting at `at` that fits.
        let mut level = if at == 0 {
            63
        } else {
            at.trailing_zeros() as u8
        };
        while level > 0 && at.checked_add(1u64 << level).is_none_or(|end| end > to) {
            level -= 1;
        }
        parts.push(NodeId {
            level,
            index: at >> level,
        });
        at += 1u64 << level;
    }
    parts
}

/// One element of a proof: the hash of leaves `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPart {
    /// The perfect subtrees whose fold gives this element.
    pub nodes: Vec<NodeId>,
}

/// Folds the hashes of a range's perfect parts (as [`perfect_parts`] lists them) into the
/// range's hash.
pub fn fold(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |acc, left| node_hash(left, &acc)),
    )
}

fn range_part(from: u64, to: u64) -> ProofPart {
    ProofPart {
        nodes: perfect_parts(from, to),
    }
}

/// What an inclusion proof for leaf `index` in a tree of `size` leaves is made of (RFC 9162
/// §2.1.3.1), deepest first.
pub fn inclusion_parts(index: u64, size: u64) -> Result<Vec<ProofPart>, AuditError> {
    if index >= size {
        return Err(AuditError::OutOfRange { index, size });
    }
    fn path(m: u64, from: u64, to: u64, out: &mut Vec<ProofPart>) {
        let n = to - from;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            path(m, from, from + k, out);
            out.push(range_part(from + k, to));
        } else {
            path(m - k, from + k, to, out);
            out.push(range_part(from, from + k));
        }
    }
    let mut out = Vec::new();
    path(index, 0, size, &mut out);
    Ok(out)
}

/// What a consistency proof from a tree of `old` leaves to one of `new` leaves is made of
/// (RFC 9162 §2.1.4.1).
pub fn consistency_parts(old: u64, new: u64) -> Result<Vec<ProofPart>, AuditError> {
    if old > new {
        return Err(AuditError::OutOfRange {
            index: old,
            size: new,
        });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    fn subproof(m: u64, from: u64, to: u64, whole: bool, out: &mut Vec<ProofPart>) {
        let n = to - from;
        if m == n {
            if !whole {
                out.push(range_part(from, to));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            subproof(m, from, from + k, whole, out);
            out.push(range_part(from + k, to));
        } else {
            subproof(m - k, from + k, to, false, out);
            out.push(range_part(from, from + k));
        }
    }
    let mut out = Vec::new();
    subproof(old, 0, new, true, &mut out);
    Ok(out)
}

/// The position walk both verification algorithms of RFC 9162 share: `fnode` follows the
/// proven node up the tree, `snode` the tree's last node.
struct Walk {
    fnode: u64,
    snode: u64,
}

impl Walk {
    /// Moves one level up for the next proof element; says whether that element is the left
    /// sibling, or `None` when the walk already reached the root (the proof is too long).
    fn step(&mut self) -> Option<bool> {
        if self.snode == 0 {
            return None;
        }
        let left = self.fnode & 1 == 1 || self.fnode == self.snode;
        if left && self.fnode & 1 == 0 {
            while self.fnode & 1 == 0 && self.fnode != 0 {
                self.fnode >>= 1;
                self.snode >>= 1;
            }
        }
        self.fnode >>= 1;
        self.snode >>= 1;
        Some(left)
    }
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), AuditError> {
    if index >= size {
        return Err(AuditError::OutOfRange { index, size });
    }
    let mut walk = Walk {
        fnode: index,
        snode: size - 1,
    };
    let mut r = *leaf;
    for p in proof {
        match walk.step() {
            None => return Err(AuditError::BadProof("the inclusion proof is too long")),
            Some(true) => r = node_hash(p, &r),
            Some(false) => r = node_hash(&r, p),
        }
    }
    let snode = walk.snode;
    if snode != 0 {
        return Err(AuditError::BadProof("the inclusion proof is too short"));
    }
    if &r != root {
        return Err(AuditError::BadProof(
            "the inclusion proof does not lead to the root",
        ));
    }
    Ok(())
}

/// Checks that the tree of `old` leaves with root `old_root` is a prefix of the tree of `new`
/// leaves with root `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), AuditError> {
    if old > new {
        return Err(AuditError::BadProof("the old tree is larger than the new"));
    }
    if old == new {
        if !proof.is_empty() {
            return Err(AuditError::BadProof(
                "a proof between equal sizes must be empty",
            ));
        }
        if old_root != new_root {
            return Err(AuditError::BadProof("equal sizes with different roots"));
        }
        return Ok(());
    }
    if old == 0 {
        if !proof.is_empty() {
            return Err(AuditError::BadProof(
                "a proof from the empty tree must be empty",
            ));
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(AuditError::BadProof("the consistency proof is empty"));
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let mut walk = Walk {
        fnode: old - 1,
        snode: new - 1,
    };
    while walk.fnode & 1 == 1 {
        walk.fnode >>= 1;
        walk.snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        match walk.step() {
            None => return Err(AuditError::BadProof("the consistency proof is too long")),
            Some(true) => {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
            }
            Some(false) => sr = node_hash(&sr, c),
        }
    }
    let snode = walk.snode;
    if snode != 0 {
        return Err(AuditError::BadProof("the consistency proof is too short"));
    }
    if &fr != old_root || &sr != new_root {
        return Err(AuditError::BadProof(
            "the consistency proof does not lead to both roots",
        ));
    }
    Ok(())
}

/// The right edge of a tree: the roots of its perfect subtrees, largest first. Appending a leaf
/// merges equal-sized subtrees, completing the perfect subtrees the log stores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Roots of the perfect subtrees making up the tree, left (largest) to right.
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns every perfect subtree of level ≥ 1 it completed.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut done = Vec::new();
        let mut h = leaf;
        let mut level = 0u8;
        let index = self.size;
        while (index >> level) & 1 == 1 {
            let left = self.hashes.pop().unwrap_or(h);
            h = node_hash(&left, &h);
            level += 1;
            done.push((
                NodeId {
                    level,
                    index: index >> level,
                },
                h,
            ));
        }
        self.hashes.push(h);
        self.size += 1;
        done
    }

    /// The tree's root.
    pub fn root(&self) -> Hash {
        fold(&self.hashes).unwrap_or_else(empty_root)
    }

    /// The frontier as bytes: size (u64 BE), then the hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 * self.hashes.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        for h in &self.hashes {
            out.extend_from_slice(h);
        }
        out
    }

    /// Reads a frontier written by [`Frontier::to_bytes`], checking that it is well formed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuditError> {
        let bad = || AuditError::Malformed("the stored frontier is malformed".into());
        let (size, rest) = bytes.split_first_chunk::<8>().ok_or_else(bad)?;
        let size = u64::from_be_bytes(*size);
        if rest.len() % 32 != 0 || rest.len() / 32 != size.count_ones() as usize {
            return Err(bad());
        }
        let hashes = rest
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(Self { size, hashes })
    }

    /// The perfect subtrees the frontier's hashes stand for, left to right.
    pub fn parts(&self) -> Vec<NodeId> {
        perfect_parts(0, self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        let v = hex::decode(s).unwrap();
        v.try_into().unwrap()
    }

    /// The RFC 6962 test vectors published with the Certificate Transparency code
    /// (github.com/transparency-dev/merkle, proof/verify_test.go): eight leaves, the root of
    /// every prefix, and known inclusion and consistency proofs (indices here are 0-based).
    fn leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|s| hex::decode(s).unwrap())
        .collect()
    }

    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (
                0,
                8,
                vec![
                    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                5,
                8,
                vec![
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                2,
                3,
                vec![h(
                    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                )],
            ),
            (
                1,
                5,
                vec![
                    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
        ]
    }

    fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (
                1,
                8,
                vec![
                    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                6,
                8,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                2,
                5,
                vec![
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
            (
                6,
                7,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
        ]
    }

    fn leaf_hashes() -> Vec<Hash> {
        leaves().iter().map(|l| leaf_hash(l)).collect()
    }

    /// A whole tree kept in memory: every perfect subtree, as the log stores them.
    struct MemoryTree {
        leaves: Vec<Hash>,
    }

    impl MemoryTree {
        fn node(&self, id: NodeId) -> Hash {
            let from = (id.index << id.level) as usize;
            root_of(&self.leaves[from..from + (1usize << id.level)])
        }

        fn proof(&self, parts: &[ProofPart]) -> Vec<Hash> {
            parts
                .iter()
                .map(|p| {
                    let hs: Vec<Hash> = p.nodes.iter().map(|&n| self.node(n)).collect();
                    fold(&hs).unwrap()
                })
                .collect()
        }
    }

    #[test]
    fn aud_02_rfc6962_vectors_roots() {
        let lh = leaf_hashes();
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut f = Frontier::new();
        for (i, want) in ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(root_of(&lh[..=i])), *want, "root of {}", i + 1);
            f.push(lh[i]);
            assert_eq!(hex::encode(f.root()), *want, "frontier root of {}", i + 1);
        }
    }

    #[test]
    fn aud_02_rfc6962_vectors_inclusion_proofs_generate_and_verify() {
        let tree = MemoryTree {
            leaves: leaf_hashes(),
        };
        for (index, size, want) in inclusion_vectors() {
            let got = tree.proof(&inclusion_parts(index, size).unwrap());
            assert_eq!(got, want, "inclusion of {index} in {size}");
            verify_inclusion(
                index,
                size,
                &tree.leaves[index as usize],
                &want,
                &h(ROOTS[size as usize - 1]),
            )
            .unwrap();
        }
    }

    #[test]
    fn aud_02_rfc6962_vectors_consistency_proofs_generate_and_verify() {
        let tree = MemoryTree {
            leaves: leaf_hashes(),
        };
        for (old, new, want) in consistency_vectors() {
            let got = tree.proof(&consistency_parts(old, new).unwrap());
            assert_eq!(got, want, "consistency {old} → {new}");
            verify_consistency(
                old,
                new,
                &h(ROOTS[old as usize - 1]),
                &h(ROOTS[new as usize - 1]),
                &want,
            )
            .unwrap();
        }
    }

    /// Every proof between every pair of sizes up to 70 generates from stored perfect subtrees
    /// and verifies; the frontier completes exactly the perfect subtrees it should.
    #[test]
    fn aud_02_every_proof_of_every_small_tree_verifies() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let tree = MemoryTree {
            leaves: leaves.clone(),
        };
        let mut f = Frontier::new();
        for (i, l) in leaves.iter().enumerate() {
            for (id, hash) in f.push(*l) {
                assert_eq!(hash, tree.node(id));
            }
            let bytes = f.to_bytes();
            assert_eq!(Frontier::from_bytes(&bytes).unwrap(), f);
            assert_eq!(f.root(), root_of(&leaves[..=i]));
        }
        for size in 1..=70u64 {
            let root = root_of(&leaves[..size as usize]);
            for index in 0..size {
                let proof = tree.proof(&inclusion_parts(index, size).unwrap());
                verify_inclusion(index, size, &leaves[index as usize], &proof, &root).unwrap();
            }
            for old in 0..=size {
                let proof = tree.proof(&consistency_parts(old, size).unwrap());
                let old_root = root_of(&leaves[..old as usize]);
                verify_consistency(old, size, &old_root, &root, &proof).unwrap();
            }
        }
    }

    /// The corpus of mutations the published test suite applies, on every vector and on
    /// proofs of larger trees: each one must be refused.
    #[test]
    fn aud_02_mutated_inclusion_proofs_are_refused() {
        let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let tree = MemoryTree {
            leaves: leaves.clone(),
        };
        let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        let mut cases = 0;
        for (index, size) in [
            (0u64, 8u64),
            (5, 8),
            (2, 3),
            (1, 5),
            (17, 40),
            (39, 40),
            (0, 1),
        ] {
            let root = root_of(&leaves[..size as usize]);
            let leaf = leaves[index as usize];
            let proof = tree.proof(&inclusion_parts(index, size).unwrap());
            verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
            let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
                (
                    "index - 1".into(),
                    index.wrapping_sub(1),
                    size,
                    root,
                    leaf,
                    proof.clone(),
                ),
                (
                    "index + 1".into(),
                    index + 1,
                    size,
                    root,
                    leaf,
                    proof.clone(),
                ),
                (
                    "index ^ 2".into(),
                    index ^ 2,
                    size,
                    root,
                    leaf,
                    proof.clone(),
                ),
                (
                    "size * 2".into(),
                    index,
                    size * 2,
                    root,
                    leaf,
                    proof.clone(),
                ),
                (
                    "size / 2".into(),
                    index,
                    size / 2,
                    root,
                    leaf,
                    proof.clone(),
                ),
                ("wrong leaf".into(), index, size, root, some, proof.clone()),
                (
                    "empty root".into(),
                    index,
                    size,
                    empty_root(),
                    leaf,
                    proof.clone(),
                ),
                ("random root".into(), index, size, some, leaf, proof.clone()),
                (
                    "trailing root".into(),
                    index,
                    size,
                    root,
                    leaf,
                    [&proof[..], &[root]].concat(),
                ),
                (
                    "preceding root".into(),
                    index,
                    size,
                    root,
                    leaf,
                    [&[root][..], &proof].concat(),
                ),
            ];
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i][0] ^= 8;
                probes.push((format!("proof[{i}] bit 3"), index, size, root, leaf, p));
            }
            if !proof.is_empty() {
                probes.push((
                    "removed component".into(),
                    index,
                    size,
                    root,
                    leaf,
                    proof[..proof.len() - 1].to_vec(),
                ));
            }
            if proof.len() > 1 {
                let p = [&[proof[0], some][..], &proof[1..]].concat();
                probes.push(("inserted component".into(), index, size, root, leaf, p));
            }
            for (what, i, s, r, l, p) in probes {
                if (i, s) == (index, size) && r == root && l == leaf && p == proof {
                    continue;
                }
                assert!(
                    verify_inclusion(i, s, &l, &p, &r).is_err(),
                    "{what} for ({index}, {size}) was accepted"
                );
                cases += 1;
            }
        }
        assert!(cases > 80);
    }

    #[test]
    fn aud_02_mutated_consistency_proofs_are_refused() {
        let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let tree = MemoryTree {
            leaves: leaves.clone(),
        };
        let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        let mut cases = 0;
        for (old, new) in [
            (1u64, 8u64),
            (6, 8),
            (2, 5),
            (6, 7),
            (13, 40),
            (16, 33),
            (31, 32),
        ] {
            let r1 = root_of(&leaves[..old as usize]);
            let r2 = root_of(&leaves[..new as usize]);
            let proof = tree.proof(&consistency_parts(old, new).unwrap());
            verify_consistency(old, new, &r1, &r2, &proof).unwrap();
            let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
                ("old - 1".into(), old - 1, new, r1, r2, proof.clone()),
                ("old + 1".into(), old + 1, new, r1, r2, proof.clone()),
                ("old ^ 2".into(), old ^ 2, new, r1, r2, proof.clone()),
                ("new * 2".into(), old, new * 2, r1, r2, proof.clone()),
                ("new / 2".into(), old, new / 2, r1, r2, proof.clone()),
                ("wrong old root".into(), old, new, some, r2, proof.clone()),
                ("wrong new root".into(), old, new, r1, some, proof.clone()),
                ("swapped roots".into(), old, new, r2, r1, proof.clone()),
                ("empty proof".into(), old, new, r1, r2, Vec::new()),
                (
                    "trailing old root".into(),
                    old,
                    new,
                    r1,
                    r2,
                    [&proof[..], &[r1]].concat(),
                ),
                (
                    "trailing new root".into(),
                    old,
                    new,
                    r1,
                    r2,
                    [&proof[..], &[r2]].concat(),
                ),
                (
                    "preceding old root".into(),
                    old,
                    new,
                    r1,
                    r2,
                    [&[r1][..], &proof].concat(),
                ),
                (
                    "preceding new root".into(),
                    old,
                    new,
                    r1,
                    r2,
                    [&[r2][..], &proof].concat(),
                ),
                (
                    "preceding proof[0]".into(),
                    old,
                    new,
                    r1,
                    r2,
                    [&[proof[0]][..], &proof].concat(),
                ),
                (
                    "truncated".into(),
                    old,
                    new,
                    r1,
                    r2,
                    proof[..proof.len() - 1].to_vec(),
                ),
            ];
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i][0] ^= 16;
                probes.push((format!("proof[{i}] bit 4"), old, new, r1, r2, p));
            }
            for (what, o, n, a, b, p) in probes {
                if o == 0 || (o, n) == (old, new) && a == r1 && b == r2 && p == proof {
                    continue;
                }
                assert!(
                    verify_consistency(o, n, &a, &b, &p).is_err(),
                    "{what} for {old} → {new} was accepted"
                );
                cases += 1;
            }
        }
        assert!(cases > 100);
    }

    #[test]
    fn perfect_parts_cover_ranges() {
        assert_eq!(
            perfect_parts(0, 7),
            vec![
                NodeId { level: 2, index: 0 },
                NodeId { level: 1, index: 2 },
                NodeId { level: 0, index: 6 }
            ]
        );
        assert_eq!(perfect_parts(8, 16), vec![NodeId { level: 3, index: 1 }]);
        assert!(perfect_parts(5, 5).is_empty());
        assert!(Frontier::from_bytes(&[0u8; 7]).is_err());
        let mut bad = Frontier::new();
        bad.push([1; 32]);
        let mut bytes = bad.to_bytes();
        bytes.extend_from_slice(&[0; 32]);
        assert!(Frontier::from_bytes(&bytes).is_err());
    }
}
