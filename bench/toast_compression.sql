-- What PostgreSQL's compression of a large value costs: pglz (the default) against lz4
-- (migration 0014) and no compression (STORAGE EXTERNAL), 10,000 values of ~4 KB of JSON-like
-- text each, twice per table, into a database of its own:
--
--   createdb -h 127.0.0.1 -U postgres toast_bench
--   psql -h 127.0.0.1 -U postgres -d toast_bench -f bench/toast_compression.sql
--   dropdb -h 127.0.0.1 -U postgres toast_bench
--
-- The baseline is `generated`: the same values made and stored without compression, so the
-- difference to it is the compression's. Every value is made afresh (copying a stored value
-- would copy it compressed).
\timing on
CREATE UNLOGGED TABLE generated (id bigserial PRIMARY KEY, body bytea);
ALTER TABLE generated ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE UNLOGGED TABLE with_pglz (id bigserial PRIMARY KEY, body bytea COMPRESSION pglz);
CREATE UNLOGGED TABLE with_lz4 (id bigserial PRIMARY KEY, body bytea COMPRESSION lz4);
CREATE VIEW fresh AS
    SELECT convert_to(string_agg(md5((g * 100 + i)::text)
        || '{"antragsteller":"Erika Mustermann","ort":"Dresden"}', ','), 'UTF8') AS body
    FROM generate_series(1, 10000) g, generate_series(1, 50) i GROUP BY g;
\echo generated (no compression)
INSERT INTO generated (body) SELECT body FROM fresh;
INSERT INTO generated (body) SELECT body FROM fresh;
\echo pglz
INSERT INTO with_pglz (body) SELECT body FROM fresh;
INSERT INTO with_pglz (body) SELECT body FROM fresh;
\echo lz4
INSERT INTO with_lz4 (body) SELECT body FROM fresh;
INSERT INTO with_lz4 (body) SELECT body FROM fresh;
SELECT pg_size_pretty(pg_total_relation_size('generated')) AS uncompressed,
    pg_size_pretty(pg_total_relation_size('with_pglz')) AS pglz,
    pg_size_pretty(pg_total_relation_size('with_lz4')) AS lz4;
