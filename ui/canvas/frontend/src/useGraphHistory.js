// The edited graph plus its undo/redo stacks. Every change goes through `commit`, which also tells
// Python (through `onChange`) — so Python hears about discrete edits only, never mouse moves.
import { useCallback, useRef, useState } from 'react';

const HISTORY_LIMIT = 100;

export default function useGraphHistory(initialGraph, onChange) {
  const [history, setHistory] = useState(() => ({ graph: initialGraph, past: [], future: [] }));
  const latest = useRef(history);
  const notify = useRef(onChange);
  notify.current = onChange;

  const apply = useCallback((next) => {
    latest.current = next;
    setHistory(next);
    notify.current(next.graph);
  }, []);

  const commit = useCallback((graph) => {
    const { graph: current, past } = latest.current;
    if (graph === current) return;
    apply({ graph, past: [...past.slice(1 - HISTORY_LIMIT), current], future: [] });
  }, [apply]);

  const undo = useCallback(() => {
    const { graph, past, future } = latest.current;
    if (!past.length) return;
    apply({ graph: past[past.length - 1], past: past.slice(0, -1), future: [graph, ...future] });
  }, [apply]);

  const redo = useCallback(() => {
    const { graph, past, future } = latest.current;
    if (!future.length) return;
    apply({ graph: future[0], past: [...past, graph], future: future.slice(1) });
  }, [apply]);

  // Callbacks that run later (drops, key presses) read the newest graph, not a stale closure.
  const currentGraph = useCallback(() => latest.current.graph, []);

  return {
    graph: history.graph,
    currentGraph,
    commit,
    undo,
    redo,
    canUndo: history.past.length > 0,
    canRedo: history.future.length > 0,
  };
}
