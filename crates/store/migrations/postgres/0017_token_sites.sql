-- API tokens may be limited to some sites (a JSON array; empty: every site).
ALTER TABLE api_tokens ADD COLUMN sites TEXT NOT NULL DEFAULT '[]';
