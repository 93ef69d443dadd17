// The clickable branch map: shows render/'s SVG and reports the scene a writer clicks
// (or, for the dashed box of an open choice, "open:" and the choice's id).
// Zoom with the − / + / Fit buttons or Ctrl + wheel; pan by dragging the background; drag a
// scene's box to move it up or down its column (reported as "moved": its id and new top-left).
// No imports: works offline in JupyterLab and under `workbench serve`.
export function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "wb-map-root";
  const bar = document.createElement("div");
  bar.className = "wb-map-zoom";
  bar.style.cssText = "display:flex;gap:4px;align-items:center;margin:2px 0 4px;font:12px system-ui,sans-serif";
  const button = (text, title, cls) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.title = title;
    b.className = cls;
    b.style.cssText = "border:1px solid #d1d5db;background:#fff;border-radius:4px;padding:1px 8px;cursor:pointer";
    return b;
  };
  const out = button("−", "Zoom out", "wb-zoom-out");
  const inn = button("+", "Zoom in", "wb-zoom-in");
  const fit = button("Fit", "Fit the map to the width", "wb-zoom-fit");
  const shown = document.createElement("span");
  shown.className = "wb-zoom-level";
  shown.style.color = "#6b7280";
  bar.append(out, inn, fit, shown);
  const box = document.createElement("div");
  box.className = "wb-map";
  box.style.cssText = "overflow:auto;width:100%;max-height:70vh;cursor:grab";
  root.append(bar, box);

  let scale = 1;
  const idOf = (g) => (g.dataset.sceneId ? g.dataset.sceneId : "open:" + g.dataset.choiceId);
  const svgOf = () => box.querySelector("svg");
  const apply = () => {
    const svg = svgOf();
    if (!svg) return;
    const w = parseFloat(svg.getAttribute("width")) || svg.viewBox.baseVal.width;
    const h = parseFloat(svg.getAttribute("height")) || svg.viewBox.baseVal.height;
    svg.style.width = `${w * scale}px`;
    svg.style.height = `${h * scale}px`;
    shown.textContent = `${Math.round(scale * 100)}%`;
  };
  const zoom = (factor, cx, cy) => {
    const before = scale;
    scale = Math.min(3, Math.max(0.2, scale * factor));
    // keep the point under the pointer (or the middle) where it was
    const px = cx === undefined ? box.clientWidth / 2 : cx;
    const py = cy === undefined ? box.clientHeight / 2 : cy;
    const x = (box.scrollLeft + px) / before;
    const y = (box.scrollTop + py) / before;
    apply();
    box.scrollLeft = x * scale - px;
    box.scrollTop = y * scale - py;
  };
  // the selected box is marked here (the SVG's own .wb-selected style), not sent in the SVG:
  // a click that only selects redraws nothing
  const mark = () => {
    box.querySelectorAll("g.wb-scene, g.wb-open").forEach((g) => {
      g.classList.toggle("wb-selected", idOf(g) === model.selected);
    });
  };
  const draw = () => {
    box.innerHTML = model.svg;
    box.querySelectorAll("g.wb-scene, g.wb-open").forEach((g) => {
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
    });
    mark();
    apply();
  };
  const pick = (target) => {
    const g = target.closest ? target.closest("g.wb-scene, g.wb-open") : null;
    if (!g) return;
    model.selected = idOf(g);
    model.clicks = model.clicks + 1;
  };
  out.addEventListener("click", () => zoom(1 / 1.25));
  inn.addEventListener("click", () => zoom(1.25));
  fit.addEventListener("click", () => {
    const svg = svgOf();
    if (!svg) return;
    const w = parseFloat(svg.getAttribute("width")) || 1;
    scale = Math.min(1.5, Math.max(0.2, (box.clientWidth - 4) / w));
    apply();
  });
  box.addEventListener("wheel", (ev) => {
    if (!ev.ctrlKey) return; // a plain wheel scrolls
    ev.preventDefault();
    const r = box.getBoundingClientRect();
    zoom(ev.deltaY < 0 ? 1.1 : 1 / 1.1, ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });
  let drag = null;
  let carry = null; // a scene box being dragged
  let quietUntil = 0; // the click that ends a drag is not a pick
  box.addEventListener("pointerdown", (ev) => {
    const scene = ev.target.closest ? ev.target.closest("g.wb-scene") : null;
    if (scene) {
      const r = scene.querySelector("rect");
      carry = { g: scene, x: ev.clientX, y: ev.clientY, dx: 0, dy: 0, moved: false,
        rx: parseFloat(r.getAttribute("x")), ry: parseFloat(r.getAttribute("y")) };
      ev.preventDefault(); // no text selection while dragging
      return;
    }
    if (ev.target.closest && ev.target.closest("g.wb-open")) return;
    drag = { x: ev.clientX, y: ev.clientY, left: box.scrollLeft, top: box.scrollTop };
    box.style.cursor = "grabbing";
  });
  const move = (ev) => {
    if (carry) {
      const dx = ev.clientX - carry.x;
      const dy = ev.clientY - carry.y;
      if (!carry.moved && Math.hypot(dx, dy) < 6) return; // a click, not a drag
      carry.moved = true;
      carry.dx = dx / scale;
      carry.dy = dy / scale;
      carry.g.setAttribute("transform", `translate(${carry.dx} ${carry.dy})`);
      carry.g.style.opacity = "0.7";
      return;
    }
    if (!drag) return;
    box.scrollLeft = drag.left - (ev.clientX - drag.x);
    box.scrollTop = drag.top - (ev.clientY - drag.y);
  };
  window.addEventListener("pointermove", move);
  const end = () => {
    if (carry) {
      const c = carry;
      carry = null;
      if (c.moved) {
        quietUntil = Date.now() + 400;
        model.moved = JSON.stringify({ id: c.g.dataset.sceneId, x: c.rx + c.dx, y: c.ry + c.dy });
        model.moves = model.moves + 1;
      }
      return;
    }
    drag = null;
    box.style.cursor = "grab";
  };
  window.addEventListener("pointerup", end);
  box.addEventListener("click", (ev) => { if (Date.now() >= quietUntil) pick(ev.target); });
  box.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(ev.target); }
  });
  model.on("svg", draw);
  model.on("selected", mark);
  model.on("remove", () => {
    window.removeEventListener("pointermove", move);
    window.removeEventListener("pointerup", end);
  });
  draw();
  return root;
}
