// Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y) / Ctrl+D while the canvas is the thing in use. The listener
// sits on the window because deleting the focused node drops focus to <body>, where an element
// listener would never hear the Ctrl+Z that should bring it back; "in use" means the last click
// or focus landed inside the canvas, so the rest of the page keeps its own shortcuts.
import { useEffect, useRef } from 'react';

export default function useShortcuts(rootRef, actions) {
  const latest = useRef(actions);
  latest.current = actions;
  useEffect(() => {
    let inUse = false;
    const track = (event) => { inUse = event.composedPath().includes(rootRef.current); };
    const onKeyDown = (event) => {
      if (!inUse || isTyping(event) || !(event.ctrlKey || event.metaKey)) return;
      const { undo, redo, duplicate } = latest.current;
      const run = { z: event.shiftKey ? redo : undo, y: redo, d: duplicate }[event.key.toLowerCase()];
      if (!run) return;
      event.preventDefault();
      run();
    };
    window.addEventListener('pointerdown', track, true);
    window.addEventListener('focusin', track, true);
    window.addEventListener('keydown', onKeyDown);
    return () => {
      window.removeEventListener('pointerdown', track, true);
      window.removeEventListener('focusin', track, true);
      window.removeEventListener('keydown', onKeyDown);
    };
  }, [rootRef]);
}

function isTyping(event) {
  const target = event.composedPath()[0];
  return ['INPUT', 'TEXTAREA', 'SELECT'].includes(target?.tagName);
}
