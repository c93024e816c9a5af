/* LayerLoom graph canvas, built by ui/canvas/frontend/build.mjs; do not edit. */

function n(){if(!globalThis.__layerloomCanvas){let a,o=new Promise(l=>{a=l});globalThis.__layerloomCanvas={ready:o,resolve:a}}return globalThis.__layerloomCanvas}async function s(a){return(await n().ready)(a)}export{s as default};
