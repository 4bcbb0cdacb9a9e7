/**
 * One inspection station: acquisition into pooled slots, a bounded queue, then models → decision → result.
 * Acquisition and inspection run as two cooperating loops on the event loop; each model's session runs on its
 * own worker thread (runtime/inference/inference-worker.ts), so while a frame is inferred the event loop keeps
 * acquiring, answering PLC polls and serving other stations.
 *
 * The backpressure policy decides what a full queue means:
 *   every-trigger  a trigger is never dropped: it waits (counted in `backpressure`) until the queue has room;
 *                  in free-run the camera is held instead of queueing ticks without bound.
 *   latest-wins    the oldest queued frame is dropped (counted in `dropped`) so inspection follows the line.
 */
import type { Logger } from 'pino';
import type { FrameSource } from '../frame/frame-source.ts';
import type { StationConfig } from '../config/schema.ts';
import { isLinesightError, LinesightError } from '../errors.ts';
import { FramePool } from '../frame/frame-pool.ts';
import type { FrameSlot } from '../frame/frame-slot.ts';
import type { StationModel } from '../inference/station-model.ts';
import { failedDecision, type Decision } from '../decision/rules.ts';
import type { InspectionResult, JobRef } from '../results/result.ts';
import { buildResult, emptyTimings, frameGeometry, inspectFrame, modelRefs } from './inspect-frame.ts';
import type { ModelRef } from '../results/result.ts';
import { stageRecorders, type Stage, type LatencyRecorder } from '../timing/latency-recorder.ts';
import { FrameQueue } from './frame-queue.ts';
import type { MetrologyStage } from '../metrology/stage.ts';
import type { TriggerOutcome, TriggerRefusal, TriggerRequest, TriggerTarget } from './trigger.ts';
import { FRAME_REJECTED, FrameGate, rejectionCheck } from './frame-gate.ts';

/**
 * Receives each decided result; returns the result delivered, with its sequence — the same one, or its NOK
 * replacement when the store failed under stop-line (runtime/results/router.ts). Never throws for the store.
 */
export interface ResultHandler {
  handle(result: InspectionResult): InspectionResult;
  /**
   * Optional: a fault of the station itself was raised (`active`) or cleared — the camera stopped delivering,
   * inspections fail. Called on transitions only, never per part. The router (runtime/results/router.ts) adds it
   * to the station's health, which sinks and services hear.
   */
  reportFault?(fault: StationSelfFault, active: boolean, detail: string): void;
}

/** Faults the station raises itself (runtime/pipeline/station-health.ts lists every fault). */
export type StationSelfFault = 'camera-lost' | 'inspection-failing';

/** The recipe a station inspects with: its models and metrology, swapped whole between two parts. */
export interface StationRecipe {
  readonly id: string;
  readonly models: readonly StationModel[];
  readonly metrology: MetrologyStage | null;
}

interface ActiveRecipe extends StationRecipe {
  readonly modelRefs: readonly ModelRef[];
}

export class StationCounters {
  triggers = 0;
  acquired = 0;
  corrupt = 0;
  sourceErrors = 0;
  /** latest-wins: frames dropped from a full queue. */
  dropped = 0;
  /** every-trigger: times a trigger had to wait for queue room. */
  backpressure = 0;
  /** No free pool slot at acquisition (sizing problem; the trigger waits like backpressure). */
  poolExhausted = 0;
  /** Triggers refused because the station was not running or had reached maxParts. */
  triggersRefused = 0;
  inspected = 0;
  ok = 0;
  nok = 0;
  inspectionErrors = 0;
  /** Frames the acceptance gate rejected (NOK FRAME_REJECTED), in total and by check (dark, focus, model.input …). */
  rejected = 0;
  readonly rejectedBy: Record<string, number> = {};
}

/** The most memory one station's frame pool may preallocate: a larger one is a configuration mistake. */
export const MAX_FRAME_POOL_BYTES = 4 * 1024 ** 3;

/**
 * The frame pool a station preallocates — the queue, one slot being grabbed and one being inspected, never fewer
 * than `poolSlots` — checked against MAX_FRAME_POOL_BYTES (LS_ERR_CONFIG_INVALID naming the station), so a typo in
 * a frame size is a clear refusal at validate and boot, not a RangeError from a typed array.
 */
