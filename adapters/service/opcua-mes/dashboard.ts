/**
 * A plain Linesight namespace beside the Machine Vision one, for dashboards (SCADA, Grafana's OPC UA plugin):
 * Objects/<line>/Dashboard/<station>/ with LastVerdict, LastPartId, LastResultId, Recipe, Inspected, Ok, Nok,
 * Rejected, InspectionErrors, Yield (% OK), Faults, Models ("name sha256"), SinkBacklogs ("sink count") and
 * per stage <Stage>P50Ms / <Stage>P99Ms (acquire, infer, total). Every value is read when a client reads or samples
 * it — nothing is written per part, so the frame path pays nothing for dashboards.
 */
import { DataType, Variant, VariantArrayType, type Namespace, type UAObject } from 'node-opcua';
import type { StationPort } from '../../../runtime/adapter.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import type { Stage } from '../../../runtime/timing/latency-recorder.ts';
import { resultIdOf } from './result-event.ts';

export const DASHBOARD_NS_URI = 'urn:linesight:dashboard';

const LATENCY_STAGES: readonly Stage[] = ['acquire', 'infer', 'total'];

type Getter = () => Variant;

export function buildDashboard(ns: Namespace, lineFolder: UAObject, ports: readonly StationPort[]): void {
  const dashboard = ns.addFolder(lineFolder, { browseName: 'Dashboard' });
  for (const port of ports) addStation(ns, dashboard, port);
}

function addStation(ns: Namespace, dashboard: UAObject, port: StationPort): void {
  const { station } = port;
  const node = ns.addObject({ organizedBy: dashboard, browseName: station.name });
  let last: InspectionResult | null = null;
  station.onResult((r) => {
    last = r;
  });
  const c = station.counters;
  const text =
    (get: () => string): Getter =>
    () =>
      new Variant({ dataType: DataType.String, value: get() });
  const count =
    (get: () => number): Getter =>
    () =>
      new Variant({ dataType: DataType.UInt32, value: get() });
  const real =
    (get: () => number): Getter =>
    () =>
      new Variant({ dataType: DataType.Double, value: get() });
  const texts =
    (get: () => string[]): Getter =>
    () =>
      new Variant({ dataType: DataType.String, arrayType: VariantArrayType.Array, value: get() });
  const variables: [string, DataType, Getter, boolean?][] = [
    ['LastVerdict', DataType.String, text(() => last?.verdict ?? '')],
    ['LastPartId', DataType.String, text(() => last?.partId ?? '')],
    ['LastResultId', DataType.String, text(() => (last ? resultIdOf(last) : ''))],
    ['Recipe', DataType.String, text(() => station.recipe.id)],
    ['Inspected', DataType.UInt32, count(() => c.inspected)],
    ['Ok', DataType.UInt32, count(() => c.ok)],
    ['Nok', DataType.UInt32, count(() => c.nok)],
    ['Rejected', DataType.UInt32, count(() => c.rejected)],
    ['InspectionErrors', DataType.UInt32, count(() => c.inspectionErrors)],
    ['Yield', DataType.Double, real(() => (c.inspected === 0 ? 0 : (100 * c.ok) / c.inspected))],
    ['Faults', DataType.String, texts(() => port.health().faults.map((f) => f.fault)), true],
    ['Models', DataType.String, texts(() => station.models.map((m) => `${m.name} ${m.onnx.sha256}`)), true],
    ['SinkBacklogs', DataType.String, texts(() => port.dispatchers.map((d) => `${d.sink.name} ${d.backlog().count}`)), true],
  ];
  for (const stage of LATENCY_STAGES) {
    const name = stage[0]!.toUpperCase() + stage.slice(1);
    variables.push([`${name}P50Ms`, DataType.Double, real(() => station.latency[stage].percentile(50))]);
    variables.push([`${name}P99Ms`, DataType.Double, real(() => station.latency[stage].percentile(99))]);
  }
  for (const [browseName, dataType, get, array] of variables) {
    ns.addVariable({ componentOf: node, browseName, dataType, valueRank: array ? 1 : -1, minimumSamplingInterval: 500, value: { get } });
  }
}
