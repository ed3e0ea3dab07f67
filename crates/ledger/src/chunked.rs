//! An append-only sequence kept in fixed-size chunks.
//!
//! The log's in-memory indexes grow by one or two items per leaf, for ever.
//! A plain `Vec` doubles: every doubling faults in a fresh allocation twice
//! the size and copies everything into it (page zeroing and memmove showed in
//! ingest profiles). Chunks never move what they hold.
//!
//! Invariant: items keep their index for ever; `len` is the number pushed.

const CHUNK_BITS: u32 = 16;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Append-only, indexable, never reallocating what it holds.
#[derive(Debug, Clone)]
pub struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked { chunks: Vec::new(), len: 0 }
    }
}

impl<T: Copy> Chunked<T> {
    pub fn new() -> Chunked<T> {
        Chunked::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Item `i`, if pushed.
    pub fn get(&self, i: usize) -> Option<T> {
        self.chunks.get(i >> CHUNK_BITS).and_then(|c| c.get(i & (CHUNK - 1))).copied()
    }

    pub fn last(&self) -> Option<T> {
        self.chunks.last().and_then(|c| c.last()).copied()
    }

    pub fn push(&mut self, item: T) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(c) = self.chunks.last_mut() {
            c.push(item);
            self.len += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_their_index_across_chunks() {
        let mut c = Chunked::new();
        assert!(c.is_empty());
        assert_eq!(c.last(), None);
        let n = 2 * CHUNK + 3;
        for i in 0..n {
            c.push(i as u64 * 3);
        }
        assert_eq!(c.len(), n);
        for i in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, n - 1] {
            assert_eq!(c.get(i), Some(i as u64 * 3), "item {i}");
        }
        assert_eq!(c.get(n), None);
        assert_eq!(c.last(), Some((n as u64 - 1) * 3));
    }
}
