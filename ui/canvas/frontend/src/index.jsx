// The runtime bundle: publishes `mountCanvas` for loader.js, and draws nothing itself. Its
// component also carries the layer catalog, which is the same on every rerun: Streamlit sends that
// element once per session and a cache reference afterwards, so edits do not re-send the catalog.
// Streamlit calls the loader again every time `data` changes without running the previous
// cleanup, so ONE React root lives on the shadow root's host element and each call re-renders it
// with fresh props; the cleanup Streamlit keeps from the last call (run on a real unmount) tears
// the root down.
import { createRoot } from 'react-dom/client';
import css from 'layerloom:canvas.css';
import CanvasApp from './CanvasApp.jsx';
import { canvasSlot } from './slot.js';

let catalog = [];

function mountCanvas({ data, parentElement, setStateValue, setTriggerValue }) {
  let host = parentElement.querySelector('.ll-host');
  if (!host) {
    const style = document.createElement('style'); // shadow root: page styles cannot reach in
    style.textContent = css;
    host = document.createElement('div');
    host.className = 'll-host';
    parentElement.append(style, host);
    host.reactRoot = createRoot(host);
  }
  host.reactRoot.render(
    <CanvasApp data={data} catalog={catalog} setStateValue={setStateValue}
      setTriggerValue={setTriggerValue} />,
  );
  return () => {
    host.reactRoot.unmount();
    host.previousSibling?.remove();
    host.remove();
  };
}

// Canvases wait for this: without the catalog there is no palette to draw.
export default function runtime({ data }) {
  catalog = Array.isArray(data?.catalog) ? data.catalog : [];
  canvasSlot().resolve(mountCanvas);
}
