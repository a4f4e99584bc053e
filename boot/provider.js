// The provider plugin's entry: scripts/provider.sh installs a launcher `pulumi-resource-github-flows-host` that runs
// this file, and the engine starts it for every resource of type `github-flows-host:index:*`. Same build as the program.
"use strict";
require("./build.js")
    .load("plugin.js")
    .serve(process.argv.slice(2))
    .catch((e) => {
        process.stderr.write(`github-flows-host provider: ${e?.stack ?? e}\n`);
        process.exit(1);
    });
