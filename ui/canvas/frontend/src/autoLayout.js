// A layered left-to-right layout (longest path from the inputs, one barycentre pass to reduce
// crossings). Small on purpose: graphs here have tens of nodes, not thousands.

const COLUMN_GAP = 300;
const ROW_GAP = 40;

export function autoLayout(graph, heightOf = () => 160, onlyIds = null) {
  const ids = graph.nodes.map((n) => n.id);
  const layerOf = longestPathLayers(ids, graph.edges);
  const columns = [];
  for (const id of ids) (columns[layerOf[id]] ||= []).push(id);

  const positions = {};
  columns.forEach((column, layer) => {
    orderByParents(column, graph.edges, positions);
    const total = column.reduce((sum, id) => sum + heightOf(id) + ROW_GAP, -ROW_GAP);
    let y = -total / 2;
    for (const id of column) {
      positions[id] = { x: layer * COLUMN_GAP, y: Math.round(y) };
      y += heightOf(id) + ROW_GAP;
    }
  });
  if (!onlyIds) return positions;
  return Object.fromEntries(onlyIds.map((id) => [id, positions[id]]));
}

// Layer = longest path from a source. Nodes caught in a cycle (an invalid graph the validator
// reports) go one layer past everything else instead of looping forever.
function longestPathLayers(ids, edges) {
  const indegree = Object.fromEntries(ids.map((id) => [id, 0]));
  const known = new Set(ids);
  const live = edges.filter((e) => known.has(e.source) && known.has(e.target));
  live.forEach((e) => { indegree[e.target] += 1; });
  const layer = Object.fromEntries(ids.map((id) => [id, 0]));
  const queue = ids.filter((id) => indegree[id] === 0);
  const placed = new Set();
  while (queue.length) {
    const id = queue.shift();
    placed.add(id);
    for (const e of live.filter((edge) => edge.source === id)) {
      layer[e.target] = Math.max(layer[e.target], layer[id] + 1);
      indegree[e.target] -= 1;
      if (indegree[e.target] === 0) queue.push(e.target);
    }
  }
  const deepest = Math.max(0, ...Object.values(layer));
  ids.filter((id) => !placed.has(id)).forEach((id) => { layer[id] = deepest + 1; });
  return layer;
}

function orderByParents(column, edges, positions) {
  const centre = (id) => {
    const ys = edges.filter((e) => e.target === id && positions[e.source]).map((e) => positions[e.source].y);
    return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : 0;
  };
  const keys = Object.fromEntries(column.map((id) => [id, centre(id)]));
  column.sort((a, b) => keys[a] - keys[b]);
}
