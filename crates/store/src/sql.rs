//! The SQL driver: SQLite (embedded default) and PostgreSQL through sqlx's
//! `Any` driver, so both run the same statements.
//!
//! Portability rules kept here: `$n` placeholders in order of appearance,
//! times as BIGINT microseconds, ids as TEXT, hashes as BLOB/BYTEA, no
//! driver-specific functions in queries; only the migrations differ.

use crate::*;
use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row, SqlSafeStr};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use stockade_model::RecordKind;

/// Rows per multi-row INSERT. 128 events x 9 columns stays far below both
/// SQLite's (32766) and PostgreSQL's (65535) limits on bound parameters.
const CHUNK: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

/// A [`Store`] on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlStore {
    writer: AnyPool,
    reader: AnyPool,
    dialect: Dialect,
}

fn migrations(dialect: Dialect) -> Migrator {
    let files: [(&'static str, &'static str); 18] = match dialect {
        Dialect::Sqlite => [
            ("foundation", include_str!("../migrations/sqlite/0001_foundation.sql")),
            ("projection", include_str!("../migrations/sqlite/0002_projection.sql")),
            ("book snapshot", include_str!("../migrations/sqlite/0003_book_snapshot.sql")),
            ("evidence", include_str!("../migrations/sqlite/0004_evidence.sql")),
            ("audit", include_str!("../migrations/sqlite/0005_audit.sql")),
            ("incidents", include_str!("../migrations/sqlite/0006_incidents.sql")),
            ("token expiry", include_str!("../migrations/sqlite/0007_token_expiry.sql")),
            ("book is derived state", include_str!("../migrations/sqlite/0008_book_is_derived_state.sql")),
            ("book opening counts", include_str!("../migrations/sqlite/0009_book_opening_counts.sql")),
            ("book stock flow", include_str!("../migrations/sqlite/0010_book_stock_flow.sql")),
            ("record events", include_str!("../migrations/sqlite/0011_record_events.sql")),
            ("detection", include_str!("../migrations/sqlite/0012_detection.sql")),
            ("alert entities", include_str!("../migrations/sqlite/0013_alert_entities.sql")),
            ("incident timeline", include_str!("../migrations/sqlite/0014_incident_timeline.sql")),
            ("webhook deliveries", include_str!("../migrations/sqlite/0015_webhook_deliveries.sql")),
            ("users and sessions", include_str!("../migrations/sqlite/0016_users_sessions.sql")),
            ("token sites", include_str!("../migrations/sqlite/0017_token_sites.sql")),
            ("alert triage", include_str!("../migrations/sqlite/0018_alert_triage.sql")),
        ],
        Dialect::Postgres => [
            ("foundation", include_str!("../migrations/postgres/0001_foundation.sql")),
            ("projection", include_str!("../migrations/postgres/0002_projection.sql")),
            ("book snapshot", include_str!("../migrations/postgres/0003_book_snapshot.sql")),
            ("evidence", include_str!("../migrations/postgres/0004_evidence.sql")),
            ("audit", include_str!("../migrations/postgres/0005_audit.sql")),
            ("incidents", include_str!("../migrations/postgres/0006_incidents.sql")),
            ("token expiry", include_str!("../migrations/postgres/0007_token_expiry.sql")),
            ("book is derived state", include_str!("../migrations/postgres/0008_book_is_derived_state.sql")),
            ("book opening counts", include_str!("../migrations/postgres/0009_book_opening_counts.sql")),
            ("book stock flow", include_str!("../migrations/postgres/0010_book_stock_flow.sql")),
            ("record events", include_str!("../migrations/postgres/0011_record_events.sql")),
            ("detection", include_str!("../migrations/postgres/0012_detection.sql")),
            ("alert entities", include_str!("../migrations/postgres/0013_alert_entities.sql")),
            ("incident timeline", include_str!("../migrations/postgres/0014_incident_timeline.sql")),
            ("webhook deliveries", include_str!("../migrations/postgres/0015_webhook_deliveries.sql")),
            ("users and sessions", include_str!("../migrations/postgres/0016_users_sessions.sql")),
            ("token sites", include_str!("../migrations/postgres/0017_token_sites.sql")),
            ("alert triage", include_str!("../migrations/postgres/0018_alert_triage.sql")),
        ],
    };
    Migrator::with_migrations(
        files
            .into_iter()
            .enumerate()
            .map(|(i, (name, sql))| {
                Migration::new(i as i64 + 1, Cow::Borrowed(name), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    )
}

impl SqlStore {
    /// Opens (creating if needed) an SQLite store in one file, creating its folder.
    pub async fn open_file(path: &Path) -> Result<SqlStore> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Database(sqlx::Error::Configuration(
                    format!("cannot create data directory {}: {e}", dir.display()).into(),
                ))
            })?;
        }
        SqlStore::open(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Opens a store by URL: `sqlite://PATH?mode=rwc` or `postgres://...`.
    pub async fn open(url: &str) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let (writer, reader) = match dialect {
            Dialect::Sqlite => {
                // One writer connection: SQLite has one writer anyway, and a
                // single connection never meets SQLITE_BUSY from itself.
                let writer = AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode=WAL").await?;
                            // FULL: a commit is on disk when it returns (the
                            // durability promise of ingestion).
                            conn.execute("PRAGMA synchronous=FULL").await?;
                            conn.execute("PRAGMA busy_timeout=10000").await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?;
                // Migrate before readers open, so they see the schema.
                migrations(dialect).run(&writer).await?;
                let reader = AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA busy_timeout=10000").await?;
                            conn.execute("PRAGMA query_only=ON").await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?;
                (writer, reader)
            }
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new().max_connections(8).connect(url).await?;
                migrations(dialect).run(&pool).await?;
                (pool.clone(), pool)
            }
        };
        Ok(SqlStore { writer, reader, dialect })
    }

    /// Closes the connection pools.
    pub async fn close_pools(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// `($1,$2,..),($k,..)` for `rows` rows of `cols` columns; on SQLite plain
/// `?`, because sqlx looks up every numbered parameter by name, and SQLite's
/// name lookup is a linear scan: with a thousand parameters binding `$n`
/// costs more than the insert itself (measured: a third of ingest time).
fn values_clause(rows: usize, cols: usize, dialect: Dialect) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    let mut n = 1;
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            match dialect {
                Dialect::Sqlite => s.push('?'),
                Dialect::Postgres => {
                    s.push('$');
                    s.push_str(&n.to_string());
                }
            }
            n += 1;
        }
        s.push(')');
    }
    s
}

