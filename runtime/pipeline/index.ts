/**
 * The frame path of one station, top to bottom:
 *
 *   trigger (free-run tick | software/PLC)
 *        │                       every-trigger: wait for room (counted)
 *        ▼                       latest-wins:   drop oldest queued frame (counted)
 *   FramePool.acquire() ──► FrameSource.grab(slot)        pixels written in place, no copy after this
 *        │                        │ corrupt → counted, skipped
 *        ▼                        ▼
 *   FrameQueue (bounded) ──► for each model:
 *                               Preprocessor.run(slot → model.input Float32Array)   ROI, resize, normalise
 *                               OnnxModel.run()     session on a worker thread; fills the shared outputs
 *                               decoder.decode()    score, regions | probabilities
 *                            decide()  → verdict + reasons + measurements + defects
 *        │
 *        ▼
 *   ResultRouter.handle():  SQLite (result + outbox rows, one transaction, gap-free sequence)
 *        ├─► OutboxDispatcher per durable sink (Modbus, …): in order, at least once, backoff on failure
 *        └─► best-effort sinks (log)
 *   slot released to the pool
 */
export { Station, StationCounters, type ResultHandler } from './station.ts';
export { inspectFrame, buildResult, frameGeometry, emptyTimings, modelRefs } from './inspect-frame.ts';
export { FrameQueue } from './frame-queue.ts';
