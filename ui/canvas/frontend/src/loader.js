// The canvas component's own module: a few hundred bytes, so the message Streamlit re-sends on
// every rerun that changes the canvas data carries the data, not the 400 KB editor bundle (which
// ships once per session in the data-less runtime component; Streamlit's message cache then
// sends only a reference to it).
import { canvasSlot } from './slot.js';

export default async function loadCanvas(component) {
  const mountCanvas = await canvasSlot().ready;
  return mountCanvas(component);
}
