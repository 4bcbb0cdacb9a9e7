/**
 * The house rules of docs/architecture.md, checked by `npm run lint:deps` (dependency-cruiser) in .ci/run.
 * Rooms, lowest first: runtime ← calibration ← sim ← adapters ← training ← cli; bench and test may use anything.
 * Type-only imports count (tsPreCompilationDeps): a type is a dependency too.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one: break it by moving the shared part down a room.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'runtime-depends-on-nothing-of-ours',
      severity: 'error',
      comment: 'The daemon core (runtime/) imports no other folder of this repository; adapters reach it through the registry.',
      from: { path: '^runtime/' },
      to: { path: '^(adapters|sim|training|models|calibration|cli|bench|test|bin)/' },
    },
    {
      name: 'calibration-on-runtime-only',
      severity: 'error',
      comment: 'Calibration-making code uses the runtime calibration model and metrology, nothing else of ours.',
      from: { path: '^calibration/' },
      to: { path: '^(adapters|sim|training|models|cli|bench|test|bin)/' },
    },
    {
      name: 'sim-below-adapters',
      severity: 'error',
      comment: 'The simulated plant stands on runtime (and calibration for its board views); the adapters, tools and tests use it.',
      from: { path: '^sim/' },
      to: { path: '^(adapters|training|models|cli|bench|test|bin)/' },
    },
    {
      name: 'adapters-on-core-shared-and-sim',
      severity: 'error',
      comment: 'An adapter uses the core, adapters/shared and the simulated plant; never the tools, the CLI or tests.',
      from: { path: '^adapters/' },
      to: { path: '^(training|models|calibration|cli|bench|test|bin)/' },
    },
    {
      name: 'adapters-shared-on-core-only',
      severity: 'error',
      comment: "adapters/shared is the adapters' common library: it knows no particular adapter.",
      from: { path: '^adapters/shared/' },
      to: { path: '^(adapters/(source|sink|service)|sim)/' },
    },
    {
      name: 'no-adapter-imports-another',
      severity: 'error',
      comment: 'One folder per adapter (adapters/<kind>/<type>/): share code through adapters/shared, not sideways.',
      from: { path: '^adapters/(source|sink|service)/([^/]+)/' },
      to: { path: '^adapters/(source|sink|service)/', pathNot: '^adapters/$1/$2/' },
    },
    {
      name: 'only-the-catalog-lists-adapters',
      severity: 'error',
      comment: 'Adapters are reached through adapters/catalog.ts and the registry; only the composition root (cli/) and tests import the catalog.',
      from: { pathNot: '^(adapters/catalog\\.ts|cli/|test/|bench/)' },
      to: { path: '^adapters/catalog\\.ts$' },
    },
    {
      name: 'training-not-in-the-daemon',
      severity: 'error',
      comment: 'Model-making code is for tools (cli train/eval, scripts, tests), never for the adapters or the core.',
      from: { path: '^training/' },
      to: { path: '^(adapters|cli|bench|test|bin)/' },
    },
    {
      name: 'models-are-artefacts',
      severity: 'error',
      comment: 'models/<name>/ holds shipped artefacts (manifest, ONNX, golden files, card), no code.',
      from: { path: '^models/' },
      to: {},
    },
    {
      name: 'no-test-or-bench-in-product',
      severity: 'error',
      comment: 'Nothing that ships imports test/ or bench/.',
      from: { pathNot: '^(test|bench)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'cli-main-loads-commands-lazily',
      severity: 'error',
      comment: 'cli/main.ts imports each command with import() only, so `linesight run` never loads the trainers.',
      from: { path: '^cli/main\\.ts$' },
      to: { path: '^cli/commands/', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'run-never-loads-trainers',
      severity: 'error',
      comment: 'The daemon (linesight run) must not reach model-making or calibration-making code, even through a chain.',
      from: { path: '^cli/commands/run\\.ts$' },
      to: { path: '^(training|calibration)/', reachable: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.json'],
      conditionNames: ['import', 'require', 'node', 'default'],
      exportsFields: ['exports'],
    },
  },
};
