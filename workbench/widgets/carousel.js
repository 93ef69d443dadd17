// The takes carousel: one take at a time, previous/next by button, arrow key or swipe.
// No imports: works offline in JupyterLab and under `workbench serve`.
export function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "wb-carousel";
  root.tabIndex = 0;
  root.style.cssText = "outline:none;touch-action:pan-y;user-select:text";
  const bar = document.createElement("div");
  bar.style.cssText = "display:flex;align-items:center;gap:8px;margin-bottom:4px";
  const prev = document.createElement("button");
  prev.className = "wb-prev";
  prev.textContent = "◀";
  prev.title = "Previous take";
  const next = document.createElement("button");
  next.className = "wb-next";
  next.textContent = "▶";
  next.title = "Next take";
  const label = document.createElement("span");
  label.className = "wb-carousel-label";
  label.style.cssText = "font:13px system-ui,sans-serif;color:#374151";
  bar.append(prev, label, next);
  const body = document.createElement("div");
  body.className = "wb-carousel-body";
  root.append(bar, body);

  const count = () => (model.takes || []).length;
  const go = (i) => {
    const n = count();
    if (n === 0) return;
    model.index = ((i % n) + n) % n;
  };
  const draw = () => {
    const takes = model.takes || [];
    const n = takes.length;
    prev.disabled = next.disabled = n < 2;
    if (n === 0) {
      label.textContent = "No takes yet";
      body.innerHTML = "";
      return;
    }
    const i = Math.min(Math.max(model.index, 0), n - 1);
    label.textContent = `Take ${i + 1} of ${n}` + (takes[i].label ? ` · ${takes[i].label}` : "");
    body.innerHTML = takes[i].html;
    body.dataset.takeId = takes[i].id;
  };
  prev.addEventListener("click", () => go(model.index - 1));
  next.addEventListener("click", () => go(model.index + 1));
  root.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowLeft") go(model.index - 1);
    if (ev.key === "ArrowRight") go(model.index + 1);
  });
  let startX = null;
  root.addEventListener("pointerdown", (ev) => { startX = ev.clientX; });
  root.addEventListener("pointerup", (ev) => {
    if (startX === null) return;
    const dx = ev.clientX - startX;
    startX = null;
    if (Math.abs(dx) > 50) go(model.index + (dx < 0 ? 1 : -1));
  });
  model.on("takes", draw);
  model.on("index", draw);
  draw();
  return root;
}
