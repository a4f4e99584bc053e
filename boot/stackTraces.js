// Pulumi's Node.js runner installs source-map-support, which maps every frame of every stack through the source
// maps. The SDK reads `new Error().stack` for each resource (its source position) and each of its promises (a
// debugging aid): at 600 resources that mapping was 6 of a no-op preview's 17 s (bench/README.md, "Where a run
// waits"). Those bookkeeping errors have no message; they get V8's own text (the positions of the build's .js),
// every error with a message keeps its mapped stack.
"use strict";

function cheapBookkeepingStacks() {
    const mapped = Error.prepareStackTrace;
    if (typeof mapped !== "function" || mapped.gfhCheap) return;
    const cheap = (err, frames) => (err instanceof Error && err.message === "" ? `${err}${frames.map((f) => `\n    at ${f}`).join("")}` : mapped(err, frames));
    cheap.gfhCheap = true;
    Error.prepareStackTrace = cheap;
}

module.exports = { cheapBookkeepingStacks };