export function checkFramePool(
  config: Pick<StationConfig, 'name' | 'poolSlots' | 'backpressure'>,
  source: Pick<FrameSource, 'maxWidth' | 'maxHeight' | 'channels'>,
): { slots: number; slotBytes: number } {
  const slots = Math.max(config.poolSlots, config.backpressure.queueDepth + 2);
  const slotBytes = source.maxWidth * source.maxHeight * source.channels;
  const total = slots * slotBytes;
  if (!(Number.isSafeInteger(slotBytes) && slotBytes > 0 && total <= MAX_FRAME_POOL_BYTES)) {
    const gib = (total / 1024 ** 3).toFixed(1);
    throw new LinesightError(
      'LS_ERR_CONFIG_INVALID',
      `station ${config.name}: its frame pool would take ${slots} slots × ${source.maxWidth}×${source.maxHeight}×${source.channels} bytes = ${gib} GiB, more than the ${MAX_FRAME_POOL_BYTES / 1024 ** 3} GiB limit; lower poolSlots or the frame size`,
      { station: config.name, slots, slotBytes, limit: MAX_FRAME_POOL_BYTES },
    );
  }
  return { slots, slotBytes };
}

export type StationState = 'idle' | 'running' | 'stopping' | 'stopped';

export class Station implements TriggerTarget {
  readonly name: string;
  readonly counters = new StationCounters();
  readonly latency: Record<Stage, LatencyRecorder> = stageRecorders();
  state: StationState = 'idle';
  private readonly config: StationConfig;
  private readonly line: string;
  private readonly source: FrameSource;
  private active: ActiveRecipe;
  private readonly configId: string;
  private simulation = false;
  private halt_ = false;
  /** Free-run rate while acquiring continuously; null while the station waits for triggers. */
  private freeRunFps: number | null;
  /** What each free-run tick stands for: null, or the MES continuous job (StartContinuous) its parts belong to. */
  private tickRequest: TriggerRequest | null = null;
  private readonly changeListeners: (() => void)[] = [];
  private readonly selfFaults = new Set<StationSelfFault>();
  private readonly gate: FrameGate;
  private readonly results: ResultHandler;
  private readonly log: Logger;
  private readonly pool: FramePool;
  private readonly queue: FrameQueue;
  private readonly listeners: ((r: InspectionResult) => void)[] = [];
  private pendingTriggers = 0;
  /** One entry per pending trigger, oldest first: the request, or null for a free-run tick. */
  private readonly pendingRequests: (TriggerRequest | null)[] = [];
  /** The request behind each slot between acquisition and decision (absent for free-run frames). */
  private readonly requestOf = new Map<FrameSlot, TriggerRequest>();
  private grabbing = false;
  private inspecting: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextTickAt = 0;
  private sourceEnded = false;
  private stopRequested: (() => void) | null = null;
  private stopping: Promise<void> | null = null;

  constructor(args: {
    config: StationConfig;
    line: string;
    source: FrameSource;
    models: readonly StationModel[];
    results: ResultHandler;
    log: Logger;
    metrology?: MetrologyStage | null;
    /** The line's configuration id (runtime/config/config-id.ts), recorded with every result. */
    configId?: string;
  }) {
    this.config = args.config;
    this.name = args.config.name;
    this.line = args.line;
    this.source = args.source;
    this.active = activeRecipe({ id: args.config.recipe, models: args.models, metrology: args.metrology ?? null });
    this.configId = args.configId ?? '';
    this.freeRunFps = args.config.trigger.mode === 'free-run' ? args.config.trigger.fps : null;
    this.results = args.results;
    this.log = args.log;
    const { slots, slotBytes } = checkFramePool(args.config, args.source);
    this.pool = new FramePool(slots, slotBytes);
    this.queue = new FrameQueue(args.config.backpressure.queueDepth);
    this.gate = new FrameGate(args.config.acceptance, { width: args.source.maxWidth, height: args.source.maxHeight }, args.config.roi ?? null);
    this.reportGate();
    this.onTick = this.onTick.bind(this);
    this.pump = this.pump.bind(this);
  }

  get triggerMode(): StationConfig['trigger']['mode'] {
    return this.config.trigger.mode;
  }

  onResult(listener: (r: InspectionResult) => void): void {
    this.listeners.push(listener);
  }

