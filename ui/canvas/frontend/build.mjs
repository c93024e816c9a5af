// Builds the committed bundle: ../dist/canvas.js (one ES module: React + React Flow + our code)
// and ../dist/canvas.css (React Flow's styles + ours, handed to Streamlit's css= because the
// component lives in a shadow root that page styles cannot reach).
// Usage: node build.mjs [--outdir DIR]   (tests build into a temp dir and compare)
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

// Streamlit treats a js=/css= string without a line break as a file path, so each file starts
// with a banner line.
const BANNER = '/* LayerLoom graph canvas, built by ui/canvas/frontend/build.mjs; do not edit. */\n';
const here = path.dirname(fileURLToPath(import.meta.url));
const flag = process.argv.indexOf('--outdir');
const outdir = flag === -1 ? path.join(here, '..', 'dist') : path.resolve(process.argv[flag + 1]);

await mkdir(outdir, { recursive: true });
await esbuild.build({
  entryPoints: [path.join(here, 'src', 'index.jsx')],
  outfile: path.join(outdir, 'canvas.js'),
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2020',
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'eof',
  banner: { js: BANNER },
  logLevel: 'warning',
});

const css = [
  await readFile(path.join(here, 'node_modules', '@xyflow', 'react', 'dist', 'style.css'), 'utf8'),
  await readFile(path.join(here, 'src', 'styles.css'), 'utf8'),
].join('\n');
const { code } = await esbuild.transform(css, { loader: 'css', minify: true });
await writeFile(path.join(outdir, 'canvas.css'), BANNER + code);
