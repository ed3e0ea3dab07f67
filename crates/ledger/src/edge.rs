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
    pub fn extend(&mut self, leaves: &[Hash], mut stored: impl FnMut(Hash)) {
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
        // levels[k]: the new complete subtrees of level k, nodes `s >> k`
        // (the first one the old tree lacks) to `end >> k`.
        let mut levels: Vec<Vec<Hash>> = vec![leaves.to_vec()];
        let (mut left, mut right) = (Vec::new(), Vec::new());
        for k in 0..63 {
            let (first, last) = (s >> (k + 1), end >> (k + 1));
            if last <= first {
                break;
            }
            let below = &levels[k];
            let base = s >> k;
            left.clear();
            right.clear();
            for j in first..last {
                let (l, r) = (2 * j, 2 * j + 1);
                // A left child older than the batch is the old edge's root at this level.
                left.push(if l < base { old[k].unwrap_or(EMPTY_HASH) } else { below[(l - base) as usize] });
                right.push(below[(r - base) as usize]);
            }
            let mut nodes = Vec::with_capacity(left.len());
            crate::bulk::node_hashes(&left, &right, &mut nodes);
            levels.push(nodes);
        }
        for r in s..end {
            stored(levels[0][(r - s) as usize]);
            // Record r completes the subtree of level k ending at it while 2^k divides r + 1.
            let mut k = 1;
            while k < levels.len() && (r + 1) & ((1u64 << k) - 1) == 0 {
                stored(levels[k][(((r + 1) >> k) - 1 - (s >> k)) as usize]);
                k += 1;
            }
        }
        self.roots.clear();
        for k in (0..64).rev() {
            if end >> k & 1 == 1 {
                let j = (end >> k) - 1;
                let root = if j >= s >> k { levels[k][(j - (s >> k)) as usize] } else { old[k].unwrap_or(EMPTY_HASH) };
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
