#!/usr/bin/env node
// The `linesight` command. Node ≥ 22.18 runs the TypeScript sources as they are (type stripping: the sources use
// erasable syntax only, tsconfig's erasableSyntaxOnly); on older Node (20, for development) tsx's loader, a dev
// dependency, compiles them on the fly. No build step between a git pull and a running line.
if (!process.features.typescript) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import('../cli/main.ts');
