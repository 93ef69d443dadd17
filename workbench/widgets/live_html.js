// A block of HTML that the Python side replaces (status lines, streamed text, rendered scenes).
// No imports: works offline in JupyterLab and under `workbench serve`.
export function render({ model }) {
  const box = document.createElement("div");
  box.className = "wb-live-html";
  box.style.width = "100%";
  const draw = () => { box.innerHTML = model.object; };
  model.on("object", draw);
  draw();
  return box;
}
