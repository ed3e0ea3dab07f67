//! The NDJSON and EPCIS encoders: events as each source system delivers
//! them (its own ids, clock skew, late and repeated deliveries), and the
//! day's EPCIS documents.

use super::*;

/// The feeds, one per source system, and the events of the current day.
pub(super) struct Feeds<'a> {
    /// The day's lines, back to back.
    pub(super) arena: Vec<u8>,
    /// (time, source, start, end) of each line in `arena`.
    pub(super) day: Vec<(i64, u8, u32, u32)>,
    pub(super) seq: [u64; 6],
    pub(super) out: [&'a mut dyn std::io::Write; 6],
    pub(super) skew_s: [i64; 6],
    /// The first write error; generation stops reporting it.
    pub(super) failed: Option<std::io::Error>,
    /// With EPCIS delivery: the day's EPCIS events per site (JSON, comma-separated).
    pub(super) epcis: Option<Vec<String>>,
    /// Receives each EPCIS document: (file name, bytes).
    pub(super) docs: &'a mut dyn FnMut(&str, &[u8]) -> std::io::Result<()>,
    pub(super) epcis_seq: u64,
    /// With CSV delivery: the exports so far.
    pub(super) csv: Option<Exports>,
    /// The run's seed in hex, in every event id: ids of two simulations never collide.
    pub(super) tag: String,
}

/// A routine stock movement, delivered as NDJSON or as an EPCIS event.
pub(super) struct Stock<'s> {
    /// CBV business step.
    pub(super) step: &'static str,
    pub(super) k: usize,
    pub(super) q: i64,
    /// bizLocation: where it happens (to, for receipts and put-away).
    pub(super) at: usize,
    /// A `sourceList` location (put-away) or `destinationList` one (picking).
    pub(super) source: Option<usize>,
    pub(super) destination: Option<usize>,
    /// The event, when the WMS delivers it as NDJSON.
    pub(super) ndjson: &'s dyn Fn() -> Body,
}

/// Source systems, in file order.
pub(super) const SOURCES: [&str; 6] = ["acs", "vms", "wms", "iam", "hr", "nac"];

