// Top level: a new `revision` from Python (template, upload, one-click fix) remounts the editor,
// which drops its local graph, history and viewport and shows the graph Python sent.
import { useMemo } from 'react';
import { ReactFlowProvider } from '@xyflow/react';
import Editor from './Editor.jsx';

export default function CanvasApp({ data, catalog, setStateValue, setTriggerValue }) {
  const catalogByType = useMemo(
    () => Object.fromEntries(catalog.map((spec) => [spec.type, spec])),
    [catalog],
  );
  return (
    <div className="ll-canvas" style={{ height: `${data?.height || 640}px` }}>
      <ReactFlowProvider key={data?.revision ?? 0}>
        <Editor
          initialGraph={data?.graph}
          revision={data?.revision ?? 0}
          catalog={catalog}
          catalogByType={catalogByType}
          report={data?.report || null}
          pythonSelected={data?.selected ?? null}
          setStateValue={setStateValue}
          setTriggerValue={setTriggerValue}
        />
      </ReactFlowProvider>
    </div>
  );
}
