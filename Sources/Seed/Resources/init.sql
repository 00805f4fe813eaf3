-- Happening schema (PostgreSQL 15). Re-runnable: applying it twice to the same database is harmless.
--
-- The tables follow the design's ER diagram (users, host_bank_accounts, events, bookings, payments,
-- payouts) with every column it names, plus what the original lacked:
--   * every status is an enum, so a typo can never be stored;
--   * money is NUMERIC(12,2) (exact), never floating point;
--   * CHECK (available_tickets BETWEEN 0 AND total_tickets) is the last line of defence against overselling;
--   * bookings carry the lifecycle the worker needs: a `failed` status with a reason, a hold expiry for
--     pending bookings and an idempotency key unique per user;
--   * a real geospatial GiST index (point bounding box; earthdistance for exact distances) that the near-me query uses, the composite
--     homepage index, and a B-tree index on every foreign key.

CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- ------------------------------------------------------------------ enums
DO $$ BEGIN CREATE TYPE user_role AS ENUM ('user', 'admin');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN CREATE TYPE host_status AS ENUM ('not_requested', 'pending', 'approved', 'rejected');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN CREATE TYPE approval_status AS ENUM ('pending', 'approved', 'rejected');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN CREATE TYPE event_category AS ENUM ('music', 'food', 'sports', 'tech', 'arts', 'health', 'workshop');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN CREATE TYPE booking_status AS ENUM ('pending', 'confirmed', 'cancelled', 'failed');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN CREATE TYPE booking_failure_reason AS ENUM ('sold_out', 'event_unavailable', 'event_past', 'invalid', 'error');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

-- A user asking for more tickets of one event than the per-user cap allows (held and pending together).
ALTER TYPE booking_failure_reason ADD VALUE IF NOT EXISTS 'ticket_limit';

DO $$ BEGIN CREATE TYPE payment_status AS ENUM ('created', 'authorized', 'captured', 'failed', 'refund_pending', 'refunded');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN CREATE TYPE payout_status AS ENUM ('pending', 'processing', 'processed', 'failed', 'reversed');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN CREATE TYPE bank_account_type AS ENUM ('savings', 'current');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

-- ------------------------------------------------------------------ users
CREATE TABLE IF NOT EXISTS users (
    id                     UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email                  TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash          TEXT NOT NULL,
    name                   TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role                   user_role NOT NULL DEFAULT 'user',
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    is_host                BOOLEAN NOT NULL DEFAULT false,
    host_status            host_status NOT NULL DEFAULT 'not_requested',
    host_verification_data JSONB
);
-- Emails are unique case-insensitively.
CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower_key ON users (lower(email));
CREATE INDEX IF NOT EXISTS users_host_status_idx ON users (host_status) WHERE host_status <> 'not_requested';
-- Raised when an account's password or role changes: tokens carry the version they were issued under (`ver`), and
-- the server refuses older ones.
ALTER TABLE users ADD COLUMN IF NOT EXISTS token_version INTEGER NOT NULL DEFAULT 0;

-- ------------------------------------------------------------------ host bank accounts (1-to-1 with users)
CREATE TABLE IF NOT EXISTS host_bank_accounts (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             UUID NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    account_holder_name TEXT NOT NULL,
    account_number      TEXT NOT NULL CHECK (account_number ~ '^[0-9]{9,18}$'),
    ifsc_code           TEXT NOT NULL CHECK (ifsc_code ~ '^[A-Z]{4}0[A-Z0-9]{6}$'),
    bank_name           TEXT NOT NULL,
    account_type        bank_account_type NOT NULL DEFAULT 'savings',
    is_verified         BOOLEAN NOT NULL DEFAULT false,
    verified_at         TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    is_payout_eligible  BOOLEAN NOT NULL DEFAULT false,
    CHECK (NOT is_payout_eligible OR is_verified)
);

