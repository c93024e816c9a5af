// Builds the committed bundle in ../dist:
// - runtime.js: React + React Flow + the editor, with its CSS inlined as text (the canvas lives in
//   a shadow root that page styles cannot reach, so it adds its own <style>);
// - loader.js: the canvas component's tiny module, which waits for the runtime and mounts.
// Usage: node build.mjs [--outdir DIR]   (tests build into a temp dir and compare)
import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

// Streamlit treats a js= string without a line break as a file path, so each file starts
// with a banner line.
const BANNER = '/* LayerLoom graph canvas, built by ui/canvas/frontend/build.mjs; do not edit. */\n';
const here = path.dirname(fileURLToPath(import.meta.url));
const flag = process.argv.indexOf('--outdir');
const outdir = flag === -1 ? path.join(here, '..', 'dist') : path.resolve(process.argv[flag + 1]);

async function minifiedCss() {
  const css = [
    await readFile(path.join(here, 'node_modules', '@xyflow', 'react', 'dist', 'style.css'), 'utf8'),
    await readFile(path.join(here, 'src', 'styles.css'), 'utf8'),
  ].join('\n');
  return (await esbuild.transform(css, { loader: 'css', minify: true })).code;
}

// `import css from 'layerloom:canvas.css'` resolves to React Flow's styles + ours, minified.
const cssModule = (css) => ({
  name: 'layerloom-css',
  setup(build) {
    build.onResolve({ filter: /^layerloom:canvas\.css$/ }, (args) => ({ path: args.path, namespace: 'll-css' }));
    build.onLoad({ filter: /.*/, namespace: 'll-css' }, () => ({ contents: css, loader: 'text' }));
  },
});

await mkdir(outdir, { recursive: true });
const css = await minifiedCss();
await esbuild.build({
  entryPoints: { runtime: path.join(here, 'src', 'index.jsx'), loader: path.join(here, 'src', 'loader.js') },
  outdir,
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2020',
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'eof',
  banner: { js: BANNER },
  plugins: [cssModule(css)],
  logLevel: 'warning',
});
