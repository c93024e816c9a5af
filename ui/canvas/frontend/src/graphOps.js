// Pure edits on the graph document (docs/graph-format.md): each returns a new graph and never
// mutates its argument, so every state can live in the undo history as-is.

export function emptyGraph() {
  return { version: 1, name: 'untitled', nodes: [], edges: [], layout: {} };
}

// Python may send a graph with missing pieces (a hand-written upload); fill in what the editor needs.
export function normaliseGraph(graph) {
  const g = graph && typeof graph === 'object' ? graph : {};
  return {
    ...emptyGraph(),
    ...g,
    nodes: Array.isArray(g.nodes) ? g.nodes.map((n) => ({ ...n, params: n.params || {} })) : [],
    edges: Array.isArray(g.edges) ? g.edges.map((e) => ({ ...e, port: e.port || 0 })) : [],
    layout: g.layout && typeof g.layout === 'object' ? g.layout : {},
  };
}

// The input ports a node shows, from the catalog entry: named ports ("query"/"key"/"value",
// "mu"/"logvar") get a labelled handle each; a variadic node (Add, Concat) shows its required
// ports plus one free port, so there is always somewhere to plug the next input.
export function inputPorts(spec, nodeId, edges) {
  const ports = spec ? spec.ports || [] : ['input'];
  if (spec?.variadic) {
    const used = edges.filter((e) => e.target === nodeId).map((e) => e.port || 0);
    const count = Math.max(spec.min_inputs || 1, used.length ? Math.max(...used) + 2 : 1);
    return Array.from({ length: count }, (_, index) => ({ index, label: `in ${index + 1}` }));
  }
  if (ports.length === 1) return [{ index: 0, label: '' }];
  return ports.map((label, index) => ({ index, label }));
}

// Output is the graph's declared sink: nothing may follow it.
export function hasOutput(spec) {
  return spec?.type !== 'Output';
}

export function newNodeId(type, graph) {
  const base = type.toLowerCase().replace(/[^a-z0-9]+/g, '') || 'node';
  const taken = new Set(graph.nodes.map((n) => n.id));
  let n = 1;
  while (taken.has(`${base}_${n}`)) n += 1;
  return `${base}_${n}`;
}

// Parameters a fresh node starts with: every non-inferred default, so the saved JSON says what ran.
export function defaultParams(spec) {
  const params = {};
  for (const p of spec?.params || []) {
    if (!p.inferred && p.default !== null && p.default !== undefined) params[p.name] = p.default;
  }
  return params;
}

export function addNode(graph, spec, position, connectAfter = null) {
  const id = newNodeId(spec.type, graph);
  const next = {
    ...graph,
    nodes: [...graph.nodes, { id, type: spec.type, params: defaultParams(spec) }],
    layout: { ...graph.layout, [id]: roundPosition(position) },
  };
  if (connectAfter && graph.nodes.some((n) => n.id === connectAfter)) {
    next.edges = [...graph.edges, { source: connectAfter, target: id, port: 0 }];
  }
  return { graph: next, id };
}

// One edge per input port: connecting into an occupied port replaces the old edge.
export function connect(graph, source, target, port) {
  if (source === target) return graph;
  const edges = graph.edges.filter((e) => !(e.target === target && (e.port || 0) === port));
  return { ...graph, edges: [...edges, { source, target, port }] };
}

export function removeElements(graph, nodeIds, edgeKeys) {
  const goneNodes = new Set(nodeIds);
  const goneEdges = new Set(edgeKeys);
  const layout = { ...graph.layout };
  nodeIds.forEach((id) => delete layout[id]);
  return {
    ...graph,
    nodes: graph.nodes.filter((n) => !goneNodes.has(n.id)),
    edges: graph.edges.filter(
      (e) => !goneNodes.has(e.source) && !goneNodes.has(e.target) && !goneEdges.has(edgeKey(e)),
    ),
    layout,
  };
}

export function duplicateNode(graph, nodeId) {
  const original = graph.nodes.find((n) => n.id === nodeId);
  if (!original) return { graph, id: null };
  const id = newNodeId(original.type, graph);
  const at = graph.layout[nodeId] || { x: 0, y: 0 };
  return {
    id,
    graph: {
      ...graph,
      nodes: [...graph.nodes, { ...original, id, params: structuredClone(original.params) }],
      layout: { ...graph.layout, [id]: { x: at.x + 40, y: at.y + 60 } },
    },
  };
}

// `value === undefined` removes the parameter, so the validator falls back to its default.
export function setParam(graph, nodeId, name, value) {
  return {
    ...graph,
    nodes: graph.nodes.map((n) => {
      if (n.id !== nodeId) return n;
      const params = { ...n.params };
      if (value === undefined) delete params[name];
      else params[name] = value;
      return { ...n, params };
    }),
  };
}

export function moveNodes(graph, positions) {
  const layout = { ...graph.layout };
  for (const [id, pos] of Object.entries(positions)) layout[id] = roundPosition(pos);
  return { ...graph, layout };
}

export function edgeKey(edge) {
  return `${edge.source}->${edge.target}:${edge.port || 0}`;
}

function roundPosition(pos) {
  return { x: Math.round(pos.x), y: Math.round(pos.y) };
}
