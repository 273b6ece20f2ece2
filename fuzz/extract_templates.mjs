// extract_templates.mjs OUT_DIR — writes the distinct Jinja chat templates of the npm package
// @huggingface/ollama-utils (a devDependency) into OUT_DIR, one file each, as extra fuzzing seeds
// for fuzz_chat (generated at fuzz time, never committed). Prints how many; no package, no files.
import fs from "node:fs";
import path from "node:path";

const out = process.argv[2];
const file = path.join("node_modules/@huggingface/ollama-utils/src/chat-template-automap.ts");
if (!out || !fs.existsSync(file)) {
  console.log("extract_templates: @huggingface/ollama-utils not installed, no extra chat seeds");
  process.exit(0);
}
let src = fs.readFileSync(file, "utf8");
src = src.replace(/^import type .*$/m, "").replace(": OllamaChatTemplateMapEntry[]", "");
const mod = await import("data:text/javascript," + encodeURIComponent(src));
const seen = new Set();
fs.mkdirSync(out, { recursive: true });
for (const e of mod.OLLAMA_CHAT_TEMPLATE_MAPPING) {
  if (typeof e.gguf !== "string" || seen.has(e.gguf)) continue;
  seen.add(e.gguf);
  fs.writeFileSync(path.join(out, `t${String(seen.size).padStart(3, "0")}`), e.gguf);
}
console.log(`extract_templates: ${seen.size} templates in ${out}`);
