// The stack program: the stack config read and validated (lib/stackConfig.ts), one FlowsHost per `hosts` entry
// through the public API (api.ts), and their outputs.
import * as pulumi from "@pulumi/pulumi";
import { FlowsHost } from "./api";
import { flowsHostOutputs } from "./components/flowsHost";
import { hostKeyName, settingsOf } from "./lib/config";
import { loadStackConfig } from "./lib/stackConfig";
import { migrationRefusal, STATE_FORMAT } from "./lib/stateMigration";

const stack = loadStackConfig();

// A stack of the 0.2 program must be migrated first (scripts/migrate-state.sh): its last outputs say which it is.
// Read with the engine's builtin invoke, not a StackReference: that would keep a copy of every output in the state.
const previous: Promise<{ outputs?: Record<string, unknown> }> = pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
});
const checked = pulumi.output(previous).apply((r) => {
    const why = migrationRefusal(r?.outputs ?? {}, pulumi.getStack());
    if (why) throw new Error(why);
    return [];
});

const flowsHosts = stack.config.hosts.map(
    (host, i) =>
        new FlowsHost(host.name, {
            ...settingsOf(stack.config, i),
            sshPrivateKey: stack.privateKey,
            githubToken: stack.githubToken,
            openaiApiKey: stack.openaiApiKey,
            prompt: stack.prompt,
            keyName: hostKeyName(stack.config, i),
        },
        // Nothing of a host registers before the stack is known not to need the migration.
        { dependsOn: checked }),
);

/**
 * Per host: rendered profiles, GitHub login, token expiry and role per repository, image id, token fingerprint
 * and the interactive Codex login command.
 */
export const hosts = pulumi.output(
    Object.fromEntries(
        flowsHosts.map((h, i) => [stack.config.hosts[i].name, flowsHostOutputs(h)]),
    ),
);

/** Which program made this state: the plugin's resources (a stack without it is migrated first, scripts/migrate-state.sh). */
export const stateFormat = STATE_FORMAT;
