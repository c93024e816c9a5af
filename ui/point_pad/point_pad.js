// A square plane to place 2-D points of a class with the mouse, finger or pen (TensorFlow
// Playground style). Each click adds `brush` points of the chosen class around it and sends the
// whole list, tagged with the revision Python gave, as [x, y, class] with x, y in [-1, 1].
// Plain DOM, no build step.
const SIZE = 320;
const RADIUS = 5;

function toPlane(pad, e) {
  const r = pad.getBoundingClientRect();
  const x = ((e.clientX - r.left) / r.width) * 2 - 1;
  const y = 1 - ((e.clientY - r.top) / r.height) * 2; // up is +y, as on the chart
  return [x, y];
}

function draw(state) {
  const ctx = state.pad.getContext('2d');
  ctx.fillStyle = '#fafbfc';
  ctx.fillRect(0, 0, SIZE, SIZE);
  ctx.strokeStyle = '#e3e6eb';
  ctx.lineWidth = 1;
  for (let i = 1; i < 8; i += 1) { // a light grid every quarter unit
    const at = (i * SIZE) / 8;
    ctx.beginPath(); ctx.moveTo(at, 0); ctx.lineTo(at, SIZE); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(0, at); ctx.lineTo(SIZE, at); ctx.stroke();
  }
  for (const [x, y, c] of state.points) {
    ctx.beginPath();
    ctx.arc(((x + 1) / 2) * SIZE, ((1 - y) / 2) * SIZE, RADIUS, 0, 2 * Math.PI);
    ctx.fillStyle = state.colors[c] || '#888';
    ctx.fill();
    ctx.strokeStyle = '#fff';
    ctx.stroke();
  }
}

const clip = (v) => Math.max(-1, Math.min(1, Math.round(v * 1000) / 1000));

export default function mountPointPad({ data, parentElement, setStateValue }) {
  let state = parentElement.__pointPad;
  if (!state) {
    const pad = document.createElement('canvas');
    pad.className = 'll-points';
    pad.width = SIZE;
    pad.height = SIZE;
    pad.setAttribute('aria-label', 'Plane: click to place points of the chosen class');
    parentElement.appendChild(pad);
    state = { pad, points: [], revision: null };
    parentElement.__pointPad = state;
    pad.addEventListener('pointerdown', (e) => {
      const [x, y] = toPlane(pad, e);
      const spread = state.brush > 1 ? 0.08 : 0;
      for (let i = 0; i < state.brush; i += 1) {
        const angle = Math.random() * 2 * Math.PI;
        const distance = spread * Math.sqrt(Math.random());
        state.points.push([clip(x + distance * Math.cos(angle)),
                           clip(y + distance * Math.sin(angle)), state.active]);
      }
      draw(state);
      setStateValue('points', { points: state.points, revision: state.revision });
    });
  }
  if (state.revision !== data.revision) { // Python replaced the points (cleared, filled)
    state.points = data.points.map((p) => p.slice());
    state.revision = data.revision;
  }
  state.colors = data.colors;
  state.active = data.active;
  state.brush = data.brush;
  draw(state);
  return () => {};
}
