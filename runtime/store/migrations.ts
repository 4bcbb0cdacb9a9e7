/**
 * Ordered schema migrations for the result store. Entry i takes the database from `PRAGMA user_version` i to
 * i + 1. Append only: a shipped entry is never edited, because stations in the field already ran it.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: results and the per-sink outbox.
  `
  CREATE TABLE results (
    id                INTEGER PRIMARY KEY,
    line              TEXT    NOT NULL,
    station           TEXT    NOT NULL,
    sequence          INTEGER NOT NULL,
    part_id           TEXT,
    recipe            TEXT    NOT NULL,
    frame_sequence    INTEGER NOT NULL,
    verdict           TEXT    NOT NULL CHECK (verdict IN ('OK', 'NOK')),
    reasons_json      TEXT    NOT NULL,
    measurements_json TEXT    NOT NULL,
    defects_json      TEXT    NOT NULL,
    models_json       TEXT    NOT NULL,
    timings_json      TEXT    NOT NULL,
    captured_at       TEXT    NOT NULL,
    decided_at        TEXT    NOT NULL,
    UNIQUE (line, station, sequence)
  );
  -- The CLI lists a station's latest results.
  CREATE INDEX results_station_id ON results (station, id);

  CREATE TABLE outbox (
    result_id    INTEGER NOT NULL REFERENCES results (id),
    sink         TEXT    NOT NULL,
    delivered_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    PRIMARY KEY (sink, result_id)
  ) WITHOUT ROWID;
  -- Keeps "next pending for this sink" cheap however many delivered rows pile up.
  CREATE INDEX outbox_pending ON outbox (sink, result_id) WHERE delivered_at IS NULL;
  `,
  // 2: retention (runtime/store/retention.ts) finds a result's outbox rows by result_id: the "still owed?" check,
  // the delete of its outbox rows, and the foreign-key check when the result row is deleted (without this index
  // each deleted result would scan the whole outbox).
  `
  CREATE INDEX outbox_result ON outbox (result_id);
  `,
];