impl Feeds<'_> {
    /// Adds an event: the model's own `Event`, serialised by the model
    /// (`Event::canonical_bytes`), so the feeds and the schema cannot differ.
    pub(super) fn emit(&mut self, source: usize, site: &Site, at: DateTime<Utc>, body: Body) {
        self.seq[source] += 1;
        // The source system's clock is a little off.
        let stamped = at + Duration::seconds(self.skew_s[source]);
        let occurred_at = stamped.with_timezone(&site.tz).fixed_offset();
        let id = format!("{}-{}-{:08}", SOURCES[source], self.tag, self.seq[source]);
        let event = (|| -> Result<Event, IdError> {
            Ok(Event {
                id: EventId::new(id)?,
                source: SourceId::new(site.sources[source].as_str())?,
                site: SiteId::new(site.id.as_str())?,
                occurred_at,
                received_at: None,
                revision: None,
                epcis: None,
                flags: Vec::new(),
                body: body?,
            })
        })();
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                if self.failed.is_none() {
                    self.failed = Some(std::io::Error::other(format!("a simulated event has an invalid id: {e}")));
                }
                return;
            }
        };
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(&event.canonical_bytes());
        self.arena.push(b'\n');
        self.day.push((at.timestamp(), source as u8, start, self.arena.len() as u32));
    }

    /// A routine stock movement: an EPCIS event when the network delivers
    /// EPCIS (and the quantity is positive), else a WMS NDJSON event.
    pub(super) fn stock(&mut self, site: &Site, at: DateTime<Utc>, m: Stock<'_>) {
        let Some(days) = self.epcis.as_mut().filter(|_| m.q > 0) else {
            return self.emit(2, site, at, (m.ndjson)());
        };
        self.epcis_seq += 1;
        let local = (at + Duration::seconds(self.skew_s[2])).with_timezone(&site.tz).fixed_offset();
        let sgln = |li: usize| format!("urn:epc:id:sgln:0614141.{:05}.{li}", site.num);
        let buf = &mut days[site.num as usize - 1];
        if !buf.is_empty() {
            buf.push(',');
        }
        let _ = write!(
            buf,
            r#"{{"type":"ObjectEvent","eventID":"urn:uuid:{:08x}-0000-4000-8000-{:012x}","action":"OBSERVE","bizStep":"{}","eventTime":"{}","eventTimeZoneOffset":"{}","quantityList":[{{"epcClass":"urn:epc:class:lgtin:0614141.1{:05}.L{}","quantity":{}}}],"bizLocation":{{"id":"{}"}}"#,
            u32::from_str_radix(self.tag.get(self.tag.len().saturating_sub(8)..).unwrap_or("0"), 16).unwrap_or(0),
            self.epcis_seq,
            m.step,
            local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            local.format("%:z"),
            m.k,
            site.num,
            m.q,
            sgln(m.at)
        );
        if let Some(src) = m.source {
            let _ = write!(buf, r#","sourceList":[{{"type":"location","source":"{}"}}]"#, sgln(src));
        }
        if let Some(dst) = m.destination {
            let _ = write!(buf, r#","destinationList":[{{"type":"location","destination":"{}"}}]"#, sgln(dst));
        }
        buf.push('}');
    }

    /// Writes the day's EPCIS documents, one per site that had movements.
    pub(super) fn flush_epcis(&mut self, sites: &[Site], date: NaiveDate) {
        let Some(days) = self.epcis.as_mut() else { return };
        for (site, events) in sites.iter().zip(days.iter_mut()) {
            if events.is_empty() {
                continue;
            }
            let created = local(&site.tz, date, 23, 59, 59).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let doc = format!(
                r#"{{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"{created}","epcisBody":{{"eventList":[{events}]}}}}"#
            );
            let name = format!("epcis/{}-{date}.jsonld", site.id);
            if let Err(e) = (self.docs)(&name, doc.as_bytes())
                && self.failed.is_none()
            {
                self.failed = Some(e);
            }
            events.clear();
        }
    }

    /// A badge read accepted at one of the site's doors (`door` is the
    /// suffix: `MAIN`, `CAGE`...), with the person when the reader knows them.
    pub(super) fn badge(
        &mut self,
        site: &Site,
        at: DateTime<Utc>,
        door: &str,
        badge: &str,
        person: Option<&str>,
        dir: Direction,
    ) -> EventRef {
        let door = format!("{}-D-{door}", site.id);
        self.emit_ref(0, site, at, granted(&door, badge, person, Some(dir)))
    }

    /// Adds an event and returns its reference, for the truth.
    pub(super) fn emit_ref(&mut self, source: usize, site: &Site, at: DateTime<Utc>, body: Body) -> EventRef {
        self.emit(source, site, at, body);
        EventRef {
            source: site.sources[source].clone(),
            id: format!("{}-{}-{:08}", SOURCES[source], self.tag, self.seq[source]),
        }
    }

    /// Writes the day's events to their feeds: in time order, except that
    /// some arrive late (out of order) and a few are delivered twice.
    pub(super) fn flush(&mut self, rng: &mut Rng) {
        self.day.sort_by_key(|a| (a.0, a.1));
        let n = self.day.len();
        for i in 0..n {
            if rng.chance(0.005) && i + 1 < n {
                let j = (i + 1 + rng.below(40) as usize).min(n - 1);
                self.day.swap(i, j);
            }
        }
        for &(_, source, start, end) in &self.day {
            let line = &self.arena[start as usize..end as usize];
            if let Some(exports) = self.csv.as_mut()
                && exports.take(line, source)
            {
                // Exports repeat a row now and then, as feeds repeat a line.
                if rng.chance(0.002) {
                    exports.take(line, source);
                }
                continue;
            }
            let out = &mut self.out[source as usize];
            let twice = rng.chance(0.002);
            let written = out.write_all(line).and_then(|()| if twice { out.write_all(line) } else { Ok(()) });
            if let Err(e) = written
                && self.failed.is_none()
            {
                self.failed = Some(e);
            }
        }
        self.day.clear();
        self.arena.clear();
    }
}
