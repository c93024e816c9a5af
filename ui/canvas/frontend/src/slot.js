// The runtime bundle (React, React Flow, the editor) and the tiny per-canvas loader are two
// separate modules; they meet in one global slot, created by whichever of them runs first.
export function canvasSlot() {
  if (!globalThis.__layerloomCanvas) {
    let resolve;
    const ready = new Promise((done) => { resolve = done; });
    globalThis.__layerloomCanvas = { ready, resolve };
  }
  return globalThis.__layerloomCanvas;
}
