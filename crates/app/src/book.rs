//! The inventory book as a consumer of the derived-state stage: the
//! perpetual book (`stockade_model::book::InventoryBook`) fed with committed
//! events in commit order, snapshotted to the store with the seq it reflects.
//!
//! Invariants:
//! - Idempotent by seq: an event at or below the book's cursor changes
//!   nothing, so a replay that overlaps what was applied shows nothing twice.
//! - A snapshot saves the places changed since the last one together with
//!   the cursor, in one transaction: the saved cursor never runs ahead of the
//!   saved places.

use std::collections::HashSet;
use stockade_model::book::{InventoryBook, Place, Pool};
use stockade_store::{BookEffect, Store, StoreError};

/// One line of the perpetual book.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BookLine {
    pub site: String,
    pub location: String,
    pub sku: String,
    pub quantity: f64,
    /// The site's in-transit state this line is (`received`: received, not
    /// yet put away; `picked`: picked, not yet shipped), if it is one.
    pub in_transit: Option<&'static str>,
    /// Derived adjustments made here by counts under the site's
    /// count-correction policy (included in `quantity`).
    pub corrected: f64,
}

/// The latest count at a place, and the book as of that count's time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CountLine {
    pub site: String,
    pub location: String,
    pub sku: String,
    pub counted_us: i64,
    pub counted: f64,
    pub book: f64,
    /// The derived adjustment this count made under the site's
    /// count-correction policy; None: it only reported.
    pub correction: Option<f64>,
    /// Movements it should be compared with arrived more than the book's
    /// horizon (7 days of event time) before it: `book` may miss some.
    pub approximate: bool,
}

/// Filter for the book and counts.
#[derive(Debug, Clone, Default)]
pub struct BookQuery {
    pub site: Option<String>,
    pub location: Option<String>,
    pub sku: Option<String>,
}

impl BookQuery {
    fn matches(&self, p: &Place) -> bool {
        self.site.as_deref().is_none_or(|s| s == p.site)
            && self.location.as_deref().is_none_or(|l| l == p.location)
            && self.sku.as_deref().is_none_or(|k| k == p.sku)
    }
}

/// The book, its cursor and what changed since its last snapshot.
#[derive(Default)]
pub struct Book {
    book: InventoryBook,
    /// Slots of the places changed since the last snapshot.
    dirty: HashSet<usize>,
    /// The seq through which the book reflects the committed events.
    applied: i64,
    /// The seq of the last snapshot.
    saved: i64,
    /// The sites whose count-correction policies the book applies.
    policies: Vec<stockade_model::Site>,
    /// Seqs of retracted events: applied by no rebuild or catch-up.
    retracted: HashSet<i64>,
}

impl Book {
    /// The consumer's name (`stockade rebuild --only book`).
    pub const NAME: &'static str = "book";

    /// The book as last saved, with its cursor.
    pub async fn load(store: &dyn Store) -> Result<Book, StoreError> {
        let (book, through) = store.load_book().await?;
        Ok(Book {
            book,
            dirty: HashSet::new(),
            applied: through,
            saved: through,
            policies: Vec::new(),
            retracted: HashSet::new(),
        })
    }

    /// The sites' count-correction policies (`Site::counts_correct_book_from`).
    pub fn set_count_policies(&mut self, sites: &[stockade_model::Site]) {
        for s in sites {
            self.book.set_count_correction(s.id.as_str(), s.counts_correct_book_from.map(|t| t.timestamp_micros()));
        }
        self.policies = sites.to_vec();
    }

    /// The seq through which the book reflects the committed events.
    pub fn applied(&self) -> i64 {
        self.applied
    }

    /// Events applied since the last snapshot.
    pub fn unsaved(&self) -> i64 {
        self.applied - self.saved
    }

    /// Applies the effects of committed events, in commit order, and moves
    /// the cursor to `through` (the last seq they cover, effects or not).
    /// Effects at or below the cursor are skipped.
    pub fn apply(&mut self, effects: &[BookEffect], through: i64) {
        for e in effects.iter().filter(|e| e.seq > self.applied && !self.retracted.contains(&e.seq)) {
            let touched = self.book.apply(e.seq, e.occurred_us, &e.movements, e.observation.as_ref());
            self.dirty.extend(touched);
        }
        self.applied = self.applied.max(through);
    }

    /// The places changed since the last snapshot, and the cursor they
    /// reflect; the book counts them saved (call [`Book::unsave`] with
    /// them if writing fails).
    pub fn take_snapshot(&mut self) -> (Vec<(Place, stockade_model::book::PlaceState)>, Vec<usize>, i64) {
        let slots: Vec<usize> = std::mem::take(&mut self.dirty).into_iter().collect();
        let places = slots.iter().filter_map(|&s| self.book.at(s).map(|(p, st)| (p.clone(), st.clone()))).collect();
        self.saved = self.applied;
        (places, slots, self.applied)
    }

    /// A snapshot that could not be written: its places are changed again,
    /// so the next snapshot includes them.
    pub fn unsave(&mut self, slots: Vec<usize>, previous_saved: i64) {
        self.dirty.extend(slots);
        self.saved = self.saved.min(previous_saved);
    }

    /// The seq of the last snapshot.
    pub fn saved(&self) -> i64 {
        self.saved
    }

    /// An empty book at cursor 0 (a rebuild from zero), under the same
    /// policies, leaving out the events retracted so far.
    pub fn reset(&mut self) {
        let policies = std::mem::take(&mut self.policies);
        let retracted = std::mem::take(&mut self.retracted);
        *self = Book::default();
        self.set_count_policies(&policies);
        self.retracted = retracted;
    }

    /// Events the book leaves out from now on (a retraction: rebuild to
    /// take out what was already applied).
    pub fn set_retracted(&mut self, seqs: impl IntoIterator<Item = i64>) {
        self.retracted.extend(seqs);
    }

    /// The book's lines matching `q`, sorted by place.
    pub fn lines(&self, q: &BookQuery) -> Vec<BookLine> {
        self.book
            .places()
            .into_iter()
            .filter(|(p, _)| q.matches(p))
            .map(|(p, s)| BookLine {
                site: p.site.clone(),
                location: p.location.clone(),
                sku: p.sku.clone(),
                quantity: s.quantity,
                in_transit: [Pool::Received, Pool::Picked]
                    .into_iter()
                    .find(|pool| pool.location() == p.location)
                    .map(Pool::name),
                corrected: s.corrected,
            })
            .collect()
    }

    /// The latest count at each place matching `q`, with the book as of its time.
    pub fn counts(&self, q: &BookQuery) -> Vec<CountLine> {
        self.book
            .places()
            .into_iter()
            .filter(|(p, _)| q.matches(p))
            .filter_map(|(p, s)| {
                s.count.as_ref().map(|c| CountLine {
                    site: p.site.clone(),
                    location: p.location.clone(),
                    sku: p.sku.clone(),
                    counted_us: c.occurred_us,
                    counted: c.counted,
                    book: c.book_at,
                    correction: c.correction,
                    approximate: c.approximate,
                })
            })
            .collect()
    }
}