/// Splits `n` into a few chunk sizes (full chunks, then powers of two) so the
/// number of distinct statements, and so prepared-statement cache entries, stays small.
fn chunk_sizes(mut n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    while n >= CHUNK {
        out.push(CHUNK);
        n -= CHUNK;
    }
    let mut p = CHUNK / 2;
    while n > 0 {
        if n >= p {
            out.push(p);
            n -= p;
        }
        p /= 2;
    }
    out
}

fn insert_events_sql(rows: usize, dialect: Dialect) -> String {
    format!(
        "INSERT INTO events (source, event_id, kind, site, occurred_us, offset_s, received_us, hash, payload) VALUES {} \
         ON CONFLICT (source, event_id) DO NOTHING RETURNING seq, source, event_id",
        values_clause(rows, 9, dialect)
    )
}

fn hash32(v: Vec<u8>) -> Result<[u8; 32]> {
    v.try_into().map_err(|v: Vec<u8>| StoreError::Corrupt(format!("hash of {} bytes", v.len())))
}

fn event_from_row(r: &AnyRow) -> Result<StoredEvent> {
    Ok(StoredEvent {
        seq: r.try_get(0)?,
        source: r.try_get(1)?,
        event_id: r.try_get(2)?,
        kind: r.try_get(3)?,
        site: r.try_get(4)?,
        occurred_us: r.try_get(5)?,
        offset_s: i32::try_from(r.try_get::<i64, _>(6)?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        received_us: r.try_get(7)?,
        hash: hash32(r.try_get(8)?)?,
        payload: r.try_get(9)?,
    })
}

#[async_trait]
impl Store for SqlStore {
    async fn close(&self) {
        self.close_pools().await;
    }

    async fn append(&self, batch: &[NewEvent]) -> Result<Vec<Appended>> {
        let mut out = vec![Appended::Duplicate; batch.len()];
        // First occurrence of each key in the batch; later ones are duplicates.
        let mut first: HashMap<(&str, &str), usize> = HashMap::with_capacity(batch.len());
        let mut unique = Vec::with_capacity(batch.len());
        for (i, e) in batch.iter().enumerate() {
            if let std::collections::hash_map::Entry::Vacant(v) = first.entry((&e.source, &e.event_id)) {
                v.insert(i);
                unique.push(i);
            }
        }

        let mut tx = self.writer.begin().await?;
        let mut pos = 0;
        for n in chunk_sizes(unique.len()) {
            let idx = &unique[pos..pos + n];
            pos += n;
            let sql = insert_events_sql(n, self.dialect);
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for &i in idx {
                let e = &batch[i];
                q = q
                    .bind(e.source.as_str())
                    .bind(e.event_id.as_str())
                    .bind(e.kind)
                    .bind(e.site.as_str())
                    .bind(e.occurred_us)
                    .bind(i64::from(e.offset_s))
                    .bind(e.received_us)
                    .bind(&e.hash[..])
                    .bind(e.payload.as_str());
            }
            for row in q.fetch_all(&mut *tx).await? {
                let seq: i64 = row.try_get(0)?;
                let source: String = row.try_get(1)?;
                let id: String = row.try_get(2)?;
                if let Some(&i) = first.get(&(source.as_str(), id.as_str())) {
                    out[i] = Appended::Accepted(seq);
                }
            }
        }

        tx.commit().await?;
        Ok(out)
    }

    async fn events(&self, q: &EventQuery) -> Result<Vec<StoredEvent>> {
        let mut sql = String::from(
            "SELECT seq, source, event_id, kind, site, occurred_us, offset_s, received_us, hash, payload FROM events",
        );
        let mut clauses: Vec<String> = Vec::new();
        let mut n = 0;
        let mut p = || {
            n += 1;
            format!("${n}")
        };
        if q.site.is_some() {
            clauses.push(format!("site = {}", p()));
        }
        // Stockade's own records are read through their partial indexes,
        // which a planner uses only for the literal they name (migration 0011).
        let record_kind = q.kind.as_deref().filter(|k| RECORD_KINDS.contains(k));
        if let Some(k) = record_kind {
            clauses.push(format!("kind = '{k}'"));
        } else if q.kind.is_some() {
            clauses.push(format!("kind = {}", p()));
        }
        if q.from_us.is_some() {
            clauses.push(format!("occurred_us >= {}", p()));
        }
        if q.to_us.is_some() {
            clauses.push(format!("occurred_us < {}", p()));
        }
        if q.after_seq.is_some() {
            clauses.push(format!("seq > {}", p()));
        }
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY seq LIMIT {}", p()));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        if let Some(s) = &q.site {
            query = query.bind(s.as_str());
        }
        if let Some(k) = q.kind.as_deref().filter(|_| record_kind.is_none()) {
            query = query.bind(k);
        }
        if let Some(t) = q.from_us {
            query = query.bind(t);
        }
        if let Some(t) = q.to_us {
            query = query.bind(t);
        }
        if let Some(s) = q.after_seq {
            query = query.bind(s);
        }
        query = query.bind(i64::from(q.limit));
        query.fetch_all(&self.reader).await?.iter().map(event_from_row).collect()
    }

    async fn event_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM events").fetch_one(&self.reader).await?.try_get(0)?)
    }

    async fn put_reference(&self, rows: &[RecordRow], now_us: i64) -> Result<usize> {
        let mut tx = self.writer.begin().await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO reference_records (kind, id, site, body, updated_us) VALUES ($1,$2,$3,$4,$5) \
                 ON CONFLICT (kind, id) DO UPDATE SET site = excluded.site, body = excluded.body, updated_us = excluded.updated_us",
            )
            .bind(r.kind.as_str())
            .bind(r.id.as_str())
            .bind(r.site.as_deref())
            .bind(r.json.to_string())
            .bind(now_us)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    async fn reference(&self, kind: Option<RecordKind>) -> Result<Vec<RecordRow>> {
        let rows = match kind {
            Some(k) => {
                sqlx::query("SELECT kind, id, site, body FROM reference_records WHERE kind = $1 ORDER BY id")
                    .bind(k.as_str())
                    .fetch_all(&self.reader)
                    .await?
            }
            None => {
                sqlx::query("SELECT kind, id, site, body FROM reference_records ORDER BY kind, id")
                    .fetch_all(&self.reader)
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(0)?;
                let body: String = r.try_get(3)?;
                Ok(RecordRow {
                    kind: RecordKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("record kind {kind:?}")))?,
                    id: r.try_get(1)?,
                    site: r.try_get(2)?,
                    json: serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    async fn load_book(&self) -> Result<(stockade_model::book::InventoryBook, i64)> {
        SqlStore::load_book(self).await
    }

    async fn save_book(
        &self,
        places: &[(stockade_model::book::Place, stockade_model::book::PlaceState)],
        through: i64,
    ) -> Result<()> {
        SqlStore::save_book(self, places, through).await
    }

    async fn clear_book(&self) -> Result<()> {
        SqlStore::clear_book(self).await
    }

    async fn put_token(&self, t: &TokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, secret_hash, role, name, created_us, revoked_us, expires_us, sites) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (id) DO UPDATE SET revoked_us = excluded.revoked_us",
        )
        .bind(t.id.as_str())
        .bind(&t.secret_hash[..])
        .bind(t.role.as_str())
        .bind(t.name.as_str())
        .bind(t.created_us)
        .bind(t.revoked_us)
        .bind(t.expires_us)
        .bind(serde_json::to_string(&t.sites).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn add_evidence(&self, e: &StoredEvidence, first: &StoredCustody) -> Result<()> {
        let json = String::from_utf8(e.record.canonical()).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let custody =
            String::from_utf8(first.record.canonical()).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let mut tx = self.writer.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO evidence (id, incident, sha256, retain_until_us, record, leaf_index, expired_us) \
             VALUES ($1,$2,$3,$4,$5,$6,NULL)",
        )
        .bind(e.record.id.as_str())
        .bind(e.record.incident.as_str())
        .bind(e.record.sha256.as_str())
        .bind(e.record.retain_until_us)
        .bind(json)
        .bind(e.leaf_index as i64)
        .execute(&mut *tx)
        .await;
        if let Err(err) = inserted {
            return Err(if is_unique_violation(&err) {
                StoreError::Conflict(format!("evidence {} exists", e.record.id))
            } else {
                err.into()
            });
        }
        sqlx::query("INSERT INTO custody (evidence, n, record, leaf_index) VALUES ($1,$2,$3,$4)")
            .bind(first.record.evidence.as_str())
            .bind(first.record.n as i64)
            .bind(custody)
            .bind(first.leaf_index as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn evidence(&self, id: &str) -> Result<Option<StoredEvidence>> {
        let row = sqlx::query("SELECT record, leaf_index, expired_us FROM evidence WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(evidence_row).transpose()
    }

    async fn incident_evidence(&self, incident: &str) -> Result<Vec<StoredEvidence>> {
        let rows =
            sqlx::query("SELECT record, leaf_index, expired_us FROM evidence WHERE incident = $1 ORDER BY leaf_index")
                .bind(incident)
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(evidence_row).collect()
    }

    async fn add_audit(&self, a: &StoredAudit) -> Result<()> {
        let json = String::from_utf8(a.record.canonical()).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let inserted = sqlx::query("INSERT INTO audit (n, record, leaf_index) VALUES ($1,$2,$3)")
            .bind(a.record.n as i64)
            .bind(json)
            .bind(a.leaf_index as i64)
            .execute(&self.writer)
            .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(err) if is_unique_violation(&err) => {
                Err(StoreError::Conflict(format!("audit record {} exists", a.record.n)))
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn audit(&self, after: u64, limit: u32) -> Result<Vec<StoredAudit>> {
        let rows = sqlx::query("SELECT record, leaf_index FROM audit WHERE n > $1 ORDER BY n LIMIT $2")
            .bind(after as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| record_row(r, "audit").map(|(record, leaf_index)| StoredAudit { record, leaf_index }))
            .collect()
    }

    async fn live_evidence_with_file(&self, sha256: &str) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM evidence WHERE sha256 = $1 AND expired_us IS NULL")
            .bind(sha256)
            .fetch_one(&self.reader)
            .await?;
        Ok(n as u64)
    }

    async fn evidence_due(&self, now_us: i64) -> Result<Vec<StoredEvidence>> {
        let rows = sqlx::query(
            "SELECT record, leaf_index, expired_us FROM evidence WHERE retain_until_us <= $1 AND expired_us IS NULL \
             ORDER BY retain_until_us",
        )
        .bind(now_us)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(evidence_row).collect()
    }

    async fn add_custody(&self, c: &StoredCustody) -> Result<()> {
        let json = String::from_utf8(c.record.canonical()).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let mut tx = self.writer.begin().await?;
        let inserted = sqlx::query("INSERT INTO custody (evidence, n, record, leaf_index) VALUES ($1,$2,$3,$4)")
            .bind(c.record.evidence.as_str())
            .bind(c.record.n as i64)
            .bind(json)
            .bind(c.leaf_index as i64)
            .execute(&mut *tx)
            .await;
        if let Err(err) = inserted {
            return Err(if is_unique_violation(&err) {
                StoreError::Conflict(format!("custody entry {} of {} exists", c.record.n, c.record.evidence))
            } else {
                err.into()
            });
        }
        if c.record.action == stockade_evidence::Action::Expired {
            sqlx::query("UPDATE evidence SET expired_us = $1 WHERE id = $2")
                .bind(c.record.at_us)
                .bind(c.record.evidence.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn custody(&self, evidence: &str) -> Result<Vec<StoredCustody>> {
        let rows = sqlx::query("SELECT record, leaf_index FROM custody WHERE evidence = $1 ORDER BY n")
            .bind(evidence)
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| record_row(r, "custody").map(|(record, leaf_index)| StoredCustody { record, leaf_index }))
            .collect()
    }

    async fn last_incident(&self) -> Result<u64> {
        let n: Option<i64> = sqlx::query_scalar("SELECT MAX(n) FROM incidents").fetch_one(&self.reader).await?;
        Ok(n.unwrap_or(0) as u64)
    }

    async fn last_audit(&self) -> Result<u64> {
        let n: Option<i64> = sqlx::query_scalar("SELECT MAX(n) FROM audit").fetch_one(&self.reader).await?;
        Ok(n.unwrap_or(0) as u64)
    }

    async fn has_events(&self, keys: &[(&str, &str)]) -> Result<Vec<bool>> {
        // A few hundred keys a query (row values: SQLite 3.15+, PostgreSQL).
        let mut found = std::collections::HashSet::new();
        for chunk in keys.chunks(400) {
            let sql = format!(
                "SELECT source, event_id FROM events WHERE (source, event_id) IN (VALUES {})",
                values_clause(chunk.len(), 2, self.dialect)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (source, id) in chunk {
                q = q.bind(*source).bind(*id);
            }
            for row in q.fetch_all(&self.reader).await? {
                found.insert((row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?));
            }
        }
        Ok(keys.iter().map(|(s, i)| found.contains(&((*s).to_owned(), (*i).to_owned()))).collect())
    }

    async fn add_incident(&self, i: &IncidentRecord) -> Result<()> {
        let json = String::from_utf8(i.canonical()).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let inserted = sqlx::query("INSERT INTO incidents (n, site, opened_us, record) VALUES ($1,$2,$3,$4)")
            .bind(i.n as i64)
            .bind(&i.incident.site)
            .bind(i.opened_at.timestamp_micros())
            .bind(json)
            .execute(&self.writer)
            .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(err) if is_unique_violation(&err) => Err(StoreError::Conflict(format!("incident {} exists", i.id))),
            Err(err) => Err(err.into()),
        }
    }

    async fn add_timeline(&self, e: &StoredEntry) -> Result<()> {
        let json = serde_json::to_string(&e.entry).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO incident_timeline (incident, n, at_us, record, leaf_index) VALUES ($1,$2,$3,$4,$5)",
        )
        .bind(e.incident as i64)
        .bind(e.entry.n as i64)
        .bind(e.entry.at.timestamp_micros())
        .bind(json)
        .bind(e.leaf_index.map(|l| l as i64))
        .execute(&self.writer)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(err) if is_unique_violation(&err) => Err(StoreError::Conflict(format!(
                "entry {} of incident {} exists",
                e.entry.n,
                stockade_incident::incident_id(e.incident)
            ))),
            Err(err) => Err(err.into()),
        }
    }

    async fn timelines(&self, first: u64, last: u64) -> Result<Vec<StoredEntry>> {
        let rows = sqlx::query(
            "SELECT record, leaf_index, incident FROM incident_timeline \
             WHERE incident >= $1 AND incident <= $2 ORDER BY incident, n",
        )
        .bind(first.min(i64::MAX as u64) as i64)
        .bind(last.min(i64::MAX as u64) as i64)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let json: String = r.try_get(0)?;
                let leaf: Option<i64> = r.try_get(1)?;
                let incident: i64 = r.try_get(2)?;
                let entry = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("timeline entry of incident {incident}: {e}")))?;
                Ok(StoredEntry { incident: incident as u64, entry, leaf_index: leaf.map(|l| l as u64) })
            })
            .collect()
    }

    async fn add_delivery(&self, d: &Delivery) -> Result<()> {
        let json = serde_json::to_string(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO webhook_deliveries (id, endpoint, idem_key, status, next_us, created_us, record) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(&d.id)
        .bind(&d.endpoint)
        .bind(&d.idempotency_key)
        .bind(d.status.as_str())
        .bind(d.next_us)
        .bind(d.created_us)
        .bind(json)
        .execute(&self.writer)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(err) if is_unique_violation(&err) => Err(StoreError::Conflict(format!(
                "delivery {} (or {} to {}) exists",
                d.id, d.idempotency_key, d.endpoint
            ))),
            Err(err) => Err(err.into()),
        }
    }

    async fn update_delivery(&self, d: &Delivery) -> Result<()> {
        let json = serde_json::to_string(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let done = sqlx::query("UPDATE webhook_deliveries SET status = $1, next_us = $2, record = $3 WHERE id = $4")
            .bind(d.status.as_str())
            .bind(d.next_us)
            .bind(json)
            .bind(&d.id)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("delivery {}", d.id)));
        }
        Ok(())
    }

    async fn deliveries(&self, q: &DeliveryQuery) -> Result<Vec<Delivery>> {
        let status = q.status.map(|s| s.as_str());
        let rows = sqlx::query(
            "SELECT record FROM webhook_deliveries \
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR next_us <= $2) AND ($3 IS NULL OR id = $3) \
             ORDER BY next_us, id LIMIT $4",
        )
        .bind(status)
        .bind(q.due_by_us)
        .bind(q.id.as_deref())
        .bind(i64::from(q.limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let json: String = r.try_get(0)?;
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("delivery record: {e}")))
            })
            .collect()
    }

    async fn load_state(&self, name: &str) -> Result<Option<(i64, String)>> {
        let row = sqlx::query("SELECT cursor, state FROM consumer_state WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?))).transpose()
    }

    async fn save_state(&self, name: &str, cursor: i64, state: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO consumer_state (name, cursor, state) VALUES ($1,$2,$3) \
             ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, state = excluded.state",
        )
        .bind(name)
        .bind(cursor)
        .bind(state)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn add_alerts(&self, alerts: &[StoredAlert], cases: &[(u64, String)]) -> Result<()> {
        // Many rows per statement: a replay stores hundreds of alerts at a
        // time, and each statement is a round trip to the database.
        let mut tx = self.writer.begin().await?;
        let mut pos = 0;
        for n in chunk_sizes(alerts.len()) {
            let part = &alerts[pos..pos + n];
            pos += n;
            let sql = format!(
                "INSERT INTO alerts (n, seq, site, rule, at_us, case_n, record) VALUES {}",
                values_clause(n, 7, self.dialect)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for a in part {
                q = q
                    .bind(a.n as i64)
                    .bind(a.seq)
                    .bind(&a.site)
                    .bind(&a.rule)
                    .bind(a.at_us)
                    .bind(a.case_n as i64)
                    .bind(&a.record);
            }
            match q.execute(&mut *tx).await {
                Ok(_) => {}
                Err(err) if is_unique_violation(&err) => {
                    let numbers: Vec<String> = part.iter().map(|a| a.n.to_string()).collect();
                    return Err(StoreError::Conflict(format!("one of alerts {} exists", numbers.join(", "))));
                }
                Err(err) => return Err(err.into()),
            }
        }
        let entities: Vec<(i64, &String, &String)> = alerts
            .iter()
            .flat_map(|a| {
                let named: std::collections::BTreeSet<_> = a.entities.iter().collect();
                named.into_iter().map(move |(kind, id)| (a.n as i64, kind, id))
            })
            .collect();
        let mut pos = 0;
        for n in chunk_sizes(entities.len()) {
            let sql = format!("INSERT INTO alert_entities (n, kind, id) VALUES {}", values_clause(n, 3, self.dialect));
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (alert, kind, id) in &entities[pos..pos + n] {
                q = q.bind(*alert).bind(*kind).bind(*id);
            }
            pos += n;
            q.execute(&mut *tx).await?;
        }
        for (case, incident) in cases {
            sqlx::query("INSERT INTO alert_cases (case_n, incident) VALUES ($1,$2)")
                .bind(*case as i64)
                .bind(incident)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn alerts(&self, q: &AlertQuery) -> Result<Vec<(StoredAlert, Option<String>)>> {
        let mut sql = String::from(
            "SELECT a.n, a.seq, a.site, a.rule, a.at_us, a.case_n, a.record, c.incident FROM alerts a \
             LEFT JOIN alert_cases c ON c.case_n = a.case_n WHERE a.n > $1",
        );
        let mut i = 1;
        let mut next = |col: &str, sql: &mut String| {
            i += 1;
            sql.push_str(&format!(" AND {col} ${i}"));
        };
        if q.site.is_some() {
            next("a.site =", &mut sql);
        }
        if q.rule.is_some() {
            next("a.rule =", &mut sql);
        }
        if q.from_us.is_some() {
            next("a.at_us >=", &mut sql);
        }
        if q.to_us.is_some() {
            next("a.at_us <", &mut sql);
        }
        if q.case.is_some() {
            next("a.case_n =", &mut sql);
        }
        if q.incident.is_some() {
            next("c.incident =", &mut sql);
        }
        if q.entity.is_some() {
            next("a.n IN (SELECT n FROM alert_entities WHERE kind =", &mut sql);
            next("id =", &mut sql);
            sql.push(')');
        }
        i += 1;
        sql.push_str(&format!(" ORDER BY a.n LIMIT ${i}"));
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(q.after as i64);
        if let Some(s) = &q.site {
            query = query.bind(s);
        }
        if let Some(r) = &q.rule {
            query = query.bind(r);
        }
        if let Some(f) = q.from_us {
            query = query.bind(f);
        }
        if let Some(t) = q.to_us {
            query = query.bind(t);
        }
        if let Some(c) = q.case {
            query = query.bind(c as i64);
        }
        if let Some(incident) = &q.incident {
            query = query.bind(incident);
        }
        if let Some((kind, id)) = &q.entity {
            query = query.bind(kind).bind(id);
        }
        let rows = query.bind(i64::from(q.limit)).fetch_all(&self.reader).await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok((
                    StoredAlert {
                        n: r.try_get::<i64, _>(0)? as u64,
                        seq: r.try_get(1)?,
                        site: r.try_get(2)?,
                        rule: r.try_get(3)?,
                        at_us: r.try_get(4)?,
                        case_n: r.try_get::<i64, _>(5)? as u64,
                        record: r.try_get(6)?,
                        entities: Vec::new(),
                    },
                    r.try_get::<Option<String>, _>(7)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        if let (Some(first), Some(last)) = (out.first(), out.last()) {
            let names =
                sqlx::query("SELECT n, kind, id FROM alert_entities WHERE n >= $1 AND n <= $2 ORDER BY n, kind, id")
                    .bind(first.0.n as i64)
                    .bind(last.0.n as i64)
                    .fetch_all(&self.reader)
                    .await?;
            let mut at = 0;
            for r in &names {
                let n = r.try_get::<i64, _>(0)? as u64;
                while at < out.len() && out[at].0.n < n {
                    at += 1;
                }
                if at < out.len() && out[at].0.n == n {
                    out[at].0.entities.push((r.try_get(1)?, r.try_get(2)?));
                }
            }
        }
        Ok(out)
    }

    async fn last_alert(&self) -> Result<u64> {
        let n: Option<i64> = sqlx::query_scalar("SELECT MAX(n) FROM alerts").fetch_one(&self.reader).await?;
        Ok(n.unwrap_or(0) as u64)
    }

    async fn put_triage(&self, t: &AlertTriage) -> Result<()> {
        sqlx::query(
            "INSERT INTO alert_triage (n, status, owner, reason, actor, at_us, incident) \
             VALUES ($1,$2,$3,$4,$5,$6,$7) \
             ON CONFLICT (n) DO UPDATE SET status = excluded.status, owner = excluded.owner, \
             reason = excluded.reason, actor = excluded.actor, at_us = excluded.at_us, incident = excluded.incident",
        )
        .bind(t.n as i64)
        .bind(t.status.as_str())
        .bind(t.owner.as_deref())
        .bind(t.reason.as_str())
        .bind(t.actor.as_str())
        .bind(t.at_us)
        .bind(t.incident.as_deref())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn triage(&self, first: u64, last: u64) -> Result<Vec<AlertTriage>> {
        let rows = sqlx::query(
            "SELECT n, status, owner, reason, actor, at_us, incident FROM alert_triage \
             WHERE n >= $1 AND n <= $2 ORDER BY n",
        )
        .bind(first as i64)
        .bind(last.min(i64::MAX as u64) as i64)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get(0)?;
                let status: String = r.try_get(1)?;
                Ok(AlertTriage {
                    n: n as u64,
                    status: TriageStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("alert triage status {status:?}")))?,
                    owner: r.try_get(2)?,
                    reason: r.try_get(3)?,
                    actor: r.try_get(4)?,
                    at_us: r.try_get(5)?,
                    incident: r.try_get(6)?,
                })
            })
            .collect()
    }

    async fn incident(&self, id: &str) -> Result<Option<IncidentRecord>> {
        let Some(n) = stockade_incident::incident_number(id) else { return Ok(None) };
        let row = sqlx::query("SELECT record FROM incidents WHERE n = $1")
            .bind(n as i64)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(incident_row).transpose()
    }

    async fn incidents(&self, q: &IncidentQuery) -> Result<Vec<IncidentRecord>> {
        let rows = match &q.site {
            Some(site) => {
                sqlx::query("SELECT record FROM incidents WHERE n > $1 AND site = $2 ORDER BY n LIMIT $3")
                    .bind(q.after as i64)
                    .bind(site)
                    .bind(i64::from(q.limit))
                    .fetch_all(&self.reader)
                    .await?
            }
            None => {
                sqlx::query("SELECT record FROM incidents WHERE n > $1 ORDER BY n LIMIT $2")
                    .bind(q.after as i64)
                    .bind(i64::from(q.limit))
                    .fetch_all(&self.reader)
                    .await?
            }
        };
        rows.iter().map(incident_row).collect()
    }

    async fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT id, secret_hash, role, name, created_us, revoked_us, expires_us, sites FROM api_tokens \
             WHERE secret_hash = $1 AND revoked_us IS NULL",
        )
        .bind(&secret_hash[..])
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(token_row).transpose()
    }

    async fn put_user(&self, u: &UserRecord) -> Result<()> {
        let sites = serde_json::to_string(&u.sites).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO users (name, password_hash, role, sites, created_us, disabled_us) VALUES ($1,$2,$3,$4,$5,$6) \
             ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role, \
             sites = excluded.sites, disabled_us = excluded.disabled_us",
        )
        .bind(u.name.as_str())
        .bind(u.password_hash.as_str())
        .bind(u.role.as_str())
        .bind(sites)
        .bind(u.created_us)
        .bind(u.disabled_us)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        let row =
            sqlx::query("SELECT name, password_hash, role, sites, created_us, disabled_us FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.reader)
                .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn users(&self) -> Result<Vec<UserRecord>> {
        let rows =
            sqlx::query("SELECT name, password_hash, role, sites, created_us, disabled_us FROM users ORDER BY name")
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(user_row).collect()
    }

    async fn put_session(&self, s: &SessionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, secret_hash, user_name, created_us, expires_us, revoked_us) \
             VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (id) DO UPDATE SET revoked_us = excluded.revoked_us",
        )
        .bind(s.id.as_str())
        .bind(&s.secret_hash[..])
        .bind(s.user.as_str())
        .bind(s.created_us)
        .bind(s.expires_us)
        .bind(s.revoked_us)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn session_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT id, secret_hash, user_name, created_us, expires_us, revoked_us FROM sessions \
             WHERE secret_hash = $1 AND revoked_us IS NULL",
        )
        .bind(&secret_hash[..])
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(session_row).transpose()
    }

    async fn end_sessions(&self, user: &str, now_us: i64) -> Result<u64> {
        let done = sqlx::query("UPDATE sessions SET revoked_us = $1 WHERE user_name = $2 AND revoked_us IS NULL")
            .bind(now_us)
            .bind(user)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(
            "SELECT id, secret_hash, role, name, created_us, revoked_us, expires_us, sites FROM api_tokens \
             ORDER BY created_us, id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(token_row).collect()
    }
}

