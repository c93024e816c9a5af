// A layered top-to-bottom layout, like Netron's: each node one row below its deepest input, one
// barycentre pass against crossings, each row centred. A graph taller than the visible pane wraps
// into side-by-side bands (rows 1-7 in the left band, 8-14 in the next), choosing the band count
// that shows the whole graph at the largest zoom. Small on purpose: tens of nodes, not thousands.

export const DEFAULT_SIZE = { width: 150, height: 44 };
const ROW_GAP = 40; // between two rows: room for the shape label on the edge
const NODE_GAP = 24; // between two nodes of one row
const BAND_GAP = 90; // between two bands: room for the edge that climbs back to the top

// sizeOf(id) -> {width, height}; onlyIds: return positions for these nodes only; pane: {width,
// height} of the visible area, which decides how many bands.
export function autoLayout(graph, sizeOf = () => DEFAULT_SIZE, onlyIds = null, pane = null) {
  const ids = graph.nodes.map((n) => n.id);
  const rowOf = longestPathLayers(ids, graph.edges);
  const rows = [];
  for (const id of ids) (rows[rowOf[id]] ||= []).push(id);
  const filled = rows.filter(Boolean);

  const centreX = {}; // a node's centre within its row, for the barycentre pass
  const rowBoxes = filled.map((row) => {
    orderByParents(row, graph.edges, centreX);
    const width = row.reduce((sum, id) => sum + sizeOf(id).width + NODE_GAP, -NODE_GAP);
    let x = -width / 2;
    for (const id of row) {
      centreX[id] = x + sizeOf(id).width / 2;
      x += sizeOf(id).width + NODE_GAP;
    }
    return { row, width, height: Math.max(...row.map((id) => sizeOf(id).height)) };
  });

  const bands = bestBands(rowBoxes, pane);
  const positions = {};
  let bandLeft = 0;
  for (const band of bands) {
    const bandWidth = Math.max(...band.map((box) => box.width));
    let y = 0;
    for (const box of band) {
      for (const id of box.row) {
        const { width } = sizeOf(id);
        positions[id] = { x: Math.round(bandLeft + bandWidth / 2 + centreX[id] - width / 2), y: Math.round(y) };
      }
      y += box.height + ROW_GAP;
    }
    bandLeft += bandWidth + BAND_GAP;
  }
  if (!onlyIds) return positions;
  return Object.fromEntries(onlyIds.map((id) => [id, positions[id]]));
}

// Rows split into k consecutive bands of about equal height. The fewest bands that show the whole
// graph at a comfortable zoom win (a short chain stays one straight column); failing that, the k
// whose bounding box fits the pane at the largest zoom. One band when the pane is unknown.
const COMFORTABLE_ZOOM = 0.9;

function bestBands(rowBoxes, pane) {
  let best = [rowBoxes];
  if (!pane || !pane.width || !pane.height) return best;
  let bestZoom = 0;
  for (let k = 1; k <= rowBoxes.length; k += 1) {
    const bands = splitRows(rowBoxes, k);
    const width = bands.reduce((sum, band) => sum + Math.max(...band.map((b) => b.width)) + BAND_GAP, -BAND_GAP);
    const height = Math.max(...bands.map((band) => band.reduce((sum, b) => sum + b.height + ROW_GAP, -ROW_GAP)));
    const zoom = Math.min(pane.width / width, pane.height / height);
    if (zoom >= COMFORTABLE_ZOOM) return bands;
    if (zoom > bestZoom) { best = bands; bestZoom = zoom; }
  }
  return best;
}

function splitRows(rowBoxes, k) {
  const total = rowBoxes.reduce((sum, b) => sum + b.height + ROW_GAP, 0);
  const bands = [[]];
  let used = 0;
  rowBoxes.forEach((box, index) => {
    const left = rowBoxes.length - index;
    const band = bands.at(-1);
    if (band.length && bands.length < k && (used >= (total * bands.length) / k || left <= k - bands.length)) {
      bands.push([box]);
    } else {
      band.push(box);
    }
    used += box.height + ROW_GAP;
  });
  return bands;
}

// Row = longest path from a source. Nodes caught in a cycle (an invalid graph the validator
// reports) go one row past everything else instead of looping forever.
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

function orderByParents(row, edges, centreX) {
  const centre = (id) => {
    const xs = edges.filter((e) => e.target === id && e.source in centreX).map((e) => centreX[e.source]);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
  };
  const keys = Object.fromEntries(row.map((id) => [id, centre(id)]));
  row.sort((a, b) => keys[a] - keys[b]);
}
