#!/usr/bin/env node
// npm `bin` shim: run the TypeScript CLI through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
await import('./cti-ingest.ts');
