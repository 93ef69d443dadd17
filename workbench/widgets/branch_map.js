// The clickable branch map: shows render/'s SVG and reports the scene a writer clicks
// (or, for the dashed box of an open choice, "open:" and the choice's id).
// No imports: works offline in JupyterLab and under `workbench serve`.
export function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "wb-map";
  box.style.overflowX = "auto";
  box.style.width = "100%";
  const idOf = (g) => (g.dataset.sceneId ? g.dataset.sceneId : "open:" + g.dataset.choiceId);
  const draw = () => {
    box.innerHTML = model.svg;
    box.querySelectorAll("g.wb-scene, g.wb-open").forEach((g) => {
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      if (idOf(g) === model.selected) g.classList.add("wb-selected");
    });
  };
  const pick = (target) => {
    const g = target.closest ? target.closest("g.wb-scene, g.wb-open") : null;
    if (!g) return;
    model.selected = idOf(g);
    model.clicks = model.clicks + 1;
  };
  box.addEventListener("click", (ev) => pick(ev.target));
  box.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(ev.target); }
  });
  model.on("svg", draw);
  model.on("selected", draw);
  draw();
  return box;
}
