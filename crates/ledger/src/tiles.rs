//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): tile paths, hash tiles
//! and entry bundles, so that any tlog-tiles client can mirror the log.
//!
//! Tiles have height 8: a hash tile at level `L`, index `N` holds up to 256
//! consecutive hashes of level `8·L` of the tree, starting at `256·N`; an
//! entry bundle at index `N` holds entries `256·N ..`, each as a big-endian
//! `u16` length and the entry's bytes. Partial tiles (`.p/W`) hold the first
//! `W` of them.
//!
//! The path parser is ours rather than `tlog_tiles::Tile::from_path`: that one
//! reads Go's sumdb paths (`tile/H/L/...`), not C2SP's, and panics on some
//! out-of-range input (`.p/0`, levels above 63), which must be a clean 404 here.

use crate::{HashStore, Tree, TreeError};
use tlog_tiles::Tile;

/// Tile height fixed by C2SP tlog-tiles.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u32 = 1 << TILE_HEIGHT;

/// A tile the read API can serve, parsed from the path after `tile/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    Hashes { level: u8, index: u64, width: u32 },
    Entries { index: u64, width: u32 },
}

/// Why a tile path is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a C2SP tlog-tiles path: {0:?}")]
pub struct BadTilePath(pub String);

/// Encodes a tile index the C2SP way: 1234067 → `x001/x234/067`.
pub fn encode_index(mut n: u64) -> String {
    let mut s = format!("{:03}", n % 1000);
    while n >= 1000 {
        n /= 1000;
        s = format!("x{:03}/{s}", n % 1000);
    }
    s
}

impl TilePath {
    /// Parses `L/N[.p/W]` or `entries/N[.p/W]` (the path after `tile/`).
    /// Only the canonical spelling is accepted.
    pub fn parse(path: &str) -> Result<TilePath, BadTilePath> {
        let bad = || BadTilePath(path.to_owned());
        if path.len() > 64 {
            return Err(bad());
        }
        let (head, rest) = path.split_once('/').ok_or_else(bad)?;
        let (index_part, width) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let w: u32 = w.parse().map_err(|_| bad())?;
                if !(1..TILE_WIDTH).contains(&w) {
                    return Err(bad());
                }
                (n, w)
            }
            None => (rest, TILE_WIDTH),
        };
        let mut index: u64 = 0;
        let groups: Vec<&str> = index_part.split('/').collect();
        for (i, g) in groups.iter().enumerate() {
            let digits = if i + 1 < groups.len() { g.strip_prefix('x').ok_or_else(bad)? } else { g };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let d: u64 = digits.parse().map_err(|_| bad())?;
            index = index.checked_mul(1000).and_then(|n| n.checked_add(d)).ok_or_else(bad)?;
        }
        let tile = if head == "entries" {
            TilePath::Entries { index, width }
        } else {
            let level: u8 = head.parse().map_err(|_| bad())?;
            if level > 63 {
                return Err(bad());
            }
            TilePath::Hashes { level, index, width }
        };
        if tile.path() != path {
            return Err(bad());
        }
        Ok(tile)
    }

    /// The path after `tile/`.
    pub fn path(&self) -> String {
        let (head, index, width) = match *self {
            TilePath::Hashes { level, index, width } => (level.to_string(), index, width),
            TilePath::Entries { index, width } => ("entries".to_owned(), index, width),
        };
        let partial = if width == TILE_WIDTH { String::new() } else { format!(".p/{width}") };
        format!("{head}/{}{partial}", encode_index(index))
    }

    /// The first leaf (entries) or level hash (hashes) the tile covers, and how many.
    pub fn span(&self) -> (u64, u32) {
        match *self {
            TilePath::Hashes { index, width, .. } | TilePath::Entries { index, width } => {
                (index.saturating_mul(u64::from(TILE_WIDTH)), width)
            }
        }
    }
}