/// A `users` row: name, password_hash, role, sites, created_us, disabled_us.
fn user_row(r: &sqlx::any::AnyRow) -> Result<UserRecord> {
    let role: String = r.try_get(2)?;
    let sites: String = r.try_get(3)?;
    Ok(UserRecord {
        name: r.try_get(0)?,
        password_hash: r.try_get(1)?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        sites: serde_json::from_str(&sites).map_err(|e| StoreError::Corrupt(format!("user sites: {e}")))?,
        created_us: r.try_get(4)?,
        disabled_us: r.try_get(5)?,
    })
}

/// A `sessions` row: id, secret_hash, user_name, created_us, expires_us, revoked_us.
fn session_row(r: &sqlx::any::AnyRow) -> Result<SessionRecord> {
    Ok(SessionRecord {
        id: r.try_get(0)?,
        secret_hash: hash32(r.try_get(1)?)?,
        user: r.try_get(2)?,
        created_us: r.try_get(3)?,
        expires_us: r.try_get(4)?,
        revoked_us: r.try_get(5)?,
    })
}

/// An `api_tokens` row: id, secret_hash, role, name, created_us, revoked_us, expires_us, sites.
fn token_row(r: &sqlx::any::AnyRow) -> Result<TokenRecord> {
    let role: String = r.try_get(2)?;
    let sites: String = r.try_get(7)?;
    Ok(TokenRecord {
        id: r.try_get(0)?,
        secret_hash: hash32(r.try_get(1)?)?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        name: r.try_get(3)?,
        created_us: r.try_get(4)?,
        revoked_us: r.try_get(5)?,
        expires_us: r.try_get(6)?,
        sites: serde_json::from_str(&sites).map_err(|e| StoreError::Corrupt(format!("token sites: {e}")))?,
    })
}

