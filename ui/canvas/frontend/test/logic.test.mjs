// The editor's pure logic (graph edits, ports, layout, typed-in values), run with `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ops from '../src/graphOps.js';
import { autoLayout } from '../src/autoLayout.js';
import { parseParam } from '../src/parseParam.js';

const LINEAR = { type: 'Linear', ports: ['input'], params: [
  { name: 'in_features', kind: 'int', default: null, inferred: true },
  { name: 'out_features', kind: 'int', default: null, min: 1 },
  { name: 'bias', kind: 'bool', default: true },
] };
const ADD = { type: 'Add', ports: ['inputs'], min_inputs: 2, variadic: true, params: [] };
const ATTENTION = { type: 'MultiheadAttention', ports: ['query', 'key', 'value'], params: [] };

function chain() {
  return ops.normaliseGraph({
    nodes: [{ id: 'x', type: 'Input' }, { id: 'fc', type: 'Linear', params: { out_features: 4 } }],
    edges: [{ source: 'x', target: 'fc' }],
    layout: { x: { x: 0, y: 0 }, fc: { x: 300, y: 0 } },
  });
}

test('a new layer gets a free id, its non-inferred defaults, and an edge from the selection', () => {
  const graph = chain();
  const { graph: next, id } = ops.addNode(ops.addNode(graph, LINEAR, { x: 1.4, y: 2.6 }).graph, LINEAR,
    { x: 0, y: 0 }, 'fc');
  assert.equal(id, 'linear_2');
  assert.deepEqual(next.nodes.at(-1).params, { bias: true });
  assert.deepEqual(next.edges.at(-1), { source: 'fc', target: 'linear_2', port: 0 });
  assert.deepEqual(next.layout.linear_1, { x: 1, y: 3 });
  assert.equal(graph.nodes.length, 2, 'the original graph is untouched (it lives in the undo history)');
});

test('connecting into an occupied port replaces its edge; a self-loop is refused', () => {
  let graph = ops.addNode(chain(), ADD, { x: 0, y: 0 }).graph;
  graph = ops.connect(graph, 'x', 'add_1', 1);
  graph = ops.connect(graph, 'fc', 'add_1', 1);
  assert.deepEqual(graph.edges.filter((e) => e.target === 'add_1'), [{ source: 'fc', target: 'add_1', port: 1 }]);
  assert.equal(ops.connect(graph, 'fc', 'fc', 0), graph);
});

test('removing a node removes its edges and position', () => {
  const graph = ops.removeElements(chain(), ['x'], []);
  assert.deepEqual(graph.nodes.map((n) => n.id), ['fc']);
  assert.deepEqual(graph.edges, []);
  assert.deepEqual(Object.keys(graph.layout), ['fc']);
});

test('ports: one handle per named port; variadic nodes offer one free port more', () => {
  assert.deepEqual(ops.inputPorts(ATTENTION, 'a', []).map((p) => p.label), ['query', 'key', 'value']);
  assert.deepEqual(ops.inputPorts(LINEAR, 'fc', []), [{ index: 0, label: '' }]);
  assert.equal(ops.inputPorts(ADD, 'add', []).length, 2);
  const edges = [{ source: 'a', target: 'add', port: 0 }, { source: 'b', target: 'add', port: 1 }];
  assert.equal(ops.inputPorts(ADD, 'add', edges).length, 3);
});

test('setting a parameter to undefined removes it, so the default applies again', () => {
  const graph = ops.setParam(chain(), 'fc', 'out_features', undefined);
  assert.deepEqual(graph.nodes[1].params, {});
});

test('auto-layout puts each node one row below its deepest input, even in a cycle', () => {
  const graph = ops.normaliseGraph({
    nodes: [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'loop1' }, { id: 'loop2' }],
    edges: [{ source: 'a', target: 'b' }, { source: 'b', target: 'c' }, { source: 'a', target: 'c' },
      { source: 'loop1', target: 'loop2' }, { source: 'loop2', target: 'loop1' }],
  });
  const at = autoLayout(graph);
  assert.deepEqual([at.a.y, at.b.y, at.c.y], [0, 84, 168]);
  assert.equal(at.loop1.y, 252);
  assert.equal(at.a.x, at.c.x, 'a chain is one straight column');
  assert.deepEqual(Object.keys(autoLayout(graph, undefined, ['c'])), ['c']);
});

test('a chain too tall for the pane wraps into side-by-side bands that fit it larger', () => {
  const ids = Array.from({ length: 14 }, (_, i) => `n${i}`);
  const graph = ops.normaliseGraph({
    nodes: ids.map((id) => ({ id })),
    edges: ids.slice(1).map((id, i) => ({ source: ids[i], target: id })),
  });
  const tall = autoLayout(graph);
  assert.equal(new Set(Object.values(tall).map((p) => p.x)).size, 1, 'no pane: one band');
  const wide = autoLayout(graph, undefined, null, { width: 560, height: 560 });
  const columns = [...new Set(Object.values(wide).map((p) => p.x))];
  assert.equal(columns.length, 2);
  assert.deepEqual([wide.n6.x, wide.n7.x, wide.n7.y], [columns[0], columns[1], 0], 'n7 starts the second band');
  const bottom = Math.max(...Object.values(wide).map((p) => p.y)) + 44;
  assert.ok(bottom <= 560, `the bands fit the pane's height at zoom 1 (bottom ${bottom})`);
});

test('typed values are checked against the parameter before anything is sent', () => {
  const out = LINEAR.params[1];
  assert.deepEqual(parseParam(out, ' 64 '), { value: 64 });
  assert.deepEqual(parseParam(out, ''), { value: undefined });
  assert.equal(parseParam(out, '0').error, 'out_features must be at least 1');
  assert.equal(parseParam(out, '2.5').error, 'out_features must be a whole number');
  assert.equal(parseParam(out, 'lots').error, 'out_features must be a number');
  const shape = { name: 'shape', kind: 'shape' };
  assert.deepEqual(parseParam(shape, '(1, 28, 28)'), { value: [1, 28, 28] });
  assert.match(parseParam(shape, '1, x').error, /whole numbers separated by commas/);
  const padding = { name: 'padding', kind: 'ints', choices: ['same', 'valid'] };
  assert.deepEqual(parseParam(padding, 'same'), { value: 'same' });
  assert.deepEqual(parseParam(padding, '2'), { value: 2 });
});
