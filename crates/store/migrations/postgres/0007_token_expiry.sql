-- Tokens may expire (vendor and contractor access is time-boxed).
ALTER TABLE api_tokens ADD COLUMN expires_us BIGINT;
