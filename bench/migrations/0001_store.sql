-- eic-bench monitor store, schema version 1.
-- Times: *_ns are UTC nanoseconds since 1970-01-01 (reception time for telemetry, wall time
-- for human actions); cuc_s is the on-board CUC time in seconds since the mission epoch.

-- Provenance: one row per ingested file or live device session.
CREATE TABLE sources (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('archive', 'cadu', 'events', 'attitude', 'orbit', 'device', 'unknown')),
    name        TEXT NOT NULL,               -- file name as dropped, or the DEVICE word
    sha256      TEXT UNIQUE,                 -- content hash (files); NULL for devices
    size        INTEGER,                     -- octets (files)
    status      TEXT NOT NULL CHECK (status IN ('ingested', 'quarantined', 'live', 'closed')),
    reason      TEXT,                        -- why quarantined / how the session ended
    started_ns  INTEGER NOT NULL,
    finished_ns INTEGER,
    packets     INTEGER NOT NULL DEFAULT 0,
    hk          INTEGER NOT NULL DEFAULT 0,
    events      INTEGER NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0,
    alerts      INTEGER NOT NULL DEFAULT 0,
    directories INTEGER NOT NULL DEFAULT 0,
    damaged     INTEGER NOT NULL DEFAULT 0,  -- damaged records/frames/packets skipped
    first_ns    INTEGER,                     -- first and last reception time of the content
    last_ns     INTEGER
);
CREATE INDEX sources_by_status ON sources (status, started_ns);

-- Every HK report (SID 1): the parameter octets exactly as received (HkReport layout,
-- docs/icd/services.md); hk_value(data, 'name') reads one parameter in SQL.
CREATE TABLE hk (
    rx_ns     INTEGER NOT NULL,
    cuc_s     REAL NOT NULL,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    data      BLOB NOT NULL
);
CREATE INDEX hk_by_time ON hk (rx_ns);

-- Every ST[05] event report.
CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    rx_ns     INTEGER NOT NULL,
    cuc_s     REAL NOT NULL,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    event_id  INTEGER NOT NULL,
    name      TEXT NOT NULL,
    severity  INTEGER NOT NULL,              -- 1 informative .. 4 high (the subtype)
    aux       BLOB NOT NULL
);
CREATE INDEX events_by_time ON events (rx_ns);

-- Every ST[01] failure report (1,2 / 1,4 / 1,6 / 1,8).
CREATE TABLE failures (
    id        INTEGER PRIMARY KEY,
    rx_ns     INTEGER NOT NULL,
    cuc_s     REAL NOT NULL,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    subtype   INTEGER NOT NULL,
    tc_apid   INTEGER NOT NULL,
    tc_seq    INTEGER NOT NULL,
    code      INTEGER NOT NULL,
    code_name TEXT NOT NULL,
    step      INTEGER,
    text      TEXT NOT NULL                  -- the readable report line
);
CREATE INDEX failures_by_time ON failures (rx_ns);

-- Every ST[201] trigger alert, with its GCN-style notice (JSON).
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    rx_ns         INTEGER NOT NULL,
    cuc_s         REAL NOT NULL,
    source_id     INTEGER NOT NULL REFERENCES sources (id),
    trigger_type  TEXT NOT NULL,
    burst_id      INTEGER NOT NULL,
    seq_num       INTEGER NOT NULL,
    timescale_ms  INTEGER NOT NULL,
    rate_snr      REAL NOT NULL,
    image_snr     REAL NOT NULL,
    ra_deg        REAL NOT NULL,
    dec_deg       REAL NOT NULL,
    error_deg     REAL NOT NULL,
    catalogue_id  INTEGER NOT NULL,
    notice        TEXT NOT NULL
);
CREATE INDEX alerts_by_time ON alerts (rx_ns);

-- Table directory reports (200,8): one row per table per report.
CREATE TABLE table_dirs (
    rx_ns            INTEGER NOT NULL,
    cuc_s            REAL NOT NULL,
    source_id        INTEGER NOT NULL REFERENCES sources (id),
    table_id         INTEGER NOT NULL,
    active_version   INTEGER NOT NULL,
    active_crc       INTEGER NOT NULL,
    inactive_state   INTEGER NOT NULL,
    inactive_version INTEGER NOT NULL
);
CREATE INDEX table_dirs_by_time ON table_dirs (rx_ns);