  /** Called after every change of state, halt, continuous mode, simulation mode or recipe (not per part). */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  /** The models of the recipe in force. */
  get models(): readonly StationModel[] {
    return this.active.models;
  }

  /** The recipe in force: its id is recorded with every result. */
  get recipe(): StationRecipe {
    return this.active;
  }

  /** Halted by an operator or the MES (OPC 40100 Halt): no acquisition, triggers refused, until resume(). */
  get halted(): boolean {
    return this.halt_;
  }

  /** Acquiring continuously (free-run) rather than waiting for triggers. */
  get continuous(): boolean {
    return this.freeRunFps !== null;
  }

  /** Simulation mode (OPC 40100 SimulationMode): results are marked `simulated`, not production verdicts. */
  get simulated(): boolean {
    return this.simulation;
  }

  async start(): Promise<void> {
    await this.source.open();
    this.state = 'running';
    this.changed();
    this.startTicks();
  }

  /**
   * Inspect with another recipe from the next part on; a part being inspected finishes with the one it started
   * with. Returns the recipe it replaces, which the caller may close once no inspection uses it (`whenIdle`).
   */
  useRecipe(recipe: StationRecipe): StationRecipe {
    const previous = this.active;
    this.active = activeRecipe(recipe);
    this.log.info({ recipe: recipe.id, previous: previous.id, models: recipe.models.map((m) => m.name) }, 'recipe switched');
    this.changed();
    return previous;
  }

  /** Resolves once no part is being inspected (so a replaced recipe's models can close). */
  async whenIdle(): Promise<void> {
    while (this.inspecting) await this.inspecting;
  }

  halt(): void {
    if (this.halt_) return;
    this.halt_ = true;
    this.stopTicks();
    this.log.warn('station halted: acquisition stopped, triggers refused');
    this.changed();
  }

  resume(): void {
    if (!this.halt_) return;
    this.halt_ = false;
    this.log.info('station resumed');
    this.startTicks();
    this.changed();
    this.pump();
  }

  /**
   * Acquire continuously at `fps` (free-run), or with null wait for triggers again. `job` (an MES StartContinuous)
   * is recorded with every part acquired until the next call.
   */
  setContinuous(fps: number | null, job: JobRef | null = null): void {
    this.tickRequest = job === null || fps === null ? null : { partId: null, origin: 'mes', job };
    if (fps === this.freeRunFps) return;
    this.stopTicks();
    this.freeRunFps = fps;
    this.log.info({ fps, job: job?.jobId }, fps === null ? 'continuous acquisition stopped: waiting for triggers' : 'continuous acquisition started');
    this.startTicks();
    this.changed();
  }

  setSimulationMode(on: boolean): void {
    if (on === this.simulation) return;
    this.simulation = on;
    this.log.warn({ simulated: on }, on ? 'simulation mode on: results are marked simulated' : 'simulation mode off');
    this.changed();
  }

  /** Drops the triggers still waiting for a frame (OPC 40100 Abort); their sources hear null. Returns how many. */
  abortPending(): number {
    const dropped = this.pendingRequests.splice(0);
    this.pendingTriggers = 0;
    for (const request of dropped) request?.onDecided?.(null);
    if (dropped.length > 0) this.log.warn({ dropped: dropped.length }, 'pending triggers aborted');
    return dropped.length;
  }

  private startTicks(): void {
    if (this.state !== 'running' || this.halt_ || this.freeRunFps === null || this.timer !== null) return;
    this.nextTickAt = performance.now();
    this.onTick();
  }

