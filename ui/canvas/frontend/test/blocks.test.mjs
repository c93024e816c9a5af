// Blocks on the canvas (blockView.js): palette entries from definitions, the opened block as a
// graph of its own, and edits inside written back to the definition every use shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ops from '../src/graphOps.js';
import { blockSpecs, freeBlockName, placeProblems, usePrefix, usesOf, viewOf, withView } from '../src/blockView.js';

function resnet() {
  return ops.normaliseGraph({
    version: 2,
    blocks: { BasicBlock: {
      params: { channels: 16, scale: 0.5 },
      nodes: [{ id: 'x', type: 'Input', params: {} }, { id: 'conv1', type: 'Conv2d', params: { out_channels: '$channels' } }],
      edges: [{ source: 'x', target: 'conv1' }],
      layout: { x: { x: 0, y: 0 }, conv1: { x: 0, y: 90 } },
    } },
    nodes: [{ id: 'image', type: 'Input' }, { id: 'layer1', type: 'BasicBlock', params: { repeat: 2 } },
      { id: 'layer2', type: 'BasicBlock', params: {} }],
    edges: [{ source: 'image', target: 'layer1' }, { source: 'layer1', target: 'layer2' }],
  });
}

test('each block is a palette entry in the Blocks category, its params typed from their defaults', () => {
  const [spec] = blockSpecs(resnet().blocks);
  assert.equal(spec.type, 'BasicBlock');
  assert.equal(spec.category, 'Blocks');
  assert.deepEqual(spec.ports, ['x']);
  assert.deepEqual(spec.params.map((p) => [p.name, p.kind, p.default]),
    [['channels', 'int', 16], ['scale', 'float', 0.5], ['repeat', 'int', 1]]);
  const { graph } = ops.addNode(resnet(), spec, { x: 0, y: 0 });
  assert.deepEqual(graph.nodes.at(-1), { id: 'basicblock_1', type: 'BasicBlock', params: { channels: 16, scale: 0.5, repeat: 1 } });
});

test('an edit inside an opened block changes the definition every use shares', () => {
  const model = resnet();
  const path = [{ block: 'BasicBlock', use: 'layer1', prefix: 'layer1.0.' }];
  const view = viewOf(model, path);
  assert.deepEqual(view.nodes.map((n) => n.id), ['x', 'conv1']);
  const edited = withView(model, path, ops.setParam(view, 'conv1', 'kernel_size', 5));
  assert.equal(edited.blocks.BasicBlock.nodes[1].params.kernel_size, 5);
  assert.deepEqual(edited.blocks.BasicBlock.params, { channels: 16, scale: 0.5 });
  assert.deepEqual(edited.nodes, model.nodes); // the uses are untouched: each reads the definition
  assert.equal(model.blocks.BasicBlock.nodes[1].params.kernel_size, undefined); // never mutated
  assert.deepEqual(withView(model, [], view), view);
});

test('a use is named as Python names the layers inside it', () => {
  const model = resnet();
  assert.equal(usePrefix('', model.nodes[1]), 'layer1.0.');
  assert.equal(usePrefix('', model.nodes[2]), 'layer2.');
  assert.equal(usePrefix('stage.1.', { id: 'inner', params: {} }), 'stage.1.inner.');
  assert.deepEqual(usesOf(model, 'BasicBlock'), ['layer1', 'layer2']);
});

test('a problem inside the opened block sits on the layer or nested block use it arose in', () => {
  const report = { valid: false, params: 0, nodes: {}, problems: [
    { node: null, field: 'in_channels', message: "Conv2d 'layer2.first.conv2': …", inside: 'first.conv2' },
    { node: null, field: 'out_features', message: 'on a dotted id', inside: 'a.b' },
    { node: null, field: 'repeat', message: 'about the block as a whole' },
  ] };
  const placed = placeProblems(report, ['x', 'first', 'rest', 'a.b']);
  assert.deepEqual(placed.problems.map((p) => p.node), ['first', 'a.b', null]);
  assert.equal(report.problems[0].node, null); // Python's report is left as it came
  assert.deepEqual(placeProblems(report, ['conv2']).problems.map((p) => p.node), [null, null, null]);
  assert.equal(placeProblems(null, ['x']), null);
});

test('a new block gets a name the graph does not use yet', () => {
  assert.equal(freeBlockName(undefined), 'Block');
  assert.equal(freeBlockName({ BasicBlock: {} }), 'Block');
  assert.equal(freeBlockName({ Block: {}, Block2: {} }), 'Block3');
});
