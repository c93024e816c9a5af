// Top level: a new `revision` from Python (template, upload, one-click fix) remounts the editor,
// which drops its local graph, history and viewport and shows the graph Python sent. Presenting
// (the canvas over the whole window, for a projector) and a palette folded by the person outlive a
// remount; a palette the editor folded to fit one graph comes back with the next. Escape ends
// presenting.
import { useEffect, useMemo, useState } from 'react';
import { ReactFlowProvider } from '@xyflow/react';
import Editor from './Editor.jsx';

export default function CanvasApp({ data, catalog, setStateValue, setTriggerValue }) {
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
  useEffect(() => {
    if (!presenting) return undefined;
    const onKeyDown = (event) => { if (event.key === 'Escape') setPresenting(false); };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [presenting]);
  return (
    <div className={presenting ? 'll-canvas ll-canvas--present' : 'll-canvas'}
      style={presenting ? undefined : { height: `${data?.height || 640}px` }}>
      <ReactFlowProvider key={revision}>
        <Editor
          initialGraph={data?.graph}
          revision={revision}
          catalog={catalog}
          catalogByType={catalogByType}
          report={data?.report || null}
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
