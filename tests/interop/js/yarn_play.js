// Load a Yarn script with bondage (a Yarn 2 runner) and play it from the first node, following the
// option texts given as JSON on stdin. Prints {"errors", "nodes", "lines", "options_seen", "ended"}.
const fs = require("fs");
const bondage = require("@mnbroatch/bondage");

const source = fs.readFileSync(process.argv[2], "utf8");
const start = process.argv[3];
const follow = JSON.parse(fs.readFileSync(0, "utf8") || "[]");
const out = { errors: [], nodes: [], lines: [], options_seen: [], ended: false };
try {
  const runner = new bondage.Runner();
  runner.load(source);
  const run = runner.run(start);
  let step = 0;
  let result = run.next();
  for (let guard = 0; guard < 10000; guard++) {
    const node = result.value;
    if (result.done && !node) break;
    const title = node && node.metadata && node.metadata.title;
    if (title && out.nodes[out.nodes.length - 1] !== title) out.nodes.push(title);
    if (node instanceof bondage.TextResult) {
      out.lines.push(node.text);
    } else if (node instanceof bondage.OptionsResult) {
      const labels = node.options.map((o) => o.text.trim());  // a condition leaves a space behind
      out.options_seen.push(labels);
      if (step >= follow.length) break;
      const index = labels.indexOf(follow[step]);
      if (index < 0) { out.errors.push(`no option ${JSON.stringify(follow[step])} in ${JSON.stringify(labels)}`); break; }
      node.select(index);
      step++;
    }
    if (result.done) break;
    result = run.next();
  }
  out.ended = result.done === true;
} catch (e) {
  out.errors.push(String(e && e.message ? e.message : e));
}
process.stdout.write(JSON.stringify(out));
