// Compile an ink file with inkjs and play it, following the choice labels given as JSON on stdin.
// Prints {"errors": [...], "warnings": [...], "text": "...", "ended": bool, "choices_seen": [[...]]}.
const fs = require("fs");
const { Compiler } = require("inkjs/full");

const source = fs.readFileSync(process.argv[2], "utf8");
const follow = JSON.parse(fs.readFileSync(0, "utf8") || "[]");
const errors = [];
const warnings = [];
const handler = (message, type) => {
  if (type === 2) errors.push(message); else warnings.push(message);
};
const out = { errors, warnings, text: "", ended: false, choices_seen: [], tags: [] };
let story;
try {
  const compiler = new Compiler(source, { errorHandler: handler });
  story = compiler.Compile();
} catch (e) {
  errors.push(String(e && e.message ? e.message : e));
}
if (story && errors.length === 0) {
  out.tags = story.globalTags || [];
  let step = 0;
  for (let guard = 0; guard < 10000; guard++) {
    out.text += story.ContinueMaximally();
    if (story.currentChoices.length === 0) { out.ended = !story.canContinue; break; }
    const labels = story.currentChoices.map((c) => c.text);
    out.choices_seen.push(labels);
    if (step >= follow.length) break;
    const index = labels.indexOf(follow[step]);
    if (index < 0) { errors.push(`no choice ${JSON.stringify(follow[step])} among ${JSON.stringify(labels)}`); break; }
    story.ChooseChoiceIndex(index);
    step++;
  }
}
process.stdout.write(JSON.stringify(out));