/// A `(record JSON, leaf_index)` row: the record and its leaf.
fn record_row<T: serde::de::DeserializeOwned>(r: &sqlx::any::AnyRow, what: &str) -> Result<(T, u64)> {
    let json: String = r.try_get(0)?;
    let leaf: i64 = r.try_get(1)?;
    let record = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("{what} record: {e}")))?;
    Ok((record, leaf as u64))
}

fn evidence_row(r: &sqlx::any::AnyRow) -> Result<StoredEvidence> {
    let (record, leaf_index) = record_row(r, "evidence")?;
    Ok(StoredEvidence { record, leaf_index, expired_us: r.try_get(2)? })
}

fn incident_row(r: &sqlx::any::AnyRow) -> Result<IncidentRecord> {
    let json: String = r.try_get(0)?;
    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("incident record: {e}")))
}

/// Kinds with a partial index of their own (a closed list: they are
/// written into the SQL text).
const RECORD_KINDS: [&str; 2] = ["record.loaded", "record.retracted"];

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

impl SqlStore {
    /// Writes places of the in-memory book and the journal position they
    /// reflect, in one transaction.
    pub(crate) async fn save_book(
        &self,
        places: &[(stockade_model::book::Place, stockade_model::book::PlaceState)],
        through: i64,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let mut pos = 0;
        for n in chunk_sizes(places.len()) {
            let sql = format!(
                "INSERT INTO book_places (site, location, sku, quantity, count_seq, count_us, counted, book_at, approximate, recent, opened_us, holds, corrected, count_correction, first_us, settled_us) \
                 VALUES {} ON CONFLICT (site, location, sku) DO UPDATE SET \
                 quantity = excluded.quantity, count_seq = excluded.count_seq, count_us = excluded.count_us, \
                 counted = excluded.counted, book_at = excluded.book_at, approximate = excluded.approximate, recent = excluded.recent, \
                 opened_us = excluded.opened_us, holds = excluded.holds, corrected = excluded.corrected, \
                 count_correction = excluded.count_correction, first_us = excluded.first_us, \
                 settled_us = excluded.settled_us",
                values_clause(n, 16, self.dialect)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (p, st) in &places[pos..pos + n] {
                let c = st.count.as_ref();
                q = q
                    .bind(p.site.as_str())
                    .bind(p.location.as_str())
                    .bind(p.sku.as_str())
                    .bind(st.quantity)
                    .bind(c.map(|c| c.seq))
                    .bind(c.map(|c| c.occurred_us))
                    .bind(c.map(|c| c.counted))
                    .bind(c.map(|c| c.book_at))
                    .bind(c.map(|c| i64::from(c.approximate)))
                    .bind(serde_json::to_string(&st.recent).unwrap_or_else(|_| "[]".into()))
                    .bind(st.opened_us)
                    .bind(st.holds.map(|p| p.name()))
                    .bind(st.corrected)
                    .bind(c.and_then(|c| c.correction))
                    .bind(st.first_us)
                    .bind(st.settled_us);
            }
            pos += n;
            q.execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO projection_state (name, seq) VALUES ('book_snapshot', $1) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
        )
        .bind(through)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the saved book and its position, in one transaction.
    pub(crate) async fn clear_book(&self) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM book_places").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM projection_state WHERE name = 'book_snapshot'").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The saved book and the journal position it reflects.
    pub(crate) async fn load_book(&self) -> Result<(stockade_model::book::InventoryBook, i64)> {
        let mut book = stockade_model::book::InventoryBook::default();
        let rows = sqlx::query(
            "SELECT site, location, sku, quantity, count_seq, count_us, counted, book_at, approximate, recent, opened_us, holds, corrected, count_correction, first_us, settled_us FROM book_places",
        )
        .fetch_all(&self.reader)
        .await?;
        for r in rows {
            let count = match (r.try_get::<Option<i64>, _>(4)?, r.try_get::<Option<i64>, _>(5)?) {
                (Some(seq), Some(occurred_us)) => Some(stockade_model::book::CountState {
                    seq,
                    occurred_us,
                    counted: r.try_get::<Option<f64>, _>(6)?.unwrap_or_default(),
                    book_at: r.try_get::<Option<f64>, _>(7)?.unwrap_or_default(),
                    approximate: r.try_get::<Option<i64>, _>(8)?.unwrap_or_default() != 0,
                    correction: r.try_get(13)?,
                }),
                _ => None,
            };
            let recent: String = r.try_get(9)?;
            book.restore(
                stockade_model::book::Place { site: r.try_get(0)?, location: r.try_get(1)?, sku: r.try_get(2)? },
                stockade_model::book::PlaceState {
                    quantity: r.try_get(3)?,
                    recent: serde_json::from_str(&recent)
                        .map_err(|e| StoreError::Corrupt(format!("book snapshot: {e}")))?,
                    count,
                    opened_us: r.try_get(10)?,
                    holds: match r.try_get::<Option<String>, _>(11)? {
                        None => None,
                        Some(h) => Some(stockade_model::book::Pool::from_name(&h).ok_or_else(|| {
                            StoreError::Corrupt(format!("book snapshot: unknown in-transit state {h:?}"))
                        })?),
                    },
                    corrected: r.try_get(12)?,
                    first_us: r.try_get(14)?,
                    settled_us: r.try_get(15)?,
                },
            );
        }
        let row = sqlx::query("SELECT seq FROM projection_state WHERE name = 'book_snapshot'")
            .fetch_optional(&self.reader)
            .await?;
        let through = match row {
            Some(r) => r.try_get(0)?,
            None => 0,
        };
        Ok((book, through))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_batch_with_few_shapes() {
        for n in 0..1000 {
            let c = chunk_sizes(n);
            assert_eq!(c.iter().sum::<usize>(), n);
            assert!(c.iter().all(|s| s.is_power_of_two() && *s <= CHUNK));
        }
    }

    #[test]
    fn values_clause_numbers_in_order() {
        assert_eq!(values_clause(2, 2, Dialect::Postgres), "($1,$2),($3,$4)");
        assert_eq!(values_clause(2, 2, Dialect::Sqlite), "(?,?),(?,?)");
    }
}
