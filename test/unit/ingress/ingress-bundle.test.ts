import { join } from 'node:path';
import { build } from 'esbuild';
import { bundleOptions } from '../../../local/build';

/**
 * The ingress bundle, built as `npm run build` builds it: it carries what verifying, filtering and enqueueing need, and
 * neither the RE2 engine nor the schemas of what only the worker reads. Schemas it does not bundle are schemas it
 * cannot refuse deliveries over.
 */
const root = join(__dirname, '..', '..', '..');
let inputs: string[];
let code: string;

beforeAll(async () => {
  const result = await build({
    ...bundleOptions(join(root, 'functions', 'ingress.ts'), join(root, 'dist', 'ingress', 'index.js')),
    write: false,
    sourcemap: false,
    metafile: true,
  });
  inputs = Object.keys(result.metafile.inputs);
  code = result.outputFiles.map((file) => file.text).join('\n');
}, 60_000);

describe('the ingress bundle', () => {
  it('holds no RE2 engine: rule patterns are only for the worker and synth', () => {
    expect(inputs.filter((input) => input.includes('node_modules/re2js/') || input.endsWith('config/rule-patterns.ts'))).toEqual([]);
  });

  it("holds only the filters of AGENT_CONFIG, not the worker's policy", () => {
    expect(inputs.some((input) => input.endsWith('config/filters-config.ts'))).toBe(true);
    expect(inputs.filter((input) => input.endsWith('config/agent-config.ts'))).toEqual([]);
    expect(code).not.toContain('holdMinConfidence');
    expect(code).not.toContain('sharedSeconds');
  });

  it('holds only the signing secrets of a credentials document, not its credentials schema', () => {
    expect(inputs.filter((input) => input.endsWith('secrets/agent-secret.ts') || input.endsWith('secrets/secret-source.ts'))).toEqual([]);
    expect(code).not.toContain('fromEmail');
  });
});
