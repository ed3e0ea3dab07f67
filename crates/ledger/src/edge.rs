//! The right edge of an RFC 6962 tree (a compact range from leaf 0): the
//! roots of the complete subtrees the tree is made of, largest first, one
//! per set bit of its size. Enough to append leaves and to compute the root,
//! without the rest of the tree: the `Tree` grows through one, and an outside
//! monitor keeps one between runs to check that a log only grew.
//!
//! Invariant: `roots.len() == size.count_ones()`.

use crate::{EMPTY_HASH, Hash, node_hash};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edge {
    size: u64,
    roots: Vec<Hash>,
}

impl Edge {
    /// An edge from its parts, if they fit together (one root per set bit).
    pub fn from_roots(size: u64, roots: Vec<Hash>) -> Option<Edge> {
        (roots.len() == size.count_ones() as usize).then_some(Edge { size, roots })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The complete subtrees' roots, largest first.
    pub fn roots(&self) -> &[Hash] {
        &self.roots
    }

    /// Appends a leaf hash; `completed` gets the hash of every subtree the
    /// leaf completes, smallest first (the tree stores them).
    pub fn push(&mut self, leaf: Hash, mut completed: impl FnMut(Hash)) {
        let mut h = leaf;
        let mut n = self.size;
        while n & 1 == 1 {
            // The left sibling is the edge's smallest subtree (one per set bit).
            let Some(left) = self.roots.pop() else { break };
            h = node_hash(left, h);
            completed(h);
            n >>= 1;
        }
        self.roots.push(h);
        self.size += 1;
    }

    /// Appends many leaf hashes at once, hashing each level's new nodes in
    /// one batch ([`crate::bulk`]); `stored` gets what a [`Tree`](crate::Tree)
    /// stores for them, in Go's tlog order: each leaf, then every subtree it
    /// completes, smallest first. The result is exactly that of pushing the
    /// leaves one by one (property-tested).
    pub fn extend(&mut self, leaves: &[Hash], stored: impl FnMut(Hash)) {
        self.extend_with(leaves, &mut Vec::new(), stored);
    }

    /// [`Edge::extend`], the new nodes above the leaves computed in
    /// `scratch` (its contents are replaced; a caller appending often keeps
    /// one to save an allocation per batch).
    pub fn extend_with(&mut self, leaves: &[Hash], scratch: &mut Vec<Hash>, mut stored: impl FnMut(Hash)) {
        // Few leaves: the batch's bookkeeping costs more than it saves.
        if leaves.len() < 8 {
            for &leaf in leaves {
                stored(leaf);
                self.push(leaf, &mut stored);
            }
            return;
        }
        let s = self.size;
        let end = s + leaves.len() as u64;
        // The old edge's root at each level (one per set bit of `s`).
        let mut old = [None; 64];
        let mut roots = self.roots.iter();
        for level in (0..64).rev() {
            if s >> level & 1 == 1 {
                old[level] = roots.next().copied();
            }
        }
        // Level k's new complete subtrees are nodes `s >> k` (the first one
        // the old tree lacks) to `end >> k`: the leaves themselves at level
        // 0; above it, `scratch[at[k]..at[k + 1]]`, all levels end to end.
        let mut at = [0usize; 65];
        let mut levels = 1;
        while levels < 64 && end >> levels > s >> levels {
            at[levels + 1] = at[levels] + ((end >> levels) - (s >> levels)) as usize;
            levels += 1;
        }
        scratch.clear();
        scratch.resize(at[levels], EMPTY_HASH);
        for k in 1..levels {
            let (done, rest) = scratch.split_at_mut(at[k]);
            let below: &[Hash] = if k == 1 { leaves } else { &done[at[k - 1]..] };
            let (first, base) = (s >> k, s >> (k - 1));
            // A left child older than the batch is the old edge's root at this level.
            let old_left = old[k - 1].unwrap_or(EMPTY_HASH);
            crate::bulk::node_hashes_into(
                |i| {
                    let l = 2 * (first + i as u64);
                    let left = if l < base { &old_left } else { &below[(l - base) as usize] };
                    (left, &below[(l + 1 - base) as usize])
                },
                &mut rest[..at[k + 1] - at[k]],
            );
        }
        let level = |k: usize| -> &[Hash] { if k == 0 { leaves } else { &scratch[at[k]..at[k + 1]] } };
        for r in s..end {
            stored(leaves[(r - s) as usize]);
            // Record r completes the subtree of level k ending at it while 2^k divides r + 1.
            let mut k = 1;
            while k < levels && (r + 1) & ((1u64 << k) - 1) == 0 {
                stored(level(k)[(((r + 1) >> k) - 1 - (s >> k)) as usize]);
                k += 1;
            }
        }
        self.roots.clear();
        for k in (0..64).rev() {
            if end >> k & 1 == 1 {
                let j = (end >> k) - 1;
                let root = if j >= s >> k { level(k)[(j - (s >> k)) as usize] } else { old[k].unwrap_or(EMPTY_HASH) };
                self.roots.push(root);
            }
        }
        self.size = end;
    }

    /// The tree's root (the hash of the empty string when empty, RFC 6962).
    pub fn root(&self) -> Hash {
        let mut roots = self.roots.iter().rev();
        let Some(&last) = roots.next() else { return EMPTY_HASH };
        roots.fold(last, |acc, &left| node_hash(left, acc))
    }
}
