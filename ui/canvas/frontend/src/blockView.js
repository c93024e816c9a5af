// Blocks on the canvas (docs/graph-format.md, "Blocks"): a block use is one collapsed node whose
// palette entry and parameter form come from the block's definition; opening it shows the block's
// inner graph, and edits there change the definition, which every use shares. Pure functions on
// the graph document, like graphOps.js.

export const BLOCK_CATEGORY = 'Blocks';
export const MAX_REPEAT = 256; // builder/blocks.py

const REPEAT_PARAM = Object.freeze({
  name: 'repeat', kind: 'int', default: 1, min: 1, max: MAX_REPEAT, inferred: false, choices: null,
  doc: 'How many copies in a row, each with its own weights: the output of one feeds the next.',
});

// One palette/form entry per block, shaped like a catalog entry (builder.catalog_json).
export function blockSpecs(blocks) {
  return Object.entries(blocks || {}).map(([name, block]) => {
    const nodes = Array.isArray(block?.nodes) ? block.nodes : [];
    const ports = nodes.filter((n) => n.type === 'Input').map((n) => n.id);
    const inside = nodes.filter((n) => n.type !== 'Input' && n.type !== 'Output').length;
    return {
      type: name,
      category: BLOCK_CATEGORY,
      doc: `Block: ${inside} layers defined once in this graph; each use has its own weights. `
        + 'Open it (double-click) to see or edit its layers.',
      params: [...Object.entries(block?.params || {}).map(([param, value]) => blockParam(param, value)),
        REPEAT_PARAM],
      ports: ports.length ? ports : ['input'],
      token_ports: [],
      min_inputs: ports.length,
      max_inputs: ports.length,
      variadic: false,
      accepts: 'any',
      isBlock: true,
    };
  });
}

function blockParam(name, value) {
  const kind = typeof value === 'boolean' ? 'bool'
    : Number.isInteger(value) ? 'int'
      : typeof value === 'number' ? 'float'
        : Array.isArray(value) ? 'ints' : 'text';
  return {
    name, kind, default: value, min: null, max: null, inferred: false, choices: null,
    doc: `Block parameter: every layer inside that says "$${name}" takes this value.`,
  };
}

// What the canvas shows: the model itself, or the innermost opened block as a graph of its own.
export function viewOf(graph, path) {
  if (!path.length) return graph;
  const { block } = path[path.length - 1];
  const definition = graph.blocks?.[block] || {};
  return {
    version: graph.version,
    name: block,
    nodes: (definition.nodes || []).map((n) => ({ ...n, params: n.params || {} })),
    edges: (definition.edges || []).map((e) => ({ ...e, port: e.port || 0 })),
    layout: definition.layout || {},
    blocks: graph.blocks,
  };
}

// The graph with the opened block's definition replaced by the edited view (or `next` itself at
// the model's level). A block edit keeps the block's params and every use untouched.
export function withView(graph, path, next) {
  if (!path.length) return next;
  const { block } = path[path.length - 1];
  const before = graph.blocks?.[block] || {};
  const definition = { ...before, nodes: next.nodes, edges: next.edges, layout: next.layout };
  return { ...graph, version: 2, blocks: { ...graph.blocks, [block]: definition } };
}

// The hierarchical id prefix of a block node's first copy ("layer1." or "layer1.0." when it
// repeats), which is how Python names the layers inside it (Report.inside_json).
export function usePrefix(parentPrefix, node) {
  const repeat = Number(node.params?.repeat ?? 1);
  return `${parentPrefix}${node.id}${repeat > 1 ? '.0.' : '.'}`;
}

// The ids of the nodes that use `block`, at the model's level and inside other blocks.
export function usesOf(graph, block) {
  const uses = graph.nodes.filter((n) => n.type === block).map((n) => n.id);
  for (const [name, definition] of Object.entries(graph.blocks || {})) {
    for (const n of definition?.nodes || []) if (n.type === block) uses.push(`${n.id} in ${name}`);
  }
  return uses;
}

// The opened use's report (Report.inside_json) with each problem on the node of this block it
// arose in: the layer itself, or the nested block use around it (`inside` is "conv2" or
// "first.conv2"; an id may hold a dot, so the shortest leading part that names a node wins).
export function placeProblems(report, nodeIds) {
  if (!report?.problems?.length) return report;
  const ids = new Set(nodeIds);
  const problems = report.problems.map((problem) => {
    const parts = typeof problem.inside === 'string' ? problem.inside.split('.') : [];
    for (let k = 1; k <= parts.length; k += 1) {
      const id = parts.slice(0, k).join('.');
      if (ids.has(id)) return { ...problem, node: id };
    }
    return problem;
  });
  return { ...report, problems };
}

// A name for a new block that the graph does not use yet: Block, Block2, Block3, ...
export function freeBlockName(blocks) {
  let k = 1;
  while (blocks?.[k === 1 ? 'Block' : `Block${k}`]) k += 1;
  return k === 1 ? 'Block' : `Block${k}`;
}
