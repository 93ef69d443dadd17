// Parse a Fountain file with fountain-js; print the title page and the element tokens in order.
const fs = require("fs");
const { Fountain } = require("fountain-js");

const source = fs.readFileSync(process.argv[2], "utf8");
const output = new Fountain().parse(source, true);
const tokens = output.tokens.map((t) => ({ type: t.type, text: t.text === undefined ? null : t.text }));
process.stdout.write(JSON.stringify({ title: output.title, tokens }));