-- ------------------------------------------------------------------ events
CREATE TABLE IF NOT EXISTS events (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    created_by        UUID REFERENCES users (id) ON DELETE SET NULL,
    title             TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description       TEXT,
    date_time         TIMESTAMPTZ NOT NULL,
    venue             TEXT NOT NULL CHECK (length(venue) BETWEEN 1 AND 300),
    total_tickets     INTEGER NOT NULL CHECK (total_tickets > 0),
    available_tickets INTEGER NOT NULL,
    price             NUMERIC(12, 2) NOT NULL CHECK (price >= 0),
    category          event_category NOT NULL,
    image_url         TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    is_cancelled      BOOLEAN NOT NULL DEFAULT false,
    approval_status   approval_status NOT NULL DEFAULT 'pending',
    admin_notes       TEXT,
    approved_by       UUID REFERENCES users (id) ON DELETE SET NULL,
    approved_at       TIMESTAMPTZ,
    latitude          NUMERIC(9, 6) CHECK (latitude BETWEEN -90 AND 90),
    longitude         NUMERIC(9, 6) CHECK (longitude BETWEEN -180 AND 180),
    -- The last line of defence against overselling: no code path can sell a ticket that does not exist.
    CONSTRAINT events_available_tickets_check CHECK (available_tickets BETWEEN 0 AND total_tickets),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
-- Tickets left are published to Redis (event:<id>:available) by whoever changes them, stamped with this version, so
-- publishers racing each other cannot leave an older value behind. Raised by the trigger below in the statement
-- that changes available_tickets, under the row's lock: for one event a later commit always has a higher version.
-- Microseconds of the clock (or one more than before), so a database reset never reuses a version Redis still holds.
ALTER TABLE events ADD COLUMN IF NOT EXISTS availability_version BIGINT NOT NULL DEFAULT 0;
-- New rows start at the clock too (set apart from ADD COLUMN, so adding it never rewrites the table).
ALTER TABLE events ALTER COLUMN availability_version SET DEFAULT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
CREATE OR REPLACE FUNCTION events_raise_availability_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.availability_version := greatest(OLD.availability_version + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER events_availability_version BEFORE UPDATE OF available_tickets ON events
    FOR EACH ROW WHEN (NEW.available_tickets IS DISTINCT FROM OLD.available_tickets)
    EXECUTE FUNCTION events_raise_availability_version();
-- Near-me search: GiST over the (longitude, latitude) point, queried with a bounding box
-- `point(longitude::float8, latitude::float8) <@ box(...)` that encloses the search circle; the exact cut and the
-- ordering use earth_distance. Point GiST indexes are built by sorting (PostgreSQL 14+): 1,000,000 events index in
-- about 2 s, where a GiST over ll_to_earth (cube, no sorted build) took 20-32 s on the same machine.
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'events_location_gist_idx' AND indexdef LIKE '%ll_to_earth%') THEN
        DROP INDEX events_location_gist_idx;
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS events_location_gist_idx ON events USING gist (point(longitude::float8, latitude::float8));
-- Homepage: approved, not cancelled, upcoming, ordered by date.
CREATE INDEX IF NOT EXISTS events_homepage_idx ON events (approval_status, is_cancelled, date_time);
-- Text search is a substring match (`ILIKE '%word%'`: "biry" finds biryani), which full-text search cannot answer
-- (it matches whole lexemes); trigram GIN indexes can, for patterns of three characters or more. Used when the
-- words are rare; common words are found faster walking the homepage index in date order (EventRepository).
CREATE INDEX IF NOT EXISTS events_title_trgm_idx ON events USING gin (title gin_trgm_ops);
CREATE INDEX IF NOT EXISTS events_description_trgm_idx ON events USING gin (description gin_trgm_ops);
CREATE INDEX IF NOT EXISTS events_created_by_idx ON events (created_by);
CREATE INDEX IF NOT EXISTS events_approved_by_idx ON events (approved_by);

-- ------------------------------------------------------------------ bookings
CREATE TABLE IF NOT EXISTS bookings (
    -- The id is chosen by the API before the job is queued, so a redelivered job is recognised by it.
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- NULL only for a failed booking whose event does not exist (reason `invalid`).
    event_id         UUID REFERENCES events (id) ON DELETE CASCADE,
    booking_date     TIMESTAMPTZ NOT NULL DEFAULT now(),
    ticket_count     INTEGER NOT NULL CHECK (ticket_count > 0),
    total_amount     NUMERIC(12, 2) NOT NULL CHECK (total_amount >= 0),
    status           booking_status NOT NULL DEFAULT 'pending',
    failure_reason   booking_failure_reason,
    hold_expires_at  TIMESTAMPTZ,
    idempotency_key  TEXT CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((status = 'failed') = (failure_reason IS NOT NULL)),
    CHECK (status <> 'pending' OR hold_expires_at IS NOT NULL),
    CONSTRAINT bookings_event_required CHECK (event_id IS NOT NULL OR status = 'failed')
);
-- Databases created before event_id became optional for failed bookings.
ALTER TABLE bookings ALTER COLUMN event_id DROP NOT NULL;
DO $$ BEGIN
    ALTER TABLE bookings ADD CONSTRAINT bookings_event_required CHECK (event_id IS NOT NULL OR status = 'failed');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE INDEX IF NOT EXISTS bookings_user_id_idx ON bookings (user_id);
CREATE INDEX IF NOT EXISTS bookings_event_id_idx ON bookings (event_id);
CREATE UNIQUE INDEX IF NOT EXISTS bookings_user_idempotency_key ON bookings (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- The hold sweeper reads only pending bookings whose hold has passed.
CREATE INDEX IF NOT EXISTS bookings_pending_hold_idx ON bookings (hold_expires_at) WHERE status = 'pending';

-- ------------------------------------------------------------------ payments (1-to-1 with bookings)
CREATE TABLE IF NOT EXISTS payments (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    booking_id          UUID NOT NULL UNIQUE REFERENCES bookings (id) ON DELETE CASCADE,
    -- The Razorpay order id (the original reused this column for the payment id; we keep them apart).
    payment_intent_id   TEXT NOT NULL UNIQUE,
    razorpay_payment_id TEXT UNIQUE,
    amount              NUMERIC(12, 2) NOT NULL CHECK (amount >= 0),
    currency            CHAR(3) NOT NULL DEFAULT 'INR',
    status              payment_status NOT NULL DEFAULT 'created',
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    refund_id           TEXT UNIQUE
);
-- One row per Razorpay order (a booking can have several: a new order once the old one expired, or a second
-- payment that must be refunded). `status` is the payment's state only; the refund has its own columns, so
-- "captured and refund pending" is two facts, never one overwritten status.
DO $$ BEGIN CREATE TYPE refund_state AS ENUM ('pending', 'processed', 'failed');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_booking_id_key;
ALTER TABLE payments ADD COLUMN IF NOT EXISTS refund_status refund_state;
ALTER TABLE payments ADD COLUMN IF NOT EXISTS refund_amount NUMERIC(12, 2) CHECK (refund_amount > 0);
-- Refund attempts made (the refund receipt is `rf_<payment id>_<attempt>`, so a retry after a lost answer is idempotent).
ALTER TABLE payments ADD COLUMN IF NOT EXISTS refund_attempts INTEGER NOT NULL DEFAULT 0;
DO $$ BEGIN
    -- Refund states live in refund_status; these two enum values are legacy and never stored.
    ALTER TABLE payments ADD CONSTRAINT payments_status_is_payment_state CHECK (status NOT IN ('refund_pending', 'refunded'));
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    ALTER TABLE payments ADD CONSTRAINT payments_refund_needs_capture
        CHECK (refund_status IS NULL OR (status = 'captured' AND refund_amount IS NOT NULL AND razorpay_payment_id IS NOT NULL));
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE INDEX IF NOT EXISTS payments_booking_id_idx ON payments (booking_id);
-- A second payment on an order already captured (a double debit) is a row of its own, refunded on its own: the
-- order's own row (extra_capture false, one per order) is never overwritten.
ALTER TABLE payments ADD COLUMN IF NOT EXISTS extra_capture BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_payment_intent_id_key;
CREATE UNIQUE INDEX IF NOT EXISTS payments_order_key ON payments (payment_intent_id) WHERE NOT extra_capture;
DO $$ BEGIN
    ALTER TABLE payments ADD CONSTRAINT payments_extra_capture_refunded CHECK (NOT extra_capture OR refund_status IS NOT NULL);
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

-- At most one kept (captured, not refunded) payment per booking: a second capture must be refunded.
CREATE UNIQUE INDEX IF NOT EXISTS payments_one_kept_capture ON payments (booking_id) WHERE status = 'captured' AND refund_status IS NULL;
-- The reconcile pass reads open refunds and unsettled orders only.
CREATE INDEX IF NOT EXISTS payments_open_refund_idx ON payments (updated_at) WHERE refund_status IN ('pending', 'failed');
DROP INDEX IF EXISTS payments_open_order_idx;
CREATE INDEX IF NOT EXISTS payments_open_order_updated_idx ON payments (updated_at) WHERE status = 'created';

-- ------------------------------------------------------------------ event cancellations (a resumable job per event)
-- Cancelling an event refunds every confirmed booking in batches, never in one transaction holding locks
-- across gateway calls; this row is the job's state, and `lease_until` keeps two runners off the same event.
CREATE TABLE IF NOT EXISTS event_cancellations (
    event_id       UUID PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    requested_by   UUID REFERENCES users (id) ON DELETE SET NULL,
    status         TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
    requested_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at    TIMESTAMPTZ,
    lease_until    TIMESTAMPTZ,
    CHECK ((status = 'done') = (finished_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS event_cancellations_requested_by_idx ON event_cancellations (requested_by);
CREATE INDEX IF NOT EXISTS event_cancellations_running_idx ON event_cancellations (requested_at) WHERE status = 'running';

-- ------------------------------------------------------------------ webhook events (idempotency per Razorpay event id)
CREATE TABLE IF NOT EXISTS webhook_events (
    event_id     TEXT PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 100),
    event        TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at TIMESTAMPTZ
);

-- ------------------------------------------------------------------ payouts (one live payout per event)
CREATE TABLE IF NOT EXISTS payouts (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    host_id            UUID NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    event_id           UUID NOT NULL REFERENCES events (id) ON DELETE RESTRICT,
    amount             NUMERIC(12, 2) NOT NULL CHECK (amount >= 0),
    razorpay_payout_id TEXT UNIQUE,
    status             payout_status NOT NULL DEFAULT 'pending',
    failure_reason     TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at       TIMESTAMPTZ,
    notes              TEXT
);
-- The payout's arithmetic, kept with it: gross (captured) - refunded - platform fee = amount. Computed by the
-- server, never typed by an admin.
ALTER TABLE payouts ADD COLUMN IF NOT EXISTS gross_amount NUMERIC(12, 2);
ALTER TABLE payouts ADD COLUMN IF NOT EXISTS refunded_amount NUMERIC(12, 2);
ALTER TABLE payouts ADD COLUMN IF NOT EXISTS fee_amount NUMERIC(12, 2);
ALTER TABLE payouts ADD COLUMN IF NOT EXISTS created_by UUID REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE payouts ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT now();
CREATE INDEX IF NOT EXISTS payouts_created_by_idx ON payouts (created_by);
CREATE INDEX IF NOT EXISTS payouts_open_idx ON payouts (updated_at) WHERE status IN ('pending', 'processing');
CREATE INDEX IF NOT EXISTS payouts_host_id_idx ON payouts (host_id);
CREATE INDEX IF NOT EXISTS payouts_status_idx ON payouts (status);
-- One live payout per event (pending, processing or processed); a failed or reversed one leaves room for a new attempt.
ALTER TABLE payouts DROP CONSTRAINT IF EXISTS payouts_event_id_key;
CREATE UNIQUE INDEX IF NOT EXISTS payouts_one_live_per_event ON payouts (event_id) WHERE status IN ('pending', 'processing', 'processed');
CREATE INDEX IF NOT EXISTS payouts_event_id_idx ON payouts (event_id);
