// Parse a Twee 3 file (or, with --html, a Twine 2 archive) with extwee; print the story as JSON.
import fs from "fs";
import { parseTwee, parseTwine2ArchiveHTML } from "extwee";

const html = process.argv.includes("--html");
const file = process.argv.filter((a) => !a.startsWith("--"))[2];
const source = fs.readFileSync(file, "utf8");
const stories = html ? parseTwine2ArchiveHTML(source) : [parseTwee(source)];
const out = stories.map((story) => ({
  name: story.name,
  ifid: story.IFID,
  start: story.start,
  format: story.format,
  formatVersion: story.formatVersion,
  passages: story.passages.map((p) => ({ name: p.name, tags: p.tags, metadata: p.metadata, text: p.text })),
}));
process.stdout.write(JSON.stringify(html ? out : out[0]));
