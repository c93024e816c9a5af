// "Make block": the selected layers become a block used once where they were. Python does the
// transformation (builder.make_block) and answers with the new graph or the reason it cannot;
// the canvas commits that graph like any other edit, so Undo takes the block apart again.
// Inside an opened block (`within`) the new block is used there. The request carries the revision
// it was made on and an id, so only its own answer is taken.
import { useCallback, useEffect, useRef, useState } from 'react';
import { freeBlockName } from './blockView.js';

export default function useMakeBlock({ answer, revision, model, selectedIds, within, setTriggerValue, commitSelecting, setNotice }) {
  const [naming, setNaming] = useState(null); // the name being typed, or null
  const pending = useRef(null);
  const requests = useRef({ mount: Math.random().toString(36).slice(2), seq: 0 });
  const canStart = selectedIds.length > 0;
  const start = useCallback(() => setNaming(freeBlockName(model.blocks)), [model.blocks]);
  const submit = useCallback((name) => {
    const ids = requests.current;
    ids.seq += 1;
    pending.current = `${ids.mount}:${ids.seq}`;
    setTriggerValue('action', { kind: 'make_block', nodes: selectedIds, name: name.trim(), within, revision, request: pending.current });
    setNaming(null);
    setNotice(`Making block ${name.trim()}…`);
  }, [selectedIds, within, revision, setTriggerValue, setNotice]);
  useEffect(() => {
    if (!answer || answer.request !== pending.current) return;
    pending.current = null;
    if (answer.graph) {
      commitSelecting(answer.graph, answer.use);
      setNotice(`Made block ${answer.block} (Open block shows its layers; Undo takes it apart again).`);
    } else {
      setNotice(`Cannot make a block: ${answer.error}`);
    }
  }, [answer, commitSelecting, setNotice]);
  return { naming, setNaming, canStart, start, submit, cancel: () => setNaming(null) };
}
