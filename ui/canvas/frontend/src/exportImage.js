// Pictures of the graph for slides, without a dependency: an SVG drawn from what React Flow shows
// (node boxes and handles from their measured positions, edge paths and shape labels read off the
// rendered edges, all in graph coordinates), and a PNG painted from that SVG at twice the size.
import { categoryColour } from './format.js';

const MARGIN = 24;
const FONT = "'Source Sans Pro', 'Source Sans 3', system-ui, sans-serif"; // quoted: '3' is no name
const MONO = 'ui-monospace, Menlo, monospace';

export function graphSvg(pane, flow) {
  const nodes = flow.getNodes().filter((n) => n.measured?.width);
  if (!nodes.length) return null;
  const edges = flow.getEdges().map((edge) => edgePath(pane, flow, edge)).filter(Boolean);
  const box = unionBox([flow.getNodesBounds(nodes), ...edges.map((e) => e.box)]);
  const left = Math.floor(box.x - MARGIN);
  const top = Math.floor(box.y - MARGIN);
  const width = Math.ceil(box.width + 2 * MARGIN);
  const height = Math.ceil(box.height + 2 * MARGIN);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="${left} ${top} ${width} ${height}">`,
    `<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  for (const edge of edges) {
    parts.push(`<path d="${escapeXml(edge.d)}" fill="none" stroke="#64748b" stroke-width="2"/>`);
  }
  for (const node of nodes) parts.push(nodeSvg(node), handlesSvg(flow, node));
  pane.querySelectorAll('.ll-edge-label').forEach((label) => parts.push(labelSvg(label)));
  parts.push('</svg>');
  return { svg: parts.join('\n'), width, height };
}

// The drawn path runs between the handles' outer edges; the picture joins it to the handle dots.
function edgePath(pane, flow, edge) {
  const path = pane.querySelector(`[data-testid="rf__edge-${CSS.escape(edge.id)}"] .react-flow__edge-path`);
  const from = handleCentre(flow, edge.source, 'source', edge.sourceHandle);
  const to = handleCentre(flow, edge.target, 'target', edge.targetHandle);
  if (!path || !from || !to) return null;
  const b = path.getBBox();
  return { d: `M${from.x} ${from.y} L${path.getAttribute('d').slice(1)} L${to.x} ${to.y}`,
    box: { x: b.x, y: b.y, width: b.width, height: b.height } };
}

function handleCentre(flow, nodeId, kind, handleId) {
  const node = flow.getInternalNode(nodeId);
  const handle = (node?.internals.handleBounds?.[kind] || []).find((h) => h.id === handleId);
  if (!handle) return null;
  const at = node.internals.positionAbsolute;
  return { x: at.x + handle.x + handle.width / 2, y: at.y + handle.y + handle.height / 2 };
}

function handlesSvg(flow, node) {
  const bounds = flow.getInternalNode(node.id)?.internals.handleBounds || {};
  return ['source', 'target']
    .flatMap((kind) => (bounds[kind] || []).map((h) => handleCentre(flow, node.id, kind, h.id)))
    .filter(Boolean)
    .map(({ x, y }) => `<circle cx="${x}" cy="${y}" r="5" fill="#ffffff" stroke="#475569" stroke-width="2"/>`)
    .join('');
}

function unionBox(boxes) {
  const left = Math.min(...boxes.map((b) => b.x));
  const top = Math.min(...boxes.map((b) => b.y));
  const right = Math.max(...boxes.map((b) => b.x + b.width));
  const bottom = Math.max(...boxes.map((b) => b.y + b.height));
  return { x: left, y: top, width: right - left, height: bottom - top };
}

function nodeSvg(node) {
  const { x, y } = node.position;
  const { width, height } = node.measured;
  const { spec, problems, feedsNothing, info } = node.data;
  const colour = problems.length ? '#dc2626' : categoryColour(spec?.category);
  const shape = feedsNothing && info?.output_shape ? `(${info.output_shape.join(', ')})` : '';
  return [ // a grey (red: problem) frame, the category band on top, white inside
    `<g><rect x="${x}" y="${y}" width="${width}" height="${height}" rx="8" fill="${problems.length ? '#dc2626' : '#cbd5e1'}"/>`,
    `<rect x="${x}" y="${y}" width="${width}" height="16" rx="8" fill="${colour}"/>`,
    `<rect x="${x + 2}" y="${y + 6}" width="${width - 4}" height="${height - 8}" rx="6" fill="#ffffff"/>`,
    `<text x="${x + 10}" y="${y + 29}" font-family="${FONT}" font-size="17" font-weight="700" fill="#0f172a">${escapeXml(node.data.node.type)}<tspan dx="8" font-size="13" font-weight="400" fill="#64748b">${escapeXml(node.id)}</tspan></text>`,
    shape ? `<text x="${x + 10}" y="${y + 49}" font-family="${MONO}" font-size="13" fill="#0f172a">${escapeXml(shape)}</text>` : '',
    '</g>',
  ].join('');
}

// A label's place is its point on the edge (data-x, data-y); its layout size is in graph units,
// since it sits inside the zoomed viewport.
function labelSvg(label) {
  const x = Number(label.dataset.x);
  const y = Number(label.dataset.y);
  const width = label.offsetWidth;
  const height = label.offsetHeight;
  return `<g><rect x="${x - width / 2}" y="${y - height / 2}" width="${width}" height="${height}" rx="4" fill="#ffffff" fill-opacity="0.9"/>`
    + `<text x="${x}" y="${y}" text-anchor="middle" dominant-baseline="central" font-family="${MONO}" font-size="15" fill="#0f172a">${escapeXml(label.textContent)}</text></g>`;
}

export function downloadSvg(pane, flow, name) {
  const picture = graphSvg(pane, flow);
  if (picture) download(new Blob([picture.svg], { type: 'image/svg+xml' }), `${fileStem(name)}.svg`);
}

export async function downloadPng(pane, flow, name, scale = 2) {
  const picture = graphSvg(pane, flow);
  if (!picture) return;
  const url = URL.createObjectURL(new Blob([picture.svg], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = picture.width * scale;
    canvas.height = picture.height * scale;
    const context = canvas.getContext('2d');
    context.scale(scale, scale);
    context.drawImage(image, 0, 0, picture.width, picture.height);
    const png = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    download(png, `${fileStem(name)}.png`);
  } finally {
    URL.revokeObjectURL(url);
  }
}

function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function fileStem(name) {
  return String(name || 'graph').replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'graph';
}

export function escapeXml(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}