impl<S: HashStore> Tree<S> {
    /// The bytes of hash tile (`level`, `index`, `width`): `width` hashes of
    /// level `8·level`. Refused unless every one of them exists in the tree.
    pub fn hash_tile(&self, level: u8, index: u64, width: u32) -> Result<Vec<u8>, TreeError> {
        if level > 63 || !(1..=TILE_WIDTH).contains(&width) {
            return Err(TreeError::Storage(format!("no tile at level {level} of width {width}")));
        }
        let available = self.size().checked_shr(u32::from(level) * u32::from(TILE_HEIGHT)).unwrap_or(0);
        let end = index.checked_mul(u64::from(TILE_WIDTH)).and_then(|s| s.checked_add(u64::from(width)));
        match end {
            Some(end) if end <= available => {}
            _ => return Err(TreeError::Beyond { asked: end.unwrap_or(u64::MAX), size: available }),
        }
        Tile::new(TILE_HEIGHT, level, index, width, false)
            .read_data(self)
            .map_err(|e| TreeError::Storage(e.to_string()))
    }
}

/// An entry bundle: each entry as a big-endian `u16` length and its bytes.
pub fn encode_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&e[..usize::from(len)]);
    }
    out
}

/// Splits an entry bundle into its entries.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, BadTilePath> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let len = bytes.get(at..at + 2).ok_or_else(|| BadTilePath("truncated entry bundle".into()))?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let e = bytes.get(at + 2..at + 2 + len).ok_or_else(|| BadTilePath("truncated entry bundle".into()))?;
        out.push(e);
        at += 2 + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;

    #[test]
    fn paths_follow_the_spec() {
        // The spec's own example: N = 1234067.
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        let t = TilePath::parse("0/x001/x234/067").unwrap();
        assert_eq!(t, TilePath::Hashes { level: 0, index: 1_234_067, width: 256 });
        assert_eq!(
            TilePath::parse("entries/x001/x234/067.p/8").unwrap(),
            TilePath::Entries { index: 1_234_067, width: 8 }
        );
        assert_eq!(TilePath::parse("3/000").unwrap(), TilePath::Hashes { level: 3, index: 0, width: 256 });
        for bad in [
            "0/1",
            "0/0001",
            "0/x000/001",
            "0/001.p/0",
            "0/001.p/256",
            "64/000",
            "0/001/002",
            "x/000",
            "entries/1.p/2",
            "0/000.p/01",
            "",
            "0",
            "0/",
            "data/000",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hash_tiles_hold_the_level_hashes_and_rebuild_the_root() {
        let mut t = Tree::new();
        let leaves: Vec<_> = (0u64..600).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        for l in &leaves {
            t.push(*l);
        }
        let tile = t.hash_tile(0, 1, 256).unwrap();
        assert_eq!(tile.len(), 256 * 32);
        assert_eq!(&tile[..32], &leaves[256].0);
        // Level 1 holds the roots of full 256-leaf subtrees: two of them here.
        let up = t.hash_tile(1, 0, 2).unwrap();
        assert_eq!(&up[..32], &t.root(256).unwrap().0);
        // A partial tile is a prefix of the tile that exists.
        assert_eq!(t.hash_tile(0, 2, 88).unwrap().len(), 88 * 32);
        assert!(t.hash_tile(0, 2, 89).is_err(), "beyond the tree");
        assert!(t.hash_tile(1, 0, 3).is_err());
        assert!(t.hash_tile(0, u64::MAX, 1).is_err());
        assert!(t.hash_tile(0, 0, 0).is_err());
    }

    #[test]
    fn bundles_round_trip() {
        let entries: Vec<&[u8]> = vec![b"a", b"", b"hello"];
        let b = encode_bundle(entries.iter().copied());
        assert_eq!(b, [0, 1, b'a', 0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o']);
        assert_eq!(decode_bundle(&b).unwrap(), entries);
        assert!(decode_bundle(&b[..b.len() - 1]).is_err());
    }
}
