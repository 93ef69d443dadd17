// Parse a Twee 3 file, a Twine 2 archive (--html) or a published Twine 2 story (--published) with
// extwee; print the story as JSON.
import fs from "fs";
import { parseTwee, parseTwine2ArchiveHTML, parseTwine2HTML } from "extwee";

const html = process.argv.includes("--html");
const published = process.argv.includes("--published");
const file = process.argv.filter((a) => !a.startsWith("--"))[2];
const source = fs.readFileSync(file, "utf8");
const stories = published ? [parseTwine2HTML(source)] : html ? parseTwine2ArchiveHTML(source) : [parseTwee(source)];
const out = stories.map((story) => ({
  name: story.name,
  ifid: story.IFID,
  start: story.start,
  format: story.format,
  formatVersion: story.formatVersion,
  zoom: story.zoom,
  creator: story.creator,
  creatorVersion: story.creatorVersion,
  tagColors: story.tagColors,
  metadata: story.metadata,
  script: story.storyJavaScript,
  stylesheet: story.storyStylesheet,
  passages: story.passages.map((p) => ({ name: p.name, tags: p.tags, metadata: p.metadata, text: p.text })),
}));
process.stdout.write(JSON.stringify(html ? out : out[0]));
