/**
 * Adapter registry: collects the adapters named in adapters/catalog.ts, rejects duplicates, freezes at boot
 * and builds the config unions from the adapters' own schemas (Frigate's detector_types.py in spirit).
 */
import { z } from 'zod';
import { LinesightError } from './errors.ts';
import type { AdapterContext, AdapterDefinition, AdapterKind, FrameSource, LineService, ResultSink, ServiceContext } from './adapter.ts';
import type { AdapterOptions } from './config/schema.ts';

type AnyDefinition = AdapterDefinition<AdapterKind, z.ZodType>;

export class AdapterRegistry {
  private readonly byKey = new Map<string, AnyDefinition>();
  private frozen = false;

  register(def: AnyDefinition): this {
    if (this.frozen)
      throw new LinesightError('LS_ERR_REGISTRY_FROZEN', `cannot register ${def.kind} '${def.type}'`, { kind: def.kind, type: def.type });
    const key = `${def.kind}:${def.type}`;
    if (this.byKey.has(key)) {
      throw new LinesightError('LS_ERR_ADAPTER_DUPLICATE_TYPE', `${def.kind} type '${def.type}' registered twice`, {
        kind: def.kind,
        type: def.type,
      });
    }
    this.byKey.set(key, def);
    return this;
  }

  freeze(): this {
    this.frozen = true;
    return this;
  }

  entries(kind: AdapterKind): AnyDefinition[] {
    return [...this.byKey.values()].filter((d) => d.kind === kind);
  }

  /** The union of the adapters' option schemas for one kind, discriminated by `type`. */
  optionsSchema(kind: AdapterKind): z.ZodType {
    const schemas = this.entries(kind).map((d) => d.schema);
    if (schemas.length === 0) return z.never();
    if (schemas.length === 1) return schemas[0]!;
    return z.discriminatedUnion('type', schemas as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]]);
  }

  createSource(options: AdapterOptions, ctx: AdapterContext): FrameSource {
    return this.lookup('source', options.type).create(options, ctx) as FrameSource;
  }

  createSink(options: AdapterOptions, ctx: AdapterContext): ResultSink {
    return this.lookup('sink', options.type).create(options, ctx) as ResultSink;
  }

  createService(options: AdapterOptions, ctx: ServiceContext): LineService {
    const def = this.lookup('service', options.type) as AdapterDefinition<'service', z.ZodType>;
    return def.create(options, ctx);
  }

  private lookup(kind: AdapterKind, type: string): AnyDefinition {
    const def = this.byKey.get(`${kind}:${type}`);
    if (!def) {
      const known = this.entries(kind)
        .map((d) => d.type)
        .join(', ');
      throw new LinesightError('LS_ERR_ADAPTER_UNKNOWN_TYPE', `no ${kind} adapter '${type}' (known: ${known})`, { kind, type });
    }
    return def;
  }
}
