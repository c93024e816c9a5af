// A square pad to draw an input image with the mouse, finger or pen. On every finished stroke it
// sends the drawing, averaged down to the model's input size, as rows of values in [0, 1]
// (ink = 1, like the training images). Plain DOM, no build step.
const DISPLAY = 224;

function shrink(pad, width, height) {
  const small = document.createElement('canvas');
  small.width = width;
  small.height = height;
  const ctx = small.getContext('2d');
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(pad, 0, 0, width, height);
  const { data } = ctx.getImageData(0, 0, width, height);
  const rows = [];
  for (let y = 0; y < height; y += 1) {
    const row = [];
    for (let x = 0; x < width; x += 1) row.push(Math.round((data[(y * width + x) * 4] / 255) * 1000) / 1000);
    rows.push(row);
  }
  return rows;
}

function build(parentElement) {
  const box = document.createElement('div');
  box.className = 'll-draw-box';
  const pad = document.createElement('canvas');
  pad.className = 'll-draw';
  pad.width = DISPLAY;
  pad.height = DISPLAY;
  pad.setAttribute('aria-label', 'Drawing pad: draw an input image');
  const clear = document.createElement('button');
  clear.type = 'button';
  clear.textContent = 'Clear';
  box.append(pad, clear);
  parentElement.appendChild(box);
  return { box, pad, clear };
}

export default function mountDrawPad({ data, parentElement, setStateValue }) {
  let state = parentElement.__drawPad;
  if (!state) {
    state = { ...build(parentElement), size: data.size, strokes: 0 };
    parentElement.__drawPad = state;
    const ctx = state.pad.getContext('2d');
    const wipe = () => { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, DISPLAY, DISPLAY); };
    const send = () => {
      state.strokes += 1;
      const [height, width] = state.size;
      setStateValue('pixels', { rows: shrink(state.pad, width, height), stroke: state.strokes });
    };
    wipe();
    let drawing = false;
    const point = (e) => {
      const r = state.pad.getBoundingClientRect();
      return [((e.clientX - r.left) * DISPLAY) / r.width, ((e.clientY - r.top) * DISPLAY) / r.height];
    };
    state.pad.addEventListener('pointerdown', (e) => {
      drawing = true;
      state.pad.setPointerCapture(e.pointerId);
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = DISPLAY / 12;
      ctx.lineCap = 'round';
      ctx.lineJoin = 'round';
      ctx.beginPath();
      ctx.moveTo(...point(e));
    });
    state.pad.addEventListener('pointermove', (e) => {
      if (!drawing) return;
      ctx.lineTo(...point(e));
      ctx.stroke();
    });
    const finish = () => { if (drawing) { drawing = false; send(); } };
    state.pad.addEventListener('pointerup', finish);
    state.pad.addEventListener('pointerleave', finish);
    state.clear.addEventListener('click', () => { wipe(); send(); });
  }
  state.size = data.size;
  return () => {};
}
