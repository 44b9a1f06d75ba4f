-- The first schema of wirewatch's shared store. Records are kept as the embedded store keeps
-- them (one version byte, then JSON: `store::records`); the columns beside them are what
-- the database must order, find or coordinate by.

CREATE TABLE meta (
    name  text PRIMARY KEY,
    value jsonb NOT NULL
);

CREATE TABLE feeds (
    feed_id text PRIMARY KEY,
    state   bytea NOT NULL
);

-- Which worker polls a feed now: a lease, taken over once it expires.
CREATE TABLE feed_leases (
    feed_id text PRIMARY KEY,
    worker  text NOT NULL,
    until   timestamptz NOT NULL
);

-- When the next request to a host may go out, across the workers (per-host politeness).
CREATE TABLE host_turns (
    host    text PRIMARY KEY,
    next_at timestamptz NOT NULL
);

CREATE TABLE entries (
    feed_id    text NOT NULL,
    entry_id   text NOT NULL,
    rec        bytea NOT NULL,
    pending    boolean NOT NULL,
    order_at   timestamptz NOT NULL,
    first_seen timestamptz NOT NULL,
    -- When the row was last written (the server's clock): how long the pending entries
    -- have waited, for the judge's quiet period.
    stored_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (feed_id, entry_id)
);
CREATE INDEX entries_pending ON entries (order_at, first_seen, feed_id, entry_id) WHERE pending;

CREATE TABLE seeds (
    name text PRIMARY KEY,
    rec  bytea NOT NULL
);

CREATE TABLE items (
    url    text PRIMARY KEY,
    doc_id bigint NOT NULL,
    rec    bytea NOT NULL
);
CREATE INDEX items_doc ON items (doc_id);

CREATE TABLE dup_docs (
    doc_id bigint PRIMARY KEY,
    key    text NOT NULL,
    record bytea NOT NULL
);

CREATE TABLE stories (
    id  text PRIMARY KEY,
    rec bytea NOT NULL
);

CREATE TABLE alerts (
    id      text PRIMARY KEY,
    created timestamptz NOT NULL,
    rec     bytea NOT NULL
);
CREATE INDEX alerts_created ON alerts (created, id);

-- Pending deliveries; a worker claims one (claimed_by, claimed_until) while it delivers it.
CREATE TABLE outbox (
    alert         text NOT NULL,
    endpoint      text NOT NULL,
    created       timestamptz NOT NULL,
    rec           bytea NOT NULL,
    claimed_by    text,
    claimed_until timestamptz,
    PRIMARY KEY (alert, endpoint)
);
CREATE INDEX outbox_order ON outbox (endpoint, created, alert);

-- Delivered and dead deliveries.
CREATE TABLE finished (
    alert    text NOT NULL,
    endpoint text NOT NULL,
    dead     boolean NOT NULL,
    rec      bytea NOT NULL,
    PRIMARY KEY (alert, endpoint)
);

CREATE TABLE digests (
    day text PRIMARY KEY,
    rec bytea NOT NULL
);

-- A day's digest being sent by one worker.
CREATE TABLE digest_claims (
    day    text PRIMARY KEY,
    worker text NOT NULL,
    until  timestamptz NOT NULL
);

CREATE TABLE texts (
    url     text PRIMARY KEY,
    kept_at timestamptz NOT NULL,
    packed  bytea NOT NULL
);
CREATE INDEX texts_kept_at ON texts (kept_at, url);

-- The workers alive: each one refreshes its row while it runs.
CREATE TABLE workers (
    worker     text PRIMARY KEY,
    host       text NOT NULL,
    pid        integer NOT NULL,
    started    timestamptz NOT NULL,
    seen       timestamptz NOT NULL,
    polls      bigint NOT NULL DEFAULT 0,
    entries    bigint NOT NULL DEFAULT 0,
    deliveries bigint NOT NULL DEFAULT 0
);

-- Fails the transaction it runs in unless the session `holder` (a backend pid) holds the judge
-- lease (the advisory lock (key, 1)): a worker that lost the lease mid-pass, its connection
-- cut, cannot commit decisions beside the worker that took the lease over.
CREATE FUNCTION judge_fence(key integer, holder integer) RETURNS void AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND classid = key::oid AND objid = 1 AND objsubid = 2
          AND pid = holder AND granted
    ) THEN
        RAISE EXCEPTION 'this worker no longer holds the judge lease';
    END IF;
END
$$ LANGUAGE plpgsql;
