#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader: no build step between a git pull and a running line.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
