-- eic-bench monitor store, schema version 2.

-- HK by parameter (docs/monitor.md, "Trends"): every UTC hour of HK rows, transposed into
-- one time column and one value column per parameter, so that a parameter's trend reads a
-- few octets per sample instead of decoding every 140-octet report. Derived data: an hour's
-- chunk is rebuilt from the `hk` rows whenever rows of that hour are added or deleted
-- (ingestion, retention), and the hour still being filled by a live source has none yet
-- (its rows are read from `hk`). The `hk` rows stay the record.
CREATE TABLE hk_chunks (
    bucket_ns INTEGER PRIMARY KEY,            -- start of the UTC hour
    n         INTEGER NOT NULL,               -- HK rows of the hour that decoded
    times     BLOB NOT NULL                   -- n reception times, i64 little-endian, in order
);
CREATE TABLE hk_columns (
    bucket_ns INTEGER NOT NULL,               -- the hk_chunks row (deleted and written with it)
    param     TEXT NOT NULL,                  -- parameter name (HkReport::fields)
    vals      BLOB NOT NULL,                  -- n values, coded as in db.rs `encode_column`
    PRIMARY KEY (bucket_ns, param)
);

-- Table images seen in ST[200] dumps (200,6 segments reassembled, CRC checked), keyed by
-- table, version and CRC as directory reports and HK name them: what the thresholds in
-- force were at any time.
CREATE TABLE table_images (
    table_id  INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    crc       INTEGER NOT NULL,               -- CRC-32 of the whole image, as directories give it
    image     BLOB NOT NULL,                  -- the whole image (header, payload, CRC)
    first_ns  INTEGER NOT NULL,               -- reception time of its last segment, first seen
    source_id INTEGER NOT NULL REFERENCES sources (id),
    PRIMARY KEY (table_id, version, crc)
);