  private stopTicks(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private changed(): void {
    for (const l of this.changeListeners) l();
  }

  private setFault(fault: StationSelfFault, active: boolean, detail: string): void {
    if (active === this.selfFaults.has(fault)) return;
    if (active) this.selfFaults.add(fault);
    else this.selfFaults.delete(fault);
    this.results.reportFault?.(fault, active, detail);
    this.changed();
  }

  /**
   * Software, PLC or MES trigger (the Trigger port, ./trigger.ts): one part to acquire. Never dropped under
   * every-trigger; the request's onDecided hears of the part's result, or null when it produced none.
   */
  trigger(request: TriggerRequest): TriggerOutcome {
    if (this.state !== 'running') return this.refuse('not-running');
    if (this.halt_) return this.refuse('halted');
    if (this.reachedMaxParts()) return this.refuse('max-parts');
    this.counters.triggers++;
    this.pendingTriggers++;
    this.pendingRequests.push(request);
    this.pump();
    return { accepted: true };
  }

  private refuse(reason: TriggerRefusal): TriggerOutcome {
    this.counters.triggersRefused++;
    return { accepted: false, reason };
  }

  /** Resolves when the station has inspected everything it acquired (after stop() or a finite source). */
  stop(): Promise<void> {
    this.stopping ??= this.drainAndClose();
    return this.stopping;
  }

  private async drainAndClose(): Promise<void> {
    this.state = 'stopping';
    this.stopTicks();
    this.changed();
    while (this.grabbing || this.inspecting || this.queue.length > 0) {
      await (this.inspecting ?? new Promise((r) => setTimeout(r, 5)));
    }
    // Triggers that never got a frame: their sources learn that no part came of them.
    this.pendingTriggers = 0;
    for (const request of this.pendingRequests.splice(0)) request?.onDecided?.(null);
    await this.source.close();
    this.state = 'stopped';
    this.changed();
    this.stopRequested?.();
  }

  /** Resolves once the station has stopped by itself (maxParts reached or source exhausted) or by stop(). */
  whenStopped(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.stopRequested;
      this.stopRequested = () => {
        prev?.();
        resolve();
      };
    });
  }

  private onTick(): void {
    this.timer = null;
    const fps = this.freeRunFps;
    if (this.state !== 'running' || this.halt_ || fps === null) return;
    this.counters.triggers++;
    if (this.pendingTriggers > 0)
      this.counters.backpressure++; // camera held: the previous tick still waits
    else {
      this.pendingTriggers = 1;
      this.pendingRequests.push(this.tickRequest);
    }
    this.pump();
    // Drift-free schedule: ticks stay on the fps grid even when a callback runs late.
    this.nextTickAt += 1000 / fps;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- bound in the constructor
    this.timer = setTimeout(this.onTick, Math.max(0, this.nextTickAt - performance.now()));
  }

  private pump(): void {
    if (this.grabbing || this.pendingTriggers === 0 || this.sourceEnded || this.state !== 'running' || this.halt_) return;
    if (this.reachedMaxParts()) return;
    if (this.queue.full) {
      if (this.config.backpressure.policy === 'every-trigger') {
        this.counters.backpressure++;
        return; // resumed by the inspection loop when it frees a queue place
      }
      const oldest = this.queue.shift();
      if (oldest) this.release(oldest, null);
      this.counters.dropped++;
    }
    const slot = this.pool.acquire();
    if (!slot) {
      this.counters.poolExhausted++;
      return;
    }
    this.pendingTriggers--;
    const request = this.pendingRequests.shift() ?? null;
    slot.partId = request?.partId ?? null;
    if (request !== null) this.requestOf.set(slot, request);
    slot.triggerMs = performance.now();
    this.grabbing = true;
    this.source.grab(slot).then(
      () => this.grabbed(slot),
      (err: unknown) => this.grabFailed(slot, err),
    );
  }

  private grabbed(slot: FrameSlot): void {
    this.grabbing = false;
    slot.captureMs = performance.now();
    if (slot.captureEpochMs === 0) slot.captureEpochMs = Date.now();
    this.counters.acquired++;
    if (this.selfFaults.size > 0) this.setFault('camera-lost', false, 'the source delivers frames again');
    this.latency.acquire.record(slot.captureMs - slot.triggerMs);
    this.queue.push(slot);
    this.kickInspection();
    this.pump();
  }

  private grabFailed(slot: FrameSlot, err: unknown): void {
    this.grabbing = false;
    this.release(slot, null);
    if (isLinesightError(err, 'LS_ERR_SOURCE_EXHAUSTED')) {
      this.sourceEnded = true;
      this.log.info('source exhausted');
      void this.stop();
      return;
    }
    if (isLinesightError(err, 'LS_ERR_FRAME_CORRUPT') || isLinesightError(err, 'LS_ERR_FRAME_SIZE')) {
      this.counters.corrupt++;
      this.log.warn({ err, corrupt: this.counters.corrupt }, 'corrupt frame counted and skipped');
    } else {
      this.counters.sourceErrors++;
      this.log.error({ err }, 'source failed to deliver a frame');
      this.setFault('camera-lost', true, (err as Error).message);
    }
    // The trigger that produced no frame is not retried: the part has moved on. Keep serving the rest.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- bound in the constructor
    setImmediate(this.pump);
  }

  private kickInspection(): void {
    if (this.inspecting || this.queue.length === 0) return;
    this.inspecting = this.inspectQueued().finally(() => {
      this.inspecting = null;
    });
  }

  private async inspectQueued(): Promise<void> {
    let slot: FrameSlot | null;
    while ((slot = this.queue.shift()) !== null) {
      this.pump(); // a queue place just freed: a held trigger may acquire now, during inference
      await this.inspect(slot);
      if (this.reachedMaxParts() && this.state === 'running' && !this.grabbing && this.queue.length === 0) void this.stop();
      else this.pump();
    }
  }

  private async inspect(slot: FrameSlot): Promise<void> {
    const t = emptyTimings();
    t.acquireMs = slot.captureMs - slot.triggerMs;
    t.queueMs = performance.now() - slot.captureMs;
    const recipe = this.active;
    let decision: Decision;
    try {
      decision = await inspectFrame(recipe.models, slot, frameGeometry(this.config, slot), t, { gate: this.gate, metrology: recipe.metrology });
      if (this.selfFaults.size > 0) this.setFault('inspection-failing', false, 'inspections succeed again');
    } catch (err) {
      this.counters.inspectionErrors++;
      this.log.error({ err, frame: slot.sequence }, 'inspection failed; part is NOK');
      decision = failedDecision(this.name, (err as Error).message);
      this.setFault('inspection-failing', true, (err as Error).message);
    }
    const decidedAt = performance.now();
    t.totalMs = decidedAt - slot.triggerMs;
    // What the sinks were given: with a failing store under stop-line, a NOK STORE_FAILED in its place.
    const origin = {
      line: this.line,
      station: this.name,
      recipe: recipe.id,
      models: recipe.modelRefs,
      configId: this.configId,
      simulated: this.simulation,
      job: this.requestOf.get(slot)?.job ?? null,
    };
    const result = this.results.handle(buildResult(origin, slot, decision, t));
    this.latency.store.record(performance.now() - decidedAt);
    this.account(result);
    this.release(slot, result);
    for (const l of this.listeners) l(result);
  }

  /** Returns the slot to the pool and tells the trigger behind it (if any) what came of it. */
  private release(slot: FrameSlot, result: InspectionResult | null): void {
    const request = this.requestOf.get(slot);
    if (request !== undefined) this.requestOf.delete(slot);
    this.pool.release(slot);
    request?.onDecided?.(result);
  }

  private account(r: InspectionResult): void {
    const c = this.counters;
    c.inspected++;
    if (r.verdict === 'OK') c.ok++;
    else c.nok++;
    const first = r.reasons[0];
    if (first?.code === FRAME_REJECTED) {
      c.rejected++;
      const check = rejectionCheck(first);
      c.rejectedBy[check] = (c.rejectedBy[check] ?? 0) + 1;
    }
    const t = r.timings;
    const l = this.latency;
    l.queue.record(t.queueMs);
    l.gate.record(t.gateMs);
    l.preprocess.record(t.preprocessMs);
    l.infer.record(t.inferMs);
    l.decode.record(t.decodeMs);
    l.decide.record(t.decideMs);
    if (this.active.metrology) l.measure.record(t.measureMs);
    l.total.record(t.totalMs);
  }

  /** Says at boot what the gate will not check, so a line engineer is not surprised by it later. */
  private reportGate(): void {
    const g = this.gate.config;
    if (!g.enabled) {
      this.log.warn('frame-acceptance gate is off (acceptance.enabled: false): blank or broken frames reach the models');
      return;
    }
    if (!g.inDistribution) return;
    const without = this.models.filter((m) => m.onnx.manifest.inputStats === undefined).map((m) => m.name);
    if (without.length > 0) this.log.warn({ models: without }, 'model.yaml has no inputStats: no in-distribution check for these models');
  }

  private reachedMaxParts(): boolean {
    const max = this.config.maxParts;
    return max !== undefined && this.counters.acquired >= max;
  }
}

function activeRecipe(recipe: StationRecipe): ActiveRecipe {
  return { id: recipe.id, models: recipe.models, metrology: recipe.metrology, modelRefs: modelRefs(recipe.models) };
}
