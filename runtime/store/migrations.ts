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
  // 3: the MES job behind a part (OPC 40100 JobId, MeasId, ProductId, ExternalRecipeId; all NULL for a part no
  // job started), the configuration hash it was judged under and the simulation flag. Rows written before keep
  // the defaults: no job, configuration '' (unknown), not simulated.
  `
  ALTER TABLE results ADD COLUMN job_id TEXT;
  ALTER TABLE results ADD COLUMN meas_id TEXT;
  ALTER TABLE results ADD COLUMN product_id TEXT;
  ALTER TABLE results ADD COLUMN external_recipe_id TEXT;
  ALTER TABLE results ADD COLUMN config_id TEXT NOT NULL DEFAULT '';
  ALTER TABLE results ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0 CHECK (simulated IN (0, 1));
  -- The MES asks for a station's results by PartId, JobId or MeasId, oldest first (GetResultListFiltered).
  -- Partial, so a part without that id (free-run, no MES job) costs nothing; a query "x = ?" implies x IS NOT
  -- NULL, so SQLite uses them. Figures behind the choice: docs/store.md (Indexes).
  CREATE INDEX results_part ON results (line, station, part_id, sequence) WHERE part_id IS NOT NULL;
  CREATE INDEX results_job ON results (line, station, job_id, sequence) WHERE job_id IS NOT NULL;
  CREATE INDEX results_meas ON results (line, station, meas_id, sequence) WHERE meas_id IS NOT NULL;
  -- ResultState Failed (a result with an INSPECTION_ERROR reason): only those rows are in it. listResults adds
  -- this exact term to such a query (sqlite-store.ts, FAILED_TERM); its json_each check stays the exact one.
  CREATE INDEX results_failed ON results (line, station, sequence)
    WHERE instr(reasons_json, '"code":"INSPECTION_ERROR"') > 0;
  `,
];
