// Keeps the graph readable and in view, for a projector as much as for a laptop:
// - on mount (a template, an upload, a fix), a graph that cannot be shown whole at a readable zoom,
//   or whose layers overlap, is arranged top to bottom for the pane (one undoable edit); where the
//   pane is too narrow to read it even so, the palette folds away to give the canvas its width;
// - while the graph was fitted, a pane that changes size (details panel, palette, presentation
//   mode) is fitted again, unless that would shrink it below readable size while a layer is
//   selected: then the zoom stays and the selected layer is kept in view, as it is when the person
//   had panned or zoomed themselves;
// - a layer just added is scrolled into view.
import { useCallback, useEffect, useRef } from 'react';
import { useNodesInitialized } from '@xyflow/react';
import { DEFAULT_SIZE, autoLayout } from './autoLayout.js';

// Node titles are 17 px and edge labels 15 px (styles.css): at 0.72 they render at 12.2 and 10.8 px.
export const READABLE_ZOOM = 0.72;
const PADDING = 24; // px around the graph when fitting
export const FIT_VIEW = { padding: `${PADDING}px`, minZoom: 0.1, maxZoom: 1.25 };

export default function useViewportKeeper({ flow, paneRef, nodes, selectedId, currentGraph, arrange,
  paletteWidth, foldPalette }) {
  const initialised = useNodesInitialized();
  const fitted = useRef(true); // the fitView prop fits the first view
  const arranged = useRef(false);

  const fit = useCallback((duration = 200) => {
    fitted.current = true;
    return flow.fitView({ ...FIT_VIEW, duration });
  }, [flow]);

  // Programmatic moves pass no event; a person's pan or zoom does, and ends "fitted".
  const onMoveStart = useCallback((event) => { if (event) fitted.current = false; }, []);

  const paneSize = useCallback(() => {
    const box = paneRef.current?.getBoundingClientRect();
    return box ? { width: box.width - 2 * PADDING, height: box.height - 2 * PADDING } : null;
  }, [paneRef]);

  const sizeOf = useCallback((id) => {
    const node = flow.getNode(id);
    return node?.measured?.width ? { width: node.measured.width, height: node.measured.height } : DEFAULT_SIZE;
  }, [flow]);

  const ensureVisible = useCallback((id) => {
    const node = flow.getNode(id);
    const box = paneRef.current?.getBoundingClientRect();
    if (!node || !box) return;
    const { width, height } = sizeOf(id);
    const { x, y, zoom } = flow.getViewport();
    const left = node.position.x * zoom + x;
    const top = node.position.y * zoom + y;
    const inside = left >= 0 && top >= 0 && left + width * zoom <= box.width && top + height * zoom <= box.height;
    if (!inside) flow.setCenter(node.position.x + width / 2, node.position.y + height / 2, { zoom, duration: 200 });
  }, [flow, paneRef, sizeOf]);

  // Arrange once per mount, as soon as every node has been measured.
  useEffect(() => {
    if (arranged.current || !initialised || !nodes.length) return;
    arranged.current = true;
    const pane = paneSize();
    if (!pane) return;
    const folded = paletteWidth();
    const wider = { ...pane, width: pane.width + folded };
    const readable = (bounds, room) => fitZoom(bounds, room) >= READABLE_ZOOM;
    const current = flow.getNodesBounds(nodes);
    if (!overlapping(nodes)) {
      if (readable(current, pane)) return;
      if (folded && readable(current, wider)) { foldPalette(); return; }
    }
    let positions = autoLayout(currentGraph(), sizeOf, null, pane);
    if (folded && !readable(boundsOf(positions, sizeOf), pane)) {
      positions = autoLayout(currentGraph(), sizeOf, null, wider);
      foldPalette();
    }
    arrange(positions);
    window.requestAnimationFrame(() => fit(0));
  }, [initialised, nodes, flow, paneSize, sizeOf, currentGraph, arrange, fit, paletteWidth, foldPalette]);

  // A pane that changes size: fit again if the whole graph was in view, else follow the selection.
  const latest = useRef({});
  latest.current = {
    selectedId, fit, ensureVisible,
    readableWhole: () => {
      const pane = paneSize();
      return !pane || fitZoom(flow.getNodesBounds(flow.getNodes()), pane) >= READABLE_ZOOM;
    },
  };
  useEffect(() => {
    const pane = paneRef.current;
    if (!pane) return undefined;
    let width = pane.clientWidth;
    let height = pane.clientHeight;
    const observer = new ResizeObserver(() => {
      if (pane.clientWidth === width && pane.clientHeight === height) return;
      width = pane.clientWidth;
      height = pane.clientHeight;
      const { selectedId: id, fit: refit, ensureVisible: follow, readableWhole } = latest.current;
      if (fitted.current && (!id || readableWhole())) refit(0);
      else if (id) follow(id);
    });
    observer.observe(pane);
    return () => observer.disconnect();
  }, [paneRef]);

  const arrangeForPane = useCallback(() => autoLayout(currentGraph(), sizeOf, null, paneSize()),
    [currentGraph, sizeOf, paneSize]);

  // Whether `shown` (measured nodes) fits the pane whole at a readable zoom. (Read off the nodes
  // themselves: React Flow's own lookup may still hold the level shown before.)
  const readable = useCallback((shown) => {
    const pane = paneSize();
    const positions = Object.fromEntries(shown.map((n) => [n.id, n.position]));
    const measured = Object.fromEntries(shown.map((n) => [n.id, n.measured]));
    return !pane || fitZoom(boundsOf(positions, (id) => measured[id]), pane) >= READABLE_ZOOM;
  }, [paneSize]);

  return { fit, onMoveStart, ensureVisible, arrangeForPane, sizeOf, readable };
}

function fitZoom(bounds, pane) {
  return Math.min(pane.width / bounds.width, pane.height / bounds.height);
}

function boundsOf(positions, sizeOf) {
  const boxes = Object.entries(positions).map(([id, p]) => ({ ...p, ...sizeOf(id) }));
  const left = Math.min(...boxes.map((b) => b.x));
  const top = Math.min(...boxes.map((b) => b.y));
  return { width: Math.max(...boxes.map((b) => b.x + b.width)) - left,
    height: Math.max(...boxes.map((b) => b.y + b.height)) - top };
}

function overlapping(nodes) {
  const boxes = nodes.map((n) => ({ ...n.position, w: n.measured?.width || 0, h: n.measured?.height || 0 }));
  return boxes.some((a, i) => boxes.slice(i + 1).some((b) => a.x < b.x + b.w && b.x < a.x + a.w
    && a.y < b.y + b.h && b.y < a.y + a.h));
}