-- Unit boots and software changes seen in HK (uptime drop, version/bank change).
CREATE TABLE boots (
    rx_ns      INTEGER NOT NULL,
    cuc_s      REAL NOT NULL,
    source_id  INTEGER NOT NULL REFERENCES sources (id),
    sw_version INTEGER NOT NULL,
    boot_bank  INTEGER NOT NULL,
    fallback   INTEGER NOT NULL,
    why        TEXT NOT NULL
);

-- Link state changes of live sources (outages in reports).
CREATE TABLE link_events (
    at_ns     INTEGER NOT NULL,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    up        INTEGER NOT NULL,
    detail    TEXT NOT NULL
);

-- Event-file summaries (ICD §6 event files): the detector's health, not the events.
CREATE TABLE event_files (
    source_id    INTEGER PRIMARY KEY REFERENCES sources (id),
    t_start_s    REAL,                       -- first and last event time (s since the file's epoch)
    t_stop_s     REAL,
    n_events     INTEGER NOT NULL,
    pixel_counts BLOB NOT NULL               -- u32 big-endian per detector pixel, index y * 80 + x
);
CREATE TABLE event_rates (
    source_id INTEGER NOT NULL REFERENCES sources (id),
    minute    INTEGER NOT NULL,              -- floor(t / 60) in the file's time
    band      INTEGER NOT NULL,              -- energy band index (docs/monitor.md)
    count     INTEGER NOT NULL,
    PRIMARY KEY (source_id, minute, band)
) WITHOUT ROWID;

-- Aggregates per parameter, never dropped by retention. bucket_ns: start of the UTC hour/day.
CREATE TABLE hk_hourly (
    param    TEXT NOT NULL,
    bucket_ns INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    min      REAL NOT NULL,
    sum      REAL NOT NULL,
    max      REAL NOT NULL,
    PRIMARY KEY (param, bucket_ns)
) WITHOUT ROWID;
CREATE TABLE hk_daily (
    param    TEXT NOT NULL,
    bucket_ns INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    min      REAL NOT NULL,
    sum      REAL NOT NULL,
    max      REAL NOT NULL,
    PRIMARY KEY (param, bucket_ns)
) WITHOUT ROWID;

-- Alarms (state machine in bench/src/monitor/alarm.rs) and every transition with its author.
CREATE TABLE alarms (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL,             -- 'hk:<param>', 'stale', 'event:<id>', 'alert'
    severity      INTEGER NOT NULL,          -- 1 warning, 2 critical
    message       TEXT NOT NULL,
    value         REAL,
    active        INTEGER NOT NULL,          -- the condition still holds
    acked         INTEGER NOT NULL DEFAULT 0,
    acked_by      TEXT,
    acked_ns      INTEGER,
    ack_comment   TEXT,
    shelved_until_ns INTEGER,
    shelve_reason TEXT,
    raised_ns     INTEGER NOT NULL,
    cleared_ns    INTEGER,
    updated_ns    INTEGER NOT NULL,
    occurrences   INTEGER NOT NULL DEFAULT 1,
    closed        INTEGER NOT NULL DEFAULT 0 -- cleared and acknowledged: history only
);
CREATE INDEX alarms_open ON alarms (closed, key);
CREATE TABLE alarm_transitions (
    id       INTEGER PRIMARY KEY,
    alarm_id INTEGER NOT NULL REFERENCES alarms (id),
    at_ns    INTEGER NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('raised', 'escalated', 'acknowledged', 'cleared', 'shelved', 'unshelved', 'closed', 'reraised')),
    author   TEXT NOT NULL,                  -- 'monitor' for automatic transitions, else the user
    comment  TEXT,
    value    REAL
);
CREATE INDEX alarm_transitions_by_alarm ON alarm_transitions (alarm_id, at_ns);

-- Persistence/hysteresis counters of the alarm evaluator, saved with the data they follow.
CREATE TABLE alarm_eval (
    key    TEXT PRIMARY KEY,
    level  INTEGER NOT NULL,                 -- severity currently raised (0 none)
    streak INTEGER NOT NULL,                 -- consecutive samples beyond the limits
    want   INTEGER NOT NULL                  -- severity those samples ask for
) WITHOUT ROWID;

-- Key/value state: last HK time, daily report written, ...
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Web users (the web module owns the logic: roles, Argon2id hashes, sessions).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash TEXT NOT NULL,             -- PHC string, Argon2id
    created_ns    INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);
