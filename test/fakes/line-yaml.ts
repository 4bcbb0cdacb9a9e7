/** The smallest valid line YAML the config tests start from (one software-triggered synthetic station). */
export const MINIMAL_LINE_YAML = `line: l1
store: { path: results.sqlite }
stations:
  - name: st-1
    recipe: r
    source: { type: synthetic, scene: surface }
    trigger: { mode: software }
    models:
      - manifest: m/model.yaml
`;

/**
 * A free-running synthetic surface station on the shipped surface model (20 parts/s) with one Modbus client sink
 * on `plcPort`, and the simulated PLC on that port when `simulatedPlc` is set: the `run` tests' line.
 */
export function freeRunLineYaml(o: { line: string; store: string; plcPort: number; simulatedPlc: boolean; surfaceModel: string }): string {
  return `line: ${o.line}
store: { path: ${o.store} }
${o.simulatedPlc ? `simulatedPlc: { port: ${o.plcPort} }\n` : ''}stations:
  - name: surface
    recipe: r1
    source: { type: synthetic, scene: surface, seed: 5, defectRate: 0.5 }
    trigger: { mode: free-run, fps: 20 }
    models: [{ manifest: ${o.surfaceModel} }]
    sinks:
      - { type: modbus, port: ${o.plcPort}, baseAddress: 100, reasonCodes: [SURFACE_ANOMALY] }
`;
}
