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

    /// The tree's root (the hash of the empty string when empty, RFC 6962).
    pub fn root(&self) -> Hash {
        let mut roots = self.roots.iter().rev();
        let Some(&last) = roots.next() else { return EMPTY_HASH };
        roots.fold(last, |acc, &left| node_hash(left, acc))
    }
}
