// The stack program's entry point (Pulumi.yaml `main`): the TypeScript sources, transpiled once per change (boot/build.js).
"use strict";
require("./stackTraces.js").cheapBookkeepingStacks();
module.exports = require("./build.js").load("index.js");
