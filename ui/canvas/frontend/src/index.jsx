// The st.components.v2 entry point. Streamlit calls this default export again every time `data`
// changes without running the previous cleanup, so ONE React root lives on the shadow root's host
// element and each call just re-renders it with fresh props; the cleanup Streamlit keeps from the
// last call (run on a real unmount) tears the root down.
import React from 'react';
import { createRoot } from 'react-dom/client';
import CanvasApp from './CanvasApp.jsx';

export default function mountCanvas({ data, parentElement, setStateValue, setTriggerValue }) {
  let host = parentElement.querySelector('.ll-host');
  if (!host) {
    host = document.createElement('div');
    host.className = 'll-host';
    parentElement.appendChild(host);
    host.reactRoot = createRoot(host);
  }
  host.reactRoot.render(
    <CanvasApp data={data} setStateValue={setStateValue} setTriggerValue={setTriggerValue} />,
  );
  return () => {
    host.reactRoot.unmount();
    host.remove();
  };
}
