// Top level: a new `revision` from Python (template, upload, one-click fix) remounts the editor,
// which drops its local graph, history and viewport and shows the graph Python sent. Presenting
// (the canvas over the whole window, for a projector) and a palette folded by the person outlive a
// remount; a palette the editor folded to fit one graph comes back with the next. Escape ends
// presenting. A new revision scrolls the page back up to the canvas. A `height` of "fill" makes the canvas as tall as the window below its top edge, so
// the whole canvas is on screen at 1280x720 and a 1080p projector's height is used.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { ReactFlowProvider } from '@xyflow/react';
import Editor from './Editor.jsx';

const MIN_FILL = 420; // px: below this a graph no longer reads, so the page scrolls instead
const BOTTOM_GAP = 12; // px between the canvas and the window's bottom edge

export default function CanvasApp({ data, catalog, setStateValue, setTriggerValue }) {
  const canvasRef = useRef(null);
  const height = useCanvasHeight(canvasRef, data?.height);
  const catalogByType = useMemo(
    () => Object.fromEntries(catalog.map((spec) => [spec.type, spec])),
    [catalog],
  );
  const [presenting, setPresenting] = useState(false);
  const [paletteWanted, setPaletteWanted] = useState(true);
  const [foldedForRevision, setFoldedForRevision] = useState(null);
  const revision = data?.revision ?? 0;
  const paletteOpen = paletteWanted && foldedForRevision !== revision;
  const togglePalette = () => {
    setPaletteWanted(!paletteOpen);
    setFoldedForRevision(null);
  };
  // A graph Python replaced (template, upload, import, fix) is shown: a page scrolled down to the
  // Templates gallery goes back to the top, where the whole canvas is on screen.
  const firstRevision = useRef(revision);
  useEffect(() => {
    const box = canvasRef.current?.getBoundingClientRect();
    if (revision === firstRevision.current || !box) return;
    if (box.top < 0 || box.bottom > window.innerHeight) {
      scrollParent(canvasRef.current).scrollTo({ top: 0, behavior: 'smooth' });
    }
  }, [revision]);
  useEffect(() => {
    if (!presenting) return undefined;
    const onKeyDown = (event) => { if (event.key === 'Escape') setPresenting(false); };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [presenting]);
  return (
    <div ref={canvasRef} className={presenting ? 'll-canvas ll-canvas--present' : 'll-canvas'}
      style={presenting ? undefined : { height: `${height}px` }}>
      <ReactFlowProvider key={revision}>
        <Editor
          initialGraph={data?.graph}
          revision={revision}
          catalog={catalog}
          catalogByType={catalogByType}
          report={data?.report || null}
          inside={data?.inside || null}
          answer={data?.answer || null}
          pythonSelected={data?.selected ?? null}
          setStateValue={setStateValue}
          setTriggerValue={setTriggerValue}
          presenting={presenting}
          setPresenting={setPresenting}
          paletteOpen={paletteOpen}
          togglePalette={togglePalette}
          foldPalette={() => setFoldedForRevision(revision)}
        />
      </ReactFlowProvider>
    </div>
  );
}

// Pixels: `requested` itself, or for "fill" the window's height below the canvas's top edge as the
// page lies unscrolled, measured after every render, when the window resizes, and when the page's
// content changes size (a message appearing above the canvas moves it down).
function useCanvasHeight(ref, requested) {
  const [fill, setFill] = useState(640);
  const filling = requested === 'fill';
  const measure = useCallback(() => {
    if (!ref.current) return;
    const top = ref.current.getBoundingClientRect().top + scrollParent(ref.current).scrollTop;
    const wanted = Math.max(MIN_FILL, Math.floor(window.innerHeight - top - BOTTOM_GAP));
    setFill((current) => (Math.abs(current - wanted) < 2 ? current : wanted)); // no 1-px ping-pong
  }, [ref]);
  useLayoutEffect(() => { if (filling) measure(); });
  useEffect(() => {
    if (!filling) return undefined;
    const page = new ResizeObserver(measure);
    page.observe(document.body);
    window.addEventListener('resize', measure);
    return () => { page.disconnect(); window.removeEventListener('resize', measure); };
  }, [filling, measure]);
  return filling ? fill : requested || 640;
}

// Streamlit scrolls its main column, not the window; the canvas sits in a shadow root.
function scrollParent(element) {
  for (let node = element.parentElement ?? element.getRootNode().host; node;
    node = node.parentElement ?? node.getRootNode().host) {
    if (/(auto|scroll)/.test(getComputedStyle(node).overflowY)) return node;
  }
  return document.scrollingElement;
}
