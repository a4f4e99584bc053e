import * as pulumi from "@pulumi/pulumi";
import { apiKeyLoginScript, CheckContainer, codexAuthFilesScript } from "../lib/checks";
import { run, SshTarget } from "../lib/ssh";
import { ConnectionInput, SECRET_OUTPUTS } from "./connection";
import { HostResource, HostResourceProvider } from "./hostResource";

export interface CodexLoginArgs {
    connection: ConnectionInput;
    container: pulumi.Input<CheckContainer>;
    /** When set (secret), a missing login is created with `codex login --with-api-key`. */
    apiKey?: pulumi.Input<string>;
    /** What to tell the operator when no login is present and no key is configured. */
    missingMessage: pulumi.Input<string>;
}

interface State {
    connection: SshTarget;
    container: CheckContainer;
    apiKey?: string;
    missingMessage: string;
    /** True when the Codex directory held auth state at the last create or update. */
    present: boolean;
    /** Changes only when this program logged Codex in: lets dependent checks re-run exactly then. */
    loginId: string;
}

async function hasState(s: State): Promise<boolean> {
    const out = (await run(s.connection, codexAuthFilesScript(s.container.codexDir, s.container.runtimeUser ?? ""), `reading ${s.container.codexDir}`)).trim();
    return /^\d+$/.test(out) && Number(out) > 0;
}

/** Never overwrites a login: a person's ChatGPT sign-in cannot be recreated by the program. */
async function ensure(s: State, previousLoginId: string): Promise<State> {
    if (await hasState(s)) return { ...s, present: true, loginId: previousLoginId || "existing" };
    if (!s.apiKey) throw new Error(s.missingMessage);
    await run(s.connection, apiKeyLoginScript(s.container), "Codex login with openaiApiKey", `${s.apiKey}\n`);
    if (!(await hasState(s))) throw new Error(`codex login --with-api-key left no auth state in ${s.container.codexDir}`);
    return { ...s, present: true, loginId: `api-key-${Date.now()}` };
}

/** Every diff looks at the Codex directory: an emptied one shows in `pulumi preview`. */
export const codexLoginProvider: HostResourceProvider<State, State> = {
    async create(inputs: State) {
        return { id: `${inputs.connection.host}:${inputs.connection.port}:${inputs.container.codexDir}`, outs: await ensure(inputs, "") };
    },
    async read(id: string, props?: State) {
        if (!props) return { id, props };
        return { id, props: { ...props, present: await hasState(props) } };
    },
    async diff(_id: string, olds: State, news: State) {
        const moved = olds.container.codexDir !== news.container.codexDir || olds.container.image !== news.container.image;
        return { changes: moved || !(await hasState(news)), replaces: [] };
    },
    async update(_id: string, olds: State, news: State) {
        return { outs: await ensure(news, olds.loginId) };
    },
    // Codex auth state outlives the stack.
    async delete() {},
};

/** Codex auth state present in the Codex directory; every diff looks, so an emptied directory shows as drift. */
export class CodexLogin extends HostResource {
    // `declare`: a plain field would be re-initialised to undefined after super() under ES2022 class-field semantics.
    /** Whether auth state was present at the last look. */
    declare public readonly present: pulumi.Output<boolean>;
    /** Changes when this program performed a login. */
    declare public readonly loginId: pulumi.Output<string>;

    constructor(name: string, args: CodexLoginArgs, opts?: pulumi.CustomResourceOptions) {
        super("CodexLogin", name, { ...args, present: undefined, loginId: undefined }, { ...opts, additionalSecretOutputs: [...SECRET_OUTPUTS, "apiKey"] });
    }
}
